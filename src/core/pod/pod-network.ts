/**
 * Pod networking on Neutron, as kuryr-kubernetes' CNI does it (docs/cni.md): ADD creates and plugs a port per
 * attachment, DEL removes it, CHECK compares it with what ADD made, STATUS probes the control plane,
 * GC removes this node's attachments the runtime no longer knows. Stateless: everything lives in
 * Neutron (port tags) and on the host, so a daemon restart between ADD and DEL loses nothing.
 */
import { ConfigError, ConflictError, NeutronError, TimeoutError } from '../../common/errors.js';
import { settle, withDeadline } from '../../common/promises.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { UndoStack } from '../../common/undo.js';
import { type ActiveWaitDeps, waitForPortActive } from '../shared/active-wait.js';
import type { Binder, Vif, VifTarget } from '../shared/binder.js';
import type { NestedAttachment } from '../nested/attachment.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';
import { cidrFamily, prefixLength } from '../../common/cidr.js';
import { DEVICE_OWNER } from '../shared/device-names.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { Network, Port, Subnet } from '../shared/neutron-types.js';
import { checkAttachment } from './pod-check.js';
import type {
  AttachmentKey, ControlPlaneProbe, ControlPlaneStatus, GcReport, NetnsInspector, PodAddRequest, PodAttachment,
  PodDelRequest, PodNetworkOptions,
} from './pod-model.js';
import { NamespaceNetworks } from './namespace-networks.js';
import { attachmentTags, isAttachment, nodeTag, POD_ANNOTATIONS, podDeviceId, podPlacement, podPortName, podPortTags, tag, TAG_CID, TAG_NET, TAG_POD_UID, tagValue } from './pod-tags.js';
import { collectPodGarbage, type PodGcFinding } from './pod-garbage.js';
import type { GcOptions } from '../shared/gc.js';
import type { PodPools } from './pod-pools.js';
import { DEFAULT_MTU, assertBound, buildVif, unplugRef } from '../shared/vif.js';

export interface PodNetworkDeps {
  neutron: NeutronApi;
  binder: Binder;
  inspector: NetnsInspector;
  probe: ControlPlaneProbe;
  options: PodNetworkOptions;
  /** Set when the node is a Nova VM (nested macvlan, ipvlan or VLAN): ports are not bound, the VM port admits them. */
  nested?: NestedAttachment;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Port pools (`[vif_pool] enabled`); absent: every ADD makes its port. */
  pools?: PodPools;
}

const STATUS_TIMEOUT_MS = 5_000;
/** Every tag the CNI daemon writes on a pod port starts with it. */
const CNI_TAG_PREFIX = 'kuryr.cni.';

/** Where a new pod port goes. */
interface Placement {
  /** One per IP family (dual stack: `[neutron_defaults] pod_subnets`), all on `network`. */
  subnets: Subnet[];
  network: Network;
  securityGroups: string[];
  projectId: string | undefined;
  /** On its namespace's network (namespace subnet mode). */
  namespaced: boolean;
}

function subnetOf(subnets: Subnet[], id: string): Subnet {
  const s = subnets.find((x) => x.id === id);
  if (s === undefined) throw new ConflictError(`Neutron gave the pod port an address on subnet ${id}, which was not asked for`);
  return s;
}

/** The namespace network a port was just made on is being removed by another node's DEL. */
class NamespaceNetworkGone extends Error {
  constructor(readonly networkId: string) {
    super(`namespace network ${networkId} is being removed`);
  }
}

export class PodNetworkService {
  private readonly locks = new KeyedMutex();
  private readonly cache = new Map<string, { at: number; value: Promise<{ subnet: Subnet; network: Network }> }>();
  private readonly log: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  /** Namespace subnet mode: each namespace's pods on their own network. */
  private readonly namespaces: NamespaceNetworks | undefined;

  constructor(private readonly deps: PodNetworkDeps) {
    this.log = deps.logger ?? silentLogger();
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = deps.now ?? Date.now;
    const ns = deps.options.namespaceSubnet;
    this.namespaces = ns ? new NamespaceNetworks(deps.neutron, ns, this.log, (ms) => this.sleep(ms), () => this.now()) : undefined;
  }

