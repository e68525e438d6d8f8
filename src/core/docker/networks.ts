/**
 * NetworkDriver.CreateNetwork / DeleteNetwork. Everything CreateNetwork makes is undone when a
 * later step fails; the `shared` check runs before any tag is written (Python tagged first and left
 * the tags behind on a mismatch).
 */
import { ConflictError, NeutronError, NotFoundError, errorMessage, isNotFound } from '../../common/errors.js';
import { UndoStack } from '../../common/undo.js';
import { normalizeCidr, splitAddress } from '../../common/cidr.js';
import type { CreateNetworkRequest, FamilyPicks, NetworkUseCases, NeutronChoices, NeutronPick, PoolData } from './libnetwork.js';
import { dropTag, ensureTag, findNetworkByDid, getPoolOrNull, onlyNetwork, subnetHint, writeTags } from './lookups.js';
import { isKuryrSubnetName, networkName, subnetName, subnetpoolName } from './naming.js';
import type { SubnetCreate } from '../shared/neutron-api.js';
import type { Network, Subnet } from '../shared/neutron-types.js';
import type { CoreContext } from './service-context.js';
import { rangeTakenError } from './range-holder.js';
import { adoptedElsewhere, deleteOrphanedKuryrNetwork, heldByOtherHost, releaseAdoptedNetwork } from './sharing.js';
import { existingNetworkTag, idTags } from './tags.js';
import { started } from '../../common/promises.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';

interface SubnetPlan {
  v6: boolean;
  /** Pool CIDR as Docker sent it (the subnet name uses it verbatim). */
  pool: string;
  cidr: string;
  gateway: string | undefined;
  poolId: string | undefined;
}

export class Networks implements NetworkUseCases {
  constructor(private readonly ctx: CoreContext) {}

  async createNetwork(req: CreateNetworkRequest): Promise<void> {
    const ctx = this.ctx;
    await ctx.locks.run(`net:${req.networkId}`, async () => {
      const choices = req.neutron;
      const plans: SubnetPlan[] = [];
      for (const [v6, data] of [[false, req.ipv4Data[0]], [true, req.ipv6Data[0]]] as Array<[boolean, PoolData | undefined]>) {
        if (data === undefined || data.pool === '') continue;
        plans.push(await planSubnet(ctx, v6 ? choices.v6 : choices.v4, v6, data));
      }
      ctx.cache.forgetNetwork(req.networkId);
      const remember = ctx.cache.networks.rememberLater(req.networkId);
      await UndoStack.guard(
        async (undo) => {
          const { net, created } = await ensureNetwork(ctx, req.networkId, choices, undo);
          const subnets = await ensureSubnets(ctx, net, plans, undo);
          for (const p of plans) if (p.poolId !== undefined) ctx.pendingPools.delete(p.poolId);
          // A network made here has exactly these subnets: remember it for CreateEndpoint/Join.
          if (created) remember({ network: net, subnets });
          // Filled in the background: the reply does not wait for the pool.
          ctx.pools?.prime(ctx, net, subnets);
          ctx.log.info({ networkId: req.networkId, neutronNetworkId: net.id }, 'network ready');
        },
        (failed) => ctx.log.error({ networkId: req.networkId, failed }, 'rollback of CreateNetwork was incomplete'),
      );
    });
  }

  /** Idempotent: an unknown network is success. Pre-existing networks only lose tags and kuryr subnets. */
  async deleteNetwork(did: string): Promise<void> {
    const ctx = this.ctx;
    await ctx.locks.run(`net:${did}`, async () => {
      ctx.cache.forgetNetwork(did);
      try {
        await removeNetwork(ctx, did);
      } finally {
        ctx.cache.forgetNetwork(did);
      }
    });
  }
}

async function planSubnet(ctx: CoreContext, picks: FamilyPicks, v6: boolean, data: PoolData): Promise<SubnetPlan> {
  const cidr = normalizeCidr(data.pool, v6 ? 'IPv6Data.Pool' : 'IPv4Data.Pool');
  const gateway = data.gateway !== undefined && data.gateway !== '' ? splitAddress(data.gateway).ip : undefined;
  const { uuid, name } = picks.pool;
  if (uuid !== undefined) {
    const pool = await getPoolOrNull(ctx, uuid);
    if (pool === null) throw new NotFoundError(`Neutron subnetpool ${uuid} given in ${picks.pool.uuidOption} does not exist`);
    return { v6, pool: data.pool, cidr, gateway, poolId: pool.id };
  }
  if (name !== undefined) {
    // The subnet-id tag filter applies only to kuryr pools; a user pool never carries it (Python filtered by it and never found the pool).
    const pools = await ctx.neutron.listSubnetPools({ name });
    if (pools[0] === undefined) throw new NotFoundError(`no Neutron subnetpool is named '${name}' (option ${picks.pool.nameOption})`);
    return { v6, pool: data.pool, cidr, gateway, poolId: pools[0].id };
  }
  const hint = await subnetHint(ctx, picks.subnet);
  const derived = subnetpoolName(ctx.options.subnetpoolNamePrefix, cidr);
  const pools = await ctx.neutron.listSubnetPools(hint !== undefined ? { name: derived, tags: [hint] } : { name: derived });
  if (pools.length > 1) ctx.log.warn({ name: derived }, 'several kuryr subnetpools match; using the first');
  if (pools[0] === undefined) {
    // Python fails here (Docker's own IPAM with the kuryr network driver); a pool-less subnet works.
    ctx.log.warn({ cidr, name: derived }, 'no kuryr subnetpool for this CIDR; creating the subnet without a subnetpool');
  }
  return { v6, pool: data.pool, cidr, gateway, poolId: pools[0]?.id };
}

