/**
 * Pod networking on Neutron, as kuryr-kubernetes' CNI does it (docs/cni.md): ADD creates and plugs a port per
 * attachment, DEL removes it, CHECK compares it with what ADD made, STATUS probes the control plane,
 * GC removes this node's attachments the runtime no longer knows. Stateless: everything lives in
 * Neutron (port tags) and on the host, so a daemon restart between ADD and DEL loses nothing.
 */
import { ConfigError, NeutronError, TimeoutError } from '../../common/errors.js';
import { settle, withDeadline } from '../../common/promises.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { UndoStack } from '../../common/undo.js';
import { type ActiveWaitDeps, waitForPortActive } from '../shared/active-wait.js';
import type { Binder } from '../shared/binder.js';
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
import { attachmentTags, isAttachment, nodeTag, podDeviceId, podPlacement, podPortName, podPortTags, tag, TAG_CID, TAG_NET, tagValue } from './pod-tags.js';
import { assertBound, buildVif, unplugRef } from '../shared/vif.js';

export interface PodNetworkDeps {
  neutron: NeutronApi;
  binder: Binder;
  inspector: NetnsInspector;
  probe: ControlPlaneProbe;
  options: PodNetworkOptions;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const STATUS_TIMEOUT_MS = 5_000;

export class PodNetworkService {
  private readonly locks = new KeyedMutex();
  private readonly cache = new Map<string, { at: number; value: Promise<{ subnet: Subnet; network: Network }> }>();
  private readonly log: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly deps: PodNetworkDeps) {
    this.log = deps.logger ?? silentLogger();
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = deps.now ?? Date.now;
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
      const o = this.deps.options;
      const { subnetId, securityGroups } = podPlacement(req.annotations, { subnetId: o.podSubnetId, securityGroups: o.securityGroups });
      if (!subnetId) throw new ConfigError('no pod subnet: set [neutron_defaults] pod_subnet or the openstack.org/kuryr-pod-subnet annotation');
      const { subnet, network } = await this.subnetAndNetwork(subnetId);
      const { neutron, binder } = this.deps;
      return UndoStack.guard(
        async (undo) => {
          const port = await neutron.createPort({
            networkId: subnet.networkId,
            name: podPortName(req.pod),
            deviceId: podDeviceId(req.pod, req.containerId),
            deviceOwner: DEVICE_OWNER,
            hostId: o.hostId,
            fixedIps: [{ subnetId: subnet.id }],
            ...(securityGroups.length > 0 ? { securityGroups } : {}),
            ...(o.projectId ? { projectId: o.projectId } : {}),
          });
          undo.push(`delete port ${port.id}`, () => neutron.deletePort(port.id));
          assertBound(port, o.hostId);
          const vif = buildVif(port, [subnet], network, port.deviceId);
          if (o.networkDeviceMtu > 0) vif.mtu = o.networkDeviceMtu;
          undo.push(`unplug port ${port.id}`, () => binder.unplug(vif, null));
          const target = { netnsPath: req.netns, ifName: req.ifName };
          await settle(neutron.setTags('ports', port.id, podPortTags(o.hostId, req, req.pod, o.resourceTags)), binder.plug(vif, target));
          const [hostMac] = await Promise.all([this.deps.inspector.hostMac(vif.hostIfName), waitForPortActive(this.activeWaitDeps(), port.id, { timeoutMs: o.activeTimeoutMs, hostId: o.hostId })]);
          this.log.info({ pod: req.pod, portId: port.id, containerId: req.containerId }, 'pod attached');
          return {
            portId: port.id,
            hostIfName: vif.hostIfName,
            hostMac,
            ifName: req.ifName,
            netns: req.netns,
            mac: vif.macAddress,
            mtu: vif.mtu,
            ips: port.fixedIps.map((f) => ({
              address: `${f.ipAddress}/${prefixLength(subnet.cidr)}`,
              gateway: subnet.gatewayIp ?? undefined,
              family: cidrFamily(subnet.cidr),
            })),
            routes: vif.routes.map((r) => ({ dst: r.destination, gw: r.nexthop })),
            dns: { nameservers: [...subnet.dnsNameservers] },
          };
        },
        (failed) => this.log.warn({ pod: req.pod, failed }, 'rollback of a failed ADD left resources behind'),
      );
    });
  }

  /**
   * DEL: unplug and delete the attachment's port. Idempotent; a DEL for a container id no port
   * carries (already deleted, or a stale DEL of an older sandbox of the same pod) changes nothing.
   */
  del(req: PodDelRequest): Promise<void> {
    return this.locks.run(this.lockKey(req), async () => {
      const ports = await this.attachmentPorts(req);
      for (const port of ports) await this.removePort(port);
      if (ports.length > 0) this.log.info({ pod: req.pod, containerId: req.containerId, ports: ports.map((p) => p.id) }, 'pod detached');
    });
  }

  /** CHECK: throws `NotFoundError` when the attachment is unknown, `ConflictError` naming the first difference. */
  check(req: PodAddRequest): Promise<void> {
    return this.locks.run(this.lockKey(req), async () => {
      const [port] = await this.attachmentPorts(req);
      const subnets = port ? await Promise.all([...new Set(port.fixedIps.map((f) => f.subnetId))].map((id) => this.deps.neutron.getSubnet(id))) : [];
      const network = port ? await this.deps.neutron.getNetwork(port.networkId) : undefined;
      await checkAttachment({ port, subnets, network, req, inspector: this.deps.inspector, networkDeviceMtu: this.deps.options.networkDeviceMtu });
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
    const ports = await this.deps.neutron.listPorts({ deviceOwner: DEVICE_OWNER, tags: [nodeTag(hostId), tag(TAG_NET, network)] });
    const report: GcReport = { removed: [], errors: [] };
    for (const port of ports) {
      if (valid.some((v) => isAttachment(port.tags, v.containerId, v.ifName))) continue;
      const key = `cid:${tagValue(port.tags, TAG_CID) ?? port.id}`;
      try {
        await this.locks.run(key, () => this.removePort(port));
        report.removed.push(port.id);
      } catch (err) {
        report.errors.push(`port ${port.id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (report.removed.length > 0) this.log.info({ network, removed: report.removed }, 'GC removed stale pod ports');
    return report;
  }

  /** Ports tagged with this attachment (normally one; more only after a crash mid-ADD). */
  private async attachmentPorts(key: AttachmentKey): Promise<Port[]> {
    const ports = await this.deps.neutron.listPorts({ deviceOwner: DEVICE_OWNER, tags: attachmentTags(this.deps.options.hostId, key) });
    return ports.filter((p) => isAttachment(p.tags, key.containerId, key.ifName));
  }

  /** Unplug (deletes both veth ends and the OVS port), then delete the port; "already gone" is success. */
  private async removePort(port: Port): Promise<void> {
    await this.deps.binder.unplug(unplugRef(port), null);
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
