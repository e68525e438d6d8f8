/**
 * IpamDriver.RequestPool / ReleasePool. PoolIDs are Neutron subnetpool UUIDs. Unlike the Python
 * driver: one `kuryrPool-<cidr>` per CIDR even under concurrency, default and user pools are never
 * deleted, a default-pool request gets its own free block, and no tag is left behind.
 */
import { ConflictError, InvalidInputError, NeutronError, errorMessage, isNotFound } from '../../common/errors.js';
import { cidrFamily, cidrsOverlap, normalizeCidr, prefixLength, subnetBlock } from '../../common/cidr.js';
import type { PoolUseCases, RequestPoolRequest, RequestPoolResult } from './libnetwork.js';
import { dropTag, ensureTag, getPoolOrNull, isKuryrOwnedPool, subnetHint, userPool } from './lookups.js';
import { isKuryrSubnetName, subnetpoolName } from './naming.js';
import type { SubnetPool } from '../shared/neutron-types.js';
import type { CoreContext } from './service-context.js';
import { refuseRangeTakenHere } from './range-holder.js';
import { holdPool, leaveSharedPool } from './sharing.js';
import { TAG_POOL_EXISTING } from './tags.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';

export class Pools implements PoolUseCases {
  constructor(private readonly ctx: CoreContext) {}

  async requestPool(req: RequestPoolRequest): Promise<RequestPoolResult> {
    const ctx = this.ctx;
    const picks = req.v6 ? req.neutron.v6 : req.neutron.v4;
    const { shared } = req.neutron;
    const user = () => userPool(ctx, picks.pool);
    if (req.pool === '') return requestDefaultPool(ctx, req.v6, shared, user);

    const field = req.subPool !== '' ? 'SubPool' : 'Pool';
    const cidr = normalizeCidr(req.subPool !== '' ? req.subPool : req.pool, field);
    if ((cidrFamily(cidr) === 6) !== req.v6) {
      throw new InvalidInputError(`${field} ${cidr} is not an IPv${req.v6 ? 6 : 4} CIDR (V6=${req.v6})`, field);
    }
    return ctx.locks.run(`pool:${cidr}`, async () => {
      const hint = await subnetHint(ctx, picks.subnet);
      const given = await user();
      if (given !== undefined) {
        const first = given.prefixes[0];
        if (first !== undefined && normalizeCidr(first) === cidr) {
          if (given.shared !== shared) {
            throw new ConflictError(`subnetpool ${given.id} has shared=${given.shared}, which conflicts with the requested ${req.neutron.sharedOption}=${shared}`);
          }
          if (ctx.flags.tagExt) await ensureTag(ctx, 'subnetpools', given.id, given.tags, TAG_POOL_EXISTING);
          return { poolId: given.id, pool: cidr, data: {} };
        }
        ctx.log.info({ poolId: given.id, prefix: first, cidr }, 'user subnetpool prefix differs from the requested CIDR; using a kuryr pool');
      }
      const pool = await createOrReuseKuryrPool(ctx, cidr, hint, shared);
      await refuseRangeTakenHere(ctx, pool, cidr);
      await holdPool(ctx, pool);
      ctx.pendingPools.set(pool.id, ctx.now());
      return { poolId: pool.id, pool: cidr, data: {} };
    });
  }

  /** Idempotent: an unknown pool is success (Python answered an error). User and default pools only lose the marker. */
  async releasePool(poolId: string): Promise<void> {
    const ctx = this.ctx;
    await ctx.locks.run(`poolid:${poolId}`, async () => {
      // Whatever happens next, the cached subnet of this pool (and its network entry) may go.
      ctx.cache.forgetPool(poolId);
      ctx.pendingPools.delete(poolId);
      const pool = await getPoolOrNull(ctx, poolId);
      if (pool === null) {
        ctx.log.info({ poolId }, 'subnetpool already gone');
        return;
      }
      if (await leaveSharedPool(ctx, pool)) return;
      if (ctx.flags.tagExt) {
        for (const s of await ctx.neutron.listSubnets({ tags: [poolId] })) await dropTag(ctx, 'subnets', s.id, s.tags, poolId);
      }
      if (!isKuryrOwnedPool(ctx, pool)) {
        if (ctx.flags.tagExt) await dropTag(ctx, 'subnetpools', pool.id, pool.tags, TAG_POOL_EXISTING);
        ctx.log.info({ poolId, name: pool.name }, 'keeping subnetpool not created by kuryr');
        return;
      }
      for (const s of await ctx.neutron.listSubnets({ subnetpoolId: poolId })) {
        if (!isKuryrSubnetName(s.name)) continue;
        // Docker may release the pool before it deletes the network: the port pool's addresses go first.
        await ctx.pools?.drain(ctx, s.networkId);
        try {
          await deleteIgnoringMissing(() => ctx.neutron.deleteSubnet(s.id));
        } catch (err) {
          ctx.log.warn({ subnetId: s.id, err: errorMessage(err) }, 'could not delete kuryr subnet while releasing its pool');
        }
      }
      try {
        await ctx.neutron.deleteSubnetPool(poolId);
      } catch (err) {
        if (isNotFound(err)) return;
        // Neutron answers 400 SubnetPoolDeleteError (not 409) while subnets still hold allocations
        if (err instanceof NeutronError && (err.isConflict || err.type === 'SubnetPoolDeleteError')) {
          ctx.log.warn({ poolId, err: err.message }, 'subnetpool still has allocations; kept');
          return;
        }
        throw err;
      }
    });
  }
}

