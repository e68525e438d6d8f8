import { BindingError } from '../../common/errors.js';
import type { PluggedVif, Vif } from '../../core/shared/binder.js';
import type { Exec } from './exec.js';
import { ipLine } from './ip.js';
import { hostIfNameOfOvsInterface, hybridNames } from '../../core/shared/device-names.js';

/** One OVS Interface row as `ovs-vsctl --format=json --columns=name,external_ids find` returns it. */
export interface OvsInterface {
  name: string;
  externalIds: Record<string, string>;
}

/** OVS bridge a vif goes into: Neutron's `vif_details.bridge_name`, else the configured default. */
export function ovsBridgeOf(vif: Pick<Vif, 'vifDetails'>, defaultBridge: string): string {
  const b = vif.vifDetails['bridge_name'];
  return typeof b === 'string' && b !== '' ? b : defaultBridge;
}

/** `ovs_hybrid_plug: true` in `vif_details`: tap → qbr Linux bridge → qvb/qvo veth → OVS. */
export function isHybrid(vif: Pick<Vif, 'vifDetails'>): boolean {
  return vif.vifDetails['ovs_hybrid_plug'] === true;
}

/**
 * kuryr's `usr/libexec/kuryr/ovs` bind, as one `ovs-vsctl` transaction. The hybrid plug names the
 * instance with `vm-id` (as kuryr's script does), the plain plug with `vm-uuid`.
 */
export function ovsPlugArgv(bridge: string, ifName: string, vif: Vif, idKey: 'vm-uuid' | 'vm-id' = 'vm-uuid'): string[] {
  const device = vif.deviceId === '' ? '""' : vif.deviceId;
  return [
    'ovs-vsctl', '--', '--may-exist', 'add-port', bridge, ifName,
    '--', 'set', 'Interface', ifName,
    `external_ids:attached-mac=${vif.macAddress.toLowerCase()}`,
    `external_ids:iface-id=${vif.portId}`,
    `external_ids:${idKey}=${device}`,
    'external_ids:iface-status=active',
    'external_ids:owner=kuryr',
  ];
}

/** `ovs-vsctl find Interface <condition>` with names and external_ids, JSON output. */
export function ovsFindArgv(condition: string): string[] {
  return ['ovs-vsctl', '--format=json', '--columns=name,external_ids', 'find', 'Interface', condition];
}

/** `ovs-vsctl --if-exists del-port X` for each name, one transaction. */
export function ovsDelPortsArgv(names: string[]): string[] {
  return ['ovs-vsctl', ...names.flatMap((n) => ['--', '--if-exists', 'del-port', n])];
}

/** Parses `--format=json` output of `find` with columns name,external_ids. */
export function parseOvsFind(stdout: string): OvsInterface[] {
  let doc: { data?: unknown; headings?: unknown };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch (err) {
    throw new BindingError(`failed to parse ovs-vsctl find output: ${stdout.slice(0, 200)}`, { cause: err });
  }
  const headings = Array.isArray(doc.headings) ? (doc.headings as string[]) : [];
  const iName = headings.indexOf('name');
  const iIds = headings.indexOf('external_ids');
  const rows = Array.isArray(doc.data) ? (doc.data as unknown[][]) : [];
  return rows.map((row) => {
    const name = row[iName];
    const ids = row[iIds];
    const externalIds: Record<string, string> = {};
    if (Array.isArray(ids) && ids[0] === 'map' && Array.isArray(ids[1])) {
      for (const pair of ids[1] as unknown[]) {
        if (Array.isArray(pair) && typeof pair[0] === 'string') externalIds[pair[0]] = String(pair[1]);
      }
    }
    return { name: typeof name === 'string' ? name : String(name), externalIds };
  });
}

/**
 * Host-netns batch lines of the hybrid plug, run in the same batch that creates the tap veth:
 * bridge `qbr` (forward delay 0, STP off) with the tap and `qvb` enslaved, `qvo` for OVS.
 */
export function hybridLines(vif: Vif): string[] {
  const { qbr, qvb, qvo } = hybridNames(vif.portId);
  return [
    ipLine('link', 'add', 'dev', qbr, 'type', 'bridge', 'forward_delay', 0, 'stp_state', 0),
    ipLine('link', 'set', 'dev', qbr, 'addrgenmode', 'none'),
    ipLine('link', 'set', 'dev', qbr, 'up'),
    ipLine('link', 'set', 'dev', vif.hostIfName, 'master', qbr),
    ipLine('link', 'add', 'dev', qvb, 'mtu', vif.mtu, 'type', 'veth', 'peer', 'name', qvo, 'mtu', vif.mtu),
    ipLine('link', 'set', 'dev', qvb, 'addrgenmode', 'none'),
    ipLine('link', 'set', 'dev', qvo, 'addrgenmode', 'none'),
    ipLine('link', 'set', 'dev', qvb, 'master', qbr),
    ipLine('link', 'set', 'dev', qvb, 'up'),
    ipLine('link', 'set', 'dev', qvo, 'up'),
  ];
}

/** The OVS interface name and instance key a vif is plugged with. */
export function ovsIfaceOf(vif: Vif): { ifName: string; idKey: 'vm-uuid' | 'vm-id' } {
  return isHybrid(vif) ? { ifName: hybridNames(vif.portId).qvo, idKey: 'vm-id' } : { ifName: vif.hostIfName, idKey: 'vm-uuid' };
}

/** Adds the vif's OVS port: one `ovs-vsctl` process. */
export async function plugOvs(exec: Exec, vif: Vif, bridge: string): Promise<void> {
  const { ifName, idKey } = ovsIfaceOf(vif);
  await exec(ovsPlugArgv(bridge, ifName, vif, idKey));
}

/**
 * Removes every OVS interface carrying `external_ids:iface-id=<port>`, whatever its bridge or
 * name. None found is success (kuryr's script exits 1 there, failing DeleteEndpoint).
 */
export async function unplugOvs(exec: Exec, portId: string): Promise<string[]> {
  const { stdout } = await exec(ovsFindArgv(`external_ids:iface-id=${portId}`));
  const names = parseOvsFind(stdout).map((i) => i.name);
  if (names.length > 0) await exec(ovsDelPortsArgv(names));
  return names;
}

/** OVS interfaces with `external_ids:owner=kuryr`. */
export async function listOvsPlugged(exec: Exec): Promise<PluggedVif[]> {
  const { stdout } = await exec(ovsFindArgv('external_ids:owner=kuryr'));
  return parseOvsFind(stdout).map((i) => ({
    portId: i.externalIds['iface-id'] ?? '',
    hostIfName: hostIfNameOfOvsInterface(i.name),
    deviceId: i.externalIds['vm-uuid'] ?? i.externalIds['vm-id'] ?? '',
    kind: 'ovs' as const,
  }));
}
