import type { Binder, PluggedVif, Vif, VifTarget } from '../../core/shared/binder.js';
import { BindingError, ConfigError, errorMessage } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { UndoStack } from '../../common/undo.js';
import { createExec, type Exec } from './exec.js';
import { createOrRecreate, deleteLinks, ipBatch, ipBatchArgv, ipLine, listLinks, netnsFile } from './ip.js';
import { addrLine, containerNetnsLines, kuryrAlias, parseKuryrAlias } from './veth.js';

/**
 * Nested modes: Kuryr runs inside a Nova VM and the container's traffic leaves through the VM's
 * own NIC (`[binding] link_iface`). `macvlan` (bridge mode) gives each container its own MAC;
 * `ipvlan` (L2 mode) shares the NIC's MAC, for clouds that pin one MAC per VM port; `vlan` tags
 * the container's traffic with its trunk subport's VLAN id (needs the kernel's 8021q module).
 */
export type NestedMode = 'macvlan' | 'ipvlan' | 'vlan';

export interface NestedBinderOptions {
  mode: NestedMode;
  /** `[binding] link_iface`; empty means the interface of the default route. */
  linkIface: string;
  logger?: Logger;
  exec?: Exec;
}

/** The VM NIC as the data plane sees it. */
export interface LinkInfo {
  name: string;
  macAddress: string;
  mtu: number;
}

type UnplugVif = Parameters<Binder['unplug']>[0];

/**
 * One macvlan/ipvlan device per port on the VM NIC. Docker (no target): the device `t_c<port[:11]>`
 * stays in the VM's netns configured, for Docker to move. CNI: it is created straight in the pod
 * netns under its final name and configured there, routes included. No host end, no hook scripts.
 */
export class NestedBinder implements Binder {
  private readonly log: Logger;
  private readonly exec: Exec;
  private readonly mode: NestedMode;
  private readonly configuredLink: string;
  private link: LinkInfo | undefined;

  constructor(opts: NestedBinderOptions) {
    this.log = opts.logger ?? silentLogger();
    this.exec = opts.exec ?? createExec(this.log);
    this.mode = opts.mode;
    this.configuredLink = opts.linkIface;
  }

  /** The VM NIC (name, MAC, MTU), read once; the MAC finds the VM's Neutron port. */
  async linkInfo(refresh = false): Promise<LinkInfo> {
    if (this.link && !refresh) return this.link;
    const name = this.configuredLink !== '' ? this.configuredLink : await defaultRouteIface(this.exec);
    const found = (await listLinks(this.exec)).find((l) => l.ifname === name);
    if (found === undefined) throw new ConfigError(`[binding] link_iface ${name} does not exist in this network namespace`);
    this.link = { name, macAddress: (found.address ?? '').toLowerCase(), mtu: found.mtu ?? 1500 };
    return this.link;
  }

  async plug(vif: Vif, target: VifTarget | null): Promise<void> {
    const link = await this.linkInfo();
    if (vif.mtu > link.mtu) {
      // The kernel refuses a macvlan/ipvlan larger than its lower device; say which MTUs clash.
      throw new BindingError(`network MTU ${vif.mtu} of port ${vif.portId} exceeds the MTU ${link.mtu} of link_iface ${link.name}`);
    }
    const create = nestedCreateLines(this.mode, link.name, vif, target);
    await UndoStack.guard(
      async (undo) => {
        undo.push('remove device', () => this.unplug(vif, target));
        await createOrRecreate(this.exec, create, () => this.unplug(vif, target), (err) =>
          this.log.info({ portId: vif.portId, err: errorMessage(err) }, 'recreating existing device of port'),
        );
        if (target) await ipBatch(this.exec, [aliasLine(vif, target.ifName), ...containerNetnsLines(vif, target.ifName)], target.netnsPath);
      },
      (failed) => this.log.warn({ portId: vif.portId, failed }, 'rollback of a failed nested plug left a device behind'),
    );
  }

  /** Deletes the device: in the VM netns (Docker) or in the pod netns (CNI; a netns already gone took it along). */
  async unplug(vif: UnplugVif, target: VifTarget | null): Promise<void> {
    if (!target) return deleteLinks(this.exec, [vif.containerIfName]);
    const argv = ipBatchArgv(target.netnsPath, true);
    const { stderr } = await this.exec(argv, { input: `${ipLine('link', 'del', 'dev', target.ifName)}\n`, okCodes: [0, 1] });
    if (stderr.trim() === '' || /Cannot find device|No such file|does not exist/i.test(stderr)) return;
    throw new BindingError(`failed to delete ${target.ifName} in ${netnsFile(target.netnsPath)}: ${stderr.trim().slice(0, 300)}`);
  }

  /** Nested devices of ours still in the VM netns (Docker endpoints not yet moved, or moved back). */
  async listPlugged(): Promise<PluggedVif[]> {
    const links = await listLinks(this.exec, this.mode);
    const out: PluggedVif[] = [];
    for (const l of links) {
      const ours = parseKuryrAlias(l.ifalias);
      if (ours) out.push({ portId: ours.portId, hostIfName: l.ifname, deviceId: ours.deviceId, kind: 'link' });
    }
    return out;
  }
}

/** `type macvlan mode bridge` (own MAC), `type ipvlan mode l2` (the NIC's MAC, none may be set) or `type vlan id N`. */
function typeTokens(mode: NestedMode, vif: Vif): string[] {
  if (mode === 'macvlan') return ['type', 'macvlan', 'mode', 'bridge'];
  if (mode === 'ipvlan') return ['type', 'ipvlan', 'mode', 'l2'];
  if (vif.vlanId === undefined) throw new BindingError(`port ${vif.portId} has no VLAN id (it is not a subport of the VM port's trunk)`);
  return ['type', 'vlan', 'id', String(vif.vlanId)];
}

function aliasLine(vif: Vif, dev: string): string {
  return ipLine('link', 'set', 'dev', dev, 'alias', kuryrAlias(vif));
}

/**
 * Host-netns batch creating the device. With a target it is created straight in the pod netns under
 * its final name (configured there afterwards); without one it stays here as `t_c…`, configured.
 */
export function nestedCreateLines(mode: NestedMode, link: string, vif: Vif, target: VifTarget | null): string[] {
  const name = target ? target.ifName : vif.containerIfName;
  const where = target ? ['netns', netnsFile(target.netnsPath)] : [];
  const mac = mode === 'ipvlan' ? [] : ['address', vif.macAddress.toLowerCase()];
  const lines = [ipLine('link', 'add', 'link', link, 'name', name, ...where, ...mac, 'mtu', vif.mtu, ...typeTokens(mode, vif))];
  if (!target) {
    lines.push(aliasLine(vif, name));
    lines.push(...vif.addresses.map((a) => addrLine(a, name)));
    lines.push(ipLine('link', 'set', 'dev', name, 'up'));
  }
  return lines;
}

/** The interface of the IPv4 default route, kuryr-kubernetes' fallback when `link_iface` is empty. */
async function defaultRouteIface(exec: Exec): Promise<string> {
  const { stdout } = await exec(['ip', '-json', 'route', 'show', 'default']);
  let routes: Array<{ dev?: string }> = [];
  try {
    routes = stdout.trim() === '' ? [] : (JSON.parse(stdout) as typeof routes);
  } catch {
    routes = [];
  }
  const dev = routes.find((r) => typeof r.dev === 'string')?.dev;
  if (dev === undefined) throw new ConfigError('[binding] link_iface is not set and there is no default route to take the interface from');
  return dev;
}
