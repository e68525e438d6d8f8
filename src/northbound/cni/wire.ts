/**
 * CNI wire format (CNI 1.1 specification: the environment parameters and the result types; docs/cni.md): decoding the forwarded environment and network configuration
 * into core requests, and encoding an attachment as the ADD result of the requested cniVersion.
 */
import { InvalidInputError } from '../../common/errors.js';
import type { PodAttachment, PodRef } from '../../core/pod/pod-model.js';
import { POD_ANNOTATIONS } from '../../core/pod/pod-tags.js';
import { CNI_CODES, SUPPORTED_VERSIONS, type DaemonRequest } from './protocol.js';

/** A CNI error raised by the adapter itself, with its spec code. */
export class CniError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'CniError';
  }
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';
const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'];
const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const POD_ANNOTATIONS_CAPABILITY = 'io.kubernetes.cri.pod-annotations';

export interface DecodedCall {
  command: CniCommand;
  cniVersion: string;
  network: string;
  containerId: string;
  netns: string;
  ifName: string;
  /**
   * The network name or interface name holds characters a Neutron tag cannot store (outside Unicode's basic plane:
   * Neutron answers 500). No port can carry such an attachment, so DEL and GC have nothing to do.
   */
  untaggable: boolean;
  pod: PodRef;
  annotations: Record<string, string>;
  config: Record<string, unknown>;
}

/** Decodes and validates a forwarded call; throws `CniError` with code 1, 4 or 7. */
export function decodeCall(body: unknown): DecodedCall {
  const req = (typeof body === 'object' && body !== null ? body : {}) as Partial<DaemonRequest>;
  const env = req.env ?? {};
  const config = (typeof req.config === 'object' && req.config !== null ? req.config : {}) as Record<string, unknown>;
  const command = env.CNI_COMMAND ?? '';
  if (!COMMANDS.includes(command)) throw new CniError(CNI_CODES.invalidEnv, `CNI_COMMAND ${JSON.stringify(command)} is not one of ${COMMANDS.join(', ')}`);
  const cniVersion = typeof config.cniVersion === 'string' ? config.cniVersion : '';
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CNI_CODES.incompatibleVersion, `cniVersion ${JSON.stringify(cniVersion)} is not supported (supported: ${SUPPORTED_VERSIONS.join(', ')})`);
  }
  const minimum = command === 'CHECK' ? '0.4.0' : command === 'STATUS' || command === 'GC' ? '1.1.0' : undefined;
  if (minimum && compareVersions(cniVersion, minimum) < 0) throw new CniError(CNI_CODES.incompatibleVersion, `cniVersion ${cniVersion} does not allow ${command} (needs ${minimum} or later)`);
  const network = typeof config.name === 'string' ? config.name : '';
  if (command !== 'VERSION' && command !== 'STATUS' && network === '') throw new CniError(CNI_CODES.invalidConfig, 'network configuration has no "name"');
  const containerId = env.CNI_CONTAINERID ?? '';
  const netns = env.CNI_NETNS ?? '';
  const ifName = env.CNI_IFNAME ?? '';
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    const bad: string[] = [];
    if (!CONTAINER_ID_RE.test(containerId)) bad.push('CNI_CONTAINERID');
    if (!validIfName(ifName)) bad.push('CNI_IFNAME');
    if (command !== 'DEL' && netns === '') bad.push('CNI_NETNS');
    if (bad.length > 0) throw new CniError(CNI_CODES.invalidEnv, `invalid or missing environment variables: ${bad.join(', ')}`);
  }
  const args = parseCniArgs(env.CNI_ARGS ?? '');
  const pod: PodRef = { namespace: args.K8S_POD_NAMESPACE || undefined, name: args.K8S_POD_NAME || containerId.slice(0, 63), uid: args.K8S_POD_UID || undefined };
  const untaggable = !taggable(network) || (command !== 'GC' && !taggable(ifName));
  if (untaggable && (command === 'ADD' || command === 'CHECK')) {
    const field = taggable(network) ? 'CNI_IFNAME' : 'network configuration "name"';
    throw new CniError(field === 'CNI_IFNAME' ? CNI_CODES.invalidEnv : CNI_CODES.invalidConfig, `${field} has characters a Neutron tag cannot store (outside Unicode's basic plane)`);
  }
  return { command: command as CniCommand, cniVersion, network, containerId, netns, ifName, untaggable, pod, annotations: podAnnotations(config, command === 'ADD' || command === 'CHECK'), config };
}