  /** Reads `sleep` at call time, so a test may wrap it after construction. */
  private activeWaitDeps(): ActiveWaitDeps {
    return { neutron: this.deps.neutron, sleep: (ms) => this.sleep(ms), now: () => this.now() };
  }

  /** Per-pod key: calls for one pod run one at a time, different pods in parallel. */
  private lockKey(req: { pod: { uid: string | undefined }; containerId: string }): string {
    return req.pod.uid ? `pod:${req.pod.uid}` : `cid:${req.containerId}`;
  }

  /** ADD: port on the pod subnet, bound to this node, plugged into the netns, ACTIVE. Undone entirely on failure. */
  add(req: PodAddRequest): Promise<PodAttachment> {
    return this.locks.run(this.lockKey(req), async () => {
      for (let attempt = 1; ; attempt++) {
        const where = await this.placement(req);
        try {
          return await this.attach(req, where);
        } catch (err) {
          // A namespace's first pod that failed must not leave the namespace network behind.
          if (where.namespaced) await this.releaseNamespaceNetworks([where.network.id]).catch(() => undefined);
          // The namespace's last pod left on another node and its network is going: start over with a new one.
          if (!(err instanceof NamespaceNetworkGone) || attempt >= 3) throw err;
          this.log.info({ pod: req.pod, networkId: err.networkId }, 'namespace network is being removed; placing the pod again');
        }
      }
    });
  }

  /** Subnet, network, groups and project of a new pod port: the annotation's or configured subnet, or its namespace's. */
  private async placement(req: PodAddRequest): Promise<Placement> {
    const o = this.deps.options;
    const { subnetId, securityGroups } = podPlacement(req.annotations, { subnetId: o.podSubnetId, securityGroups: o.securityGroups });
    if (this.namespaces && req.annotations[POD_ANNOTATIONS.subnet] === undefined) {
      const ns = await this.namespaces.ensure(req.pod.namespace ?? 'default');
      const projectId = ns.projectId ?? o.projectId;
      return { subnets: ns.subnets, network: ns.network, securityGroups: [ns.securityGroupId, ...securityGroups], projectId, namespaced: true };
    }
    // The annotation names one subnet; else `pod_subnets` (dual stack) or `pod_subnet`.
    const annotated = req.annotations[POD_ANNOTATIONS.subnet] !== undefined;
    const ids = !annotated && o.podSubnetIds.length > 0 ? o.podSubnetIds : subnetId ? [subnetId] : [];
    if (ids.length === 0) throw new ConfigError('no pod subnet: set [neutron_defaults] pod_subnet or the openstack.org/kuryr-pod-subnet annotation');
    const found = await Promise.all(ids.map((id) => this.subnetAndNetwork(id)));
    const network = found[0]!.network;
    const stray = found.find((f) => f.network.id !== network.id);
    if (stray) throw new ConfigError(`[neutron_defaults] pod_subnets must be on one network: ${stray.subnet.id} is on ${stray.network.id}, ${ids[0]} on ${network.id}`);
    return { subnets: found.map((f) => f.subnet), network, securityGroups, projectId: o.projectId, namespaced: false };
  }

