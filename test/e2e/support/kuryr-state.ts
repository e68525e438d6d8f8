import type { Port } from '../../../src/core/shared/neutron-types.js';

/** kuryr-libnetwork's tags for a Docker ID (spec §2.1): lh = id[0:32], uh = id[32:64]. */
export function netTags(dockerId: string): string[] {
  const tags = [`kuryr.net.uuid.lh:${dockerId.slice(0, 32)}`];
  if (dockerId.length > 32) tags.push(`kuryr.net.uuid.uh:${dockerId.slice(32, 64)}`);
  return tags;
}

export function portTagsOf(port: Port, endpointId: string): { compute: boolean; lh: boolean; uh: boolean } {
  const [lh, uh] = netTags(endpointId);
  return { compute: port.tags.includes('compute:kuryr'), lh: port.tags.includes(lh!), uh: port.tags.includes(uh!) };
}
