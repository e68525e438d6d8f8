/**
 * Several hosts on one Neutron (docs/multihost.md): two services with their own host IDs share a
 * FakeNeutron, as two Kuryr daemons share the real one. Whoever leaves first keeps what the other
 * host still uses; the last one leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { GATEWAY, type Harness, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, randomMac } from './core-helpers.js';

async function twoHosts(scope: 'local' | 'global' = 'local'): Promise<{ neutron: FakeNeutron; a: Harness; b: Harness }> {
  const neutron = new FakeNeutron();
  const options = { capabilityScope: scope };
  return { neutron, a: await makeHarness({ neutron, hostId: 'vm', options }), b: await makeHarness({ neutron, hostId: 'vm-lb', options }) };
}

/** `docker run`: RequestAddress → CreateEndpoint → Join; returns the address and the endpoint. */
async function run(h: Harness, did: string, poolId: string): Promise<{ eid: string; ip: string }> {
  const eid = hexId();
  const mac = randomMac();
  const address = await h.service.addresses.requestAddress({ poolId, address: '', ...macOption(mac) });
  await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address, macAddress: mac });
  await h.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/x' });
  return { eid, ip: ipOf(address) };
}

/** `docker rm -f` of that container. */
async function rm(h: Harness, did: string, poolId: string, c: { eid: string; ip: string }): Promise<void> {
  await h.service.sandboxes.leave({ networkId: did, endpointId: c.eid });
  await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: c.eid });
  await h.service.addresses.releaseAddress({ poolId, address: c.ip });
}

/** `docker network rm` in Docker 20.10's order (IPAM first), or the older one (DeleteNetwork first). */
async function networkRm(h: Harness, did: string, net: { poolId: string; gateway: string }, order: 'ipam-first' | 'driver-first' = 'ipam-first'): Promise<void> {
  const ipam = async () => {
    await h.service.addresses.releaseAddress({ poolId: net.poolId, address: ipOf(net.gateway) });
    await h.service.pools.releasePool(net.poolId);
  };
  if (order === 'driver-first') await h.service.networks.deleteNetwork(did);
  await ipam();
  if (order === 'ipam-first') await h.service.networks.deleteNetwork(did);
}

function userNetwork(neutron: FakeNeutron, name: string): Promise<string> {
  return neutron.createNetwork({ name }).then((n) => n.id);
}

const kuryrLeft = (n: FakeNeutron) => ({
  pools: [...n.pools.values()].map((p) => p.name),
  subnets: [...n.subnets.values()].map((s) => s.name),
  ports: [...n.ports.values()].filter((p) => p.deviceOwner !== 'network:dhcp').map((p) => p.name),
});