  private async attach(req: PodAddRequest, where: Placement): Promise<PodAttachment> {
    const o = this.deps.options;
    const { subnets, network, securityGroups } = where;
    const { neutron, binder, nested, pools } = this.deps;
    // Pools hold single-subnet ports bound to this node; a namespace network must not be kept alive by idle pool ports.
    if (pools && !nested && !where.namespaced && subnets.length === 1) {
      const mtu = o.networkDeviceMtu > 0 ? o.networkDeviceMtu : network.mtu ?? DEFAULT_MTU;
      const pooled = await pools.attach(
        req,
        { subnet: subnets[0]!, network, securityGroups, projectId: where.projectId, mtu },
        { hostId: o.hostId, resourceTags: o.resourceTags, locks: this.locks, lockKey: this.lockKey(req) },
      );
      if (pooled !== undefined) {
        this.log.info({ pod: req.pod, portId: pooled.port.id, containerId: req.containerId }, 'pod attached on a pool port');
        return attachment(req, pooled.port, pooled.vif, subnets, await this.deps.inspector.hostMac(pooled.vif.hostIfName));
      }
    }
    return UndoStack.guard(
      async (undo) => {
        const port = await neutron.createPort({
          networkId: network.id,
          name: podPortName(req.pod),
          // A trunk subport's device is set by Neutron when it joins the trunk.
          ...(nested?.subport ? {} : { deviceId: podDeviceId(req.pod, req.containerId), deviceOwner: DEVICE_OWNER }),
          // A nested pod's port is for IPAM only: the VM is no Neutron host.
          ...(nested ? {} : { hostId: o.hostId }),
          fixedIps: subnets.map((s) => ({ subnetId: s.id })),
          ...(securityGroups.length > 0 ? { securityGroups } : {}),
          ...(where.projectId ? { projectId: where.projectId } : {}),
        });
        undo.push(`delete port ${port.id}`, () => neutron.deletePort(port.id));
        // The port is there first, then the check: a node removing the namespace network sees the port, or we see its mark.
        if (where.namespaced && (await this.namespaces!.isDeleting(network.id))) throw new NamespaceNetworkGone(network.id);
        if (!nested) assertBound(port, o.hostId);
        const vif = buildVif(port, subnets, network, port.deviceId);
        if (o.networkDeviceMtu > 0) vif.mtu = o.networkDeviceMtu;
        const target = { netnsPath: req.netns, ifName: req.ifName };
        if (nested) {
          const { vlanId } = await nested.attach(port, vif.macAddress);
          undo.push(`detach port ${port.id} from VM port ${nested.vmPort.id}`, () => nested.detach(port));
          if (vlanId !== undefined) vif.vlanId = vlanId;
        }
        undo.push(`unplug port ${port.id}`, () => binder.unplug(vif, nested ? target : null));
        await settle(neutron.setTags('ports', port.id, podPortTags(o.hostId, req, req.pod, o.resourceTags)), binder.plug(vif, target));
        // A nested port is never bound, so never ACTIVE, and has no host end.
        const [hostMac] = nested
          ? [undefined]
          : await Promise.all([this.deps.inspector.hostMac(vif.hostIfName), waitForPortActive(this.activeWaitDeps(), port.id, { timeoutMs: o.activeTimeoutMs, hostId: o.hostId })]);
        this.log.info({ pod: req.pod, portId: port.id, containerId: req.containerId }, 'pod attached');
        return attachment(req, port, vif, subnets, hostMac, nested);
      },
      (failed) => this.log.warn({ pod: req.pod, failed }, 'rollback of a failed ADD left resources behind'),
    );
  }

  /**
   * DEL: unplug and delete the attachment's port. Idempotent; a DEL for a container id no port
   * carries (already deleted, or a stale DEL of an older sandbox of the same pod) changes nothing.
   */
  del(req: PodDelRequest): Promise<void> {
    return this.locks.run(this.lockKey(req), async () => {
      if ((await this.deps.pools?.detach(req, req.netns)) === true) return;
      const ports = [...(await this.attachmentPorts(req)), ...(await this.untaggedPorts(req))];
      const target = req.netns ? { netnsPath: req.netns, ifName: req.ifName } : null;
      for (const port of ports) await this.removePort(port, target);
      await this.releaseNamespaceNetworks(ports.map((p) => p.networkId));
      if (ports.length > 0) this.log.info({ pod: req.pod, containerId: req.containerId, ports: ports.map((p) => p.id) }, 'pod detached');
    });
  }

