import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/common/log.js';
import { collectPodGarbage, type PodGarbageDeps } from '../../src/core/pod/pod-garbage.js';
import type { Port } from '../../src/core/shared/neutron-types.js';
import { addReq, HOST, podWorld } from './cni-helpers.js';

const APPLY = { apply: true, graceMs: 0 };

test('a pod whose network namespace is gone loses its port and plug; a pod that still has one keeps them', async () => {
  const w = await podWorld();
  const gone = addReq();
  const alive = addReq();
  const a = await w.service.add(gone);
  const b = await w.service.add(alive);
  w.inspector.goneNetns.add(gone.netns);
  const found = await w.service.collectGarbage(APPLY);
  assert.deepEqual(found.map((f) => [f.kind, f.id, f.outcome]), [['pod-port', a.portId, 'removed']]);
  assert.match(found[0]!.why, new RegExp(`pod ${gone.pod.name}: its host veth tap${a.portId.slice(0, 11)} is gone`));
  assert.deepEqual(w.neutron.userPorts().map((p) => p.id), [b.portId]);
  assert.deepEqual([...w.binder.plugged.keys()], [b.portId]);
});

test('a port whose container end never left the host netns (ADD cut short) is removed', async () => {
  const w = await podWorld();
  const a = await w.service.add(addReq());
  w.binder.targets.set(a.portId, null);
  const found = await w.service.collectGarbage(APPLY);
  assert.deepEqual(found.map((f) => [f.id, f.outcome]), [[a.portId, 'removed']]);
  assert.match(found[0]!.why, /never left the host netns/);
  assert.deepEqual(w.neutron.userPorts(), []);
});

test("another host's pod port, a user's port, a port-pool member and a Docker endpoint's port are never touched", async () => {
  const w = await podWorld();
  const base = { networkId: w.net.id, fixedIps: [{ subnetId: w.subnet.id }] };
  const otherHost = await w.neutron.createPort({ ...base, name: 'p', deviceOwner: 'compute:kuryr', deviceId: 'u1', hostId: 'node-2' });
  await w.neutron.setTags('ports', otherHost.id, ['kuryr.cni.node:node-2', 'kuryr.cni.cid:x', 'kuryr.cni.if:eth0']);
  const user = await w.neutron.createPort({ ...base, name: 'vm', deviceOwner: 'compute:nova', deviceId: 'vm1', hostId: HOST });
  const pooled = await w.neutron.createPort({ ...base, name: 'pool', deviceOwner: 'compute:kuryr', deviceId: '', hostId: HOST });
  await w.neutron.setTags('ports', pooled.id, [`kuryr.cni.node:${HOST}`, 'kuryr.portpool.owner:cni']);
  const docker = await w.neutron.createPort({ networkId: (await w.neutron.createNetwork({ name: 'kuryr-net-x' })).id, name: 'e-port', deviceOwner: 'compute:kuryr', deviceId: 'e'.repeat(64), hostId: HOST });
  const found = await w.service.collectGarbage(APPLY);
  assert.deepEqual(found, []);
  assert.deepEqual(w.neutron.userPorts().map((p) => p.id).sort(), [otherHost.id, user.id, pooled.id, docker.id].sort());
});

test('an untagged pod port (ADD killed between create and tag) on the pod network is removed', async () => {
  const w = await podWorld();
  const port = await w.neutron.createPort({ networkId: w.net.id, name: 'web', deviceOwner: 'compute:kuryr', deviceId: 'uid-x', hostId: HOST, fixedIps: [{ subnetId: w.subnet.id }] });
  const found = await w.service.collectGarbage(APPLY);
  assert.deepEqual(found.map((f) => [f.id, f.outcome]), [[port.id, 'removed']]);
  assert.match(found[0]!.why, /untagged pod port \(ADD cut short\) of uid-x/);
  assert.deepEqual(w.neutron.userPorts(), []);
});

