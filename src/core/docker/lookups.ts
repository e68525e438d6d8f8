/**
 * Neutron look-ups shared by the Docker use cases, with readable errors that name the Docker ID or
 * the option value (the Python driver printed the empty result list instead of the name asked for).
 */
import { ConflictError, NotFoundError, errorMessage, isNotFound } from '../../common/errors.js';
import { type NetworkEntry } from './lookup-cache.js';
import type { Network, Port, Subnet, SubnetPool, TaggableKind } from '../shared/neutron-types.js';
import { endpointPortName, networkName } from './naming.js';
import type { NeutronPick } from './libnetwork.js';
import type { CoreContext } from './service-context.js';
import { existingNetworkTag, idTagFilter, idTags } from './tags.js';
import { started } from '../../common/promises.js';

/** The Neutron network of a Docker network (tags, or the DID as name in no-tag mode); `null` when none. */
export async function findNetworkByDid(ctx: CoreContext, did: string): Promise<Network | null> {
  const nets = ctx.flags.tag
    ? await ctx.neutron.listNetworks({ tags: idTags(did) })
    : await ctx.neutron.listNetworks({ name: networkName(did, false) });
  return onlyNetwork(did, nets);
}

/** The single network of a Docker network look-up answer; `ConflictError` when several match. */
export function onlyNetwork(did: string, nets: Network[]): Network | null {
  if (nets.length > 1) {
    throw new ConflictError(`multiple Neutron networks (${nets.map((n) => n.id).join(', ')}) are tagged for Docker network ${did}`);
  }
  return nets[0] ?? null;
}

/** Like `findNetworkByDid` but fails with an error naming the Docker network. */
export async function requireNetworkByDid(ctx: CoreContext, did: string): Promise<Network> {
  const net = await findNetworkByDid(ctx, did);
  if (net === null) {
    const key = ctx.flags.tag ? `tags ${idTagFilter(did)}` : `name ${did}`;
    throw new NotFoundError(`no Neutron network found for Docker network ${did} (looked up by ${key})`);
  }
  return net;
}

/** A pre-existing network in use by this Docker network (tags mode only). */
export async function findExistingNetworkByDid(ctx: CoreContext, did: string): Promise<Network | null> {
  if (!ctx.flags.tag) return null;
  const nets = await ctx.neutron.listNetworks({ tags: [...idTags(did), existingNetworkTag(did)] });
  return nets[0] ?? null;
}

/**
 * The port of a Docker endpoint: by EID tags, falling back to the name `<EID>-port` (ports the
 * Python driver created in CreateEndpoint carry no tags). `null` when none.
 * `concurrent` sends both queries at once (one round trip when the port is not tagged yet, as in
 * CreateEndpoint); the tagged answer still wins. A found port's ID is remembered for the EID.
 */
export async function findPortByEid(ctx: CoreContext, eid: string, opts: { concurrent?: boolean } = {}): Promise<Port | null> {
  const byName = () => ctx.neutron.listPorts({ name: endpointPortName(eid) });
  const namedEarly = ctx.flags.tag && opts.concurrent === true ? started(byName()) : undefined;
  let port: Port | null = null;
  if (ctx.flags.tag) {
    const tagged = await ctx.neutron.listPorts({ tags: idTags(eid) });
    if (tagged.length > 1) {
      throw new ConflictError(`multiple Neutron ports (${tagged.map((p) => p.id).join(', ')}) are tagged for endpoint ${eid}`);
    }
    port = tagged[0] ?? null;
  }
  if (port === null) {
    const named = namedEarly !== undefined ? await namedEarly() : await byName();
    if (named.length > 1) {
      throw new ConflictError(`multiple Neutron ports (${named.map((p) => p.id).join(', ')}) are named ${endpointPortName(eid)}`);
    }
    port = named[0] ?? null;
  }
  if (port !== null) ctx.cache.endpointPorts.set(eid, port.id);
  return port;
}

/**
 * The Neutron network and subnets of a Docker network, from the cache when known (`cached`),
 * else from Neutron (and then remembered). `NotFoundError` naming the Docker network when none.
 * Callers that get a 404 while using a cached entry call `ctx.cache.forgetNetwork` and retry once.
 */
export async function resolveNetwork(ctx: CoreContext, did: string, opts: { fresh?: boolean } = {}): Promise<{ entry: NetworkEntry; cached: boolean }> {
  if (opts.fresh === true) ctx.cache.forgetNetwork(did);
  const hit = ctx.cache.networks.get(did);
  if (hit !== undefined) return { entry: hit, cached: true };
  const remember = ctx.cache.networks.rememberLater(did);
  const network = await requireNetworkByDid(ctx, did);
  const subnets = await ctx.neutron.listSubnets({ networkId: network.id });
  const entry = { network, subnets };
  remember(entry);
  return { entry, cached: false };
}

/**
 * Runs `use` on the Docker network's Neutron entry: the cached one when known, so the hot path
 * skips two look-ups. This is the one place a stale entry is healed: when `use` fails with a
 * "not found" or a conflict while working from the cache, the network is looked up again; if Neutron
 * now answers differently (another host removed or replaced it), `use` runs once more on the fresh
 * entry, else the failure was real and is thrown. `use` must undo its own work before failing.
 */
