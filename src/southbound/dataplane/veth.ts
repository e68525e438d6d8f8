import { settle } from '../../common/promises.js';
import type { Vif, VifAddress, VifRoute, VifTarget } from '../../core/shared/binder.js';
import type { Exec } from './exec.js';
import { ipBatch, ipLine, netnsFile } from './ip.js';

/** `ifalias` marker on host ends we create: `kuryr:<port id>:<device id>` (full IDs; names hold only 11 chars). */
export const ALIAS_PREFIX = 'kuryr:';

export function kuryrAlias(vif: Pick<Vif, 'portId' | 'deviceId'>): string {
  return `${ALIAS_PREFIX}${vif.portId}:${vif.deviceId}`;
}

/** Parses a `kuryrAlias`; undefined when the alias is not ours. */
export function parseKuryrAlias(alias: string | undefined): { portId: string; deviceId: string } | undefined {
  if (!alias?.startsWith(ALIAS_PREFIX)) return undefined;
  const [portId = '', deviceId = ''] = alias.slice(ALIAS_PREFIX.length).split(':');
  return portId ? { portId, deviceId } : undefined;
}

/** `addr add A/LEN dev X`; IPv6 with `nodad` so the address is usable at once. */
export function addrLine(a: VifAddress, dev: string): string {
  return a.family === 6
    ? ipLine('addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', dev, 'nodad')
    : ipLine('addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', dev);
}

/** `route replace DEST via NH dev X`; `0.0.0.0/0` and `::/0` are default routes as written. */
export function routeLine(r: VifRoute, dev: string): string {
  return ipLine('route', 'replace', r.destination, 'via', r.nexthop, 'dev', dev);
}

/**
 * Host-netns batch that creates the veth pair. With a target the peer is created straight in the
 * target netns under its final name (no rename, no clash with host names); without one it stays
 * in the host netns as `t_c…`, configured, for Docker to move. The host end gets the MTU, a kuryr
 * alias, no IPv6 link-local (`addrgenmode none`), and is brought up.
 */
export function vethCreateLines(vif: Vif, target: VifTarget | null): string[] {
  const mac = vif.macAddress.toLowerCase();
  const host = vif.hostIfName;
  const peer = target
    ? ['peer', 'name', target.ifName, 'netns', netnsFile(target.netnsPath), 'address', mac, 'mtu', vif.mtu]
    : ['peer', 'name', vif.containerIfName, 'address', mac, 'mtu', vif.mtu];
  const lines = [
    ipLine('link', 'add', 'dev', host, 'mtu', vif.mtu, 'type', 'veth', ...peer),
    ipLine('link', 'set', 'dev', host, 'alias', kuryrAlias(vif)),
    ipLine('link', 'set', 'dev', host, 'addrgenmode', 'none'),
    ipLine('link', 'set', 'dev', host, 'up'),
  ];
  if (!target) {
    lines.push(...vif.addresses.map((a) => addrLine(a, vif.containerIfName)));
    lines.push(ipLine('link', 'set', 'dev', vif.containerIfName, 'up'));
  }
  return lines;
}

/** Batch run inside the target netns: `lo` up, addresses, the interface up, then the routes. */
export function containerNetnsLines(vif: Vif, ifName: string): string[] {
  return [
    ipLine('link', 'set', 'dev', 'lo', 'up'),
    ...vif.addresses.map((a) => addrLine(a, ifName)),
    ipLine('link', 'set', 'dev', ifName, 'up'),
    ...vif.routes.map((r) => routeLine(r, ifName)),
  ];
}

/** `sysctl` for the host end: no router advertisements, no SLAAC addresses. */
export function hostSysctlArgv(ifName: string): string[] {
  return ['sysctl', '-q', '-w', `net.ipv6.conf.${ifName}.accept_ra=0`, `net.ipv6.conf.${ifName}.autoconf=0`];
}

/**
 * `ethtool -K X tx off`: OVS's userspace datapath reads veths through AF_PACKET and loses the
 * "checksum partial" state, so TCP/UDP from the container would carry bad checksums.
 */
export function txOffArgv(ifName: string, netns?: string): string[] {
  const argv = ['ethtool', '-K', ifName, 'tx', 'off'];
  return netns ? ['nsenter', `--net=${netnsFile(netns)}`, ...argv] : argv;
}

/**
 * The container side after the veth exists: tx off when asked and (with a target) the netns batch,
 * side by side. Their order does not matter: nothing in the container runs before the plug returns.
 * Both are awaited before any failure is reported, so a rollback never races a running command.
 */
export async function configureContainerEnd(exec: Exec, vif: Vif, target: VifTarget | null, txOff: boolean): Promise<void> {
  const dev = target ? target.ifName : vif.containerIfName;
  const steps: Array<Promise<unknown>> = [];
  if (txOff) steps.push(exec(txOffArgv(dev, target?.netnsPath)));
  if (target) steps.push(ipBatch(exec, containerNetnsLines(vif, target.ifName), target.netnsPath));
  await settle(...steps);
}
