/**
 * Parity: the compiled kuryr-cni (cni/kuryr-cni, Go) prints the same stdout bytes and exits with the same code
 * as runShim (the TypeScript shim) for the same environment and stdin, against the same daemon server over a
 * temporary unix socket, and against a scripted daemon for the answers ours never gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { silentLogger } from '../../src/common/log.js';
import { CNI_ENV_KEYS, DAEMON_METHOD, DEFAULT_DAEMON_SOCKET, DEFAULT_TIMEOUT_S, SOCKET_CONFIG_KEY, SUPPORTED_VERSIONS, TIMEOUT_CONFIG_KEY } from '../../src/northbound/cni/protocol.js';
import { startCniServer } from '../../src/northbound/cni/server.js';
import { runShim, type ShimOutcome } from '../../src/northbound/cni/shim.js';
import { addReq, podWorld } from './cni-helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const hasGo = spawnSync('go', ['version']).status === 0;
const noGo = hasGo ? false : 'go is not on PATH (apt-get install golang-go): the compiled kuryr-cni cannot be built';

interface Case { name: string; env: Record<string, string>; stdin: string | Buffer; code?: number }

function buildGoShim(dir: string): string {
  const out = join(dir, 'kuryr-cni');
  const r = spawnSync('bash', [join(ROOT, 'scripts/cni-build-shim.sh'), out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cni-build-shim.sh failed: ${r.stderr}`);
  return out;
}

/** Runs the binary as a runtime does: only the CNI variables, the configuration on stdin. */
function runGo(bin: string, env: Record<string, string>, stdin: string | Buffer): Promise<ShimOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // an early exit closes the pipe; the exit code tells
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(chunks).toString('utf8'), exitCode: code as 0 | 1 });
    });
    child.stdin.end(stdin);
  });
}

async function assertSame(bin: string, c: Case): Promise<ShimOutcome> {
  const ts = await runShim(c.env, Buffer.from(c.stdin).toString('utf8'));
  const go = await runGo(bin, c.env, c.stdin);
  assert.deepEqual(go, ts, c.name);
  if (c.code !== undefined) {
    if (c.code === 0) assert.equal(ts.exitCode, 0, `${c.name}: ${ts.stdout}`);
    else assert.equal((JSON.parse(ts.stdout) as { code: number }).code, c.code, `${c.name}: ${ts.stdout}`);
  }
  return ts;
}

