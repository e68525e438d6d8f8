/**
 * Pods isolated per namespace, without an API server (kuryr-kubernetes' namespace subnet driver did
 * this through its controller). A namespace's first pod, on any node, gets the namespace a Neutron
 * network, a subnet from `[namespace_subnet] pod_subnet_pool` (IPv4 or IPv6, as the pool is) and, for
 * dual stack, one from `pod_subnet_pool_v6`, each attached to `pod_router` (so pods still reach VMs),
 * and a security group admitting traffic of both families from its own members. After its last pod, on
 * any node, they are removed again. Neutron tags are the only state, so nodes agree through Neutron:
 *
 * - Creating: a node tags its new network `kuryr.ns:<ns>` and then lists the namespace's networks.
 *   Seeing anyone else's, it deletes its own and uses (or waits for) the other. Two nodes cannot both
 *   keep theirs: each lists after tagging, so the later lister sees the earlier tag. If both defer,
 *   both retry after a random pause. The network is usable once tagged `kuryr.ns.ready`.
 * - Deleting: the node seeing no pod port left tags the network `kuryr.ns.deleting`, then lists the
 *   ports again; a port found now means a pod arrived meanwhile, and it backs off (untags). A node
 *   adding a pod creates the port first and then checks for `deleting`: if set, it removes its port
 *   and starts over. Whichever order the two nodes' calls land in, either the deleter sees the port
 *   or the adder sees the tag.
 */
import { ConfigError, ConflictError, isNotFound, NeutronError, TimeoutError } from '../../common/errors.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import type { Logger } from '../../common/log.js';
import { UndoStack } from '../../common/undo.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';
import type { Network, Subnet, SubnetPool } from '../shared/neutron-types.js';
import { fitTag } from '../shared/tag-limit.js';

export const TAG_NS = 'kuryr.ns:';
export const TAG_NS_READY = 'kuryr.ns.ready';
export const TAG_NS_DELETING = 'kuryr.ns.deleting';
export const TAG_NS_SG = 'kuryr.ns.sg:';

/** `[namespace_subnet]` and the namespace → project mapping. */
export interface NamespaceSubnetOptions {
  /** `pod_router`: every namespace subnet is attached to it. */
  routerId: string;
  /** `pod_subnet_pool`: namespace subnets are cut from it (its default prefix length); either family. */
  subnetPoolId: string;
  /** `pod_subnet_pool_v6`: an IPv6 pool for a second subnet per namespace (dual stack, `pod_subnet_pool` then IPv4). */
  subnetPoolV6Id?: string | undefined;
  /** `namespace_projects`: the project of a namespace's resources; others use `defaultProjectId`. */
  projects: Readonly<Record<string, string>>;
  defaultProjectId: string | undefined;
  /** `[neutron_defaults] resource_tags`: on every resource, and part of every look-up (one cluster per tag set). */
  resourceTags: string[];
}

/** Where a namespace's pods go. */
export interface NamespacePlacement {
  network: Network;
  /** One subnet per configured pool, IPv4 first. */
  subnets: Subnet[];
  securityGroupId: string;
  projectId: string | undefined;
}

const WAIT_MS = 60_000;

export class NamespaceNetworks {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly neutron: NeutronApi,
    private readonly opts: NamespaceSubnetOptions,
    private readonly log: Logger,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** The namespace's network, subnet and group, made by this node if no node has them yet. */
  ensure(namespace: string): Promise<NamespacePlacement> {
    return this.locks.run(`ns:${namespace}`, async () => {
      const deadline = this.now() + WAIT_MS;
      for (let attempt = 0; this.now() < deadline; attempt++) {
        const nets = await this.networksOf(namespace);
        const ready = nets.find((n) => n.tags.includes(TAG_NS_READY) && !n.tags.includes(TAG_NS_DELETING));
        if (ready) return this.placementOf(namespace, ready);
        if (nets.length === 0) {
          const made = await this.create(namespace);
          if (made) return made;
        }
        // Another node is building or removing it, or we both deferred: look again shortly.
        await this.sleep(100 + Math.floor(this.random() * 400 * Math.min(attempt + 1, 5)));
      }
      throw new TimeoutError(`namespace ${namespace}: its Neutron network did not become ready within ${WAIT_MS} ms (another node building or removing it?)`);
    });
  }

