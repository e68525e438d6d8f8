/**
 * Pods on pool ports: ADD takes a ready port of the pool of its subnet, security groups and
 * project, moves the parked end into the pod's netns (name, MTU, addresses, routes) and names and
 * tags the port as an ordinary ADD does, under the pod's lock. DEL parks the interface again, resets
 * the port and returns it to the pool, or deletes it above `ports_pool_max`.
 *
 * The name and tags go to Neutron a moment after the reply, not at once: each write makes Neutron and
 * its agents busy for a few hundred ms, and the runtime is still starting the pod's sandbox on the
 * same CPUs. Nothing waits on them meanwhile: CHECK writes them first, DEL drops them (the port goes
 * back to the pool unchanged), GC and the reconciler never touch a port the pool lent out, and a
 * daemon that stops writes what is left.
 */
import { NotFoundError, errorMessage, isNotFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { KeyedMutex } from '../../common/keyed-mutex.js';
import type { Network, Port, Subnet } from '../shared/neutron-types.js';
import type { AttachmentKey, PodAddRequest } from './pod-model.js';
import { podDeviceId, podPortName, podPortTags } from './pod-tags.js';
import type { PoolSpec, PoolStats, PooledPort } from '../port-pool/pool-model.js';
import type { PortPools } from '../port-pool/port-pools.js';

/** How long after an ADD's reply its port is named and tagged (see above). */
export const CLAIM_WRITE_DELAY_MS = 1_000;
const WRITE_RETRY_FIRST_MS = 500;
const WRITE_RETRY_MAX_MS = 10_000;

/** The pool of a subnet, security-group set and project. */
export function podPoolKey(subnetId: string, securityGroups: string[], projectId: string | undefined): string {
  return `${subnetId}|${[...securityGroups].sort().join(',')}|${projectId ?? ''}`;
}

/** `kuryr pool show|fill|drain --cni`: the node's pod pools, by Neutron network. */
export interface PodPoolAdmin {
  stats(): PoolStats[];
  /** Creates `count` ports now in the network's pod pool (registered by a first ADD); answers how many became ready. */
  fill(networkId: string, count: number): Promise<number>;
  /** Deletes the free ports of every pod pool on the network (ports in use are deleted when they come back). */
  drain(networkId: string): Promise<number>;
}

export class PodPools implements PodPoolAdmin {
  /** `<container id>|<ifname>` → the pool port it sits on. */
  private readonly attached = new Map<string, PooledPort>();
  /** `<container id>|<ifname>` → its name-and-tag write, until it runs. */
  private readonly pendingClaims = new Map<string, () => Promise<void>>();
  private closing = false;

  constructor(
    readonly pools: PortPools,
    private readonly log: Logger,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly claimDelayMs = CLAIM_WRITE_DELAY_MS,
  ) {}

  /**
   * A pool port moved into the pod's netns, or `undefined` (no ready port: the caller makes one).
   * The pool is registered and filled on first use.
   */
  async attach(
    req: PodAddRequest,
    place: { subnet: Subnet; network: Network; securityGroups: string[]; projectId: string | undefined; mtu: number },
    write: { hostId: string; resourceTags: string[]; locks: KeyedMutex; lockKey: string },
  ): Promise<PooledPort | undefined> {
    const key = podPoolKey(place.subnet.id, place.securityGroups, place.projectId);
    if (!this.pools.has(key)) {
      this.pools.ensure(this.specOf(key, place));
      return undefined;
    }
    const pp = this.pools.take(key);
    if (pp === undefined) return undefined;
    try {
      await this.pools.dataplane.into(pp.vif, { netnsPath: req.netns, ifName: req.ifName });
    } catch (err) {
      this.log.warn({ portId: pp.port.id, err: errorMessage(err) }, 'could not move a pool port into the pod; deleting it');
      await this.pools.discard(pp).catch(() => undefined);
      return undefined;
    }
    const id = attachmentId(req);
    this.attached.set(id, pp);
    const tags = podPortTags(write.hostId, req, req.pod, write.resourceTags);
    const update = { name: podPortName(req.pod), deviceId: podDeviceId(req.pod, req.containerId) };
    // Runs once: from the timer, a CHECK or close(), whichever comes first; a DEL before it drops it.
    const claim = async (): Promise<void> => {
      if (this.pendingClaims.get(id) !== claim) return;
      this.pendingClaims.delete(id);
      await this.writeClaim(pp, update, tags);
    };
    this.pendingClaims.set(id, claim);
    if (this.closing) void claim();
    else setTimeout(() => void write.locks.run(write.lockKey, claim), this.claimDelayMs).unref();
    return pp;
  }

  /** Writes the attachment's pending name and tags now (CHECK reads them from Neutron). Call under the pod's lock. */
  async flushClaim(key: Pick<AttachmentKey, 'containerId' | 'ifName'>): Promise<void> {
    await this.pendingClaims.get(attachmentId(key))?.();
  }

  /** Stopping: writes every pending name and tags now, each tried once more at most. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.pendingClaims.values()].map((claim) => claim()));
  }

  /** DEL of an attachment on a pool port: parks, resets and returns the port. False when it is not one. */
  async detach(key: AttachmentKey, netns: string): Promise<boolean> {
    const id = attachmentId(key);
    const pp = this.attached.get(id);
    if (pp === undefined) return false;
    // Not written yet: Neutron still holds the port as a free pool port, so there is nothing to reset,
    // and a port whose plug never changed is ready again at once.
    const unwritten = this.pendingClaims.delete(id);
    const parked = await this.pools.dataplane.back(pp.vif, netns !== '' ? { netnsPath: netns, ifName: key.ifName } : null);
    if (!unwritten) await this.pools.reset(pp);
    this.attached.delete(id);
    this.pools.recycle(pp, { replug: !parked, unchanged: unwritten && parked });
    this.log.info({ portId: pp.port.id, containerId: key.containerId, parked }, 'pod detached; port returned to the pool');
    return true;
  }

  stats(): PoolStats[] {
    return this.pools.stats();
  }

  async fill(networkId: string, count: number): Promise<number> {
    const pool = this.pools.stats().find((p) => p.networkId === networkId && !p.closed);
    if (pool === undefined) throw new NotFoundError(`no pod pool on Neutron network ${networkId} (a first pod ADD on its subnet makes one)`);
    return this.pools.fill(pool.key, count);
  }

  async drain(networkId: string): Promise<number> {
    const keys = this.pools.stats().filter((p) => p.networkId === networkId).map((p) => p.key);
    let deleted = 0;
    // A network without a known pool still loses this side's stray pool ports (the key is then unused).
    for (const key of keys.length > 0 ? keys : [`drain:${networkId}`]) deleted += await this.pools.drain(key, networkId);
    return deleted;
  }

  /** After a restart: re-adopts this node's pod pool ports (the pool of each from the port itself). */
  async adopt(neutron: { getSubnet(id: string): Promise<Subnet>; getNetwork(id: string): Promise<Network> }, networkDeviceMtu: number): Promise<void> {
    const report = await this.pools.adopt(async (port: Port) => {
      const subnetId = port.fixedIps[0]?.subnetId;
      if (subnetId === undefined) return undefined;
      try {
        const subnet = await neutron.getSubnet(subnetId);
        const network = await neutron.getNetwork(subnet.networkId);
        const sgs = [...port.securityGroups];
        const key = podPoolKey(subnet.id, sgs, port.projectId);
        return this.specOf(key, { subnet, network, securityGroups: sgs, projectId: port.projectId, mtu: networkDeviceMtu > 0 ? networkDeviceMtu : network.mtu ?? 1500 });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
    if (report.taken.length > 0) this.log.warn({ ports: report.taken.map((t) => t.port.id) }, 'pod pool ports taken before the restart are left as they are');
  }

  private async writeClaim(pp: PooledPort, update: { name: string; deviceId: string }, tags: string[]): Promise<void> {
    let wait = WRITE_RETRY_FIRST_MS;
    for (;;) {
      try {
        await this.pools.neutron.updatePort(pp.port.id, update);
        await this.pools.neutron.setTags('ports', pp.port.id, tags);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (this.closing) {
          this.log.error({ portId: pp.port.id, err: errorMessage(err) }, 'stopping: a pod pool port keeps its pool name and tags');
          return;
        }
        this.log.warn({ portId: pp.port.id, err: errorMessage(err), retryMs: wait }, 'could not name and tag a pod pool port; retrying');
        await this.sleep(wait);
        wait = Math.min(WRITE_RETRY_MAX_MS, wait * 2);
      }
    }
  }

  private specOf(key: string, place: { subnet: Subnet; network: Network; securityGroups: string[]; projectId: string | undefined; mtu: number }): PoolSpec {
    return {
      key,
      networkId: place.subnet.networkId,
      subnets: [place.subnet],
      mtu: place.mtu,
      ...(place.securityGroups.length > 0 ? { securityGroups: place.securityGroups } : {}),
      ...(place.projectId !== undefined ? { projectId: place.projectId } : {}),
    };
  }
}

function attachmentId(key: Pick<AttachmentKey, 'containerId' | 'ifName'>): string {
  return `${key.containerId}|${key.ifName}`;
}
