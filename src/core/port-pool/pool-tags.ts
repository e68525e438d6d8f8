/**
 * The pool tag: marks a free pool port and its owning host and side, so a restart finds its pool in
 * Neutron. Cut to Neutron's 60 characters like every kuryr tag.
 */
import { MAX_TAG_LENGTH } from '../shared/tag-limit.js';
import type { PoolOwner } from './pool-model.js';

export const POOL_TAG_PREFIX = 'kuryr.portpool.';

/** `kuryr.portpool.<owner>:<host>`. */
export function poolTag(owner: PoolOwner, hostId: string): string {
  return `${POOL_TAG_PREFIX}${owner}:${hostId}`.slice(0, MAX_TAG_LENGTH);
}

/** True for a port that carries any pool tag (of any host or side). */
export function isPoolTagged(tags: readonly string[]): boolean {
  return tags.some((t) => t.startsWith(POOL_TAG_PREFIX));
}

/** The parking namespace of one side on one host: `kuryr-pool-<owner>-<host>` with unsafe characters replaced. */
export function parkingNetnsName(owner: PoolOwner, hostId: string): string {
  return `kuryr-pool-${owner}-${hostId}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 200);
}