async function ensureNetwork(
  ctx: CoreContext,
  did: string,
  choices: NeutronChoices,
  undo: UndoStack,
): Promise<{ net: Network; created: boolean }> {
  const { shared } = choices;
  const pick = defaultPick(ctx, choices.network);
  const { uuid, name } = pick;
  if (uuid === undefined && name === undefined) {
    const found = await findNetworkByDid(ctx, did);
    if (found !== null) return { net: found, created: false };
    const net = await ctx.neutron.createNetwork({ name: networkName(did, ctx.flags.tag), adminStateUp: true, shared });
    undo.push(`delete network ${net.id}`, () => deleteIgnoringMissing(() => ctx.neutron.deleteNetwork(net.id)));
    // A new network has no tags: write both ID tags in one call.
    if (ctx.flags.tag) await ctx.neutron.setTags('networks', net.id, [...net.tags, ...idTags(did)]);
    return { net: { ...net, tags: [...net.tags, ...idTags(did)] }, created: true };
  }
  const net = await existingNetwork(ctx, pick);
  if (net.shared !== shared) {
    throw new ConflictError(`Neutron network ${net.id} has shared=${net.shared}, which conflicts with ${choices.sharedOption}=${shared}`);
  }
  if (ctx.flags.tag) {
    // The current tags are known: add the missing ones in one `PUT /networks/{id}/tags`.
    const added = [...idTags(did), existingNetworkTag(did)].filter((t) => !net.tags.includes(t));
    if (added.length > 0 && (await writeTags(ctx, 'networks', net.id, [...net.tags, ...added]))) {
      for (const t of added) undo.push(`untag network ${net.id}`, () => dropTag(ctx, 'networks', net.id, undefined, t));
    }
  } else if (net.name !== did) {
    // No-tag mode identifies networks by name; Python renames the user network too, and so do we for compatibility.
    await ctx.neutron.updateNetwork(net.id, { name: did });
    undo.push(`rename network ${net.id}`, () => ctx.neutron.updateNetwork(net.id, { name: net.name }));
  }
  return { net, created: false };
}

/** No network given: nested mode uses the VM port's own network (Python's nested driver does the same); else none. */
function defaultPick(ctx: CoreContext, pick: NeutronPick): NeutronPick {
  if (pick.uuid !== undefined || pick.name !== undefined || !ctx.nested) return pick;
  return { ...pick, uuid: ctx.nested.vmPort.networkId, uuidOption: `the network of VM port ${ctx.nested.vmPort.id}` };
}

async function existingNetwork(ctx: CoreContext, pick: NeutronPick): Promise<Network> {
  const { uuid, name } = pick;
  if (uuid !== undefined) {
    try {
      return await ctx.neutron.getNetwork(uuid);
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`Neutron network ${uuid} given in ${pick.uuidOption} does not exist`, { cause: err });
      throw err;
    }
  }
  const nets = await ctx.neutron.listNetworks({ name: name as string });
  if (nets.length > 1) throw new ConflictError(`multiple Neutron networks are named '${name}' (option ${pick.nameOption}); use ${pick.uuidOption}`);
  if (nets[0] === undefined) throw new NotFoundError(`no Neutron network is named '${name}' (option ${pick.nameOption})`);
  return nets[0];
}

/** Finds or creates the planned subnets (look-ups run concurrently); returns them all, tagged. */
/** Neutron's 500 SubnetAllocationError for a range another host's Docker network holds becomes a 409 naming it. */
async function createSubnetsNamingHolder(ctx: CoreContext, bodies: SubnetCreate[]): Promise<Subnet[]> {
  try {
    return await ctx.neutron.createSubnets(bodies);
  } catch (err) {
    for (const b of bodies) {
      const taken = b.cidr === undefined ? undefined : await rangeTakenError(ctx, err, b.subnetpoolId, b.cidr);
      if (taken !== undefined) throw taken;
    }
    throw err;
  }
}