  /** True when the network is being removed: an ADD that just made a port there must undo it and start over. */
  async isDeleting(networkId: string): Promise<boolean> {
    try {
      return (await this.neutron.getNetwork(networkId)).tags.includes(TAG_NS_DELETING);
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }

  /**
   * After a pod port on `networkId` was deleted: removes the namespace's router interface, network,
   * subnet and group if no pod port is left on any node. Not a namespace network, still used, or
   * already gone: nothing happens.
   */
  async releaseIfUnused(networkId: string): Promise<void> {
    let net: Network;
    try {
      net = await this.neutron.getNetwork(networkId);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const namespace = net.tags.find((t) => t.startsWith(TAG_NS))?.slice(TAG_NS.length);
    if (namespace === undefined || !net.tags.includes(TAG_NS_READY) || !this.opts.resourceTags.every((t) => net.tags.includes(t))) return;
    await this.locks.run(`ns:${namespace}`, async () => {
      if (await this.hasPods(net.id)) return;
      const marked = [...net.tags.filter((t) => t !== TAG_NS_DELETING), TAG_NS_DELETING];
      await this.neutron.setTags('networks', net.id, marked);
      if (await this.hasPods(net.id)) {
        // A pod arrived on another node between the two looks: it stays.
        await this.neutron.setTags('networks', net.id, net.tags.filter((t) => t !== TAG_NS_DELETING));
        this.log.info({ namespace, networkId: net.id }, 'namespace network still used; not removed');
        return;
      }
      await this.remove(net);
      this.log.info({ namespace, networkId: net.id }, 'namespace network removed after its last pod');
    });
  }

  private nsTag(namespace: string): string {
    return fitTag(TAG_NS + namespace);
  }

  private networksOf(namespace: string): Promise<Network[]> {
    return this.neutron.listNetworks({ tags: [this.nsTag(namespace), ...this.opts.resourceTags] });
  }

  private projectOf(namespace: string): string | undefined {
    return this.opts.projects[namespace] ?? this.opts.defaultProjectId;
  }

  /** Any port but Neutron's own (router interface, DHCP) keeps the network: pods of any kind, and anything else someone plugged there. */
  private async hasPods(networkId: string): Promise<boolean> {
    return (await this.neutron.listPorts({ networkId })).some((p) => !p.deviceOwner.startsWith('network:'));
  }

  private async placementOf(namespace: string, net: Network): Promise<NamespacePlacement> {
    const sg = net.tags.find((t) => t.startsWith(TAG_NS_SG))?.slice(TAG_NS_SG.length);
    const subnets = byFamily(await this.neutron.listSubnets({ networkId: net.id }));
    if (sg === undefined || subnets.length === 0) throw new ConflictError(`namespace network ${net.id} of ${namespace} is tagged ready but lacks its subnet or group`);
    return { network: net, subnets, securityGroupId: sg, projectId: this.projectOf(namespace) };
  }

  /** The configured pools, read from Neutron; a v6 pool option naming an IPv4 pool (or both pools of one family) is a configuration error. */
  private async pools(): Promise<SubnetPool[]> {
    const { subnetPoolId, subnetPoolV6Id } = this.opts;
    const main = await this.neutron.getSubnetPool(subnetPoolId);
    if (subnetPoolV6Id === undefined) return [main];
    const v6 = await this.neutron.getSubnetPool(subnetPoolV6Id);
    if (v6.ipVersion !== 6) throw new ConfigError(`[namespace_subnet] pod_subnet_pool_v6 ${v6.id} is an IPv${v6.ipVersion} pool`);
    if (main.ipVersion !== 4) throw new ConfigError(`[namespace_subnet] pod_subnet_pool ${main.id} must be an IPv4 pool when pod_subnet_pool_v6 is set`);
    return [main, v6];
  }

  /** Makes the namespace's resources; undefined when another node's network showed up (ours is gone again). */
  private async create(namespace: string): Promise<NamespacePlacement | undefined> {
    const projectId = this.projectOf(namespace);
    const owner = projectId !== undefined ? { projectId } : {};
    const base = [this.nsTag(namespace), ...this.opts.resourceTags];
    const pools = await this.pools();
    return UndoStack.guard(
      async (undo) => {
        const net = await this.neutron.createNetwork({ name: `kuryr-ns-${namespace}`, adminStateUp: true, ...owner });
        undo.push(`delete network ${net.id}`, () => deleteIgnoringMissing(() => this.neutron.deleteNetwork(net.id)));
        await this.neutron.setTags('networks', net.id, base);
        if ((await this.networksOf(namespace)).some((n) => n.id !== net.id)) {
          await deleteIgnoringMissing(() => this.neutron.deleteNetwork(net.id));
          undo.commit();
          this.log.debug({ namespace }, 'another node made the namespace network meanwhile; using theirs');
          return undefined;
        }
        const subnets = await this.neutron.createSubnets(
          pools.map((pool) => ({ networkId: net.id, ipVersion: pool.ipVersion, subnetpoolId: pool.id, name: `kuryr-ns-${namespace}`, enableDhcp: false, ...owner })),
        );
        for (const subnet of subnets) {
          await this.neutron.setTags('subnets', subnet.id, base);
          await this.neutron.addRouterInterface(this.opts.routerId, { subnetId: subnet.id });
          undo.push(`detach subnet ${subnet.id} from router`, () => this.detachRouter(subnet.id));
        }
        const sg = await this.neutron.createSecurityGroup({ name: `kuryr-ns-${namespace}`, description: `pods of namespace ${namespace}`, ...owner });
        undo.push(`delete group ${sg.id}`, () => deleteIgnoringMissing(() => this.neutron.deleteSecurityGroup(sg.id)));
        for (const ethertype of ['IPv4', 'IPv6'] as const) {
          await this.neutron.createSecurityGroupRule({ securityGroupId: sg.id, direction: 'ingress', ethertype, remoteGroupId: sg.id });
        }
        await this.neutron.setTags('security-groups', sg.id, base);
        const tags = await this.neutron.setTags('networks', net.id, [...base, fitTag(TAG_NS_SG + sg.id), TAG_NS_READY]);
        this.log.info({ namespace, networkId: net.id, cidrs: subnets.map((s) => s.cidr), securityGroupId: sg.id }, 'namespace network made');
        return { network: { ...net, tags }, subnets: byFamily(subnets), securityGroupId: sg.id, projectId };
      },
      (failed) => this.log.warn({ namespace, failed }, 'rollback of a namespace network left resources behind'),
    );
  }

  /** Router interface, then network (with its subnet), then group; each "already gone" is success. */
  private async remove(net: Network): Promise<void> {
    const sg = net.tags.find((t) => t.startsWith(TAG_NS_SG))?.slice(TAG_NS_SG.length);
    for (const s of await this.neutron.listSubnets({ networkId: net.id })) await this.detachRouter(s.id);
    await deleteIgnoringMissing(() => this.neutron.deleteNetwork(net.id));
    if (sg !== undefined) await deleteIgnoringMissing(() => this.neutron.deleteSecurityGroup(sg));
  }

  private async detachRouter(subnetId: string): Promise<void> {
    try {
      await this.neutron.removeRouterInterface(this.opts.routerId, { subnetId });
    } catch (err) {
      // Not attached (any more), or the router is gone: nothing to detach.
      if (!(isNotFound(err) || (err instanceof NeutronError && err.status === 400))) throw err;
    }
  }
}

/** IPv4 subnets first: the pod's first address (and the CNI result's first IP) stays IPv4 in dual stack. */
function byFamily(subnets: Subnet[]): Subnet[] {
  return [...subnets].sort((a, b) => a.ipVersion - b.ipVersion);
}
