/**
 * Issue 12, pods isolated per namespace without an API server, under containerd CRI on the real
 * stack: two namespaces; each gets its own network, subnet (from a pool, on the router) and group
 * from its first pod; same-namespace pods reach each other and a VM through the router, pods of the
 * other namespace cannot; the last pod of a namespace takes network, subnet, router interface and
 * group with it. With `pod_subnet_pool_v6` set, namespaces are dual stack: pods get an IPv6 address too,
 * reach each other over IPv6 and not the other namespace's. Needs `bash scripts/cni-runtimes.sh up`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CriClient } from './support/cni-cri.js';
import { CniDaemon, RT } from './support/cni-daemon.js';
import { createTopology, destroyTopology, pingFrom } from './support/cni-neutron.js';
import { adminClients, stackIsUp, waitActive } from './support/neutron.js';
import { sleep } from './support/sh.js';
import { FakeVm } from './support/vm.js';

const PREFIX = 'cni-e2e-ns-';
const OCTET = 233;
const POOL = `10.${OCTET}.128.0/17`;
const POOL6 = `fd00:${OCTET}::/48`;

test('namespace isolation: a network per namespace, reachable within, closed across, gone after its last pod', { timeout: 900_000 }, async (t) => {
  if (!(await stackIsUp())) return void t.skip('the all-in-one stack is not up (bash scripts/aio.sh up)');
  if (!existsSync(RT.criSock)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const clients = adminClients();
  const neutron = clients.neutron;
  const cleanup = async () => {
    for (const n of await neutron.listNetworks({ tags: [`cluster:${PREFIX}`] })) {
      for (const s of await neutron.listSubnets({ networkId: n.id })) {
        for (const r of await neutron.listRouters({})) if (r.name.startsWith(PREFIX)) await neutron.removeRouterInterface(r.id, { subnetId: s.id }).catch(() => undefined);
      }
      for (const p of await neutron.listPorts({ networkId: n.id })) await neutron.deletePort(p.id).catch(() => undefined);
      await neutron.deleteNetwork(n.id).catch(() => undefined);
    }
    for (const g of await neutron.listSecurityGroups({ tags: [`cluster:${PREFIX}`] })) await neutron.deleteSecurityGroup(g.id).catch(() => undefined);
    await destroyTopology(neutron, PREFIX);
    for (const name of [`${PREFIX}pool`, `${PREFIX}pool6`]) {
      for (const p of await neutron.listSubnetPools({ name })) await neutron.deleteSubnetPool(p.id).catch(() => undefined);
    }
  };
  await cleanup();
  const topo = await createTopology(neutron, PREFIX, OCTET);
  // Shared: namespaces without a mapping get their subnets in the daemon's own project.
  const pool = await neutron.createSubnetPool({ name: `${PREFIX}pool`, prefixes: [POOL], defaultPrefixlen: 26, shared: true });
  const pool6 = await neutron.createSubnetPool({ name: `${PREFIX}pool6`, prefixes: [POOL6], defaultPrefixlen: 64, shared: true });
  const adminProject = (await neutron.getNetwork(topo.podNetId)).projectId;
  const daemon = new CniDaemon({
    socketPath: `/run/kuryr-cni-e2e/${PREFIX}daemon.sock`,
    podSubnet: topo.podSubnetId,
    extraConfig: [
      '[neutron_defaults]',
      `resource_tags = cluster:${PREFIX}`,
      '[kubernetes]',
      'pod_subnets_driver = namespace',
      '[namespace_subnet]',
      `pod_router = ${topo.routerId}`,
      `pod_subnet_pool = ${pool.id}`,
      `pod_subnet_pool_v6 = ${pool6.id}`,
      `namespace_projects = ${PREFIX}blue:${adminProject}`,
    ].join('\n'),
  });
  const cri = new CriClient(RT.criSock);
  const sandboxes: string[] = [];
  t.after(async () => {
    for (const id of sandboxes) {
      await cri.stopPodSandbox(id).catch(() => undefined);
      await cri.removePodSandbox(id).catch(() => undefined);
    }
    cri.close();
    rmSync(join(RT.criConfDir, '10-kuryr.conflist'), { force: true });
    await daemon.stop();
    await cleanup();
    await clients.close();
  });
  await daemon.start();
  for (const f of readdirSync(RT.criConfDir)) rmSync(join(RT.criConfDir, f));
  daemon.writeConflist(RT.criConfDir, '10-kuryr.conflist', `${PREFIX}net`, '1.0.0');
  await sleep(1500); // containerd's fsnotify picks the conflist up in under a second

  const blue = `${PREFIX}blue`;
  const red = `${PREFIX}red`;
  const pods = [
    { name: `${PREFIX}b1`, namespace: blue },
    { name: `${PREFIX}b2`, namespace: blue },
    { name: `${PREFIX}r1`, namespace: red },
  ].map((p) => ({ ...p, uid: randomUUID(), sandbox: '', netns: '', ip: '', ip6: '', networkId: '' }));
  const [b1, b2, r1] = pods as [typeof pods[0], typeof pods[0], typeof pods[0]];

  const t0 = Date.now();
  await Promise.all(pods.map(async (p) => {
    p.sandbox = await cri.runPodSandbox({ ...p, annotations: {} });
    sandboxes.push(p.sandbox);
    const st = await cri.podSandboxStatus(p.sandbox);
    p.ip = st.ip;
    p.netns = st.netns ?? '';
    const [port] = await neutron.listPorts({ name: p.name });
    assert.ok(port, `port of ${p.name}`);
    p.networkId = port.networkId;
    p.ip6 = port.fixedIps.find((f) => f.ipAddress.includes(':'))?.ipAddress ?? '';
  }));
  t.diagnostic(`3 pods in 2 new namespaces, at once: ${Date.now() - t0} ms`);
  assert.equal(b1.networkId, b2.networkId, 'one network per namespace, also when its first two pods start together');
  assert.notEqual(b1.networkId, r1.networkId);
  const blueNet = await neutron.getNetwork(b1.networkId);
  assert.equal(blueNet.projectId, adminProject, 'namespace_projects decides the owner');
  const blueSubnets = await neutron.listSubnets({ networkId: blueNet.id });
  assert.deepEqual(blueSubnets.map((s) => `${s.ipVersion} ${s.subnetpoolId}`).sort(), [`4 ${pool.id}`, `6 ${pool6.id}`], 'an IPv4 and an IPv6 subnet from the pools');
  const routerPorts = await neutron.listPorts({ deviceId: topo.routerId });
  for (const s of blueSubnets) assert.ok(routerPorts.some((p) => p.fixedIps.some((f) => f.subnetId === s.id)), `blue IPv${s.ipVersion} subnet on the router`);
  for (const p of pods) assert.match(p.ip6, /^fd00:233:/, `${p.name} has an IPv6 address`);
  const blueSg = blueNet.tags.find((x) => x.startsWith('kuryr.ns.sg:'))!.slice('kuryr.ns.sg:'.length);

  assert.ok(await pingFrom(b1.netns, b2.ip), 'blue → blue');
  assert.ok(await pingFrom(b2.netns, b1.ip), 'blue → blue (back)');
  assert.equal(await pingFrom(r1.netns, b1.ip, 2), false, 'red cannot reach blue');
  assert.equal(await pingFrom(b1.netns, r1.ip, 2), false, 'blue cannot reach red');
  // IPv6 comes up with the pod: no DAD wait in the way, but give the first neighbour discovery a few tries.
  let reached6 = false;
  for (let i = 0; i < 5 && !reached6; i++) reached6 = await pingFrom(b1.netns, b2.ip6, 2);
  assert.ok(reached6, 'blue → blue over IPv6');
  assert.ok(await pingFrom(b2.netns, b1.ip6), 'blue → blue over IPv6 (back)');
  assert.equal(await pingFrom(r1.netns, b1.ip6, 2), false, 'red cannot reach blue over IPv6');

  const vmPort = await neutron.createPort({ networkId: topo.vmNetId, name: `${PREFIX}vm`, deviceId: randomUUID(), deviceOwner: 'compute:nova', hostId: hostname(), securityGroups: [topo.sgId] });
  const vm = new FakeVm(`${PREFIX}vm`, { id: vmPort.id, macAddress: vmPort.macAddress, deviceId: vmPort.deviceId, addresses: [{ ip: vmPort.fixedIps[0]!.ipAddress, prefixLength: 24 }], gateway: `10.${OCTET}.2.1` });
  t.after(() => vm.destroy());
  await vm.plugOvs(topo.mtu);
  await waitActive(neutron, vmPort.id);
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) reached = await pingFrom(b1.netns, vmPort.fixedIps[0]!.ipAddress, 2);
  assert.ok(reached, 'blue pod → VM through the router');

  // The last blue pod leaving takes blue's network, subnet, router interface and group; red stays.
  for (const p of [b1, b2]) {
    await cri.stopPodSandbox(p.sandbox);
    await cri.removePodSandbox(p.sandbox);
    sandboxes.splice(sandboxes.indexOf(p.sandbox), 1);
    if (p === b1) assert.ok((await neutron.listNetworks({ id: blueNet.id })).length === 1, 'blue stays while b2 runs');
  }
  assert.deepEqual(await neutron.listNetworks({ id: blueNet.id }), [], 'blue network gone');
  for (const s of blueSubnets) {
    assert.deepEqual(await neutron.listSubnets({ id: s.id }), [], `blue IPv${s.ipVersion} subnet gone`);
    assert.ok(!(await neutron.listPorts({ deviceId: topo.routerId })).some((p) => p.fixedIps.some((f) => f.subnetId === s.id)), `IPv${s.ipVersion} router interface gone`);
  }
  assert.deepEqual(await neutron.listSecurityGroups({ id: blueSg }), [], 'blue group gone');
  assert.equal((await neutron.listNetworks({ id: r1.networkId })).length, 1, 'red still there');
  await cri.stopPodSandbox(r1.sandbox);
  await cri.removePodSandbox(r1.sandbox);
  sandboxes.splice(sandboxes.indexOf(r1.sandbox), 1);
  assert.deepEqual(await neutron.listNetworks({ tags: [`cluster:${PREFIX}`] }), [], 'no namespace network left');
});
