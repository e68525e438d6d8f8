import { settle } from '../../common/promises.js';
import type { Binder, PluggedVif, Vif, VifTarget } from '../../core/shared/binder.js';
import { BindingError, errorMessage } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { UndoStack } from '../../common/undo.js';
import { createExec, type Exec } from './exec.js';
import { createOrRecreate, deleteLinks, listLinks } from './ip.js';
import { nomasterLine, plugLinuxBridge } from './linuxbridge.js';
import { hybridNames } from '../../core/shared/device-names.js';
import { hybridLines, isHybrid, listOvsPlugged, ovsBridgeOf, plugOvs, unplugOvs } from './ovs.js';
import { configureContainerEnd, hostSysctlArgv, parseKuryrAlias, vethCreateLines } from './veth.js';

export interface VethBinderOptions {
  logger?: Logger;
  /** Runs one command; defaults to `exec.ts`'s `run`. Unit tests inject a recorder. */
  exec?: Exec;
  /** OVS bridge when `vif_details.bridge_name` is absent; default `br-int`. */
  defaultOvsBridge?: string;
}

/** `binding:vif_type` values this binder plugs (kuryr's hook scripts of the same names). */
export const SUPPORTED_VIF_TYPES: readonly string[] = ['ovs', 'bridge', 'tap'];

type UnplugVif = Parameters<Binder['unplug']>[0];

/**
 * The veth binder: a veth pair `tap…`/`t_c…` per port, the host end plugged by `vif_type`
 * (`ovs`: OVS port, plain or hybrid; `bridge`: `brq…` Linux bridge; `tap`: left alone), the
 * container end configured in the host netns (Docker) or moved into the target netns (CNI).
 *
 * Process budget of a plug (OVS, CNI target, netdev datapath): one host `ip -batch`, then in
 * parallel `sysctl`, `ovs-vsctl`, `nsenter ethtool` and `nsenter ip -batch`.
 */
export class VethBinder implements Binder {
  private readonly log: Logger;
  private readonly exec: Exec;
  private readonly defaultOvsBridge: string;

  constructor(opts: VethBinderOptions = {}) {
    this.log = opts.logger ?? silentLogger();
    this.exec = opts.exec ?? createExec(this.log);
    this.defaultOvsBridge = opts.defaultOvsBridge ?? 'br-int';
  }

  async plug(vif: Vif, target: VifTarget | null): Promise<void> {
    if (!SUPPORTED_VIF_TYPES.includes(vif.vifType)) {
      throw new BindingError(
        `failed to plug port ${vif.portId}: binding:vif_type ${JSON.stringify(vif.vifType)} is not supported` +
          ` (supported: ${SUPPORTED_VIF_TYPES.join(', ')})`,
      );
    }
    const started = performance.now();
    const create = vethCreateLines(vif, target);
    if (vif.vifType === 'ovs' && isHybrid(vif)) create.push(...hybridLines(vif));
    await UndoStack.guard(
      async (undo) => {
        undo.push('remove plug', () => this.unplug(vif, target));
        await createOrRecreate(this.exec, create, () => this.unplug(vif, target), (err) =>
          this.log.info({ portId: vif.portId, err: errorMessage(err) }, 'recreating existing devices of port'),
        );
        await settle(this.attachHostEnd(vif, this.exec(hostSysctlArgv(vif.hostIfName))), this.configureContainer(vif, target));
      },
      (failed) => this.log.warn({ portId: vif.portId, failed }, 'rollback of a failed plug left devices behind'),
    );
    this.log.debug({ portId: vif.portId, vifType: vif.vifType, ms: Math.round(performance.now() - started) }, 'plugged');
  }

  async unplug(vif: UnplugVif, _target: VifTarget | null): Promise<void> {
    const links = [vif.hostIfName];
    const pre: string[] = [];
    let ovsError: unknown;
    if (vif.vifType === 'ovs') {
      // Still delete the veth when OVS fails (e.g. a rollback while ovsdb is down), then report it.
      const found = await unplugOvs(this.exec, vif.portId).catch((err: unknown) => ((ovsError = err), []));
      // A `qvo…` interface means a hybrid plug even when the caller's vif_details say otherwise.
      if (isHybrid(vif) || found.some((n) => n.startsWith('qvo'))) {
        const { qvb, qbr } = hybridNames(vif.portId);
        links.push(qvb, qbr);
      }
    } else if (vif.vifType === 'bridge') {
      pre.push(nomasterLine(vif.hostIfName));
    }
    // Deleting the host end deletes its peer too, wherever it is (host netns, container netns).
    await deleteLinks(this.exec, links, pre);
    if (ovsError !== undefined) throw ovsError;
  }

  async listPlugged(): Promise<PluggedVif[]> {
    const [ovs, veths] = await Promise.all([listOvsPlugged(this.exec), listLinks(this.exec, 'veth')]);
    const seen = new Set(ovs.map((p) => p.hostIfName));
    const links: PluggedVif[] = [];
    for (const l of veths) {
      if (!l.ifname.startsWith('tap') || seen.has(l.ifname)) continue;
      const ours = parseKuryrAlias(l.ifalias);
      if (!ours && !l.link?.startsWith('t_c')) continue;
      links.push({ portId: ours?.portId ?? l.ifname.slice(3), hostIfName: l.ifname, deviceId: ours?.deviceId ?? '', kind: 'link' });
    }
    return [...ovs, ...links];
  }

  /**
   * Host side after the veth exists, alongside the `sysctl` that turns IPv6 RA/autoconf off on the
   * host end. The order does not matter: the host end's own IP stack only receives what the container
   * sends (OVS and a bridge consume everything else), so no router advertisement from the network reaches it.
   */
  private async attachHostEnd(vif: Vif, sysctl: Promise<unknown>): Promise<void> {
    const attach =
      vif.vifType === 'ovs'
        ? plugOvs(this.exec, vif, ovsBridgeOf(vif, this.defaultOvsBridge))
        : vif.vifType === 'bridge'
          ? plugLinuxBridge(this.exec, vif).then(() => undefined)
          : Promise.resolve();
    await settle(sysctl, attach);
  }

  private async configureContainer(vif: Vif, target: VifTarget | null): Promise<void> {
    await configureContainerEnd(this.exec, vif, target, vif.vifDetails['datapath_type'] === 'netdev');
  }
}
