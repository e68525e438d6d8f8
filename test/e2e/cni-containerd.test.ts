/**
 * containerd 1.6 CRI driven as kubelet drives it (RunPodSandbox / StopPodSandbox / RemovePodSandbox with
 * pod metadata and annotations) → kuryr-cni → node daemon → Neutron, on the real stack (seed 004):
 * each pod gets an ACTIVE port named after it, bound to this node; pods ping each other and a VM-like
 * port on another subnet through a router; stopping and removing every pod leaves nothing behind,
 * also across a daemon restart between ADD and DEL. Needs `bash scripts/cni-runtimes.sh up`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CriClient } from './support/cni-cri.js';
import { RT } from './support/cni-daemon.js';
import { cniEnv } from './support/cni-env.js';
import { pingFrom, podPorts } from './support/cni-neutron.js';
import { kuryrHostLeftovers } from './support/host.js';
import { waitActive } from './support/neutron.js';
import { sh, sleep } from './support/sh.js';
import { FakeVm } from './support/vm.js';

const PREFIX = 'cni-e2e-cd-';

test('containerd CRI pods get ACTIVE Neutron ports, reach each other and a VM, and leave nothing behind', { timeout: 900_000 }, async (t) => {
  if (!existsSync(RT.criSock)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 232);
  if (!env) return;
  const { neutron, topo, daemon } = env;
  for (const f of readdirSync(RT.criConfDir)) rmSync(join(RT.criConfDir, f));
  daemon.writeConflist(RT.criConfDir, '10-kuryr.conflist', `${PREFIX}net`, '1.0.0');
  t.after(() => rmSync(join(RT.criConfDir, '10-kuryr.conflist'), { force: true }));
  await sleep(1500); // containerd's fsnotify picks the conflist up in under a second
  const cri = new CriClient(RT.criSock);
  t.after(() => cri.close());

  const pods = ['web-a', 'web-b'].map((n) => ({ name: `${PREFIX}${n}`, namespace: 'demo', uid: randomUUID(), sandbox: '', netns: '', ip: '', portId: '' }));
  const sandboxes: string[] = [];
  t.after(async () => {
    for (const id of sandboxes) {
      await cri.stopPodSandbox(id).catch(() => undefined);
      await cri.removePodSandbox(id).catch(() => undefined);
    }
  });

  await t.test('RunPodSandbox of two pods at once: ACTIVE ports named after the pods, bound to this node', async () => {
    const started = performance.now();
    await Promise.all(pods.map(async (p) => {
      p.sandbox = await cri.runPodSandbox({ ...p, annotations: { 'openstack.org/kuryr-pod-security-groups': topo.sgId } });
      sandboxes.push(p.sandbox);
      const st = await cri.podSandboxStatus(p.sandbox);
      p.ip = st.ip;
      p.netns = st.netns ?? '';
    }));
    t.diagnostic(`2 concurrent RunPodSandbox: ${Math.round(performance.now() - started)} ms`);
    for (const p of pods) {
      const [port] = await neutron.listPorts({ name: p.name });
      assert.ok(port, `port ${p.name}`);
      p.portId = port.id;
      assert.equal(port.status, 'ACTIVE');
      assert.equal(port.hostId, hostname());
      assert.equal(port.deviceId, p.uid);
      assert.equal(port.deviceOwner, 'compute:kuryr');
      assert.deepEqual(port.securityGroups, [topo.sgId]);
      assert.equal(port.fixedIps[0]?.ipAddress, p.ip, 'CRI reports the Neutron IP');
      for (const tag of [`kuryr.pod.ns:demo`, `kuryr.pod.name:${p.name}`, `kuryr.pod.uid:${p.uid}`, `kuryr.cni.node:${hostname()}`, `kuryr.cni.cid:${p.sandbox.slice(0, 40)}`]) {
        assert.ok(port.tags.includes(tag), `${tag} in ${port.tags.join(',')}`);
      }
      const link = await sh(['nsenter', `--net=${p.netns}`, 'ip', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.match(link.stdout, new RegExp(`inet ${p.ip.replaceAll('.', '\\.')}/24`));
    }
  });

  await t.test('pod to pod ping on the pod subnet', async () => {
    assert.ok(await pingFrom(pods[0]!.netns, pods[1]!.ip), 'web-a → web-b');
    assert.ok(await pingFrom(pods[1]!.netns, pods[0]!.ip), 'web-b → web-a');
  });

  await t.test('pod pings a VM-like port on another subnet through the router', async (t) => {
    const vmPort = await neutron.createPort({ networkId: topo.vmNetId, name: `${PREFIX}vm`, deviceId: randomUUID(), deviceOwner: 'compute:nova', hostId: hostname(), securityGroups: [topo.sgId] });
    const vm = new FakeVm(`${PREFIX}vm`, {
      id: vmPort.id, macAddress: vmPort.macAddress, deviceId: vmPort.deviceId,
      addresses: [{ ip: vmPort.fixedIps[0]!.ipAddress, prefixLength: 24 }], gateway: `10.232.2.1`,
    });
    t.after(() => vm.destroy());
    await vm.plugOvs(topo.mtu);
    await waitActive(neutron, vmPort.id);
    let ok = false;
    for (let i = 0; i < 10 && !ok; i++) ok = await pingFrom(pods[0]!.netns, vmPort.fixedIps[0]!.ipAddress, 2);
    assert.ok(ok, 'web-a → VM through the router');
    assert.ok(await vm.reaches(pods[1]!.ip), 'VM → web-b');
  });

  await t.test('StopPodSandbox + RemovePodSandbox (web-a after a daemon restart) leave no port, veth, OVS port or netns', async () => {
    await daemon.stop();
    await daemon.start();
    const ids = pods.map((p) => p.portId);
    for (const p of pods) {
      const started = performance.now();
      await cri.stopPodSandbox(p.sandbox);
      await cri.stopPodSandbox(p.sandbox); // kubelet repeats Stop: a DEL with no netns, nothing left to do
      await cri.removePodSandbox(p.sandbox);
      t.diagnostic(`${p.name}: Stop×2 + Remove ${Math.round(performance.now() - started)} ms`);
      sandboxes.splice(sandboxes.indexOf(p.sandbox), 1);
      assert.ok(!existsSync(p.netns), `netns ${p.netns} removed`);
    }
    assert.deepEqual(await podPorts(neutron, topo.podNetId), []);
    assert.deepEqual(await kuryrHostLeftovers(ids), []);
  });
});
