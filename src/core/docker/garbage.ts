/**
 * The garbage collector of the Docker driver (docs/ownership.md, rule 8): finds what a crash or a
 * forgotten `docker network rm` left behind on this host and removes it with the same use cases
 * Docker would have called (DeleteEndpoint, ReleaseAddress, ReleasePool, DeleteNetwork), so every
 * ownership rule and lock applies unchanged. Dry run unless `apply`.
 */
import { isNotFound } from '../../common/errors.js';
import type { AddressUseCases, EndpointUseCases, NetworkUseCases, PoolUseCases } from './libnetwork.js';
import { isKuryrOwnedPool } from './lookups.js';
import { NETWORK_NAME_PREFIX, SG_DESCRIPTION, UNBOUND_PORT_NAME } from './naming.js';
import { type CoreContext, allocatingPrefix, claimLockKey } from './service-context.js';
import { TAG_POOL_HOST_PREFIX, poolHostTag } from './sharing.js';
import { TAG_LH_PREFIX, TAG_PORT_EXISTING, TAG_PORT_OWNED, TAG_UH_PREFIX, hasIdTags, idFromTags } from './tags.js';
import { isPoolPort, poolTag } from '../port-pool/pool-tags.js';
import { type Act as SharedAct, type GcFinding as SharedFinding, type GcOptions, collectOrphanPlugs, gcActor, graceClock } from '../shared/gc.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';
import type { Network, Port, Subnet } from '../shared/neutron-types.js';

/** The Docker use cases the collector removes things with, exactly as Docker's own calls would. */
export interface DockerUseCases {
  networks: Pick<NetworkUseCases, 'deleteNetwork'>;
  endpoints: Pick<EndpointUseCases, 'deleteEndpoint'>;
  pools: Pick<PoolUseCases, 'releasePool'>;
  addresses: Pick<AddressUseCases, 'releaseAddress'>;
}

/** What dockerd of this host knows about one network; null when it does not know the ID. */
export interface DockerNetworkView {
  endpointIds: ReadonlySet<string>;
  /** Plain IPs dockerd has handed out on it (endpoints, gateway, aux addresses). */
  addresses: ReadonlySet<string>;
}

export interface DockerView {
  network(id: string): Promise<DockerNetworkView | null>;
}

export type GcKind = 'endpoint' | 'unclaimed-port' | 'pool-ports' | 'network' | 'pool' | 'security-group' | 'plug';
export type { GcOptions };
export type GcFinding = SharedFinding<GcKind>;

/** Pods' ports that the Docker collector never looks at (port-pool members are recognised by `isPoolPort`). */
const POD_PORT_TAG_PREFIXES = ['kuryr.cni.', 'kuryr.pod.'];

