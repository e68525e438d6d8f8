import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, ConfigError, NotFoundError, TimeoutError } from '../../src/common/errors.js';
import type { NetnsLinkState } from '../../src/core/pod/pod-model.js';
import { addReq, HOST, podWorld } from './cni-helpers.js';

test('ADD creates a bound, tagged port on pod_subnet and plugs it into the netns with MAC, MTU, IPs, routes, DNS', async () => {
  const w = await podWorld();
  const req = addReq();
  const a = await w.service.add(req);
  const [port] = w.neutron.userPorts();
  assert.ok(port);
  assert.equal(port.name, req.pod.name);
  assert.equal(port.deviceId, req.pod.uid);
  assert.equal(port.deviceOwner, 'compute:kuryr');
  assert.equal(port.hostId, HOST);
  assert.deepEqual(port.securityGroups, [w.sg.id]);
  assert.equal(port.fixedIps[0]?.subnetId, w.subnet.id);
  assert.deepEqual([...port.tags].sort(), [
    'cluster:k1', `kuryr.cni.cid:${req.containerId.slice(0, 40)}`, 'kuryr.cni.if:eth0', 'kuryr.cni.net:kuryr', `kuryr.cni.node:${HOST}`,
    'kuryr.pod.name:' + req.pod.name, 'kuryr.pod.ns:demo', `kuryr.pod.uid:${req.pod.uid}`,
  ].sort());
  assert.deepEqual(w.binder.targets.get(port.id), { netnsPath: req.netns, ifName: 'eth0' });
  assert.equal(w.binder.plugged.get(port.id)?.mtu, 1450);
  assert.equal(a.mac, port.macAddress);
  assert.deepEqual(a.ips, [{ address: `${port.fixedIps[0]!.ipAddress}/24`, gateway: '10.1.0.1', family: 4 }]);
  assert.deepEqual(a.routes, [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '172.16.0.0/16', gw: '10.1.0.254' }]);
  assert.deepEqual(a.dns.nameservers, ['10.96.0.10']);
});

test('annotations override subnet and security groups; network_device_mtu overrides the MTU; podman (no UID) uses the container id', async () => {
  const w = await podWorld({ networkDeviceMtu: 1400 });
  const req = addReq({ annotations: { 'openstack.org/kuryr-pod-subnet': w.other.id, 'openstack.org/kuryr-pod-security-groups': '' }, pod: { namespace: undefined, name: 'app', uid: undefined } });
  const a = await w.service.add(req);
  const [port] = w.neutron.userPorts();
  assert.equal(port?.fixedIps[0]?.subnetId, w.other.id);
  assert.equal(port?.deviceId, req.containerId);
  assert.equal(a.mtu, 1400);
  assert.ok(!port?.tags.some((t) => t.startsWith('kuryr.pod.uid:') || t.startsWith('kuryr.pod.ns:')));
});

test('ADD failures roll back: nothing is left in Neutron or on the host', async (t) => {
  await t.test('plug fails', async () => {
    const w = await podWorld();
    w.binder.failPlug = () => true;
    await assert.rejects(w.service.add(addReq()), /fake plug failure/);
    assert.deepEqual(w.neutron.userPorts(), []);
    assert.equal(w.binder.plugged.size, 0);
  });
  await t.test('port never becomes ACTIVE', async () => {
    const w = await podWorld({ activation: 'never', activeTimeoutMs: 2_000 });
    await assert.rejects(w.service.add(addReq()), TimeoutError);
    assert.deepEqual(w.neutron.userPorts(), []);
    assert.equal(w.binder.plugged.size, 0);
  });
  await t.test('tagging fails', async () => {
    const w = await podWorld();
    w.neutron.failWhen((m) => (m === 'setTags' ? new Error('boom') : undefined));
    await assert.rejects(w.service.add(addReq()), /boom/);
    assert.deepEqual(w.neutron.userPorts(), []);
    assert.equal(w.binder.plugged.size, 0);
  });
  await t.test('no pod subnet configured or it does not exist', async () => {
    const w = await podWorld();
    await assert.rejects(w.service.add(addReq({ annotations: { 'openstack.org/kuryr-pod-subnet': 'missing' } })), ConfigError);
    assert.deepEqual(w.neutron.userPorts(), []);
  });
});

test('ACTIVE is awaited with short polls, not 1 s ticks', async () => {
  const w = await podWorld({ activation: { afterGets: 4 } });
  const slept: number[] = [];
  const sleep = (w.service as unknown as { sleep: (ms: number) => Promise<void> }).sleep;
  (w.service as unknown as { sleep: (ms: number) => Promise<void> }).sleep = async (ms) => { slept.push(ms); await sleep(ms); };
  await w.service.add(addReq());
  assert.ok(slept.length >= 3 && slept.every((ms) => ms <= 250), `sleeps ${slept.join(',')}`);
});

