/**
 * Docker endpoints on pool ports. RequestAddress reserves a ready port of the network's pool and
 * answers its IP; CreateEndpoint claims it and answers its MAC; Join hands Docker the parked
 * interface. The port's Neutron writes (the claim: device_id and EID tags; after DeleteEndpoint the
 * reset to a free pool port) land in the background, one after the other per port, retried until
 * Neutron takes them, so no Docker call waits for Neutron and attaches work while it is down.
 * DeleteEndpoint parks the interface again; Docker's ReleaseAddress that follows returns the port
 * to the pool once its reset landed (not before: until then Docker still holds the IP). Requests a pool cannot serve
 * (a MAC of its own or an IPv6 address asked for, an empty pool) take the ordinary path. Exposed ports
 * work on a pool port: ProgramExternalConnectivity waits for the claim to be in Neutron.
 */
import { InvalidInputError, errorMessage, isNotFound } from '../../common/errors.js';
import { normalizeIp, prefixLength, splitAddress } from '../../common/cidr.js';
import type { CreateEndpointRequest, PortPoolUseCases } from './libnetwork.js';
import { UNBOUND_PORT_NAME } from './naming.js';
import type { Network, Port, Subnet } from '../shared/neutron-types.js';
import type { ParkingDataplane, PoolSpec, PoolStats, PooledPort } from '../port-pool/pool-model.js';
import type { PortPools } from '../port-pool/port-pools.js';
import type { CoreContext } from './service-context.js';
import { TAG_LH_PREFIX, TAG_PORT_OWNED, idTags } from './tags.js';

/** reserved (RequestAddress) → claimed (CreateEndpoint) → released (DeleteEndpoint) → returning (ReleaseAddress, until its writes landed). */
type Stage = 'reserved' | 'claimed' | 'released' | 'returning';

interface Reservation {
  pp: PooledPort;
  ip: string;
  poolId: string;
  stage: Stage;
  endpointId?: string;
  /** The container end is in the host namespace (Join moved it there). */
  inHost: boolean;
  /** The interface vanished with its namespace: re-plug before offering the port again. */
  replug: boolean;
  /** The port's Neutron writes so far, in order (claim, then reset). */
  writes: Promise<void>;
  /** ProgramExternalConnectivity put a group on the port. */
  exposed: boolean;
}

const WRITE_RETRY_FIRST_MS = 500;
const WRITE_RETRY_MAX_MS = 10_000;

export class EndpointPools {
  /** `<poolId>|<ip>` → reservation. */
  private readonly byAddress = new Map<string, Reservation>();
  /** Endpoint ID → its claimed reservation. */
  private readonly byEndpoint = new Map<string, Reservation>();

  constructor(readonly pools: PortPools) {}

  /** Registers (and fills in the background) the pool of a network with a single subnet. */
  prime(ctx: CoreContext, network: Network, subnets: Subnet[]): void {
    if (!ctx.flags.tag || subnets.length !== 1) return;
    this.pools.ensure(this.specOf(network, subnets));
  }

  /** RequestAddress without a MAC: a ready pool port of the subnet's network, reserved under its IP. `address` picks that port only. */
  reserve(ctx: CoreContext, poolId: string, subnet: Subnet, address: string): string | undefined {
    if (!ctx.flags.tag) return undefined;
    const key = subnet.networkId;
    if (!this.pools.has(key)) {
      if (address === '') this.primeLater(ctx, subnet.networkId);
      return undefined;
    }
    if (this.pools.spec(key)?.subnets.length !== 1) return undefined;
    const pp = this.pools.take(key, address === '' ? undefined : address);
    if (pp === undefined) return undefined;
    const ip = normalizeIp(pp.port.fixedIps[0]?.ipAddress ?? '');
    this.byAddress.set(`${poolId}|${ip}`, { pp, ip, poolId, stage: 'reserved', inHost: false, replug: false, writes: Promise.resolve(), exposed: false });
    ctx.log.debug({ poolId, ip, portId: pp.port.id }, 'address served from the pool');
    return `${ip}/${prefixLength(subnet.cidr)}`;
  }

