/**
 * The pool tag: marks a free pool port and its owning host and side, so a restart finds its pool in
 * Neutron. Cut to Neutron's 60 characters like every kuryr tag. A free pool port is also named after
 * it: the name is set in the creating POST, the tag only in a second call on Neutron without
 * `tag-ports-during-bulk-creation`, and a crash in between must not hide the port.
 */
import { MAX_TAG_LENGTH } from '../shared/tag-limit.js';
import type { PoolOwner } from './pool-model.js';

export const POOL_TAG_PREFIX = 'kuryr.portpool.';

/** `kuryr.portpool.<owner>:<host>`. */
export function poolTag(owner: PoolOwner, hostId: string): string {
  return `${POOL_TAG_PREFIX}${owner}:${hostId}`.slice(0, MAX_TAG_LENGTH);
}

/**
 * True for a free pool port of any host or side: named after its pool (from the POST on) or carrying
 * a pool tag (written in a second call).
 */
export function isPoolPort(port: { name: string; tags: readonly string[] }): boolean {
  return port.name.startsWith(POOL_TAG_PREFIX) || port.tags.some((t) => t.startsWith(POOL_TAG_PREFIX));
}

/** The parking namespace of one side on one host: `kuryr-pool-<owner>-<host>` with unsafe characters replaced. */
export function parkingNetnsName(owner: PoolOwner, hostId: string): string {
  return `kuryr-pool-${owner}-${hostId}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 200);
}