test('a dry run reports and changes nothing', async () => {
  const w = await podWorld();
  const req = addReq();
  const a = await w.service.add(req);
  w.inspector.goneNetns.add(req.netns);
  const found = await w.service.collectGarbage({ apply: false, graceMs: 0 });
  assert.deepEqual(found.map((f) => [f.id, f.outcome]), [[a.portId, 'would remove']]);
  assert.equal(w.neutron.userPorts().length, 1);
});

test('a plug whose Neutron port is gone is unplugged', async () => {
  const w = await podWorld();
  const req = addReq();
  const a = await w.service.add(req);
  await w.neutron.deletePort(a.portId);
  const found = await w.service.collectGarbage(APPLY);
  assert.deepEqual(found.map((f) => [f.kind, f.outcome]), [['plug', 'removed']]);
  assert.match(found[0]!.why, /no longer exists/);
  assert.equal(w.binder.plugged.size, 0);
});

/** The collector alone over one leaked port (no veth), with a controllable clock and lock state. */
function single(port: Partial<Port>, over: Partial<PodGarbageDeps> = {}) {
  const removed: string[] = [];
  const p = { id: 'p1', name: 'web', networkId: 'n1', deviceId: 'uid-1', tags: [`kuryr.cni.node:${HOST}`, 'kuryr.cni.cid:c1'], ...port } as Port;
  const deps: PodGarbageDeps = {
    neutron: { listPorts: async () => (removed.includes(p.id) ? [] : [p]), getPort: async () => p },
    binder: { listPlugged: async () => [], unplug: async () => undefined },
    hostVeths: async () => [],
    hostId: HOST,
    podNetworkIds: async () => new Set(['n1']),
    pods: { busy: () => false, remove: async (x) => void removed.push(x.id) },
    now: () => Date.parse('2026-11-30T00:10:00Z'),
    log: silentLogger(),
    ...over,
  };
  return { deps, removed };
}

test('grace: a port touched less than gc_grace ago stays; once older it goes', async () => {
  const recent = single({ updatedAt: '2026-11-30T00:09:30Z' });
  assert.deepEqual(await collectPodGarbage(recent.deps, { apply: true, graceMs: 60_000 }), []);
  const old = single({ updatedAt: '2026-11-30T00:08:30Z' });
  assert.equal((await collectPodGarbage(old.deps, { apply: true, graceMs: 60_000 }))[0]?.outcome, 'removed');
  assert.deepEqual(old.removed, ['p1']);
});

test('grace without a Neutron timestamp counts from when the daemon first saw the port', async () => {
  let now = 1_000_000;
  const s = single({}, { now: () => now });
  const firstSeen = new Map<string, number>();
  assert.deepEqual(await collectPodGarbage(s.deps, { apply: true, graceMs: 60_000, firstSeen }), []);
  now += 61_000;
  assert.equal((await collectPodGarbage(s.deps, { apply: true, graceMs: 60_000, firstSeen }))[0]?.outcome, 'removed');
});

test('a port whose pod has a call in flight is left alone', async () => {
  const s = single({}, { pods: { busy: () => true, remove: async () => assert.fail('removed a busy pod') } });
  assert.deepEqual(await collectPodGarbage(s.deps, APPLY), []);
});

test('the pod use cases report a pod with a call in flight as busy', async () => {
  const w = await podWorld();
  const req = addReq();
  const a = await w.service.add(req);
  w.inspector.goneNetns.add(req.netns);
  // a DEL of the same pod queued behind a slow call holds the pod's key
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const origUnplug = w.binder.unplug.bind(w.binder);
  w.binder.unplug = async (vif, target) => { await held; return origUnplug(vif, target); };
  const del = w.service.del(req);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(await w.service.collectGarbage(APPLY), []);
  release();
  await del;
  assert.equal(w.neutron.userPorts().some((p) => p.id === a.portId), false);
});