  /**
   * CreateEndpoint for a reserved address: claims the port and answers its MAC, the Neutron writes
   * following in the background. A request the pool cannot serve gives the port up (deleted, so the
   * ordinary path can make a port with that IP) and answers `undefined`.
   */
  async claim(ctx: CoreContext, req: CreateEndpointRequest, networkId: string): Promise<{ macAddress: string } | undefined> {
    if (req.address === undefined || req.address === '') return undefined;
    const ip = normalizeIp(splitAddress(req.address).ip);
    const r = [...this.byAddress.values()].find((x) => x.stage === 'reserved' && x.ip === ip && x.pp.port.networkId === networkId);
    if (r === undefined) return undefined;
    const wantsMac = req.macAddress !== undefined && req.macAddress !== '' && req.macAddress.toLowerCase() !== r.pp.port.macAddress.toLowerCase();
    if (wantsMac || (req.addressIpv6 ?? '') !== '') {
      this.byAddress.delete(`${r.poolId}|${r.ip}`);
      ctx.log.info({ endpointId: req.endpointId, portId: r.pp.port.id }, 'endpoint needs its own MAC: pool port given up');
      await this.pools.discard(r.pp);
      return undefined;
    }
    // Labelled on the host before the answer: a restart before Neutron has the claim can still tell whose port it is.
    await this.dataplane().label(r.pp.vif, req.endpointId);
    r.stage = 'claimed';
    r.endpointId = req.endpointId;
    this.byEndpoint.set(req.endpointId, r);
    ctx.cache.endpointPorts.set(req.endpointId, r.pp.port.id);
    const eid = req.endpointId;
    // device_id first: a crash in between is finished at restart from it (see `adopt`).
    r.writes = this.retried(ctx, r, 'claim', async () => {
      // The name an ordinary endpoint's port has (the IPAM made it), with device_id in one write.
      await ctx.neutron.updatePort(r.pp.port.id, { deviceId: eid, name: UNBOUND_PORT_NAME });
      await ctx.neutron.setTags('ports', r.pp.port.id, this.claimTags(ctx, eid));
    });
    ctx.log.info({ endpointId: req.endpointId, portId: r.pp.port.id }, 'endpoint created on a pool port');
    return { macAddress: r.pp.port.macAddress };
  }

  /** The pool port and subnets of a claimed endpoint, its interface moved to the host namespace for Docker. */
  async handOver(endpointId: string): Promise<{ port: Port; subnets: Subnet[] } | undefined> {
    const r = this.byEndpoint.get(endpointId);
    if (r === undefined) return undefined;
    if (!r.inHost) {
      await this.dataplane().toHost(r.pp.vif);
      r.inHost = true;
    }
    return { port: r.pp.port, subnets: this.pools.spec(r.pp.key)?.subnets ?? [] };
  }

  /** Resolves once the claim of the endpoint's pool port is in Neutron (at once for other endpoints). */
  async settled(endpointId: string): Promise<void> {
    await this.byEndpoint.get(endpointId)?.writes;
  }

  /** ProgramExternalConnectivity is about to put a group on the endpoint's pool port. */
  markExposed(endpointId: string): void {
    const r = this.byEndpoint.get(endpointId);
    if (r !== undefined) r.exposed = true;
  }

  /** True for a claimed pool port nothing was exposed on: RevokeExternalConnectivity has nothing to undo. */
  exposesNothing(endpointId: string): boolean {
    const r = this.byEndpoint.get(endpointId);
    return r !== undefined && !r.exposed;
  }

  /** True when the endpoint sits on a pool port this process claimed (its status is known: ACTIVE). */
  isClaimed(endpointId: string): boolean {
    return this.byEndpoint.has(endpointId);
  }

  /**
   * DeleteEndpoint of a claimed pool port: parks the interface again; the reset of the port's
   * Neutron state follows the claim in the background. False when the endpoint is not on a pool port.
   */
  async release(ctx: CoreContext, endpointId: string): Promise<boolean> {
    const r = this.byEndpoint.get(endpointId);
    if (r === undefined) return false;
    const parked = await this.dataplane().back(r.pp.vif, null);
    r.writes = r.writes.then(() => this.retried(ctx, r, 'reset', () => this.pools.reset(r.pp)));
    this.byEndpoint.delete(endpointId);
    ctx.cache.endpointPorts.delete(endpointId);
    r.stage = 'released';
    r.inHost = false;
    r.replug = !parked;
    ctx.log.info({ endpointId, portId: r.pp.port.id, parked }, 'endpoint deleted; pool port waits for ReleaseAddress');
    return true;
  }

  /** ReleaseAddress of a pool address: the port goes back to the pool. False when the address is not a pool port's. */
  releaseAddress(ctx: CoreContext, poolId: string, ip: string): boolean {
    const key = `${poolId}|${ip}`;
    const r = this.byAddress.get(key);
    if (r === undefined) return false;
    if (r.stage === 'claimed') {
      ctx.log.warn({ poolId, ip, endpointId: r.endpointId }, 'ReleaseAddress for an address whose endpoint still exists; ignored');
      return true;
    }
    if (r.stage === 'returning') return true;
    r.stage = 'returning';
    // Kept until the reset landed, so a DeleteNetwork meanwhile waits for it (see `drain`).
    r.writes = r.writes.then(() => {
      this.byAddress.delete(key);
      this.pools.recycle(r.pp, { replug: r.replug });
    });
    return true;
  }

  /** `kuryr pool fill`: registers the network's pool when needed and creates `count` ready ports now. */
  async fill(ctx: CoreContext, networkId: string, count: number): Promise<number> {
    if (!this.pools.has(networkId)) {
      const network = await ctx.neutron.getNetwork(networkId);
      const subnets = await ctx.neutron.listSubnets({ networkId });
      if (subnets.length !== 1) throw new InvalidInputError(`Neutron network ${networkId} has ${subnets.length} subnets; pools serve single-subnet networks`, 'NetworkID');
      this.pools.ensure(this.specOf(network, subnets));
    }
    return this.pools.fill(networkId, count);
  }