test('compiled kuryr-cni = runShim against the daemon: every command, every refusal, byte for byte', { skip: noGo }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-go-'));
  const socket = join(dir, 'cni.sock');
  const w = await podWorld();
  const server = await startCniServer({ service: w.service, logger: silentLogger(), socketPath: socket, netnsExists: existsSync });
  t.after(async () => { await server.close().catch(() => undefined); rmSync(dir, { recursive: true, force: true }); });
  const bin = buildGoShim(dir);
  writeFileSync(join(dir, 'file'), 'x');

  const req = addReq();
  const conf = (v: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: v, name: 'kuryr', type: 'kuryr-cni', kuryr_socket: socket, ...extra });
  const base = { CNI_CONTAINERID: req.containerId, CNI_NETNS: '/', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAME=web;K8S_POD_UID=u1;K8S_POD_NAMESPACE=demo', CNI_PATH: '/opt/cni/bin' };
  const cmd = (command: string, extra: Record<string, string> = {}) => ({ ...base, CNI_COMMAND: command, ...extra });
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const cases: Case[] = [
    { name: 'STATUS', env: { CNI_COMMAND: 'STATUS' }, stdin: conf('1.1.0'), code: 0 },
    { name: 'GC', env: { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, stdin: conf('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: req.containerId, ifname: 'eth0' }] }) },
    { name: 'DEL of what is not there', env: cmd('DEL'), stdin: conf('1.0.0'), code: 0 },
    { name: 'ADD into a missing netns', env: cmd('ADD', { CNI_NETNS: '/nonexistent/netns' }), stdin: conf('1.0.0'), code: 8 },
    { name: 'ADD without CNI_CONTAINERID', env: { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0', CNI_NETNS: '/' }, stdin: conf('1.0.0') },
    { name: 'an unknown command', env: cmd('FROB'), stdin: conf('1.0.0') },
    { name: 'an unsupported cniVersion', env: cmd('ADD'), stdin: conf('9.9.9') },
    { name: 'env values beyond ASCII', env: cmd('DEL', { CNI_CONTAINERID: 'ü-€-😀', CNI_ARGS: 'A=\u2028;B="x"' }), stdin: conf('1.0.0') },
    { name: 'VERSION', env: { CNI_COMMAND: 'VERSION' }, stdin: conf('1.0.0'), code: 0 },
    { name: 'VERSION with an empty stdin', env: { CNI_COMMAND: 'VERSION' }, stdin: '', code: 0 },
    { name: 'VERSION with a cniVersion that is not a string', env: { CNI_COMMAND: 'VERSION' }, stdin: conf(1), code: 0 },
    { name: 'VERSION with an odd cniVersion', env: { CNI_COMMAND: 'VERSION' }, stdin: conf('<\u2028"\\😀\u0001>'), code: 0 },
    { name: 'CNI_COMMAND unset', env: { CNI_CONTAINERID: 'c' }, stdin: conf('0.3.1'), code: 4 },
    { name: 'CNI_COMMAND empty', env: { CNI_COMMAND: '' }, stdin: conf('0.3.1'), code: 4 },
    ...['ADD', 'DEL', 'CHECK', 'STATUS', 'GC'].flatMap((c) => ['', ' \n\t', '\u00a0\u2028', '\uFEFF'].map((stdin) => ({ name: `${c} with stdin ${JSON.stringify(stdin)}`, env: cmd(c), stdin, code: 6 }))),
    // stdin that is not one JSON object
    ...['{not json', 'NaN', 'undefined', '\uFEFF{}', '{}{}', '{"a":1} {"b":2}', '[]', '[{}]', 'null', '5', '"str"', 'true', '{"a":1,}', '{"a":01}', '{"a":"\u0001"}',
      '{"a":"\\x"}', '{"a":"\\u12"}', '{"cniVersion":"1.0.0","name":"n","kuryr_socket":"/x","broken":tru}', `{"x":${deep(50_000)}`, '{"😀":😀}', `{"pad":"${'p'.repeat(40)}"x}`]
      .map((stdin) => ({ name: `stdin ${stdin.slice(0, 40)}`, env: cmd('ADD'), stdin, code: 6 })),
    { name: 'invalid UTF-8 in a string', env: cmd('STATUS'), stdin: Buffer.concat([Buffer.from(`{"cniVersion":"1.1.0","kuryr_socket":"${socket}","x":"`), Buffer.from([0xe2, 0x82, 0xff, 0xc0, 0xf0, 0x9f, 0x98]), Buffer.from('"}')]), code: 0 },
    { name: 'invalid UTF-8 outside strings', env: cmd('ADD'), stdin: Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]), code: 6 },
    { name: 'deep nesting is forwarded as written', env: { CNI_COMMAND: 'STATUS' }, stdin: `{"cniVersion":"1.1.0","kuryr_socket":"${socket}","x":${deep(50_000)}}`, code: 0 },
    // kuryr_socket
    ...['', 'relative.sock', 5, -0.0000001, 1e21, true, ['/run/kuryr/cni.sock'], {}, { 2: 'b', a: [null, 'x'], 1: 'a' }, 'r'.repeat(300), `${'r'.repeat(198)}😀😀`]
      .map((bad) => ({ name: `kuryr_socket ${String(typeof bad === 'string' ? bad : typeof bad).slice(0, 30)}`, env: cmd('DEL'), stdin: conf('1.0.0', { kuryr_socket: bad }), code: 7 })),
    // kuryr_timeout
    ...[0, -1, '5', 3600.5, true, [1], {}, 'x'.repeat(300)].map((bad) => ({ name: `kuryr_timeout ${JSON.stringify(bad).slice(0, 30)}`, env: cmd('DEL'), stdin: conf('1.0.0', { kuryr_timeout: bad }), code: 7 })),
    { name: 'kuryr_timeout 1e400', env: cmd('DEL'), stdin: `{"cniVersion":"1.0.0","name":"n","kuryr_socket":"${socket}","kuryr_timeout":1e400}`, code: 7 },
    { name: 'kuryr_timeout null is the default', env: cmd('STATUS'), stdin: conf('1.1.0', { kuryr_timeout: null }), code: 0 },
    { name: 'kuryr_socket nested deeply', env: cmd('DEL'), stdin: `{"cniVersion":"1.0.0","kuryr_socket":${deep(50_000)}}`, code: 7 },
    { name: 'no daemon at kuryr_socket', env: cmd('DEL'), stdin: conf('1.0.0', { kuryr_socket: join(dir, 'none.sock') }), code: 11 },
    { name: 'kuryr_socket is a regular file', env: cmd('DEL'), stdin: conf('1.0.0', { kuryr_socket: join(dir, 'file') }), code: 11 },
    { name: 'kuryr_socket under a regular file', env: cmd('DEL'), stdin: conf('1.0.0', { kuryr_socket: join(dir, 'file', 'x.sock') }), code: 11 },
    { name: 'kuryr_socket longer than a socket address', env: cmd('DEL'), stdin: conf('1.0.0', { kuryr_socket: join(dir, 'l'.repeat(150)) }), code: 11 },
    { name: 'a configuration too large for the daemon', env: cmd('DEL'), stdin: conf('1.0.0', { pad: 'x'.repeat(1024 * 1024 + 1) }), code: 7 },
  ];
  // a pod's life, once through each shim: the ports differ (the fake's ids, MACs and addresses are its own), nothing else
  const life = async (run: (env: Record<string, string>, stdin: string) => Promise<ShimOutcome>) => [
    await run(cmd('ADD'), conf('0.4.0')), await run(cmd('CHECK'), conf('1.0.0')), await run(cmd('DEL', { CNI_NETNS: '' }), conf('1.0.0')), await run(cmd('DEL'), conf('1.0.0')),
  ];
  const viaTs = await life(runShim);
  const viaGo = await life((env, stdin) => runGo(bin, env, stdin));
  const ports = (o: ShimOutcome) => ({ ...o, stdout: o.stdout.replace(/tap[0-9a-f]{8}-[0-9a-f]{2}/g, 'tap').replace(/fa:16:3e(:[0-9a-f]{2}){3}/g, 'mac').replace(/10\.1\.0\.\d+/g, 'ip') });
  assert.deepEqual(viaGo.map(ports), viaTs.map(ports));
  assert.match(viaGo[0]?.stdout ?? '', /^\{"cniVersion":"0\.4\.0","interfaces":\[.*"ips":\[\{"version":"4"/);
  assert.deepEqual(viaGo.slice(1), [{ stdout: '', exitCode: 0 }, { stdout: '', exitCode: 0 }, { stdout: '', exitCode: 0 }]);
  for (const c of cases) await assertSame(bin, c);
  assert.deepEqual(w.neutron.userPorts(), [], 'ADD and DEL by both shims left no port');

  // the daemon's own refusals, passed through with the request's cniVersion
  w.probe.down = 'neutron';
  await assertSame(bin, { name: 'STATUS, neutron down', env: { CNI_COMMAND: 'STATUS' }, stdin: conf('1.1.0'), code: 50 });
  w.probe.down = 'dataplane';
  await assertSame(bin, { name: 'STATUS, dataplane down', env: { CNI_COMMAND: 'STATUS' }, stdin: conf('1.1.0'), code: 51 });
  await assertSame(bin, { name: 'STATUS under cniVersion 1.0.0', env: { CNI_COMMAND: 'STATUS' }, stdin: conf('1.0.0'), code: 1 });
  w.probe.down = undefined;

  // generated stdin: anything (VERSION parses it first), and objects forwarded to the daemon
  const text = fc.oneof(fc.json(), fc.string({ unit: fc.constantFrom(...'{}[]":,-0123456789.eE+tfnrul \\\n\tx€😀\u00a0'.split('')), maxLength: 60 }),
    fc.tuple(fc.json(), fc.nat(), fc.constantFrom('{', '}', ']', '"', ':', ',', '-', '.', 'e', '\\', 'x', '\u0001', '😀')).map(([j, i, ch]) => j.slice(0, i % (j.length + 1)) + ch + j.slice(i % (j.length + 1))));
  for (const stdin of fc.sample(text, { numRuns: 150, seed: 4242 })) await assertSame(bin, { name: `VERSION ${stdin}`, env: { CNI_COMMAND: 'VERSION' }, stdin });
  const objects = fc.tuple(fc.object(), fc.oneof(fc.string(), fc.constant('1.0.0')));
  for (const [o, v] of fc.sample(objects, { numRuns: 30, seed: 4242 })) {
    await assertSame(bin, { name: `STATUS ${JSON.stringify(o)}`, env: { CNI_COMMAND: 'STATUS' }, stdin: JSON.stringify({ ...o, cniVersion: v, kuryr_socket: socket }) });
  }
});

/** A daemon answering each request with the canned reply CNI_ARGS names: the answers ours never gives. */
async function scriptedDaemon(socket: string, replies: Record<string, Buffer | null>): Promise<Server> {
  const server = createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('error', () => undefined);
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buf.subarray(0, end).toString())?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = JSON.parse(buf.subarray(end + 4).toString()) as { env: { CNI_ARGS: string } };
      if (body.env.CNI_ARGS === 'mute') return; // accepts, reads, never answers
      const reply = replies[body.env.CNI_ARGS];
      if (reply === null || reply === undefined) return void conn.destroy();
      conn.end(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

test('compiled kuryr-cni = runShim on every kind of daemon answer', { skip: noGo }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-go-'));
  const socket = join(dir, 'scripted.sock');
  const http = (status: number, body: string | Buffer, headers = ''): Buffer => {
    const b = Buffer.from(body);
    return Buffer.concat([Buffer.from(`HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n${headers}\r\n`), b]);
  };
  const replies: Record<string, Buffer | null> = {
    ok: http(200, '{"cniVersion":"1.0.0","ips":[]}'),
    'ok-empty': http(200, ''),
    'ok-blank': http(200, ' \n'),
    'ok-object': http(200, '{}'),
    'ok-array': http(200, '[]'),
    'ok-null': http(200, 'null'),
    'ok-string': http(200, '"\u2028<&>"'),
    'ok-reordered': http(200, ' {"b":1, "1":2, "a":[1e21,1e-7,-0,0.1,1.5e300,1e400,123456789012345680000,5e-324], "b":3, "0":"\\u0041\\ud800"} '),
    'ok-not-json': http(200, 'oops'),
    'ok-chunked': Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'),
    'ok-until-close': Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a":2}'),
    'continue-first': Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'), http(200, '{"a":3}')]),
    'bad-utf8': Buffer.concat([Buffer.from('HTTP/1.1 500 X\r\nContent-Length: 14\r\n\r\n{"Err":"'), Buffer.from([0xff, 0xe2, 0x82]), Buffer.from('x"}')]),
    'err-string': http(500, '{"Err":"boom"}'),
    'err-null': http(500, '{"Err":null}'),
    'err-number': http(503, '{"Err":5}'),
    'err-list': http(500, '{"Err":[1,[2,null],{},"s",true]}'),
    'err-object': http(500, '{"Err":{"a":1}}'),
    'err-none': http(404, '{"x":1}'),
    'err-json-null': http(500, 'null'),
    'err-json-string': http(502, '"text"'),
    'err-long': http(500, `not json ${'€'.repeat(600)}`),
    'cni-error': http(500, '{"code":7,"msg":"bad","details":"d","cniVersion":"9.9.9"}'),
    'cni-error-extra': http(400, '{"msg":"m","code":100,"extra":{"k":[1]},"2":"two","1":"one"}'),
    'cni-error-code-string': http(400, '{"code":"7","msg":"m"}'),
    'too-large': http(413, '{"Err":"request body exceeds 1048576 bytes"}'),
    'too-large-bare': http(413, ''),
    'too-large-cni': http(413, '{"code":7,"msg":"m"}'),
    'hang-up': null,
  };
  const server = await scriptedDaemon(socket, replies);
  t.after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  const bin = buildGoShim(dir);
  for (const name of Object.keys(replies)) {
    await assertSame(bin, { name, env: { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_ARGS: name }, stdin: JSON.stringify({ cniVersion: '0.4.0', kuryr_socket: socket }) });
  }
  const mute = await assertSame(bin, { name: 'mute', env: { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_ARGS: 'mute' }, stdin: JSON.stringify({ cniVersion: '0.4.0', kuryr_socket: socket, kuryr_timeout: 0.25 }) });
  assert.match(mute.stdout, /did not answer within 0.25 s \(kuryr_timeout\)/);
});

test('the compiled kuryr-cni carries the protocol constants of protocol.ts', () => {
  const go = readFileSync(join(ROOT, 'cni/kuryr-cni/main.go'), 'utf8');
  for (const s of [DEFAULT_DAEMON_SOCKET, SOCKET_CONFIG_KEY, TIMEOUT_CONFIG_KEY, DAEMON_METHOD]) assert.ok(go.includes(`"${s}"`), s);
  assert.ok(go.includes(`defaultTimeoutS     = ${DEFAULT_TIMEOUT_S}`), 'default timeout');
  assert.ok(go.includes(`{${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(', ')}}`), 'supported versions, in order');
  assert.ok(go.includes(`{${CNI_ENV_KEYS.map((v) => `"${v}"`).join(', ')}}`), 'forwarded CNI_* variables, in order');
});
