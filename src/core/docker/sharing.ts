/**
 * Neutron resources shared by Docker networks on several hosts (local scope, docs/multihost.md):
 * the same CIDR on two hosts reuses one `kuryrPool-<cidr>` and one subnet, and a Neutron network
 * can be used by several Docker networks (`neutron.net.uuid`, `kuryr network sync`). Whoever
 * leaves first must not delete what another host still uses:
 * - a kuryr pool carries one `kuryr.pool.host:<host id>` tag per host holding it (RequestPool adds
 *   it, ReleasePool drops it); its subnet and the pool go only with the last holder;
 * - a Neutron network carries the ID tags of every Docker network using it; a kuryr-created
 *   network adopted elsewhere outlives its creator and goes with the last user.
 * Pools and networks without these tags (made by the Python driver) behave as before.
 */
import { errorMessage, isNotFound } from '../../common/errors.js';
import { dropTag, ensureTag, getPoolOrNull, isKuryrOwnedPool } from './lookups.js';
import { NETWORK_NAME_PREFIX } from './naming.js';
import type { Network, Subnet, SubnetPool } from '../shared/neutron-types.js';
import type { CoreContext } from './service-context.js';
import { TAG_EXISTING_NET_PREFIX, TAG_LH_PREFIX, existingNetworkTag, idTags } from './tags.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';
import { fitTag } from '../shared/tag-limit.js';

export const TAG_POOL_HOST_PREFIX = 'kuryr.pool.host:';

/** `kuryr.pool.host:<host id>`, cut to Neutron's 60 characters. */
export function poolHostTag(hostId: string): string {
  return fitTag(TAG_POOL_HOST_PREFIX + hostId);
}

/** Holder tags of hosts other than this one. */
export function otherPoolHolders(ctx: CoreContext, pool: SubnetPool): string[] {
  const mine = poolHostTag(ctx.hostId);
  return pool.tags.filter((t) => t.startsWith(TAG_POOL_HOST_PREFIX) && t !== mine);
}

/** RequestPool: marks this host as a holder of a kuryr pool (no call when already marked). */
export async function holdPool(ctx: CoreContext, pool: SubnetPool): Promise<void> {
  if (!ctx.flags.tagExt || !isKuryrOwnedPool(ctx, pool)) return;
  await ensureTag(ctx, 'subnetpools', pool.id, pool.tags, poolHostTag(ctx.hostId));
}

/**
 * ReleasePool: drops this host's mark, then reads the pool again; when other hosts still hold it,
 * returns true (the caller keeps the pool, its subnet and the subnet's pool tag). Reading after
 * the write means two hosts leaving at once cannot both keep it.
 */
export async function leaveSharedPool(ctx: CoreContext, pool: SubnetPool): Promise<boolean> {
  if (!ctx.flags.tagExt || !isKuryrOwnedPool(ctx, pool)) return false;
  if (otherPoolHolders(ctx, pool).length === 0) return false;
  await dropTag(ctx, 'subnetpools', pool.id, pool.tags, poolHostTag(ctx.hostId));
  const now = await getPoolOrNull(ctx, pool.id);
  const others = now === null ? [] : otherPoolHolders(ctx, now);
  if (others.length === 0) return false;
  ctx.log.info({ poolId: pool.id, holders: others }, 'subnetpool still held by other hosts; kept');
  return true;
}

/** True when the subnet's kuryr pool is held by another host (its Docker network still uses the subnet). */
export async function heldByOtherHost(ctx: CoreContext, subnet: Subnet): Promise<boolean> {
  if (!ctx.flags.tagExt || subnet.subnetpoolId === null || subnet.subnetpoolId === undefined) return false;
  const pool = await getPoolOrNull(ctx, subnet.subnetpoolId);
  return pool !== null && isKuryrOwnedPool(ctx, pool) && otherPoolHolders(ctx, pool).length > 0;
}

/** True when Docker networks other than `did` use this network as a pre-existing one. */
export function adoptedElsewhere(net: Network, did: string): boolean {
  const mine = existingNetworkTag(did);
  return net.tags.some((t) => t.startsWith(TAG_EXISTING_NET_PREFIX) && t !== mine);
}

/**
 * DeleteNetwork of the Docker network that created `net` while others still use it: only this
 * network's ID tags go; the last user deletes the network (`deleteOrphanedKuryrNetwork`).
 */
export async function releaseAdoptedNetwork(ctx: CoreContext, did: string, net: Network): Promise<void> {
  for (const t of idTags(did)) await dropTag(ctx, 'networks', net.id, net.tags, t);
  ctx.log.info({ networkId: did, neutronNetworkId: net.id }, 'kuryr network used by other Docker networks; leaving it to them');
  await deleteOrphanedKuryrNetwork(ctx, net);
}

/**
 * After a Docker network released a kuryr-created network (name `kuryr-net-…`), deletes it when
 * no Docker network uses it any more. The tags are read after ours were dropped, so of two hosts
 * leaving at once at least one sees the network unused.
 */
export async function deleteOrphanedKuryrNetwork(ctx: CoreContext, net: Network): Promise<void> {
  if (!ctx.flags.tag || !net.name.startsWith(NETWORK_NAME_PREFIX)) return;
  try {
    const now = await ctx.neutron.getNetwork(net.id);
    if (now.tags.some((t) => t.startsWith(TAG_LH_PREFIX) || t.startsWith(TAG_EXISTING_NET_PREFIX))) return;
    await deleteIgnoringMissing(() => ctx.neutron.deleteNetwork(net.id));
    ctx.log.info({ neutronNetworkId: net.id }, 'deleted kuryr network after its last Docker network left');
  } catch (err) {
    if (isNotFound(err)) return;
    ctx.log.warn({ neutronNetworkId: net.id, err: errorMessage(err) }, 'could not delete orphaned kuryr network');
  }
}