describe('multi-host, local scope', () => {
  for (const order of ['ipam-first', 'driver-first'] as const) {
    test(`one shared subnet (seed 000 "Share subnet"): one pool, unique IPs, first leaver keeps it (${order})`, async () => {
      const { neutron, a, b } = await twoHosts();
      const netId = await userNetwork(neutron, 'shared');
      const args = { subnet: '10.0.0.0/16', ipRange: '10.0.0.0/24', gateway: '10.0.0.1', opts: { 'neutron.net.uuid': netId } };
      const didA = hexId();
      const didB = hexId();
      const na = await dockerNetworkCreate(a, { did: didA, ...args });
      const nb = await dockerNetworkCreate(b, { did: didB, ...args });
      assert.equal(nb.poolId, na.poolId, 'the same CIDR reuses kuryrPool-<cidr>');
      assert.equal(neutron.subnets.size, 1);

      const ips = new Set<string>();
      const ca = [await run(a, didA, na.poolId), await run(a, didA, na.poolId)];
      const cb = [await run(b, didB, nb.poolId), await run(b, didB, nb.poolId)];
      for (const c of [...ca, ...cb]) ips.add(c.ip);
      assert.equal(ips.size, 4, 'Neutron allocates every address once');
      const hosts = [...neutron.ports.values()].filter((p) => p.deviceOwner === 'compute:kuryr').map((p) => p.hostId).sort();
      assert.deepEqual(hosts, ['vm', 'vm', 'vm-lb', 'vm-lb']);

      // A goes idle, then B leaves entirely: A's network must keep working.
      for (const c of ca) await rm(a, didA, na.poolId, c);
      for (const c of cb) await rm(b, didB, nb.poolId, c);
      await networkRm(b, didB, nb, order);
      assert.equal(neutron.subnets.size, 1, 'subnet kept for host A');
      assert.ok(neutron.pools.has(na.poolId), 'pool kept for host A');
      const again = await run(a, didA, na.poolId);
      await rm(a, didA, na.poolId, again);

      await networkRm(a, didA, na, order);
      assert.deepEqual(kuryrLeft(neutron), { pools: [], subnets: [], ports: [] });
      assert.deepEqual(neutron.networks.get(netId)?.tags, [], 'user network kept, untagged');
    });
  }

  for (const first of ['creator', 'adopter'] as const) {
    test(`a kuryr network adopted on another host (network sync) goes with its last user (${first} leaves first)`, async () => {
      const { neutron, a, b } = await twoHosts();
      const didA = hexId();
      const didB = hexId();
      const na = await dockerNetworkCreate(a, { did: didA, subnet: '10.3.0.0/24', gateway: '10.3.0.1' });
      const netId = [...neutron.networks.values()][0]!.id;
      const nb = await dockerNetworkCreate(b, { did: didB, subnet: '10.3.0.0/24', gateway: '10.3.0.1', opts: { 'neutron.net.uuid': netId } });
      const [h1, d1, n1, h2, d2, n2] = first === 'creator' ? [a, didA, na, b, didB, nb] as const : [b, didB, nb, a, didA, na] as const;
      await networkRm(h1, d1, n1);
      assert.ok(neutron.networks.has(netId), 'still used by the other host');
      assert.equal(neutron.subnets.size, 1);
      const c = await run(h2, d2, n2.poolId);
      await rm(h2, d2, n2.poolId, c);
      await networkRm(h2, d2, n2);
      assert.equal(neutron.networks.size, 0);
      assert.deepEqual(kuryrLeft(neutron), { pools: [], subnets: [], ports: [] });
    });
  }

  test('both hosts removing their Docker networks at once leave nothing behind', async () => {
    for (const adopt of [false, true]) {
      const { neutron, a, b } = await twoHosts();
      const userNet = adopt ? undefined : await userNetwork(neutron, 'both');
      const didA = hexId();
      const didB = hexId();
      const na = await dockerNetworkCreate(a, { did: didA, subnet: '10.6.0.0/24', ...(userNet ? { opts: { 'neutron.net.uuid': userNet } } : {}) });
      const netId = userNet ?? [...neutron.networks.values()][0]!.id;
      const nb = await dockerNetworkCreate(b, { did: didB, subnet: '10.6.0.0/24', opts: { 'neutron.net.uuid': netId } });
      await Promise.all([networkRm(a, didA, na), networkRm(b, didB, nb)]);
      assert.deepEqual(kuryrLeft(neutron), { pools: [], subnets: [], ports: [] }, adopt ? 'adopted kuryr network' : 'user network');
      assert.equal(neutron.networks.size, userNet ? 1 : 0);
    }
  });

  test('pools made by the Python driver (no holder tags) are released as before', async () => {
    const { neutron, a } = await twoHosts();
    const did = hexId();
    const n = await dockerNetworkCreate(a, { did, subnet: '10.4.0.0/24' });
    await neutron.setTags('subnetpools', n.poolId, []);
    await networkRm(a, did, n);
    assert.deepEqual(kuryrLeft(neutron), { pools: [], subnets: [], ports: [] });
  });
});

describe('multi-host, global scope (seed 001)', () => {
  test('host B uses the network with no RequestPool/CreateNetwork of its own; ports bind to each host', async () => {
    const { neutron, a, b } = await twoHosts('global');
    assert.equal(b.service.capabilities().scope, 'global');
    const did = hexId();
    const n = await dockerNetworkCreate(a, { did, subnet: '10.5.0.0/24', gateway: '10.5.0.1' });
    const gwAgain = await b.service.addresses.requestAddress({ poolId: n.poolId, address: '10.5.0.1', ...GATEWAY });
    assert.equal(gwAgain, '10.5.0.1/24');
    const ca = await run(a, did, n.poolId);
    const cb = await run(b, did, n.poolId);
    assert.notEqual(ca.ip, cb.ip);
    const hostOf = (ip: string) => [...neutron.ports.values()].find((p) => p.fixedIps.some((f) => f.ipAddress === ip))?.hostId;
    assert.equal(hostOf(ca.ip), 'vm');
    assert.equal(hostOf(cb.ip), 'vm-lb');
    await rm(b, did, n.poolId, cb);
    await rm(a, did, n.poolId, ca);
    await networkRm(a, did, n);
    assert.equal(neutron.networks.size, 0);
    assert.deepEqual(kuryrLeft(neutron), { pools: [], subnets: [], ports: [] });
  });
});
