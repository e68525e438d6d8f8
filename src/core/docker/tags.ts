/**
 * Tag encodings kuryr-libnetwork writes on Neutron resources.
 * Pure functions; the Python driver's state is read and written with exactly these strings.
 */

/** Lower half of a Docker network/endpoint ID: `kuryr.net.uuid.lh:` + id[0:32]. */
export const TAG_LH_PREFIX = 'kuryr.net.uuid.lh:';
/** Upper half, only for IDs longer than 32 chars: `kuryr.net.uuid.uh:` + id[32:64]. */
export const TAG_UH_PREFIX = 'kuryr.net.uuid.uh:';
/** Marker of a pre-existing network in use by a Docker network: + DID[0:12]. */
export const TAG_EXISTING_NET_PREFIX = 'kuryr.net.existing:';
/** Marker of a port created by kuryr (IPAM or CreateEndpoint); same string as the device_owner. */
export const TAG_PORT_OWNED = 'compute:kuryr';
/** Marker of a user port re-used by kuryr IPAM. */
export const TAG_PORT_EXISTING = 'kuryr.port.existing';
/** Marker of a user subnetpool used through `neutron.pool.*`. */
export const TAG_POOL_EXISTING = 'kuryr.subnetpool.existing';

/** The `lh` (and, for IDs over 32 chars, `uh`) tags of a Docker network or endpoint ID. */
export function idTags(id: string): string[] {
  const tags = [TAG_LH_PREFIX + id.slice(0, 32)];
  if (id.length > 32) tags.push(TAG_UH_PREFIX + id.slice(32, 64));
  return tags;
}

/** The lookup identifier Python prints and filters with: the tags joined by `,`. */
export function idTagFilter(id: string): string {
  return idTags(id).join(',');
}

/** `kuryr.net.existing:` + DID[0:12]. */
export function existingNetworkTag(networkId: string): string {
  return TAG_EXISTING_NET_PREFIX + networkId.slice(0, 12);
}

/** Reassembles the Docker ID from `lh`/`uh` tags, or `undefined` when there is no `lh` tag. */
export function idFromTags(tags: readonly string[]): string | undefined {
  const lh = tags.find((t) => t.startsWith(TAG_LH_PREFIX));
  if (lh === undefined) return undefined;
  const uh = tags.find((t) => t.startsWith(TAG_UH_PREFIX));
  return lh.slice(TAG_LH_PREFIX.length) + (uh === undefined ? '' : uh.slice(TAG_UH_PREFIX.length));
}

/** True when the resource carries the ID tags of `id` (all of them). */
export function hasIdTags(tags: readonly string[], id: string): boolean {
  return idTags(id).every((t) => tags.includes(t));
}

/** True when the resource carries ID tags of some other ID. */
export function hasForeignIdTags(tags: readonly string[], id: string): boolean {
  const other = idFromTags(tags);
  return other !== undefined && other !== id.slice(0, 64);
}
