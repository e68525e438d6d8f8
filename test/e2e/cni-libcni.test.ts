/**
 * kuryr-cni under a libcni caller (cnitool-lite, Debian's libcni 1.1.2): ADD, CHECK, DEL for
 * cniVersion 0.4.0 and 1.0.0 on the real stack; then STATUS, GC and VERSION against the real daemon
 * through the installed shim, and error codes. Needs `bash scripts/cni-runtimes.sh up`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KURYR_CNI, RT } from './support/cni-daemon.js';
import { cniEnv, tempNetns } from './support/cni-env.js';
import { podPorts } from './support/cni-neutron.js';
import { kuryrHostLeftovers } from './support/host.js';
import { sh } from './support/sh.js';

const PREFIX = 'cni-e2e-lc-';

test('libcni caller: ADD, CHECK, DEL per cniVersion; STATUS, GC, VERSION and errors against the real daemon', { timeout: 600_000 }, async (t) => {
  if (!existsSync(RT.cnitool) || !existsSync(KURYR_CNI)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 231);
  if (!env) return;
  const { neutron, topo, daemon } = env;
  const confDir = mkdtempSync(join(tmpdir(), 'cni-e2e-conf-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'cni-e2e-cache-'));

  for (const version of ['0.4.0', '1.0.0']) {
    await t.test(`cnitool-lite ADD → CHECK → DEL with cniVersion ${version}`, async (t) => {
      const net = `${PREFIX}net-${version.replaceAll('.', '')}`;
      daemon.writeConflist(confDir, `${net}.conflist`, net, version);
      const ns = await tempNetns(t, `${PREFIX}${version.replaceAll('.', '')}`);
      const cid = `cnie2e${version.replaceAll('.', '')}${Date.now()}`;
      const uid = crypto.randomUUID();
      const tool = (cmd: string) => sh(['env', `NETCONFPATH=${confDir}`, `CNI_CACHE_DIR=${cacheDir}`, `CNI_CONTAINERID=${cid}`, 'CNI_PATH=/opt/cni/bin',
        `CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${PREFIX}pod-${version.replaceAll('.', '')};K8S_POD_UID=${uid}`,
        RT.cnitool, cmd, net, ns], { timeoutMs: 120_000 });
      const add = await tool('add');
      assert.equal(add.code, 0, add.stderr);
      const result = JSON.parse(add.stdout) as { cniVersion: string; interfaces: Array<{ name: string; sandbox?: string; mac: string }>; ips: Array<{ address: string; interface: number; version?: string }>; routes: unknown[]; dns: { nameservers?: string[] } };
      assert.equal(result.cniVersion, version);
      assert.equal(result.interfaces[1]?.sandbox, ns);
      assert.equal(result.ips[0]?.interface, 1);
      assert.equal(result.ips[0]?.version, version === '0.4.0' ? '4' : undefined);
      assert.deepEqual(result.dns.nameservers, ['10.96.0.10']);
      const [port] = await podPorts(neutron, topo.podNetId);
      assert.equal(port?.status, 'ACTIVE');
      assert.equal(port?.name, `${PREFIX}pod-${version.replaceAll('.', '')}`);
      assert.equal(port?.macAddress, result.interfaces[1]?.mac);
      assert.ok(port?.tags.includes(`kuryr.cni.cid:${cid.slice(0, 40)}`), port?.tags.join(','));

      const check = await tool('check');
      assert.equal(check.code, 0, check.stderr);
      // break the attachment: CHECK must notice the missing address
      await sh(['ip', '-n', ns.split('/').pop()!, 'addr', 'flush', 'dev', 'eth0']);
      const broken = await tool('check');
      assert.notEqual(broken.code, 0);
      assert.match(broken.stderr, /lacks address/);

      assert.equal((await tool('del')).code, 0);
      assert.equal((await tool('del')).code, 0, 'a repeated DEL succeeds');
      assert.deepEqual(await podPorts(neutron, topo.podNetId), []);
      assert.deepEqual(await kuryrHostLeftovers([port!.id]), []);
    });
  }

  await t.test('STATUS through the shim: 0 while Keystone and Neutron answer', async () => {
    const r = await daemon.call('STATUS', {}, daemon.conflist(`${PREFIX}net`, '1.1.0'));
    assert.equal(r.rc, 0, JSON.stringify(r.out));
    const old = await daemon.call('STATUS', {}, daemon.conflist(`${PREFIX}net`, '1.0.0'));
    assert.equal(old.out.code, 1, 'STATUS needs cniVersion 1.1.0');
  });

  await t.test('GC removes attachments not in cni.dev/valid-attachments, keeps the valid one', async (t) => {
    const net = `${PREFIX}gc`;
    const conf = daemon.conflist(net, '1.1.0');
    const attach = async (i: number) => {
      const ns = await tempNetns(t, `${PREFIX}gc${i}`);
      const r = await daemon.call('ADD', { CNI_CONTAINERID: `gc${i}${Date.now()}`, CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_ARGS: `K8S_POD_NAME=${PREFIX}gc${i}` }, conf);
      assert.equal(r.rc, 0, JSON.stringify(r.out));
    };
    await attach(1);
    const keepCid = (await neutron.listPorts({ name: `${PREFIX}gc1` }))[0]!.tags.find((x) => x.startsWith('kuryr.cni.cid:'))!.slice(14);
    await attach(2);
    const before = await podPorts(neutron, topo.podNetId);
    assert.equal(before.length, 2);
    const gc = await daemon.call('GC', {}, { ...conf, 'cni.dev/valid-attachments': [{ containerID: keepCid, ifname: 'eth0' }] });
    assert.equal(gc.rc, 0, JSON.stringify(gc.out));
    const after = await podPorts(neutron, topo.podNetId);
    assert.deepEqual(after.map((p) => p.name), [`${PREFIX}gc1`]);
    const gone = before.find((p) => p.name === `${PREFIX}gc2`)!;
    assert.deepEqual(await kuryrHostLeftovers([gone.id]), []);
    assert.equal((await daemon.call('GC', {}, { ...conf, 'cni.dev/valid-attachments': [] })).rc, 0);
    assert.deepEqual(await podPorts(neutron, topo.podNetId), []);
  });

  await t.test('VERSION and error codes through the shim', async () => {
    const v = await daemon.call('VERSION', {}, { cniVersion: '1.0.0' });
    assert.deepEqual(v.out.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    const noNetns = await daemon.call('ADD', { CNI_CONTAINERID: 'x1', CNI_IFNAME: 'eth0' }, daemon.conflist(`${PREFIX}net`, '1.0.0'));
    assert.equal(noNetns.rc, 1);
    assert.equal(noNetns.out.code, 4);
    assert.match(noNetns.out.msg ?? '', /CNI_NETNS/);
    const badNetns = await daemon.call('ADD', { CNI_CONTAINERID: 'x1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/cni-e2e-none' }, daemon.conflist(`${PREFIX}net`, '1.0.0'));
    assert.equal(badNetns.out.code, 8);
    const badVersion = await daemon.call('ADD', { CNI_CONTAINERID: 'x1', CNI_IFNAME: 'eth0', CNI_NETNS: '/x' }, daemon.conflist(`${PREFIX}net`, '0.2.0'));
    assert.equal(badVersion.out.code, 1);
    const unknown = await daemon.call('DEL', { CNI_CONTAINERID: 'never-added', CNI_IFNAME: 'eth0' }, daemon.conflist(`${PREFIX}net`, '1.0.0'));
    assert.equal(unknown.rc, 0, 'DEL of an unknown container succeeds');
    const noDaemon = await daemon.call('ADD', { CNI_CONTAINERID: 'x1', CNI_IFNAME: 'eth0', CNI_NETNS: '/x' }, { ...daemon.conflist(`${PREFIX}net`, '1.0.0'), kuryr_socket: '/run/kuryr-cni-e2e/none.sock' });
    assert.equal(noDaemon.out.code, 11);
  });
});