  /** CHECK: throws `NotFoundError` when the attachment is unknown, `ConflictError` naming the first difference. */
  check(req: PodAddRequest): Promise<void> {
    return this.locks.run(this.lockKey(req), async () => {
      await this.deps.pools?.flushClaim(req);
      const [port] = await this.attachmentPorts(req);
      const subnets = port ? await Promise.all([...new Set(port.fixedIps.map((f) => f.subnetId))].map((id) => this.deps.neutron.getSubnet(id))) : [];
      const network = port ? await this.deps.neutron.getNetwork(port.networkId) : undefined;
      await checkAttachment({ port, subnets, network, req, inspector: this.deps.inspector, networkDeviceMtu: this.deps.options.networkDeviceMtu, nested: this.deps.nested });
    });
  }

  /** STATUS: the data plane, Keystone (no token, no Neutron), then Neutron; each bounded to a few seconds. */
  async status(): Promise<ControlPlaneStatus> {
    for (const service of ['dataplane', 'keystone', 'neutron'] as const) {
      try {
        await withDeadline(this.deps.probe[service](), STATUS_TIMEOUT_MS, () => new TimeoutError(`${service} did not answer within ${STATUS_TIMEOUT_MS} ms`));
      } catch (err) {
        return { ok: false, service, message: err instanceof Error ? err.message : String(err) };
      }
    }
    return { ok: true };
  }