export async function collectGarbage(ctx: CoreContext, uc: DockerUseCases, docker: DockerView, opts: GcOptions): Promise<GcFinding[]> {
  const findings: GcFinding[] = [];
  const act = gcActor<GcKind>(ctx.log, opts, findings);
  const skip = (f: Omit<GcFinding, 'outcome'>): void => {
    findings.push({ ...f, outcome: 'skipped' });
    opts.onFinding?.({ ...f, outcome: 'skipped' });
  };
  const { old, forget } = graceClock(() => ctx.now(), opts);

  const allNetworks = await ctx.neutron.listNetworks();
  await collectUntaggedNetworks(ctx, allNetworks, act, old);
  const networks = allNetworks.filter((n) => n.tags.some((t) => t.startsWith(TAG_LH_PREFIX)));
  for (const net of networks) {
    const did = fullDid(net);
    if (did === undefined) continue;
    const [view, listed, subnets] = await Promise.all([docker.network(did), ctx.neutron.listPorts({ networkId: net.id }), ctx.neutron.listSubnets({ networkId: net.id })]);
    let ports = listed;
    if (view === null && (await collectFreePoolPorts(ctx, net, did, ports, act, old)) && opts.apply) ports = await ctx.neutron.listPorts({ networkId: net.id });
    const holders = await poolHolders(ctx, subnets);
    // A kuryr network without subnets never served a Docker network (a CreateNetwork cut short): nobody's.
    const unfinished = subnets.length === 0 && net.name.startsWith(NETWORK_NAME_PREFIX);
    const onlyHere = unfinished || (holders.size > 0 && [...holders].every((h) => h === poolHostTag(ctx.hostId)));
    const ours = ports.filter((p) => !isPoolPort(p) && !p.tags.some((t) => POD_PORT_TAG_PREFIXES.some((x) => t.startsWith(x))));
    if (view === null) {
      const foreign = ports.find((p) => !ours.includes(p) && !p.deviceOwner.startsWith('network:'));
      await collectNetwork(ctx, uc, net, did, ours, foreign, subnets, onlyHere, act, skip, old);
      continue;
    }
    for (const port of ours) {
      const eid = endpointIdOf(port);
      if (eid !== undefined && port.hostId === ctx.hostId) {
        if (view.endpointIds.has(eid) || ctx.locks.busy(`ep:${eid}`) || !old(port.id, port.updatedAt)) continue;
        await act({ kind: 'endpoint', id: port.id, why: `endpoint ${eid.slice(0, 12)} of Docker network ${did.slice(0, 12)} is not known to dockerd` }, () =>
          removeEndpointPort(uc, did, eid, port, subnets),
        );
      } else if (isUnclaimed(port) && onlyHere && !port.fixedIps.some((f) => view.addresses.has(f.ipAddress))) {
        if (inFlight(ctx, port) || !old(port.id, port.updatedAt)) continue;
        await act({ kind: 'unclaimed-port', id: port.id, why: `IPAM port ${port.fixedIps.map((f) => f.ipAddress).join(',')} never claimed by an endpoint of Docker network ${did.slice(0, 12)}` }, () =>
          releaseIps(uc, port, subnets),
        );
      }
    }
  }
  await collectPools(ctx, uc, act, old);
  await collectExposedGroups(ctx, act);
  await collectOrphanPlugs(ctx, (plug) => plug.deviceId !== '' && ctx.locks.busy(`ep:${plug.deviceId}`), act);
  forget();
  return findings;
}

type Act = SharedAct<GcKind>;

/** A Docker network dockerd no longer knows: Docker's own teardown, when this host is its only holder. */
async function collectNetwork(
  ctx: CoreContext,
  uc: DockerUseCases,
  net: Network,
  did: string,
  ports: Port[],
  foreign: Port | undefined,
  subnets: Subnet[],
  onlyHere: boolean,
  act: Act,
  skip: (f: Omit<GcFinding, 'outcome'>) => void,
  old: (key: string, updatedAt: string | undefined) => boolean,
): Promise<void> {
  const finding = { kind: 'network' as const, id: net.id, why: `Docker network ${did.slice(0, 12)} no longer exists in dockerd` };
  if (!onlyHere) return skip({ ...finding, why: `${finding.why}, but its subnet pools are not held by this host alone` });
  const elsewhere = ports.find((p) => p.hostId !== '' && p.hostId !== ctx.hostId && !p.deviceOwner.startsWith('network:'));
  if (elsewhere !== undefined) return skip({ ...finding, why: `${finding.why}, but port ${elsewhere.id} is bound to ${elsewhere.hostId}` });
  // a port nothing here may remove (a pod's, a pool member, one no rule calls ours) keeps the network: leave it whole
  const stuck = foreign ?? ports.find((p) => !p.deviceOwner.startsWith('network:') && !removable(ctx, p));
  if (stuck !== undefined) return skip({ ...finding, why: `${finding.why}, but port ${stuck.id} (${stuck.name || 'unnamed'}) is not one the collector may remove` });
  if (ctx.locks.busy(`net:${did}`) || !old(`net:${net.id}`, net.updatedAt)) return;
  await act(finding, async () => {
    for (const port of ports) {
      if (port.deviceOwner.startsWith('network:')) continue; // DHCP and router ports go with the network
      const eid = endpointIdOf(port);
      if (eid !== undefined && port.hostId === ctx.hostId) await removeEndpointPort(uc, did, eid, port, subnets);
      else await releaseIps(uc, port, subnets);
    }
    for (const poolId of new Set(subnets.map((s) => s.subnetpoolId).filter((p): p is string => !!p))) await uc.pools.releasePool(poolId);
    await uc.networks.deleteNetwork(did);
  });
}

