import type { Vif } from '../../core/shared/binder.js';
import type { Exec } from './exec.js';
import { ipBatch, ipLine, listLinks } from './ip.js';
import { linuxBridgeName } from '../../core/shared/device-names.js';

/** Enslaves the host end to the bridge and brings the bridge up. */
export function enslaveLines(bridge: string, ifName: string): string[] {
  return [ipLine('link', 'set', 'dev', ifName, 'master', bridge), ipLine('link', 'set', 'dev', bridge, 'up')];
}

/** Creates the bridge as kuryr's `bridge` script and the linuxbridge agent do: forward delay 0, STP off. */
export function createBridgeLines(bridge: string): string[] {
  return [ipLine('link', 'add', 'dev', bridge, 'type', 'bridge', 'forward_delay', 0, 'stp_state', 0)];
}

/**
 * `vif_type=bridge`: put `tap<port[:11]>` into `brq<net[:11]>`. The Neutron linuxbridge agent does
 * this too; doing it here makes the port usable without waiting for the agent. The common case (the
 * bridge exists) costs one `ip` process; a missing bridge is created (a concurrent creator is fine).
 * The bridge is shared by the network's ports and owned by the agent: never deleted here.
 */
export async function plugLinuxBridge(exec: Exec, vif: Pick<Vif, 'networkId' | 'hostIfName'>): Promise<string> {
  const bridge = linuxBridgeName(vif.networkId);
  try {
    await ipBatch(exec, enslaveLines(bridge, vif.hostIfName));
    return bridge;
  } catch (err) {
    const exists = (await listLinks(exec, 'bridge')).some((l) => l.ifname === bridge);
    if (exists) throw err;
  }
  try {
    await ipBatch(exec, createBridgeLines(bridge));
  } catch (err) {
    // Lost a race with another plug or the agent: fine if the bridge is there now.
    if (!(await listLinks(exec, 'bridge')).some((l) => l.ifname === bridge)) throw err;
  }
  await ipBatch(exec, enslaveLines(bridge, vif.hostIfName));
  return bridge;
}

/** kuryr's `bridge unbind`: `ip link set dev <tap> nomaster`, as a line to prepend to the veth delete. */
export function nomasterLine(ifName: string): string {
  return ipLine('link', 'set', 'dev', ifName, 'nomaster');
}
