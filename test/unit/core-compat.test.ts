/**
 * State compatibility: resources exactly as the Python driver leaves them are found, used and
 * removed; extension probing (spec §8.2).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/common/errors.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { HOST, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, randomMac } from './core-helpers.js';

/** What kuryr-libnetwork (Python) leaves after CreateEndpoint of a dual-stack-replacement / non-IPAM endpoint. */
async function pythonState(neutron: FakeNeutron, did: string, eid: string) {
  const pool = await neutron.createSubnetPool({ name: 'kuryrPool-10.5.0.0/24', prefixes: ['10.5.0.0/24'], defaultPrefixlen: 24, shared: false });
  const net = await neutron.createNetwork({ name: `kuryr-net-${did.slice(0, 8)}`, adminStateUp: true, shared: false });
  await neutron.addTag('networks', net.id, `kuryr.net.uuid.lh:${did.slice(0, 32)}`);
  await neutron.addTag('networks', net.id, `kuryr.net.uuid.uh:${did.slice(32, 64)}`);
  const [subnet] = await neutron.createSubnets([
    { name: 'kuryr-subnet-10.5.0.0/24', networkId: net.id, ipVersion: 4, cidr: '10.5.0.0/24', enableDhcp: true, subnetpoolId: pool.id, gatewayIp: '10.5.0.1' },
  ]);
  await neutron.addTag('subnets', subnet!.id, pool.id);
  // Untagged `<EID>-port` (spec §9 Q2), bound on this host.
  const port = await neutron.createPort({
    name: `${eid}-port`,
    adminStateUp: true,
    networkId: net.id,
    deviceOwner: 'compute:kuryr',
    deviceId: eid,
    hostId: HOST,
    fixedIps: [{ subnetId: subnet!.id, ipAddress: '10.5.0.20' }],
    macAddress: randomMac(),
  });
  return { pool, net, subnet: subnet!, port };
}

describe('Python-created state', () => {
  test('an untagged <EID>-port is joined, unplugged and removed by ours', async () => {
    const neutron = new FakeNeutron();
    const did = hexId();
    const eid = hexId();
    const s = await pythonState(neutron, did, eid);
    const h = await makeHarness({ neutron });
    // Docker replays CreateEndpoint after a driver swap: the port is found by name and gets tags.
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: '10.5.0.20/24', macAddress: s.port.macAddress });
    assert.equal(neutron.userPorts().length, 1);
    assert.ok(h.binder.plugged.has(s.port.id));
    const j = await h.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/abcdefabcdef' });
    assert.equal(j.srcName, `t_c${s.port.id.slice(0, 11)}`);
    assert.equal(j.gateway, '10.5.0.1');
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    assert.equal(h.binder.plugged.size, 0);
    await h.service.addresses.releaseAddress({ poolId: s.pool.id, address: '10.5.0.20' });
    assert.equal(neutron.userPorts().length, 0);
    await h.service.addresses.releaseAddress({ poolId: s.pool.id, address: '10.5.0.1' });
    await h.service.pools.releasePool(s.pool.id);
    await h.service.networks.deleteNetwork(did);
    assert.ok(neutron.isEmptyExcept());
  });

  test('Join without a prior CreateEndpoint on this process (restart) finds the untagged port', async () => {
    const neutron = new FakeNeutron();
    const did = hexId();
    const eid = hexId();
    const s = await pythonState(neutron, did, eid);
    const h = await makeHarness({ neutron });
    assert.deepEqual(await h.service.sandboxes.endpointOperInfo({ networkId: did, endpointId: eid }), { status: 'ACTIVE' });
    const j = await h.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/abcdefabcdef' });
    assert.equal(j.srcName, `t_c${s.port.id.slice(0, 11)}`);
    // DeleteEndpoint of a Python-plugged device: unplugged by port, no tags to remove.
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    assert.ok(neutron.ports.has(s.port.id));
  });

  test('a pre-existing network marked by Python is released, not deleted', async () => {
    const neutron = new FakeNeutron();
    const did = hexId();
    const net = await neutron.createNetwork({ name: 'ops-net' });
    for (const t of [`kuryr.net.uuid.lh:${did.slice(0, 32)}`, `kuryr.net.uuid.uh:${did.slice(32)}`, `kuryr.net.existing:${did.slice(0, 12)}`]) await neutron.addTag('networks', net.id, t);
    const h = await makeHarness({ neutron });
    await h.service.networks.deleteNetwork(did);
    assert.deepEqual(neutron.networks.get(net.id)!.tags, []);
  });
});

describe('init()', () => {
  test('standard-attr-tag gives both flags', async () => {
    const h = await makeHarness();
    assert.deepEqual(h.service.tagFlags, { tag: true, tagExt: true });
  });

  test('tag without tag-ext', async () => {
    const h = await makeHarness({ neutron: { extensions: ['subnet_allocation', 'tag'] } });
    assert.deepEqual(h.service.tagFlags, { tag: true, tagExt: false });
  });

  test('missing subnet_allocation is a ConfigError', async () => {
    await assert.rejects(makeHarness({ neutron: { extensions: ['standard-attr-tag'] } }), (e: unknown) => e instanceof ConfigError && e.message.includes('subnet_allocation'));
  });
});

describe('no-tag mode (best effort)', () => {
  test('network named by the DID; endpoint flow works', async () => {
    const h = await makeHarness({ neutron: { extensions: ['subnet_allocation'] } });
    const did = hexId();
    const eid = hexId();
    const r = await dockerNetworkCreate(h, { did, subnet: '10.8.0.0/24' });
    const net = [...h.neutron.networks.values()][0]!;
    assert.equal(net.name, did);
    assert.deepEqual(net.tags, []);
    const addr = await h.service.addresses.requestAddress({ poolId: r.poolId, address: '', ...macOption(randomMac()) });
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: randomMac() });
    assert.equal(h.neutron.userPorts()[0]!.name, `${eid}-port`);
    await h.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/abcdefabcdef' });
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    await h.service.addresses.releaseAddress({ poolId: r.poolId, address: ipOf(addr) });
    await h.service.addresses.releaseAddress({ poolId: r.poolId, address: ipOf(r.gateway) });
    await h.service.pools.releasePool(r.poolId);
    await h.service.networks.deleteNetwork(did);
    assert.ok(h.neutron.isEmptyExcept());
  });
});
