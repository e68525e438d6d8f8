/**
 * The generated calls of fuzz-cni.test.ts: per CNI command a valid environment and network
 * configuration whose names match nothing (a fresh container id, a netns path that does not exist),
 * and one mutation per call, of an environment variable or of stdin.
 */
import fc from 'fast-check';
import { BAD_IDS, badString, deepJson, wrongTypeArb } from './fuzz.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type Command = (typeof COMMANDS)[number];

/** Where a call's network namespace comes from: none that exists, one of the test's real ones, or a path that is not a netns. */
export type NetnsKind = 'missing' | 'real' | 'not-a-netns';

export interface CniCase {
  command: Command;
  kind: string;
  env: Record<string, string>;
  stdin: string | Buffer;
  /** The variable or configuration key made bad: an error must name it. */
  field?: string;
  netns: NetnsKind;
}

const ENV_NEAR: Record<string, readonly string[]> = {
  CNI_COMMAND: ['add', 'Add', 'ADD ', ' DEL', 'VERSION\n', 'ADD;DEL', 'GC2', 'STATUS\t', 'CHECKS', 'del'],
  CNI_CONTAINERID: ['-abc', '.abc', 'a/b', 'a b', 'a\nb', '../x', 'a'.repeat(5000), '🙂', 'é', ...BAD_IDS],
  CNI_NETNS: ['relative/ns', 'netns', '/var/run/netns/', '/var/run/netns/../../..', '/nonexistent/ns'],
  CNI_IFNAME: ['', 'eth0/x', 'eth 0', '.', '..', 'a'.repeat(16), 'éééééééé', 'eth0:1', 'eth\t0', 'lo'],
  CNI_ARGS: ['K8S_POD_NAME', '=x', ';;;', 'a=b;c', `K8S_POD_NAME=${'p'.repeat(300)}`, 'K8S_POD_UID=not-a-uid', 'K8S_POD_NAMESPACE=a/b', 'IgnoreUnknown=1;K8S_POD_NAME=é🙂'],
  CNI_PATH: ['', ':::', '/nonexistent'],
};
const CONFIG_NEAR: Record<string, readonly string[]> = {
  cniVersion: ['1.1', '1.0', '2.0.0', '0.2.0', '0.1.0', '1.0.0 ', 'v1.0.0', '1.0.0-rc1', '10.0.0', '01.0.0'],
  name: ['a/b', 'x'.repeat(300), '🙂', ''],
  type: ['bridge', '', 'kuryr'],
};

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });

/** A valid call of `command` for network `network` on the daemon at `socket`. */
function baseArb(command: Command, network: string, socket: string): fc.Arbitrary<{ env: Record<string, string>; config: Record<string, unknown> }> {
  return fc.record({ cid: hex(16), uid: fc.uuid({ version: 4 }) }).map(({ cid, uid }) => {
    const needs11 = command === 'STATUS' || command === 'GC';
    const config: Record<string, unknown> = { cniVersion: needs11 ? '1.1.0' : '1.0.0', name: network, type: 'kuryr-cni', kuryr_socket: socket };
    if (command === 'GC') config['cni.dev/valid-attachments'] = [{ containerID: `fuzz${cid}`, ifname: 'eth0' }];
    if (command === 'CHECK') config['prevResult'] = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.5/24' }] };
    if (command === 'ADD') config['runtimeConfig'] = { 'io.kubernetes.cri.pod-annotations': { a: 'b' } };
    const env: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: `fuzz${cid}`,
      CNI_NETNS: `/var/run/netns/cni-e2e-fuzz-none-${cid}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=fuzz;K8S_POD_NAME=fuzz-${cid};K8S_POD_UID=${uid}`,
      CNI_PATH: '/opt/cni/bin',
    };
    return { env, config };
  });
}

/** Environment values cannot hold NUL (execve); the rest is passed as generated. */
const envSafe = (s: string): string => s.replaceAll('\0', '\\0');

/** Config keys a mutation may touch (the base's keys plus the ones the daemon reads). */
const CONFIG_KEYS = ['cniVersion', 'name', 'type', 'kuryr_socket', 'runtimeConfig', 'prevResult', 'cni.dev/valid-attachments', 'capabilities', 'args'];