  /** GC: removes this node's pod ports on `network` whose attachment is not in `valid`; keeps going on errors. */
  async gc(network: string, valid: Array<{ containerId: string; ifName: string }>): Promise<GcReport> {
    const hostId = this.deps.options.hostId;
    const ports = await this.deps.neutron.listPorts({ ...this.ownerFilter(), tags: [nodeTag(hostId), tag(TAG_NET, network)] });
    const report: GcReport = { removed: [], errors: [] };
    for (const port of ports) {
      if (valid.some((v) => isAttachment(port.tags, v.containerId, v.ifName))) continue;
      const key = `cid:${tagValue(port.tags, TAG_CID) ?? port.id}`;
      try {
        await this.locks.run(key, () => this.removePort(port, null));
        report.removed.push(port.id);
      } catch (err) {
        report.errors.push(`port ${port.id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await this.releaseNamespaceNetworks(ports.filter((p) => report.removed.includes(p.id)).map((p) => p.networkId));
    if (report.removed.length > 0) this.log.info({ network, removed: report.removed }, 'GC removed stale pod ports');
    return report;
  }

  /** The reconciler's round: this node's pod ports that no pod uses, removed as DEL would (pod-garbage.ts). */
  collectGarbage(opts: GcOptions): Promise<PodGcFinding[]> {
    const { neutron, binder, inspector, options } = this.deps;
    const keys = (port: Port) => {
      const uid = tagValue(port.tags, TAG_POD_UID);
      const cid = tagValue(port.tags, TAG_CID);
      // an untagged port's device_id is the pod UID, else the container id (podDeviceId)
      return uid !== undefined ? [`pod:${uid}`] : cid !== undefined ? [`cid:${cid}`] : [`pod:${port.deviceId}`, `cid:${port.deviceId}`];
    };
    return collectPodGarbage(
      {
        neutron,
        binder,
        hostVeths: () => inspector.hostVeths(),
        hostId: options.hostId,
        podNetworkIds: async () => {
          const ids = options.podSubnetIds.length > 0 ? options.podSubnetIds : options.podSubnetId ? [options.podSubnetId] : [];
          return new Set((await Promise.all(ids.map((id) => this.subnetAndNetwork(id)))).map((f) => f.network.id));
        },
        pods: {
          // a container id tag holds only its first 40 characters: any key starting so is this pod's
          busy: (port) => keys(port).some((k) => this.locks.busyPrefix(k)),
          remove: (port) =>
            this.locks.run(keys(port)[0]!, async () => {
              await this.removePort(port, null);
              await this.releaseNamespaceNetworks([port.networkId]);
            }),
        },
        now: () => this.now(),
        log: this.log,
      },
      opts,
    );
  }

  /** Namespace subnet mode: the networks of removed pod ports go if no pod is left on them, on any node. */
  private async releaseNamespaceNetworks(networkIds: string[]): Promise<void> {
    if (!this.namespaces) return;
    for (const networkId of new Set(networkIds)) await this.namespaces.releaseIfUnused(networkId);
  }

  /** Pod ports are ours by `device_owner`, except trunk subports (Neutron's `trunk:subport`): their tags say it. */
  private ownerFilter(): { deviceOwner?: string } {
    return this.deps.nested?.subport ? {} : { deviceOwner: DEVICE_OWNER };
  }

  /** Ports tagged with this attachment (normally one; more only after a crash mid-ADD). */
  private async attachmentPorts(key: AttachmentKey): Promise<Port[]> {
    const ports = await this.deps.neutron.listPorts({ ...this.ownerFilter(), tags: attachmentTags(this.deps.options.hostId, key) });
    return ports.filter((p) => isAttachment(p.tags, key.containerId, key.ifName));
  }

  /**
   * ADD creates the port, then tags it: killed in between, it leaves a port only its device_id, owner
   * and host name. The pod's lock keeps a running ADD of the same pod out of the way.
   */
  private async untaggedPorts(req: PodDelRequest): Promise<Port[]> {
    const { hostId } = this.deps.options;
    const ports = await this.deps.neutron.listPorts({ deviceOwner: DEVICE_OWNER, deviceId: podDeviceId(req.pod, req.containerId), hostId });
    return ports.filter((p) => !p.tags.some((t) => t.startsWith(CNI_TAG_PREFIX)));
  }

  /**
   * Unplug (deletes both veth ends and the OVS port; nested: the pod's device, when the netns is known),
   * take the port back from the VM port (nested), then delete the port; "already gone" is success.
   */
  private async removePort(port: Port, target: VifTarget | null): Promise<void> {
    const nested = this.deps.nested;
    await settle(this.deps.binder.unplug(unplugRef(port), nested ? target : null), nested ? nested.detach(port) : Promise.resolve());
    await deleteIgnoringMissing(() => this.deps.neutron.deletePort(port.id));
  }

  /** The pod subnet and its network, cached for `cacheTtlMs` (a failed look-up is not cached). */
  private subnetAndNetwork(subnetId: string): Promise<{ subnet: Subnet; network: Network }> {
    const hit = this.cache.get(subnetId);
    if (hit && this.now() - hit.at < this.deps.options.cacheTtlMs) return hit.value;
    const value = (async () => {
      try {
        const subnet = await this.deps.neutron.getSubnet(subnetId);
        return { subnet, network: await this.deps.neutron.getNetwork(subnet.networkId) };
      } catch (err) {
        if (err instanceof NeutronError && err.isNotFound) throw new ConfigError(`pod subnet ${subnetId} was not found in Neutron`, { cause: err });
        throw err;
      }
    })();
    this.cache.set(subnetId, { at: this.now(), value });
    value.catch(() => this.cache.delete(subnetId));
    return value;
  }
}

/** What ADD made, for the CNI result. */
function attachment(req: PodAddRequest, port: Port, vif: Vif, subnets: Subnet[], hostMac: string | undefined, nested?: Pick<NestedAttachment, 'sharedMac'>): PodAttachment {
  return {
    portId: port.id,
    // A nested pod's device hangs off the VM NIC: there is no host end.
    hostIfName: nested ? undefined : vif.hostIfName,
    hostMac,
    ifName: req.ifName,
    netns: req.netns,
    // ipvlan: the device has the VM NIC's MAC, not its port's.
    mac: nested?.sharedMac ?? vif.macAddress,
    mtu: vif.mtu,
    ips: port.fixedIps.map((f) => {
      const s = subnetOf(subnets, f.subnetId);
      return { address: `${f.ipAddress}/${prefixLength(s.cidr)}`, gateway: s.gatewayIp ?? undefined, family: cidrFamily(s.cidr) };
    }),
    routes: vif.routes.map((r) => ({ dst: r.destination, gw: r.nexthop })),
    dns: { nameservers: [...new Set(subnets.flatMap((s) => s.dnsNameservers))] },
  };
}