async function ensureSubnets(ctx: CoreContext, net: Network, plans: SubnetPlan[], undo: UndoStack): Promise<Subnet[]> {
  const bodies: SubnetCreate[] = [];
  const poolOf: Array<string | undefined> = [];
  const result: Subnet[] = [];
  const lookups = plans.map((plan) => started(ctx.neutron.listSubnets({ networkId: net.id, cidr: plan.cidr })));
  for (const [i, plan] of plans.entries()) {
    const found = await (lookups[i] as () => Promise<Subnet[]>)();
    if (found.length > 1) throw new ConflictError(`multiple Neutron subnets with CIDR ${plan.cidr} exist on network ${net.id}`);
    const subnet = found[0];
    if (subnet !== undefined) {
      if (ctx.flags.tagExt && plan.poolId !== undefined && (await ensureTag(ctx, 'subnets', subnet.id, subnet.tags, plan.poolId))) {
        const tag = plan.poolId;
        undo.push(`untag subnet ${subnet.id}`, () => dropTag(ctx, 'subnets', subnet.id, undefined, tag));
        subnet.tags = [...subnet.tags, tag];
      }
      result.push(subnet);
      continue;
    }
    const body: SubnetCreate = {
      name: subnetName(plan.pool),
      networkId: net.id,
      ipVersion: plan.v6 ? 6 : 4,
      cidr: plan.cidr,
      enableDhcp: ctx.options.enableDhcp,
    };
    if (plan.poolId !== undefined) body.subnetpoolId = plan.poolId;
    if (plan.gateway !== undefined) body.gatewayIp = plan.gateway;
    bodies.push(body);
    poolOf.push(plan.poolId);
  }
  if (bodies.length === 0) return result;
  const created = await createSubnetsNamingHolder(ctx, bodies);
  for (const s of created) undo.push(`delete subnet ${s.id}`, () => deleteIgnoringMissing(() => ctx.neutron.deleteSubnet(s.id)));
  if (ctx.flags.tagExt) {
    // Different subnets: tag them concurrently.
    await Promise.all(
      created.map(async (s, i) => {
        const poolId = poolOf[i];
        if (poolId !== undefined && (await ensureTag(ctx, 'subnets', s.id, s.tags, poolId))) s.tags = [...s.tags, poolId];
      }),
    );
  }
  return [...result, ...created];
}

async function removeNetwork(ctx: CoreContext, did: string): Promise<void> {
  // One look-up by the DID tags serves both cases (a pre-existing network also carries `kuryr.net.existing:`).
  const tagged = ctx.flags.tag ? await ctx.neutron.listNetworks({ tags: idTags(did) }) : undefined;
  const existing = tagged?.find((n) => n.tags.includes(existingNetworkTag(did)));
  if (existing !== undefined) {
    ctx.cache.forgetNetwork(did, existing.id);
    // The current tags are known: drop ours in one `PUT /networks/{id}/tags`.
    const ours = [...idTags(did), existingNetworkTag(did)];
    const kept = existing.tags.filter((t) => !ours.includes(t));
    await ctx.pools?.drain(ctx, existing.id);
    if (kept.length !== existing.tags.length) await writeTags(ctx, 'networks', existing.id, kept);
    for (const s of await ctx.neutron.listSubnets({ networkId: existing.id })) {
      if (!isKuryrSubnetName(s.name) || (await heldByOtherHost(ctx, s))) continue;
      try {
        await deleteIgnoringMissing(() => ctx.neutron.deleteSubnet(s.id));
      } catch (err) {
        ctx.log.warn({ subnetId: s.id, err: errorMessage(err) }, 'could not delete kuryr subnet of a pre-existing network');
      }
    }
    await deleteOrphanedKuryrNetwork(ctx, existing);
    ctx.log.info({ networkId: did, neutronNetworkId: existing.id }, 'released pre-existing network');
    return;
  }
  const net = tagged !== undefined ? onlyNetwork(did, tagged) : await findNetworkByDid(ctx, did);
  if (net === null) {
    ctx.log.info({ networkId: did }, 'no Neutron network for Docker network; nothing to delete');
    return;
  }
  ctx.cache.forgetNetwork(did, net.id);
  if (adoptedElsewhere(net, did)) return releaseAdoptedNetwork(ctx, did, net);
  // The pool's ports hold addresses on the subnets: they go first.
  await ctx.pools?.drain(ctx, net.id);
  for (const s of await ctx.neutron.listSubnets({ networkId: net.id })) {
    await explain(`delete subnet ${s.id} (${s.cidr}) of Docker network ${did}`, () => deleteIgnoringMissing(() => ctx.neutron.deleteSubnet(s.id)));
  }
  await explain(`delete Neutron network ${net.id} of Docker network ${did}`, () => deleteIgnoringMissing(() => ctx.neutron.deleteNetwork(net.id)));
  ctx.log.info({ networkId: did, neutronNetworkId: net.id }, 'deleted network');
}

/** Re-throws a Neutron conflict with a message naming what could not be done. */
async function explain(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof NeutronError && err.isConflict) throw new ConflictError(`cannot ${what}: ${err.message}`, { cause: err });
    throw err;
  }
}