  /** DeleteNetwork, `kuryr pool drain`: forgets the network's reservations and deletes its pool ports and their devices. */
  async drain(ctx: CoreContext, networkId: string): Promise<number> {
    for (const [key, r] of [...this.byAddress]) {
      if (r.pp.port.networkId !== networkId) continue;
      await r.writes;
      if (r.stage === 'returning') continue; // recycled by its own writes
      this.byAddress.delete(key);
      if (r.endpointId !== undefined) this.byEndpoint.delete(r.endpointId);
      if (r.stage !== 'claimed') await this.pools.discard(r.pp);
    }
    // Ports on their way back (recycled just now) are ready or deleted before the pool is drained.
    await this.pools.idle();
    const n = await this.pools.drain(networkId, networkId);
    if (n > 0) ctx.log.info({ neutronNetworkId: networkId, deleted: n }, 'network pool drained');
    return n;
  }

  /**
   * After a restart: re-adopts this host's pool ports of Docker networks and finishes claims whose
   * `device_id` landed but whose tags did not.
   */
  async adopt(ctx: CoreContext): Promise<void> {
    const specs = new Map<string, Promise<PoolSpec | undefined>>();
    const specOf = (port: Port): Promise<PoolSpec | undefined> => {
      let s = specs.get(port.networkId);
      if (s === undefined) {
        s = (async () => {
          try {
            const network = await ctx.neutron.getNetwork(port.networkId);
            if (!network.tags.some((t) => t.startsWith(TAG_LH_PREFIX))) return undefined;
            const subnets = await ctx.neutron.listSubnets({ networkId: network.id });
            return subnets.length === 1 ? this.specOf(network, subnets) : undefined;
          } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
          }
        })();
        specs.set(port.networkId, s);
      }
      return s;
    };
    const report = await this.pools.adopt(specOf);
    for (const { port, user } of report.taken) {
      if (user === '') {
        ctx.log.warn({ portId: port.id }, 'pool port was taken before the restart and its endpoint is unknown; left as it is');
        continue;
      }
      if (port.deviceId === '') await ctx.neutron.updatePort(port.id, { deviceId: user, name: UNBOUND_PORT_NAME });
      await ctx.neutron.setTags('ports', port.id, this.claimTags(ctx, user));
      ctx.log.info({ portId: port.id, endpointId: user }, 'finished the claim of a pool port interrupted by the restart');
    }
  }

  /** Runs one Neutron write of a pool port until Neutron takes it (a deleted port ends it). */
  private async retried(ctx: CoreContext, r: Reservation, what: string, write: () => Promise<void>): Promise<void> {
    let wait = WRITE_RETRY_FIRST_MS;
    for (;;) {
      try {
        await write();
        ctx.log.debug({ endpointId: r.endpointId, portId: r.pp.port.id, what }, 'pool port written to Neutron');
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        ctx.log.warn({ endpointId: r.endpointId, portId: r.pp.port.id, what, err: errorMessage(err), retryMs: wait }, 'could not write a pool port to Neutron; retrying');
        await ctx.sleep(wait);
        wait = Math.min(WRITE_RETRY_MAX_MS, wait * 2);
      }
    }
  }

  private claimTags(ctx: CoreContext, endpointId: string): string[] {
    return [...(ctx.flags.tagExt ? [TAG_PORT_OWNED] : []), ...idTags(endpointId)];
  }

  private readonly priming = new Set<string>();

  private primeLater(ctx: CoreContext, networkId: string): void {
    if (this.priming.has(networkId)) return;
    this.priming.add(networkId);
    void (async () => {
      const network = await ctx.neutron.getNetwork(networkId);
      this.prime(ctx, network, await ctx.neutron.listSubnets({ networkId }));
    })()
      .catch((err: unknown) => ctx.log.warn({ neutronNetworkId: networkId, err: errorMessage(err) }, 'could not prime the network pool'))
      .finally(() => this.priming.delete(networkId));
  }

  private specOf(network: Network, subnets: Subnet[]): PoolSpec {
    return { key: network.id, networkId: network.id, subnets, mtu: network.mtu ?? 1500 };
  }

  private dataplane(): ParkingDataplane {
    return this.pools.dataplane;
  }
}

/** `kuryr pool show|fill|drain` over the driver's pools (nothing when pools are off). */
export class PoolAdmin implements PortPoolUseCases {
  constructor(private readonly ctx: CoreContext) {}

  poolStats(): PoolStats[] {
    return this.ctx.pools?.pools.stats() ?? [];
  }

  async poolFill(networkId: string, count: number): Promise<number> {
    return this.ctx.pools === undefined ? 0 : this.ctx.pools.fill(this.ctx, networkId, count);
  }

  async poolDrain(networkId: string): Promise<number> {
    return this.ctx.pools === undefined ? 0 : this.ctx.pools.drain(this.ctx, networkId);
  }
}