/**
 * Free pool ports of this host's Docker pools on a network dockerd no longer knows: a batch that was
 * being created when the network was removed or the daemon stopped. Nothing can claim them any more,
 * and they hold the subnet, so the network could never go. Ports of another host, of the pods'
 * pools, or touched within the grace period stay. Answers whether any was found.
 */
async function collectFreePoolPorts(ctx: CoreContext, net: Network, did: string, ports: Port[], act: Act, old: (key: string, updatedAt: string | undefined) => boolean): Promise<boolean> {
  const tag = poolTag('docker', ctx.hostId);
  const free = ports.filter((p) => p.name === tag || p.tags.includes(tag));
  if (free.length === 0 || ctx.locks.busy(`net:${did}`)) return false;
  // every port is checked, so each one's grace clock runs from this round on
  const settled = free.map((p) => old(p.id, p.updatedAt)).every(Boolean);
  if (!settled) return false;
  await act({ kind: 'pool-ports', id: net.id, why: `${free.length} free pool port(s) of this host on Docker network ${did.slice(0, 12)}, which dockerd no longer knows` }, async () => {
    // With pools on, the pool manager also removes their devices; otherwise the plug collector does.
    if (ctx.pools !== undefined) await ctx.pools.drain(ctx, net.id);
    else for (const p of free) await deleteIgnoringMissing(() => ctx.neutron.deletePort(p.id));
  });
  return true;
}

/**
 * A network named like ours (`kuryr-net-` and 8 hex digits of a Docker network ID) with no tag, no subnet and no
 * port: CreateNetwork died between the network's POST and its tags. Nothing can use it and no request will
 * ever find it (every look-up goes by tags). Left alone: anything tagged, with a subnet or a port, or recent.
 */
async function collectUntaggedNetworks(ctx: CoreContext, networks: Network[], act: Act, old: (key: string, updatedAt: string | undefined) => boolean): Promise<void> {
  const name = new RegExp(`^${NETWORK_NAME_PREFIX}[0-9a-f]{8}$`);
  for (const net of networks) {
    if (net.tags.length > 0 || net.subnetIds.length > 0 || !name.test(net.name) || net.external || net.shared) continue;
    if (!old(`net:${net.id}`, net.updatedAt)) continue;
    if ((await ctx.neutron.listPorts({ networkId: net.id })).length > 0) continue;
    await act({ kind: 'network', id: net.id, why: `network ${net.name} has no tags, subnets or ports (a network create cut short before its tags)` }, () =>
      deleteIgnoringMissing(() => ctx.neutron.deleteNetwork(net.id)),
    );
  }
}

/** Kuryr pools only this host holds, without a subnet and not handed out just now: a network create cut short. */
async function collectPools(ctx: CoreContext, uc: DockerUseCases, act: Act, old: (key: string, updatedAt: string | undefined) => boolean): Promise<void> {
  const mine = poolHostTag(ctx.hostId);
  for (const pool of await ctx.neutron.listSubnetPools({ tags: [mine] })) {
    if (!isKuryrOwnedPool(ctx, pool) || pool.tags.some((t) => t.startsWith(TAG_POOL_HOST_PREFIX) && t !== mine)) continue;
    if (ctx.pendingPools.has(pool.id) || ctx.locks.busy(`poolid:${pool.id}`) || !old(`pool:${pool.id}`, pool.updatedAt)) continue;
    if ((await ctx.neutron.listSubnets({ subnetpoolId: pool.id })).length > 0) continue;
    await act({ kind: 'pool', id: pool.id, why: `subnetpool ${pool.name} held by this host has no subnet (a network create cut short)` }, () => uc.pools.releasePool(pool.id));
  }
}

