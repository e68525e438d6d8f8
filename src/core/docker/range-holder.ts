/**
 * Who holds an IP range (docs/ownership.md, rule "a taken range is refused up front"). A second
 * Docker network on this host asking for a range that a kuryr subnetpool already serves here would
 * fail later in CreateNetwork, and Docker then releases the pool it was given, which is the first
 * network's pool. So the request is refused before it owns anything, with a 409 that names the
 * holder: the Docker network (by name when dockerd can tell) and the Neutron subnet.
 */
import { cidrsOverlap } from '../../common/cidr.js';
import { ConflictError, NeutronError, errorMessage } from '../../common/errors.js';
import type { Subnet, SubnetPool } from '../shared/neutron-types.js';
import type { CoreContext } from './service-context.js';
import { poolHostTag } from './sharing.js';
import { idFromTags } from './tags.js';

const PENDING_CREATE_MS = 120_000;

/** RequestPool reusing `pool`: refuses when a Docker network of this host already holds it. */
export async function refuseRangeTakenHere(ctx: CoreContext, pool: SubnetPool, cidr: string): Promise<void> {
  if (!ctx.flags.tagExt || !pool.tags.includes(poolHostTag(ctx.hostId))) return;
  const subnets = await ctx.neutron.listSubnets({ subnetpoolId: pool.id });
  const used = subnets.find((s) => cidrsOverlap(s.cidr, cidr));
  if (used === undefined) {
    const since = ctx.pendingPools.get(pool.id);
    // dockerd finishes a network create within seconds; an older entry is a create it abandoned
    if (since === undefined || ctx.now() - since > PENDING_CREATE_MS) {
      ctx.log.info({ poolId: pool.id, cidr }, 'subnetpool held by this host without a subnet, left by an earlier process; reusing it');
      return;
    }
    throw new ConflictError(
      `range ${cidr} is already taken on this host: subnetpool ${pool.name} (${pool.id}) is held by another Docker network ` +
        `being created now on this host`,
    );
  }
  throw new ConflictError(`range ${cidr} is already taken: ${await describeSubnetHolder(ctx, used)}`);
}

/**
 * CreateNetwork: Neutron refused to allocate the subnet from the pool (another host's Docker
 * network uses the range). Returns the 409 naming the holder, or undefined for any other failure.
 */
export async function rangeTakenError(ctx: CoreContext, err: unknown, poolId: string | undefined, cidr: string): Promise<ConflictError | undefined> {
  if (!(err instanceof NeutronError) || err.type !== 'SubnetAllocationError' || poolId === undefined) return undefined;
  try {
    const used = (await ctx.neutron.listSubnets({ subnetpoolId: poolId })).find((s) => cidrsOverlap(s.cidr, cidr));
    if (used === undefined) return undefined;
    return new ConflictError(`range ${cidr} is already taken: ${await describeSubnetHolder(ctx, used)}`, { cause: err });
  } catch (lookupErr) {
    ctx.log.warn({ poolId, err: errorMessage(lookupErr) }, 'could not find who holds the range');
    return undefined;
  }
}

/** "Docker network netA (3f2a…) uses Neutron subnet <id> (<cidr>) on network <id>", or the user's subnet. */
export async function describeSubnetHolder(ctx: CoreContext, subnet: Subnet): Promise<string> {
  const where = `Neutron subnet ${subnet.id} (${subnet.cidr}) on network ${subnet.networkId}`;
  let did: string | undefined;
  try {
    did = idFromTags((await ctx.neutron.getNetwork(subnet.networkId)).tags);
  } catch {
    // the network vanished meanwhile: the subnet alone names the holder
  }
  if (did === undefined) return `${where}, which is not a Docker network's`;
  const name = await dockerNameOf(ctx, did);
  const docker = name === undefined ? `Docker network ${did.slice(0, 12)}` : `Docker network ${name} (${did.slice(0, 12)})`;
  return `${docker} uses ${where}`;
}

async function dockerNameOf(ctx: CoreContext, did: string): Promise<string | undefined> {
  if (ctx.dockerNetworkName === undefined) return undefined;
  try {
    return await ctx.dockerNetworkName(did);
  } catch (err) {
    ctx.log.debug({ networkId: did, err: errorMessage(err) }, 'Docker network name unknown');
    return undefined;
  }
}
