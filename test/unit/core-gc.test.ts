/**
 * The garbage collector (docs/ownership.md, rule 8): what a crash left on this host goes, after the
 * grace period, with Docker's own teardown calls; another host's, a pod's, a user's, or anything in
 * flight stays.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DockerNetworkView, DockerView } from '../../src/core/docker/garbage.js';
import { poolTag } from '../../src/core/port-pool/pool-tags.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { HOST, type Harness, choices, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, randomMac } from './core-helpers.js';

/** dockerd's view: the networks it knows, with their endpoints and addresses. */
class FakeDocker implements DockerView {
  readonly nets = new Map<string, { endpointIds: Set<string>; addresses: Set<string> }>();
  async network(id: string): Promise<DockerNetworkView | null> {
    return this.nets.get(id) ?? null;
  }
}

const GRACE = { apply: true, graceMs: 60_000 };
const LONG_AGO = '2020-01-01T00:00:00Z';

async function containerRun(h: Harness, did: string, poolId: string): Promise<{ eid: string; ip: string }> {
  const eid = hexId();
  const mac = randomMac();
  const address = await h.service.addresses.requestAddress({ poolId, address: '', ...macOption(mac) });
  await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address, macAddress: mac });
  return { eid, ip: ipOf(address) };
}

/** A Docker network dockerd knows (only its gateway handed out) whose Neutron `method` hangs until `release()`. */
async function liveNetworkWithHungCall(subnet: string, method: 'updatePort' | 'addTag') {
  const h = await makeHarness();
  const docker = new FakeDocker();
  const did = hexId();
  const gateway = subnet.replace(/0\/24$/, '1');
  const net = await dockerNetworkCreate(h, { did, subnet, gateway });
  docker.nets.set(did, { endpointIds: new Set(), addresses: new Set([gateway]) });
  let release!: () => void;
  const hung = new Promise<void>((r) => (release = r));
  const hang = () => {
    const real = (h.neutron[method] as (...a: unknown[]) => Promise<unknown>).bind(h.neutron);
    (h.neutron as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => (await hung, real(...args));
  };
  return { h, docker, did, net, hang, release: () => release() };
}

const unclaimed = (h: Harness) => [...h.neutron.ports.values()].filter((p) => p.name === 'kuryr-unbound-port' && p.deviceOwner === '');
const kuryrState = (n: FakeNeutron) => ({ nets: n.networks.size, subnets: n.subnets.size, pools: n.pools.size, ports: [...n.ports.values()].filter((p) => !p.deviceOwner.startsWith('network:')).length });

describe('kuryr gc', () => {
  test('case 2: a network Docker forgot, kept alive by unclaimed IPAM ports, goes whole; the dry run only reports it', async () => {
    const h = await makeHarness();
    const docker = new FakeDocker();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.20.0.0/24', gateway: '10.20.0.1' });
    for (let i = 0; i < 3; i++) await h.service.addresses.requestAddress({ poolId: net.poolId, address: '', ...macOption(randomMac()) });
    // `docker network rm`: Docker's calls fail on the ports (409) and Docker forgets the network anyway.
    await h.service.pools.releasePool(net.poolId);
    await assert.rejects(h.service.networks.deleteNetwork(did));
    assert.equal(unclaimed(h).length, 3);

    const dry = await h.service.collectGarbage(docker, { ...GRACE, apply: false });
    assert.deepEqual(dry.map((f) => [f.outcome, f.kind]), [['would remove', 'network']]);
    assert.equal(unclaimed(h).length, 3, 'the dry run changes nothing');

    const streamed: string[] = [];
    const done = await h.service.collectGarbage(docker, { ...GRACE, onFinding: (f) => streamed.push(`${f.outcome} ${f.kind}`) });
    assert.deepEqual(done.map((f) => [f.outcome, f.kind]), [['removed', 'network']]);
    assert.deepEqual(streamed, ['removed network'], 'each finding is told as it is made');
    assert.deepEqual(kuryrState(h.neutron), { nets: 0, subnets: 0, pools: 0, ports: 0 });
    assert.deepEqual(await h.service.collectGarbage(docker, GRACE), [], 'a second round finds nothing');
  });

  test('a kuryr network left without subnets by a CreateNetwork cut short goes, whoever made it', async () => {
    const h = await makeHarness();
    const net = await h.neutron.createNetwork({ name: 'kuryr-net-0123abcd' });
    await h.neutron.setTags('networks', net.id, [`kuryr.net.uuid.lh:${'a'.repeat(32)}`, `kuryr.net.uuid.uh:${'b'.repeat(32)}`]);
    const user = await h.neutron.createNetwork({ name: 'users-net' });
    await h.neutron.setTags('networks', user.id, [`kuryr.net.uuid.lh:${'c'.repeat(32)}`, `kuryr.net.existing:${'c'.repeat(12)}`]);
    const found = await h.service.collectGarbage(new FakeDocker(), GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind, f.id]), [['removed', 'network', net.id], ['skipped', 'network', user.id]]);
    assert.deepEqual([...h.neutron.networks.keys()], [user.id], "a user's network is never deleted");
  });

  test('a kuryr-named network without tags, subnets or ports (killed before its tags) goes; one with anything of that stays', async () => {
    const h = await makeHarness();
    const cut = await h.neutron.createNetwork({ name: 'kuryr-net-287bb32f' });
    const withSubnet = await h.neutron.createNetwork({ name: 'kuryr-net-11112222' });
    await h.neutron.createSubnet({ networkId: withSubnet.id, ipVersion: 4, cidr: '10.31.0.0/24' });
    const withPort = await h.neutron.createNetwork({ name: 'kuryr-net-33334444' });
    await h.neutron.createPort({ networkId: withPort.id, name: 'vm' });
    const tagged = await h.neutron.createNetwork({ name: 'kuryr-net-55556666' });
    await h.neutron.setTags('networks', tagged.id, ['users-own-tag']);
    const otherName = await h.neutron.createNetwork({ name: 'kuryr-net-users' });
    const dry = await h.service.collectGarbage(new FakeDocker(), { ...GRACE, apply: false });
    assert.deepEqual(dry.map((f) => [f.outcome, f.kind, f.id]), [['would remove', 'network', cut.id]]);
    const found = await h.service.collectGarbage(new FakeDocker(), GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind, f.id]), [['removed', 'network', cut.id]]);
    assert.deepEqual([...h.neutron.networks.keys()].sort(), [withSubnet.id, withPort.id, tagged.id, otherName.id].sort());
  });

  test('a pool this host holds without a subnet goes after the grace; one being handed out now stays', async () => {
    const neutron = new FakeNeutron();
    const crashed = await makeHarness({ neutron });
    const left = await crashed.service.pools.requestPool({ addressSpace: '', pool: '10.26.0.0/24', subPool: '', neutron: choices({}), v6: false });
    const h = await makeHarness({ neutron }); // the restarted daemon
    const pending = await h.service.pools.requestPool({ addressSpace: '', pool: '10.27.0.0/24', subPool: '', neutron: choices({}), v6: false });
    const found = await h.service.collectGarbage(new FakeDocker(), GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind, f.id]), [['removed', 'pool', left.poolId]]);
    assert.deepEqual([...neutron.pools.keys()], [pending.poolId]);
  });

  test('an endpoint dockerd does not know goes (port, veth/OVS port); a known one and a young one stay', async () => {
    const h = await makeHarness();
    const docker = new FakeDocker();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.21.0.0/24', gateway: '10.21.0.1' });
    const known = await containerRun(h, did, net.poolId);
    const lost = await containerRun(h, did, net.poolId);
    const young = await containerRun(h, did, net.poolId);
    docker.nets.set(did, { endpointIds: new Set([known.eid]), addresses: new Set([known.ip, '10.21.0.1']) });
    for (const p of h.neutron.ports.values()) p.updatedAt = p.deviceId === young.eid ? new Date().toISOString() : LONG_AGO;

    const found = await h.service.collectGarbage(docker, GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind]), [['removed', 'endpoint']]);
    const left = [...h.neutron.ports.values()].filter((p) => p.deviceOwner === 'compute:kuryr').map((p) => p.deviceId).sort();
    assert.deepEqual(left, [known.eid, young.eid].sort());
    assert.equal(h.binder.plugged.size, 2, "the lost endpoint's plug went with it");
    assert.ok(![...h.neutron.ports.values()].some((p) => p.fixedIps.some((f) => f.ipAddress === lost.ip)));
  });

  test('a port CreateEndpoint bound but was killed before tagging counts as that endpoint', async () => {
    const h = await makeHarness();
    const docker = new FakeDocker();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.28.0.0/24', gateway: '10.28.0.1' });
    const cut = await containerRun(h, did, net.poolId);
    const port = [...h.neutron.ports.values()].find((p) => p.deviceId === cut.eid)!;
    port.tags = port.tags.filter((t) => !t.startsWith('kuryr.net.uuid.'));
    port.updatedAt = LONG_AGO;
    docker.nets.set(did, { endpointIds: new Set(), addresses: new Set(['10.28.0.1']) });
    const found = await h.service.collectGarbage(docker, GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind, f.id]), [['removed', 'endpoint', port.id]]);
    assert.equal(h.binder.plugged.size, 0);
    assert.ok(!h.neutron.ports.has(port.id));
  });

  test('unclaimed IPAM ports of a live network: gone when dockerd never handed out the IP; an aux address stays', async () => {
    const h = await makeHarness();
    const docker = new FakeDocker();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.22.0.0/24', gateway: '10.22.0.1' });
    const aux = ipOf(await h.service.addresses.requestAddress({ poolId: net.poolId, address: '10.22.0.200', gateway: false }));
    await h.service.addresses.requestAddress({ poolId: net.poolId, address: '', ...macOption(randomMac()) });
    docker.nets.set(did, { endpointIds: new Set(), addresses: new Set(['10.22.0.1', aux]) });
    for (const p of h.neutron.ports.values()) p.updatedAt = LONG_AGO;
    const found = await h.service.collectGarbage(docker, GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind]), [['removed', 'unclaimed-port']]);
    assert.deepEqual(unclaimed(h).map((p) => p.fixedIps[0]!.ipAddress), [aux]);
  });

  test('an IPAM port a slow CreateEndpoint is claiming stays, however long the bind takes (RabbitMQ down)', async () => {
    const { h, docker, did, net, hang, release } = await liveNetworkWithHungCall('10.23.0.0/24', 'updatePort');
    const mac = randomMac();
    const address = await h.service.addresses.requestAddress({ poolId: net.poolId, address: '', ...macOption(mac) });
    for (const p of h.neutron.ports.values()) p.updatedAt = LONG_AGO;
    hang(); // the bind (PUT /ports/{id}) hangs: the port still looks unclaimed while CreateEndpoint waits
    const eid = hexId();
    const creating = h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address, macAddress: mac });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(unclaimed(h).length, 1);
    assert.deepEqual(await h.service.collectGarbage(docker, GRACE), [], 'the port being claimed is not a leftover');
    release();
    await creating;
    assert.equal([...h.neutron.ports.values()].find((p) => p.fixedIps[0]?.ipAddress === ipOf(address))?.deviceId, eid);
  });

  test('the untagged port of a RequestAddress still running stays, however long Neutron takes (RabbitMQ down)', async () => {
    const { h, docker, net, hang, release } = await liveNetworkWithHungCall('10.24.0.0/24', 'addTag');
    hang(); // tagging the new port hangs
    const requesting = h.service.addresses.requestAddress({ poolId: net.poolId, address: '', ...macOption(randomMac()) });
    await new Promise((r) => setTimeout(r, 20));
    for (const p of h.neutron.ports.values()) p.updatedAt = LONG_AGO;
    assert.equal(unclaimed(h).length, 1);
    assert.deepEqual(await h.service.collectGarbage(docker, GRACE), [], 'the port being made is not a leftover');
    release();
    const ip = ipOf(await requesting);
    assert.deepEqual(unclaimed(h).map((p) => p.fixedIps[0]!.ipAddress), [ip]);
  });

  test('chaos finds: an untagged IPAM port (RequestAddress killed before tagging) and an exposed-ports group of a gone port', async () => {
    const h = await makeHarness();
    const docker = new FakeDocker();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.29.0.0/24', gateway: '10.29.0.1' });
    const subnet = [...h.neutron.subnets.values()][0]!;
    const untagged = await h.neutron.createPort({ networkId: subnet.networkId, name: 'kuryr-unbound-port', fixedIps: [{ subnetId: subnet.id }] });
    const sg = await h.neutron.createSecurityGroup({ name: '0b5c6e0e-7a0d-4a55-9d58-1f1f1f1f1f1f-exposed_ports', description: 'Docker exposed ports created by Kuryr.' });
    const mine = await h.neutron.createSecurityGroup({ name: '0b5c6e0e-7a0d-4a55-9d58-2f2f2f2f2f2f-exposed_ports', description: 'an operator group' });
    // Docker forgets the network: DeleteNetwork fails on the untagged port
    await h.service.pools.releasePool(net.poolId);
    await assert.rejects(h.service.networks.deleteNetwork(did));
    const found = await h.service.collectGarbage(docker, GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind]).sort(), [['removed', 'network'], ['removed', 'security-group']]);
    assert.ok(!h.neutron.ports.has(untagged.id));
    assert.deepEqual(kuryrState(h.neutron), { nets: 0, subnets: 0, pools: 0, ports: 0 });
    assert.deepEqual([...h.neutron.securityGroups.keys()].filter((id) => id === sg.id || id === mine.id), [mine.id], "an operator's look-alike group stays");
  });

  test('a forgotten network with a port no rule calls ours (a pool member, a bound untagged port) is left whole and reported', async () => {
    const h = await makeHarness();
    const did = hexId();
    await dockerNetworkCreate(h, { did, subnet: '10.30.0.0/24', gateway: '10.30.0.1' });
    const subnet = [...h.neutron.subnets.values()][0]!;
    const stray = await h.neutron.createPort({ networkId: subnet.networkId, name: 'kuryr-unbound-port', deviceOwner: 'compute:kuryr', hostId: 'vm', fixedIps: [{ subnetId: subnet.id }] });
    const found = await h.service.collectGarbage(new FakeDocker(), GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind]), [['skipped', 'network']]);
    assert.match(found[0]!.why, new RegExp(`port ${stray.id} .* is not one the collector may remove`));
    assert.deepEqual(kuryrState(h.neutron), { nets: 1, subnets: 1, pools: 1, ports: 1 });
  });

  test("free pool ports of this host on a forgotten network go first, then the network; another host's keep it", async () => {
    const h = await makeHarness();
    const did = hexId();
    await dockerNetworkCreate(h, { did, subnet: '10.31.0.0/24', gateway: '10.31.0.1' });
    const subnet = [...h.neutron.subnets.values()][0]!;
    const mine = poolTag('docker', HOST);
    const pool = (name: string, tags: string[]) => h.neutron.createPort({ networkId: subnet.networkId, name, tags, deviceOwner: 'compute:kuryr', hostId: HOST, fixedIps: [{ subnetId: subnet.id }] });
    // a batch POSTed when `docker network rm` came: one with its tag written, one killed before that
    const tagged = await pool(mine, [mine]);
    const untagged = await pool(mine, []);
    for (const p of h.neutron.ports.values()) p.updatedAt = LONG_AGO;
    const young = await pool(mine, [mine]);
    h.neutron.ports.get(young.id)!.updatedAt = new Date().toISOString();
    const first = await h.service.collectGarbage(new FakeDocker(), GRACE);
    assert.deepEqual(first.map((f) => [f.outcome, f.kind]), [['skipped', 'network']], 'a port touched within the grace keeps the whole network');
    assert.ok(h.neutron.ports.has(tagged.id) && h.neutron.ports.has(untagged.id));

    h.neutron.ports.get(young.id)!.updatedAt = LONG_AGO;
    const found = await h.service.collectGarbage(new FakeDocker(), GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind]), [['removed', 'pool-ports'], ['removed', 'network']]);
    assert.deepEqual(kuryrState(h.neutron), { nets: 0, subnets: 0, pools: 0, ports: 0 });

    const other = await makeHarness();
    const did2 = hexId();
    await dockerNetworkCreate(other, { did: did2, subnet: '10.32.0.0/24', gateway: '10.32.0.1' });
    const subnet2 = [...other.neutron.subnets.values()][0]!;
    const theirs = poolTag('docker', 'other-host');
    await other.neutron.createPort({ networkId: subnet2.networkId, name: theirs, tags: [theirs], deviceOwner: 'compute:kuryr', hostId: 'other-host', fixedIps: [{ subnetId: subnet2.id }] });
    for (const p of other.neutron.ports.values()) p.updatedAt = LONG_AGO;
    const kept = await other.service.collectGarbage(new FakeDocker(), GRACE);
    assert.deepEqual(kept.map((f) => [f.outcome, f.kind]), [['skipped', 'network']]);
    assert.deepEqual(kuryrState(other.neutron), { nets: 1, subnets: 1, pools: 1, ports: 1 });
  });

  test('a plug whose Neutron port is gone is removed; plugs of live ports stay', async () => {
    const h = await makeHarness();
    const docker = new FakeDocker();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.23.0.0/24', gateway: '10.23.0.1' });
    const a = await containerRun(h, did, net.poolId);
    const b = await containerRun(h, did, net.poolId);
    docker.nets.set(did, { endpointIds: new Set([a.eid, b.eid]), addresses: new Set([a.ip, b.ip]) });
    const gone = [...h.neutron.ports.values()].find((p) => p.deviceId === b.eid)!;
    h.neutron.ports.delete(gone.id); // deleted behind our back: a veth/OVS port with a dangling iface-id
    const found = await h.service.collectGarbage(docker, GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind, f.why]), [['removed', 'plug', `its Neutron port ${gone.id} no longer exists`]]);
    assert.deepEqual([...h.binder.plugged.keys()], [[...h.neutron.ports.values()].find((p) => p.deviceId === a.eid)!.id]);
  });

  test("never: another host's network, a pod's port, a port bound elsewhere, or an endpoint in flight", async () => {
    const neutron = new FakeNeutron();
    const a = await makeHarness({ neutron, hostId: 'vm' });
    const b = await makeHarness({ neutron, hostId: 'vm-lb' });
    const docker = new FakeDocker(); // host A's dockerd knows none of host B's networks
    const didB = hexId();
    const netB = await dockerNetworkCreate(b, { did: didB, subnet: '10.24.0.0/24', gateway: '10.24.0.1' });
    await containerRun(b, didB, netB.poolId);
    await b.service.addresses.requestAddress({ poolId: netB.poolId, address: '', ...macOption(randomMac()) });
    const pod = await neutron.createPort({ networkId: [...neutron.networks.values()][0]!.id, name: 'pod', deviceOwner: 'compute:kuryr', deviceId: hexId(), hostId: 'vm' });
    await neutron.setTags('ports', pod.id, ['kuryr.cni.node:vm', 'compute:kuryr']);
    for (const p of neutron.ports.values()) p.updatedAt = LONG_AGO;
    const before = kuryrState(neutron);
    const found = await a.service.collectGarbage(docker, GRACE);
    assert.deepEqual(found.map((f) => [f.outcome, f.kind]), [['skipped', 'network']]);
    assert.match(found[0]!.why, /not held by this host alone/);
    assert.deepEqual(kuryrState(neutron), before);

    // In flight: an endpoint whose lock is held is left for the next round.
    const h = await makeHarness();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.25.0.0/24', gateway: '10.25.0.1' });
    const c = await containerRun(h, did, net.poolId);
    const dockerH = new FakeDocker();
    dockerH.nets.set(did, { endpointIds: new Set(), addresses: new Set() });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // DeleteEndpoint takes `ep:<eid>`; a blocked binder keeps it held while the collector runs.
    h.binder.failUnplug = undefined;
    const slow = h.binder.unplug.bind(h.binder);
    h.binder.unplug = async (v, t) => {
      await held;
      return slow(v, t);
    };
    const inFlight = h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: c.eid });
    await new Promise((r) => setImmediate(r));
    const during = await h.service.collectGarbage(dockerH, { ...GRACE, graceMs: 0 });
    assert.ok(!during.some((f) => f.kind === 'endpoint'), 'the endpoint under DeleteEndpoint is skipped');
    release();
    await inFlight;
  });
});