/** `<port id>-exposed_ports` groups (ours, by name and description) whose port is gone: they serve nobody. */
async function collectExposedGroups(ctx: CoreContext, act: Act): Promise<void> {
  const re = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-exposed_ports$/;
  for (const sg of await ctx.neutron.listSecurityGroups()) {
    const portId = re.exec(sg.name)?.[1];
    if (portId === undefined || sg.description !== SG_DESCRIPTION) continue;
    try {
      await ctx.neutron.getPort(portId);
      continue;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await act({ kind: 'security-group', id: sg.id, why: `exposed-ports group of port ${portId}, which no longer exists` }, () =>
      deleteIgnoringMissing(() => ctx.neutron.deleteSecurityGroup(sg.id)),
    );
  }
}

async function removeEndpointPort(uc: DockerUseCases, did: string, eid: string, port: Port, subnets: Subnet[]): Promise<void> {
  await uc.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
  await releaseIps(uc, port, subnets);
}

/** ReleaseAddress of every fixed IP of the port on a subnet with a pool (deletes ours, resets the user's). */
async function releaseIps(uc: DockerUseCases, port: Port, subnets: Subnet[]): Promise<void> {
  for (const ip of port.fixedIps) {
    const poolId = subnets.find((s) => s.id === ip.subnetId)?.subnetpoolId;
    if (poolId) await uc.addresses.releaseAddress({ poolId, address: ip.ipAddress });
  }
}

/** The Docker network ID from the `lh`/`uh` tags; undefined when several Docker networks tag it. */
function fullDid(net: Network): string | undefined {
  const lh = net.tags.filter((t) => t.startsWith(TAG_LH_PREFIX));
  const uh = net.tags.filter((t) => t.startsWith(TAG_UH_PREFIX));
  return lh.length === 1 && uh.length <= 1 ? idFromTags(net.tags) : undefined;
}

/**
 * The Docker endpoint ID a port serves: its `device_id` when the port carries that ID's tags or the
 * `<EID>-port` name, or when our IPAM made (or marked) it and CreateEndpoint bound it to the endpoint but
 * was cut off before it tagged it.
 */
function endpointIdOf(port: Port): string | undefined {
  if (!/^[0-9a-f]{64}$/.test(port.deviceId)) return undefined;
  if (hasIdTags(port.tags, port.deviceId) || port.name === `${port.deviceId}-port`) return port.deviceId;
  const ours = port.tags.includes(TAG_PORT_OWNED) || port.tags.includes(TAG_PORT_EXISTING);
  return ours && port.deviceOwner === TAG_PORT_OWNED ? port.deviceId : undefined;
}

/** A port the teardown removes: an endpoint of this host, an unclaimed IPAM port, or a user port (released, kept). */
function removable(ctx: CoreContext, port: Port): boolean {
  return (endpointIdOf(port) !== undefined && port.hostId === ctx.hostId) || isUnclaimed(port) || port.tags.includes(TAG_PORT_EXISTING);
}

/**
 * An IPAM port a running call still works on: a CreateEndpoint claiming its address, or (untagged) a
 * RequestAddress on its subnet that has not tagged its new port yet.
 */
function inFlight(ctx: CoreContext, port: Port): boolean {
  return port.fixedIps.some((f) => ctx.locks.busy(claimLockKey(f.ipAddress)) || (port.tags.length === 0 && ctx.locks.busyPrefix(allocatingPrefix(f.subnetId))));
}

/** Made by RequestAddress and never bound by a CreateEndpoint. */
function isUnclaimed(port: Port): boolean {
  const tagged = port.tags.includes(TAG_PORT_OWNED) || port.tags.length === 0; // untagged: RequestAddress cut before tagging
  return port.name === UNBOUND_PORT_NAME && tagged && port.deviceOwner === '' && port.hostId === '' && idFromTags(port.tags) === undefined;
}

/** Holder tags of the kuryr pools behind these subnets (`kuryr.pool.host:<host>`). */
async function poolHolders(ctx: CoreContext, subnets: Subnet[]): Promise<Set<string>> {
  const holders = new Set<string>();
  for (const id of new Set(subnets.map((s) => s.subnetpoolId).filter((p): p is string => !!p))) {
    try {
      const pool = await ctx.neutron.getSubnetPool(id);
      if (!isKuryrOwnedPool(ctx, pool)) continue;
      for (const t of pool.tags) if (t.startsWith(TAG_POOL_HOST_PREFIX)) holders.add(t);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return holders;
}