/** `K=V;K=V` → map; later keys win; a pair without `=` is an error (`IgnoreUnknown` is just a key). */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const i = pair.indexOf('=');
    if (i <= 0) throw new InvalidInputError(`CNI_ARGS has a malformed pair ${JSON.stringify(pair)}`, 'CNI_ARGS');
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** A Neutron resource ID (a UUID, either case): the only shape that may go into a Neutron URL. */
export const NEUTRON_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Pod annotations from `runtimeConfig` (key matched case-insensitively; only string values). The
 * kuryr ones name Neutron IDs that go into Neutron URLs: for ADD and CHECK (`strict`) a value that is
 * not an ID (or a comma-separated list of them) is a config error naming the annotation; other
 * commands do not use them and drop such a value.
 */
function podAnnotations(config: Record<string, unknown>, strict: boolean): Record<string, string> {
  const rc = config.runtimeConfig;
  if (typeof rc !== 'object' || rc === null) return {};
  const entry = Object.entries(rc).find(([k]) => k.toLowerCase() === POD_ANNOTATIONS_CAPABILITY);
  const value = entry?.[1];
  if (typeof value !== 'object' || value === null) return {};
  const out = Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const checks: Array<[string, (v: string) => boolean, string]> = [
    [POD_ANNOTATIONS.subnet, (v) => v.trim() === '' || NEUTRON_ID_RE.test(v.trim()), 'a Neutron subnet ID (a UUID)'],
    [POD_ANNOTATIONS.securityGroups, (v) => v.split(',').every((g) => g.trim() === '' || NEUTRON_ID_RE.test(g.trim())), 'a comma-separated list of Neutron security group IDs (UUIDs)'],
  ];
  for (const [key, valid, what] of checks) {
    const v = out[key];
    if (v === undefined || valid(v)) continue;
    if (strict) throw new CniError(CNI_CODES.invalidConfig, `pod annotation ${key} ${JSON.stringify(v.slice(0, 200))} is not ${what}`);
    delete out[key];
  }
  return out;
}

/** Valid attachments of a GC call (`cni.dev/valid-attachments`, or the 1.1.0 tag's `cni.dev/attachments`). */
export function validAttachments(config: Record<string, unknown>): Array<{ containerId: string; ifName: string }> {
  const list = config['cni.dev/valid-attachments'] ?? config['cni.dev/attachments'];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new CniError(CNI_CODES.invalidConfig, 'cni.dev/valid-attachments is not a list');
  return list.map((a: unknown) => {
    const o = (a ?? {}) as { containerID?: unknown; ifname?: unknown };
    if (typeof o.containerID !== 'string' || typeof o.ifname !== 'string') throw new CniError(CNI_CODES.invalidConfig, `cni.dev/valid-attachments entry ${JSON.stringify(a)} lacks containerID or ifname`);
    return { containerId: o.containerID, ifName: o.ifname };
  });
}

/** The ADD success result in `cniVersion`: host veth + pod interface, ips (with `version` before 1.0.0), routes, dns. */
export function encodeResult(a: PodAttachment, cniVersion: string): Record<string, unknown> {
  const pre1 = compareVersions(cniVersion, '1.0.0') < 0;
  const v11 = compareVersions(cniVersion, '1.1.0') >= 0;
  const pod: Record<string, unknown> = { name: a.ifName, mac: a.mac, ...(v11 ? { mtu: a.mtu } : {}), sandbox: a.netns };
  // Nested devices (macvlan, ipvlan, VLAN on the VM NIC) have no host end: the pod's is the only interface.
  const interfaces = a.hostIfName === undefined ? [pod] : [{ name: a.hostIfName, ...(a.hostMac ? { mac: a.hostMac } : {}), ...(v11 ? { mtu: a.mtu } : {}) }, pod];
  return {
    cniVersion,
    interfaces,
    ips: a.ips.map((ip) => ({ ...(pre1 ? { version: String(ip.family) } : {}), address: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), interface: interfaces.length - 1 })),
    routes: a.routes.map((r) => ({ dst: r.dst, gw: r.gw })),
    dns: a.dns.nameservers.length > 0 ? { nameservers: a.dns.nameservers } : {},
  };
}

/** The kernel's rule (IFNAMSIZ): at most 15 bytes, so a non-ASCII name is shorter in characters. */
/** Neutron keeps tags in 3-byte UTF-8: astral characters (and lone surrogates) cannot be stored or searched. */
function taggable(s: string): boolean {
  return !/[\ud800-\udfff]/.test(s);
}

function validIfName(name: string): boolean {
  return name !== '' && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** Compares dotted versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
