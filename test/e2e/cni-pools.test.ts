/**
 * Pods on port pools through containerd's CRI: ADD moves a parked, ACTIVE pool port into the pod;
 * the port is named and tagged after the pod as without pools; pods reach each other and a VM
 * (10 MiB of TCP); DEL returns the ports to the pool, parked again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parkingNetnsName, poolTag } from '../../src/core/port-pool/pool-tags.js';
import { CriClient } from './support/cni-cri.js';
import { RT } from './support/cni-daemon.js';
import { kuryrArgv } from './support/kuryr-daemon.js';
import { cniEnv } from './support/cni-env.js';
import { pingFrom } from './support/cni-neutron.js';
import { waitActive } from './support/neutron.js';
import { sh, sleep, waitFor } from './support/sh.js';
import { FakeVm } from './support/vm.js';

const PREFIX = 'cni-e2e-pl-';
const TAG = poolTag('cni', hostname());
const POOL = '[vif_pool]\nenabled = True\nports_pool_min = 3\nports_pool_max = 6\nports_pool_batch = 3\nports_pool_update_frequency = 1';

test('containerd pods on pool ports: named and tagged as without pools, reach each other and a VM, return to the pool', { timeout: 600_000 }, async (t) => {
  if (!existsSync(RT.criSock)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 236, POOL);
  if (!env) return;
  const { neutron, topo, daemon } = env;
  // The pool's plugs go with its ports when the topology is removed. This hook runs after cniEnv's (hooks run
  // in the order they were added), when its Neutron client is closed: the parked ends name the ports.
  t.after(async () => {
    const parked = await sh(['ip', '-n', parkingNetnsName('cni', hostname()), '-o', 'link', 'show']);
    for (const [, id11] of parked.stdout.matchAll(/t_c([0-9a-f-]{11})/g)) {
      await sh(['ovs-vsctl', '--if-exists', 'del-port', `tap${id11}`]);
      await sh(['ip', 'link', 'del', `tap${id11}`]);
    }
  });
  // The test's own things (VM, sandboxes, CRI client, conflist) go first, newest first: cniEnv's hooks then stop
  // the daemon and remove the topology, and the hook above removes what parked ends remain.
  const cleanups: Array<() => unknown> = [];
  try {
    for (const f of readdirSync(RT.criConfDir)) rmSync(join(RT.criConfDir, f));
    daemon.writeConflist(RT.criConfDir, '10-kuryr.conflist', `${PREFIX}net`, '1.0.0');
    cleanups.push(() => rmSync(join(RT.criConfDir, '10-kuryr.conflist'), { force: true }));
    await sleep(1500);
    const cri = new CriClient(RT.criSock);
    cleanups.push(() => cri.close());
    const sandboxes: string[] = [];
    cleanups.push(async () => {
      for (const id of sandboxes) {
        await cri.stopPodSandbox(id).catch(() => undefined);
        await cri.removePodSandbox(id).catch(() => undefined);
      }
    });
    const run = async (name: string) => {
      const uid = randomUUID();
      const id = await cri.runPodSandbox({ name, namespace: 'demo', uid, annotations: { 'openstack.org/kuryr-pod-security-groups': topo.sgId } });
      sandboxes.push(id);
      const st = await cri.podSandboxStatus(id);
      return { name, uid, id, ip: st.ip, netns: st.netns ?? '' };
    };
    const free = async () => (await neutron.listPorts({ networkId: topo.podNetId, tags: [TAG] })).filter((p) => p.status === 'ACTIVE');

    // The first pod primes the pool of its subnet + security group + project.
    const first = await run(`${PREFIX}first`);
    const pool = await waitFor('3 ACTIVE pool ports', async () => ((await free()).length >= 3 ? free() : undefined), 120_000, 500);
    await sleep(2000); // the daemon sees them ACTIVE on its next poll
    const poolIds = new Set(pool.map((p) => p.id));

    const a = await run(`${PREFIX}web-a`);
    const b = await run(`${PREFIX}web-b`);
    for (const p of [a, b]) {
      // The claim's Neutron writes (name, device_id, tags) land right after ADD answers, and the agent then
      // sees the port again: wait until all of it is there.
      const port = await waitFor(`port of ${p.name} named, tagged and ACTIVE`, async () => {
        const found = (await neutron.listPorts({ name: p.name }))[0];
        return found && found.status === 'ACTIVE' && !found.tags.includes(TAG) && found.tags.includes(`kuryr.cni.cid:${p.id.slice(0, 40)}`) ? found : undefined;
      }, 30_000);
      assert.ok(poolIds.has(port.id), `${p.name} got a pool port`);
      assert.equal(port.status, 'ACTIVE');
      assert.equal(port.deviceId, p.uid);
      assert.equal(port.hostId, hostname());
      assert.ok(!port.tags.includes(TAG));
      for (const tag of [`kuryr.pod.name:${p.name}`, `kuryr.pod.uid:${p.uid}`, `kuryr.cni.cid:${p.id.slice(0, 40)}`]) assert.ok(port.tags.includes(tag), tag);
      assert.equal(port.fixedIps[0]?.ipAddress, p.ip);
      const link = await sh(['nsenter', `--net=${p.netns}`, 'ip', '-o', 'link', 'show', 'dev', 'eth0']);
      assert.match(link.stdout, new RegExp(`mtu ${topo.mtu}`));
    }
    // Traffic may start a moment after ADD answers (the agent re-reads the claimed port): allow a few seconds.
    const reaches = (netns: string, ip: string) => waitFor(`${ip} reachable`, async () => (await pingFrom(netns, ip, 1)) || undefined, 15_000, 500).then(() => true, () => false);
    assert.ok(await reaches(a.netns, b.ip), 'web-a → web-b');
    assert.ok(await reaches(b.netns, first.ip), 'web-b → the first pod (ordinary port)');

    const vmPort = await neutron.createPort({ networkId: topo.podNetId, name: `${PREFIX}vm`, deviceId: randomUUID(), deviceOwner: 'compute:nova', hostId: hostname(), securityGroups: [topo.sgId] });
    const vm = new FakeVm(`${PREFIX}vm`, { id: vmPort.id, macAddress: vmPort.macAddress, deviceId: vmPort.deviceId, addresses: [{ ip: vmPort.fixedIps[0]!.ipAddress, prefixLength: 24 }] });
    cleanups.push(() => vm.destroy());
    await vm.plugOvs(topo.mtu);
    await waitActive(neutron, vmPort.id);
    const vmIp = vmPort.fixedIps[0]!.ipAddress;
    assert.ok(await pingFrom(a.netns, vmIp), 'pod → VM');
    assert.ok(await vm.reaches(a.ip), 'VM → pod');
    const server = sh(['ip', 'netns', 'exec', vm.netns, 'timeout', '60', 'sh', '-c', 'busybox nc -l -p 5001 | wc -c'], { timeoutMs: 70_000 });
    await sleep(500);
    const client = await sh(['nsenter', `--net=${a.netns}`, 'sh', '-c', `head -c ${10 * 1024 * 1024} /dev/zero | busybox nc -w 3 ${vmIp} 5001`], { timeoutMs: 70_000 });
    assert.equal(client.code, 0, client.stderr);
    assert.equal(Number((await server).stdout.trim()), 10 * 1024 * 1024, '10 MiB pod → VM');

    for (const p of [a, b]) {
      const [port] = await neutron.listPorts({ name: p.name });
      await cri.stopPodSandbox(p.id);
      await cri.removePodSandbox(p.id);
      sandboxes.splice(sandboxes.indexOf(p.id), 1);
      const back = await waitFor(`${p.name}'s port back in the pool`, async () => {
        const q = await neutron.getPort(port!.id).catch(() => undefined);
        return q !== undefined && q.tags.includes(TAG) ? q : undefined;
      }, 30_000);
      assert.equal(back.deviceId, '');
      assert.deepEqual(back.tags, [TAG]);
    }
    const parked = await sh(['ip', '-n', parkingNetnsName('cni', hostname()), '-o', 'link', 'show']);
    assert.ok((await free()).every((p) => parked.stdout.includes(`t_c${p.id.slice(0, 11)}`)), 'every free pool port is parked');

    // The operator's view and hand: `kuryr pool show|drain --cni` against this daemon.
    const kuryr = (...args: string[]) => sh(kuryrArgv('compiled', ['pool', ...args, '--cni', '--config-file', daemon.confPath]));
    const shown = await kuryr('show');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^${topo.podNetId}\t\d+\t\d+\t\d+\topen$`, 'm'));
    const drained = await kuryr('drain', '--network', topo.podNetId);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /^[1-9]\d* ports deleted$/m);
    assert.deepEqual(await neutron.listPorts({ networkId: topo.podNetId, tags: [TAG] }), [], 'no free pod pool port left');
    assert.doesNotMatch((await sh(['ip', '-n', parkingNetnsName('cni', hostname()), '-o', 'link', 'show'])).stdout, /t_c/, 'no parked link left');
  } finally {
    for (const undo of cleanups.reverse()) await Promise.resolve().then(undo).catch(() => undefined);
  }
});