test('DEL removes port and plug, is idempotent, and ignores a stale DEL of another container id', async () => {
  const w = await podWorld();
  const req = addReq();
  await w.service.add(req);
  await w.service.del({ ...req, containerId: 'stale-sandbox-id', netns: '' });
  assert.equal(w.neutron.userPorts().length, 1, 'stale DEL left the pod alone');
  assert.equal(w.binder.plugged.size, 1);
  await w.service.del({ ...req, netns: '' });
  await w.service.del({ ...req, netns: '' });
  assert.deepEqual(w.neutron.userPorts(), []);
  assert.equal(w.binder.plugged.size, 0);
});

test('DEL after an ADD killed between creating and tagging the port removes that untagged port', async () => {
  const w = await podWorld();
  const req = addReq();
  await w.service.add(req);
  const [port] = w.neutron.userPorts();
  w.neutron.ports.get(port!.id)!.tags = []; // as if the daemon died before `PUT /ports/{id}/tags`
  await w.service.del({ ...req, netns: '' });
  assert.deepEqual(w.neutron.userPorts(), []);
  assert.equal(w.binder.plugged.size, 0);
});

test('DEL still succeeds when the port vanished between listing and deleting', async () => {
  const w = await podWorld();
  const req = addReq();
  await w.service.add(req);
  const [port] = w.neutron.userPorts();
  w.neutron.failWhen((m) => (m === 'deletePort' ? (w.neutron.ports.delete(port!.id), undefined) : undefined));
  await w.service.del(req);
  assert.equal(w.binder.plugged.size, 0);
});

test('calls for one pod are serialized; different pods run concurrently', async () => {
  const w = await podWorld();
  const req = addReq();
  const order: string[] = [];
  const add = w.service.add(req).then(() => order.push('add'));
  const del = w.service.del(req).then(() => order.push('del'));
  await Promise.all([add, del]);
  assert.deepEqual(order, ['add', 'del']);
  assert.deepEqual(w.neutron.userPorts(), [], 'DEL saw the ADD it was queued behind');

  let inFlight = 0;
  let peak = 0;
  w.binder.failPlug = () => { inFlight++; peak = Math.max(peak, inFlight); setImmediate(() => inFlight--); return false; };
  await Promise.all([1, 2, 3, 4].map(() => w.service.add(addReq())));
  assert.ok(peak > 1, `different pods overlapped (peak ${peak})`);
  assert.equal(w.neutron.userPorts().length, 4);
});

test('CHECK passes on a good attachment and names what differs', async () => {
  const w = await podWorld();
  const req = addReq();
  await assert.rejects(w.service.check(req), NotFoundError);
  await w.service.add(req);
  await w.service.check(req);
  const key = `${req.netns}/eth0`;
  const good = (await w.inspector.inspect(req.netns, 'eth0'))!;
  const rows: Array<[NetnsLinkState | null, RegExp]> = [
    [null, /does not exist/],
    [{ ...good, mac: 'fa:16:3e:00:00:00' }, /has MAC/],
    [{ ...good, mtu: 1500 }, /MTU 1500, expected 1450/],
    [{ ...good, addresses: [] }, /lacks address/],
    [{ ...good, routes: good.routes.slice(1) }, /lacks route 0\.0\.0\.0\/0/],
  ];
  for (const [bad, re] of rows) {
    w.inspector.overrides.set(key, bad);
    await assert.rejects(w.service.check(req), (e: Error) => e instanceof ConflictError && re.test(e.message));
  }
  w.inspector.overrides.clear();
  const [port] = w.neutron.userPorts();
  w.neutron.ports.get(port!.id)!.status = 'DOWN';
  await assert.rejects(w.service.check(req), /is DOWN, not ACTIVE/);
});

test('GC removes this node\'s ports of the network that are not valid attachments, and only those', async () => {
  const w = await podWorld();
  const keep = addReq();
  const drop = addReq();
  const otherNet = addReq({ network: 'other' });
  for (const r of [keep, drop, otherNet]) await w.service.add(r);
  const report = await w.service.gc('kuryr', [{ containerId: keep.containerId, ifName: 'eth0' }]);
  assert.equal(report.removed.length, 1);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(w.neutron.userPorts().map((p) => p.name).sort(), [keep.pod.name, otherNet.pod.name].sort());
  assert.equal(w.binder.plugged.size, 2);
});

test('STATUS reports the first unavailable service', async () => {
  const w = await podWorld();
  assert.deepEqual(await w.service.status(), { ok: true });
  for (const down of ['keystone', 'neutron', 'dataplane'] as const) {
    w.probe.down = down;
    const s = await w.service.status();
    assert.equal(s.ok, false);
    assert.equal(!s.ok && s.service, down);
  }
});

test('dual stack ([neutron_defaults] pod_subnets): one port with an address per family, both in the result with their gateways and default routes', async () => {
  const w = await podWorld({ dualStack: true });
  const a = await w.service.add(addReq());
  assert.deepEqual(a.ips.map((ip) => [ip.family, ip.address.split('/')[1], ip.gateway]), [[4, '24', '10.1.0.1'], [6, '64', 'fd00:1::1']]);
  assert.deepEqual(a.routes.filter((r) => r.dst.endsWith('/0')).map((r) => r.dst).sort(), ['0.0.0.0/0', '::/0']);
  const port = await w.neutron.getPort(a.portId);
  assert.equal(port.fixedIps.length, 2);
});