/** Finds `kuryrPool-<cidr>` (tagged with the subnet hint when there is one) or creates it. Caller holds `pool:<cidr>`. */
async function createOrReuseKuryrPool(ctx: CoreContext, cidr: string, hint: string | undefined, shared: boolean): Promise<SubnetPool> {
  const name = subnetpoolName(ctx.options.subnetpoolNamePrefix, cidr);
  const found = await ctx.neutron.listSubnetPools(hint !== undefined ? { name, tags: [hint] } : { name });
  if (found.length > 1) {
    throw new ConflictError(`multiple Neutron subnetpools are named ${name} (${found.map((p) => p.id).join(', ')}); delete the extra ones`);
  }
  if (found[0] !== undefined) return found[0];
  const pool = await ctx.neutron.createSubnetPool({ name, prefixes: [cidr], defaultPrefixlen: prefixLength(cidr), shared });
  if (hint !== undefined) {
    try {
      await ctx.neutron.addTag('subnetpools', pool.id, hint);
    } catch (err) {
      await deleteIgnoringMissing(() => ctx.neutron.deleteSubnetPool(pool.id)).catch(() => undefined);
      throw err;
    }
  }
  ctx.log.info({ poolId: pool.id, cidr }, 'created kuryr subnetpool');
  return pool;
}

/**
 * `docker network create` without `--subnet`: carve the first free block of the default pool's
 * default prefix length and give it its own `kuryrPool-<block>` (so the PoolID identifies one
 * network and the operator's pool is never returned to ReleasePool).
 */
async function requestDefaultPool(
  ctx: CoreContext,
  v6: boolean,
  shared: boolean,
  user: () => Promise<SubnetPool | undefined>,
): Promise<RequestPoolResult> {
  const defaultName = v6 ? ctx.options.defaultSubnetpoolV6 : ctx.options.defaultSubnetpoolV4;
  let source = await user();
  if (source === undefined) {
    const pools = await ctx.neutron.listSubnetPools({ name: defaultName });
    if (pools.length === 0) {
      throw new InvalidInputError(
        `no --subnet given and the default subnetpool '${defaultName}' ([neutron] default_subnetpool_v${v6 ? 6 : 4}) does not exist; create it or pass --subnet`,
        'Pool',
      );
    }
    source = pools[0] as SubnetPool;
  }
  const src = source;
  return ctx.locks.run(`default-pool:${src.id}`, async () => {
    const used = await usedPrefixes(ctx, src);
    const block = pickFreeBlock(src, used, v6);
    if (block === undefined) {
      throw new ConflictError(`subnetpool '${src.name}' (${src.id}) has no free block left for a new Docker network; pass --subnet`);
    }
    const pool = await ctx.locks.run(`pool:${block}`, () => createOrReuseKuryrPool(ctx, block, undefined, shared));
    return { poolId: pool.id, pool: block, data: {} };
  });
}

async function usedPrefixes(ctx: CoreContext, source: SubnetPool): Promise<string[]> {
  const [subnets, pools] = await Promise.all([
    ctx.neutron.listSubnets({ subnetpoolId: source.id }),
    ctx.neutron.listSubnetPools(),
  ]);
  const prefix = `${ctx.options.subnetpoolNamePrefix}-`;
  return [
    ...subnets.map((s) => s.cidr),
    ...pools.filter((p) => p.id !== source.id && p.name.startsWith(prefix)).flatMap((p) => p.prefixes),
  ];
}

function pickFreeBlock(source: SubnetPool, used: string[], v6: boolean): string | undefined {
  const wanted = source.defaultPrefixlen > 0 ? source.defaultPrefixlen : v6 ? 64 : 24;
  for (const prefix of source.prefixes) {
    const len = Math.max(wanted, prefixLength(prefix));
    for (let i = 0n; i < 65536n; i++) {
      const block = subnetBlock(prefix, len, i);
      if (block === undefined) break;
      if (!used.some((u) => cidrsOverlap(u, block))) return block;
    }
  }
  return undefined;
}