export async function withNetworkEntry<T>(ctx: CoreContext, did: string, use: (entry: NetworkEntry) => Promise<T>): Promise<T> {
  const { entry, cached } = await resolveNetwork(ctx, did);
  if (!cached) return use(entry);
  try {
    return await use(entry);
  } catch (err) {
    if (!(isNotFound(err) || err instanceof ConflictError)) throw err;
    const fresh = (await resolveNetwork(ctx, did, { fresh: true })).entry;
    if (sameEntry(fresh, entry)) throw err;
    ctx.log.debug({ networkId: did, err: errorMessage(err) }, 'cached Neutron network entry was stale; using the fresh one');
    return use(fresh);
  }
}

function sameEntry(a: NetworkEntry, b: NetworkEntry): boolean {
  const ids = (e: NetworkEntry) => e.subnets.map((s) => s.id).sort().join(',');
  return a.network.id === b.network.id && ids(a) === ids(b);
}

/** The subnetpool with that ID, or `null` when Neutron says 404. */
export async function getPoolOrNull(ctx: CoreContext, poolId: string): Promise<SubnetPool | null> {
  try {
    return await ctx.neutron.getSubnetPool(poolId);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function requirePool(ctx: CoreContext, poolId: string): Promise<SubnetPool> {
  const pool = await getPoolOrNull(ctx, poolId);
  if (pool === null) throw new NotFoundError(`Neutron subnetpool ${poolId} (Docker PoolID) does not exist`);
  return pool;
}

/** The first prefix of a pool, as Python uses it (a warning when there are several). */
export function poolPrefix(ctx: CoreContext, pool: SubnetPool): string {
  if (pool.prefixes.length > 1) ctx.log.warn({ poolId: pool.id, prefixes: pool.prefixes }, 'subnetpool has several prefixes; using the first');
  const first = pool.prefixes[0];
  if (first === undefined) throw new NotFoundError(`Neutron subnetpool ${pool.id} has no prefixes`);
  return first;
}

/** Resolves a subnet name to one subnet ID; the error names the subnet and the option. */
export async function resolveSubnetName(ctx: CoreContext, name: string, option: string): Promise<string> {
  const subnets = await ctx.neutron.listSubnets({ name });
  if (subnets.length === 0) throw new NotFoundError(`no Neutron subnet is named '${name}' (option ${option})`);
  if (subnets.length > 1) throw new ConflictError(`multiple Neutron subnets are named '${name}' (option ${option}); use the uuid option`);
  return (subnets[0] as Subnet).id;
}

/** The user subnet hint of a family: its UUID, or its name resolved. */
export async function subnetHint(ctx: CoreContext, subnet: NeutronPick): Promise<string | undefined> {
  if (subnet.uuid !== undefined) return subnet.uuid;
  if (subnet.name !== undefined) return resolveSubnetName(ctx, subnet.name, subnet.nameOption);
  return undefined;
}

/** A user pool picked by UUID (wins) or name; throws naming the option. */
export async function userPool(ctx: CoreContext, pick: NeutronPick): Promise<SubnetPool | undefined> {
  if (pick.uuid !== undefined) {
    const pool = await getPoolOrNull(ctx, pick.uuid);
    if (pool === null) throw new NotFoundError(`Neutron subnetpool ${pick.uuid} given in ${pick.uuidOption} does not exist`);
    return pool;
  }
  if (pick.name !== undefined) {
    const pools = await ctx.neutron.listSubnetPools({ name: pick.name });
    if (pools.length === 0) throw new NotFoundError(`no Neutron subnetpool is named '${pick.name}' (option ${pick.nameOption})`);
    if (pools.length > 1) throw new ConflictError(`multiple Neutron subnetpools are named '${pick.name}' (option ${pick.nameOption})`);
    return pools[0];
  }
  return undefined;
}

/** True when the driver created this pool and may delete it (never default or user pools, which the Python driver could delete). */
export function isKuryrOwnedPool(ctx: CoreContext, pool: SubnetPool): boolean {
  const o = ctx.options;
  if (pool.name === o.defaultSubnetpoolV4 || pool.name === o.defaultSubnetpoolV6) return false;
  if (!pool.name.startsWith(`${o.subnetpoolNamePrefix}-`)) return false;
  return !(ctx.flags.tagExt && pool.tags.includes('kuryr.subnetpool.existing'));
}

/** Adds a tag unless present; a 404 (tags unsupported for the kind) is logged and ignored, as in Python. */
export async function ensureTag(ctx: CoreContext, kind: TaggableKind, id: string, current: readonly string[], tag: string): Promise<boolean> {
  if (current.includes(tag)) return false;
  try {
    await ctx.neutron.addTag(kind, id, tag);
    return true;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    ctx.log.warn({ kind, id, tag }, 'could not tag Neutron resource (404): tags unsupported or resource gone');
    return false;
  }
}

/** Removes a tag if present; "already gone" is success. */
export async function dropTag(ctx: CoreContext, kind: TaggableKind, id: string, current: readonly string[] | undefined, tag: string): Promise<void> {
  if (current !== undefined && !current.includes(tag)) return;
  try {
    await ctx.neutron.removeTag(kind, id, tag);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Replaces the tag list in one call (`PUT /{kind}/{id}/tags`) when the current list is known.
 * A 404 (tags unsupported or resource gone) is logged and ignored as in `ensureTag`; returns
 * whether the tags were written.
 */
export async function writeTags(ctx: CoreContext, kind: TaggableKind, id: string, tags: readonly string[]): Promise<boolean> {
  try {
    await ctx.neutron.setTags(kind, id, [...tags]);
    return true;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    ctx.log.warn({ kind, id, tags }, 'could not set tags of Neutron resource (404): tags unsupported or resource gone');
    return false;
  }
}