export function cniCaseArb(command: Command, network: string, socket: string): fc.Arbitrary<CniCase> {
  const base = baseArb(command, network, socket);
  const make = (b: { env: Record<string, string>; config: Record<string, unknown> }, kind: string, extra: Partial<CniCase> = {}): CniCase => ({
    command, kind, env: b.env, stdin: JSON.stringify(b.config), netns: 'missing', ...extra,
  });
  const envKey = fc.constantFrom(...Object.keys(ENV_NEAR));
  const configKey = fc.constantFrom(...CONFIG_KEYS);
  return fc.oneof(
    // one environment variable missing or bad
    { weight: 10, arbitrary: fc.tuple(base, envKey).map(([b, k]) => { const env = { ...b.env }; delete env[k]; return make({ ...b, env }, 'missing env', { field: k }); }) },
    { weight: 25, arbitrary: fc.tuple(base, envKey).chain(([b, k]) => badString(ENV_NEAR[k]).map((v) => make({ ...b, env: { ...b.env, [k]: envSafe(v) } }, 'bad env', { field: k }))) },
    { weight: 3, arbitrary: fc.tuple(base, fc.dictionary(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_'), minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 }), { maxKeys: 3 }))
      .map(([b, extra]) => make({ ...b, env: { ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`CNI_${k}`, envSafe(v)])), ...b.env } }, 'extra env')) },
    // stdin that is not one JSON object
    { weight: 4, arbitrary: fc.tuple(base, fc.nat()).map(([b, n]) => { const s = JSON.stringify(b.config); return make(b, 'truncated stdin', { stdin: s.slice(0, n % s.length), field: 'stdin' }); }) },
    { weight: 2, arbitrary: fc.tuple(base, fc.uint8Array({ maxLength: 300 })).map(([b, a]) => make(b, 'random bytes stdin', { stdin: Buffer.from(a), field: 'stdin' })) },
    { weight: 2, arbitrary: fc.tuple(base, fc.constantFrom('', ' ', '\n', 'null', '[]', '0', '"x"', 'true', '{"a":1}{"b":2}', '\ufeff{}')).map(([b, s]) => make(b, 'not one object', { stdin: s, field: 'stdin' })) },
    { weight: 2, arbitrary: fc.tuple(base, fc.integer({ min: 1000, max: 50_000 })).map(([b, d]) => make(b, 'deep stdin', { stdin: JSON.stringify(b.config).replace(/\}$/, `,"deep":${deepJson(d)}}`) })) },
    { weight: 1, arbitrary: base.map((b) => make(b, 'stdin over 1 MiB', { stdin: JSON.stringify({ ...b.config, big: 'b'.repeat(1024 * 1024 + 10) }), field: 'stdin' })) },
    // one configuration key missing, of a wrong type, or a bad string
    { weight: 8, arbitrary: fc.tuple(base, configKey).map(([b, k]) => { const config = { ...b.config }; delete config[k]; return make({ ...b, config }, 'missing config key', { field: k }); }) },
    { weight: 12, arbitrary: fc.tuple(base, configKey, wrongTypeArb).map(([b, k, v]) => make({ ...b, config: { ...b.config, [k]: v } }, 'wrong config type', { field: k })) },
    { weight: 12, arbitrary: fc.tuple(base, configKey).chain(([b, k]) => badString(CONFIG_NEAR[k] ?? []).map((v) => make({ ...b, config: { ...b.config, [k]: k === 'kuryr_socket' ? `/run/kuryr-cni-e2e/no-such/${v}` : v } }, 'bad config string', { field: k }))) },
    { weight: 4, arbitrary: fc.tuple(base, fc.array(fc.oneof(wrongTypeArb, fc.record({ containerID: fc.oneof(fc.string(), wrongTypeArb), ifname: fc.oneof(fc.string(), wrongTypeArb) })), { maxLength: 5 }))
      .map(([b, list]) => make({ ...b, config: { ...b.config, 'cni.dev/valid-attachments': list } }, 'bad attachments', { field: 'cni.dev/valid-attachments' })) },
    { weight: 3, arbitrary: fc.tuple(base, fc.dictionary(fc.string({ maxLength: 40 }), fc.oneof(fc.string({ maxLength: 200 }), wrongTypeArb), { maxKeys: 5 }))
      .map(([b, ann]) => make({ ...b, config: { ...b.config, runtimeConfig: { 'io.kubernetes.cri.pod-annotations': ann } } }, 'odd annotations')) },
    { weight: 4, arbitrary: fc.tuple(base, fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })).map(([b, extra]) => make({ ...b, config: { ...extra, ...b.config } }, 'extra config keys')) },
    // namespaces that exist: a real one (a valid ADD, undone by DEL) and paths that are not network namespaces
    { weight: command === 'ADD' ? 1 : 0, arbitrary: base.map((b) => make(b, 'real netns', { netns: 'real' })) },
    { weight: command === 'ADD' || command === 'CHECK' ? 1 : 0, arbitrary: fc.tuple(base, fc.constantFrom('/', '/tmp', '/dev/null', '/etc/hostname')).map(([b, p]) => make({ ...b, env: { ...b.env, CNI_NETNS: p } }, 'not a netns', { netns: 'not-a-netns', field: 'CNI_NETNS' })) },
  );
}
