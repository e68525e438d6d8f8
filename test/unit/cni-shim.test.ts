/**
 * Contract: the shim (as bundled) talking to the real daemon server over a temporary unix socket,
 * with the use cases over FakeNeutron/FakeBinder. Byte-level CNI stdout and exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import { isNetnsPath, startCniServer } from '../../src/northbound/cni/server.js';
import { runShim } from '../../src/northbound/cni/shim.js';
import { addReq, podWorld } from './cni-helpers.js';

test('shim ↔ daemon: ADD, DEL, STATUS, VERSION, errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-shim-'));
  const socket = join(dir, 'cni.sock');
  const w = await podWorld();
  const server = await startCniServer({ service: w.service, logger: silentLogger(), socketPath: socket, netnsExists: existsSync });
  t.after(async () => { await server.close(); rmSync(dir, { recursive: true, force: true }); });
  const req = addReq();
  const conf = (v: string, extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: v, name: 'kuryr', type: 'kuryr-cni', kuryr_socket: socket, ...extra });
  const base = { CNI_CONTAINERID: req.containerId, CNI_NETNS: '/', CNI_IFNAME: 'eth0', CNI_ARGS: `K8S_POD_NAME=web;K8S_POD_UID=u1;K8S_POD_NAMESPACE=demo` };

  const add = await runShim({ ...base, CNI_COMMAND: 'ADD' }, conf('0.4.0'));
  assert.equal(add.exitCode, 0, add.stdout);
  const result = JSON.parse(add.stdout) as { cniVersion: string; ips: Array<{ version: string }>; interfaces: Array<{ sandbox?: string }> };
  assert.equal(result.cniVersion, '0.4.0');
  assert.equal(result.ips[0]?.version, '4');
  assert.equal(result.interfaces[1]?.sandbox, '/');

  const check = await runShim({ ...base, CNI_COMMAND: 'CHECK' }, conf('1.0.0'));
  assert.deepEqual(check, { stdout: '', exitCode: 0 });
  const del = await runShim({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf('1.0.0'));
  assert.deepEqual(del, { stdout: '', exitCode: 0 });
  assert.deepEqual(w.neutron.userPorts(), []);

  const status = await runShim({ CNI_COMMAND: 'STATUS' }, conf('1.1.0'));
  assert.deepEqual(status, { stdout: '', exitCode: 0 });
  w.probe.down = 'neutron';
  const down = await runShim({ CNI_COMMAND: 'STATUS' }, conf('1.1.0'));
  assert.equal(down.exitCode, 1);
  assert.equal(JSON.parse(down.stdout).code, 50);
  w.probe.down = 'dataplane';
  assert.equal(JSON.parse((await runShim({ CNI_COMMAND: 'STATUS' }, conf('1.1.0'))).stdout).code, 51);

  const noNetns = await runShim({ ...base, CNI_COMMAND: 'ADD', CNI_NETNS: '/nonexistent/netns' }, conf('1.0.0'));
  assert.deepEqual(JSON.parse(noNetns.stdout), { cniVersion: '1.0.0', code: 8, msg: 'ADD failed: CNI_NETNS /nonexistent/netns does not exist or is not a network namespace', details: 'CNI' });

  const version = await runShim({ CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '1.0.0' }));
  assert.deepEqual(JSON.parse(version.stdout), { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  const garbage = await runShim({ CNI_COMMAND: 'ADD' }, '{not json');
  assert.equal(JSON.parse(garbage.stdout).code, 6);
  const gone = await runShim({ ...base, CNI_COMMAND: 'ADD' }, conf('1.0.0', { kuryr_socket: join(dir, 'none.sock') }));
  assert.equal(gone.exitCode, 1);
  assert.equal(JSON.parse(gone.stdout).code, 11);
});

test('shim: a kuryr_socket that is not an absolute path is a config error naming it (never TCP to localhost:80)', async () => {
  for (const bad of ['', 'relative.sock', 5, true, ['/run/kuryr/cni.sock'], {}]) {
    const r = await runShim({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, JSON.stringify({ cniVersion: '1.0.0', name: 'n', kuryr_socket: bad }));
    assert.equal(r.exitCode, 1, JSON.stringify(bad));
    const out = JSON.parse(r.stdout) as { code: number; msg: string };
    assert.equal(out.code, 7, r.stdout);
    assert.match(out.msg, /^kuryr_socket must be the absolute path/);
  }
  const gone = await runShim({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, JSON.stringify({ cniVersion: '1.0.0', name: 'n', kuryr_socket: '/nonexistent/kuryr.sock' }));
  assert.match((JSON.parse(gone.stdout) as { msg: string }).msg, /not reachable at \/nonexistent\/kuryr\.sock \(kuryr_socket\)/);
});

test('shim: with no daemon listening, an empty stdin and an unset kuryr_socket are still named in the error', async () => {
  const env = { CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/' };
  for (const command of ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC']) {
    for (const stdin of ['', ' ', '\n']) {
      const out = JSON.parse((await runShim({ ...env, CNI_COMMAND: command }, stdin)).stdout) as { code: number; msg: string };
      assert.equal(out.code, 6, `${command} ${JSON.stringify(stdin)}`);
      assert.match(out.msg, /network configuration on stdin is empty/);
    }
  }
  assert.equal((await runShim({ CNI_COMMAND: 'VERSION' }, '')).exitCode, 0);
  // the default socket is not served in this test process's namespace unless a daemon runs on this host
  const r = await runShim({ ...env, CNI_COMMAND: 'DEL' }, JSON.stringify({ cniVersion: '1.0.0', name: 'n' }));
  if (r.exitCode === 1 && (JSON.parse(r.stdout) as { code: number }).code === 11) {
    assert.match((JSON.parse(r.stdout) as { msg: string }).msg, /the default socket: kuryr_socket is not set/);
  }
});

test('shim: a daemon that accepts and never answers is given up after kuryr_timeout (code 11, naming it); a bad kuryr_timeout is code 7', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-shim-'));
  const socket = join(dir, 'mute.sock');
  const held: Socket[] = [];
  const mute = createServer((c) => void held.push(c)); // reads nothing, answers nothing
  await new Promise<void>((r) => mute.listen(socket, r));
  t.after(() => { for (const c of held) c.destroy(); mute.close(); rmSync(dir, { recursive: true, force: true }); });
  const env = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' };
  const started = Date.now();
  const r = await runShim(env, JSON.stringify({ cniVersion: '1.0.0', name: 'n', kuryr_socket: socket, kuryr_timeout: 0.3 }));
  const out = JSON.parse(r.stdout) as { code: number; msg: string };
  assert.equal(out.code, 11, r.stdout);
  assert.match(out.msg, /did not answer within 0.3 s \(kuryr_timeout\)/);
  assert.ok(Date.now() - started < 10_000, 'it returned: the runtime is not held forever');
  for (const bad of [0, -1, '5', 3601, [1]]) {
    const b = JSON.parse((await runShim(env, JSON.stringify({ cniVersion: '1.0.0', name: 'n', kuryr_socket: socket, kuryr_timeout: bad }))).stdout) as { code: number; msg: string };
    assert.equal(b.code, 7, JSON.stringify(bad));
    assert.match(b.msg, /^kuryr_timeout must be a number of seconds/);
  }
});

test('shim: stdin is forwarded as written; a configuration the daemon refuses as too large is code 7', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-shim-'));
  const socket = join(dir, 'cni.sock');
  const w = await podWorld();
  const server = await startCniServer({ service: w.service, logger: silentLogger(), socketPath: socket, netnsExists: existsSync });
  t.after(async () => { await server.close(); rmSync(dir, { recursive: true, force: true }); });
  // a deeply nested key is forwarded as written (the shim used to serialise it again and overflow its stack)
  const deep = `{"cniVersion":"1.1.0","name":"n","kuryr_socket":"${socket}","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
  assert.deepEqual(await runShim({ CNI_COMMAND: 'STATUS' }, deep), { stdout: '', exitCode: 0 });
  const big = JSON.stringify({ cniVersion: '1.0.0', name: 'n', kuryr_socket: socket, pad: 'x'.repeat(1024 * 1024 + 1) });
  const r = await runShim({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, big);
  assert.equal(r.exitCode, 1);
  const out = JSON.parse(r.stdout) as { code: number; msg: string };
  assert.equal(out.code, 7, r.stdout);
  assert.match(out.msg, /network configuration on stdin is too large/);
});

test('daemon: CNI_NETNS must be a namespace handle, not merely an existing path', () => {
  assert.equal(isNetnsPath('/proc/self/ns/net'), true);
  for (const p of ['/', '/tmp', '/dev/null', '/etc/hostname', '/nonexistent', '', 'relative']) assert.equal(isNetnsPath(p), false, p);
});

test('kuryr pool --cni: the daemon shows, fills and drains pod pools; bad bodies name the field; pools off says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-pool-'));
  const socket = join(dir, 'cni.sock');
  const w = await podWorld();
  const net = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
  const calls: string[] = [];
  const pools = {
    stats: () => [{ key: 'k', networkId: net, ready: 3, preparing: 1, inUse: 2, closed: false }],
    fill: async (n: string, c: number) => (calls.push(`fill ${n} ${c}`), c),
    drain: async (n: string) => (calls.push(`drain ${n}`), 3),
  };
  const on = await startCniServer({ service: w.service, logger: silentLogger(), socketPath: socket, pools });
  const offSocket = join(dir, 'off.sock');
  const off = await startCniServer({ service: w.service, logger: silentLogger(), socketPath: offSocket });
  t.after(async () => { await on.close(); await off.close(); rmSync(dir, { recursive: true, force: true }); });
  const post = (path: string, method: string, body: unknown) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ socketPath: path, path: `/${method}`, method: 'POST' }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });

  assert.deepEqual((await post(socket, 'Kuryr.PoolShow', {})).body, { Pools: pools.stats() });
  assert.deepEqual((await post(socket, 'Kuryr.PoolFill', { NetworkID: net, Count: 5 })).body, { Ready: 5 });
  assert.deepEqual((await post(socket, 'Kuryr.PoolDrain', { NetworkID: net })).body, { Deleted: 3 });
  assert.deepEqual(calls, [`fill ${net} 5`, `drain ${net}`]);
  const badNet = await post(socket, 'Kuryr.PoolFill', { NetworkID: 'x', Count: 5 });
  assert.match(String(badNet.body.msg), /NetworkID/);
  const badCount = await post(socket, 'Kuryr.PoolFill', { NetworkID: net, Count: 0 });
  assert.match(String(badCount.body.msg), /Count/);
  assert.deepEqual((await post(offSocket, 'Kuryr.PoolShow', {})).body, { Pools: [] });
  assert.match(String((await post(offSocket, 'Kuryr.PoolDrain', { NetworkID: net })).body.msg), /\[vif_pool\] enabled/);
  assert.equal(calls.length, 2, 'no bad request reached the pools');
});
