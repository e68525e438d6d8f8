/**
 * CreateNetwork / DeleteNetwork with user-owned resources: `neutron.net.uuid/name`,
 * `neutron.pool.uuid/name`, the `shared` conflict, replays.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError, NotFoundError } from '../../src/common/errors.js';
import { GATEWAY, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, poolData, randomMac, choices } from './core-helpers.js';

async function userNetwork(h: Awaited<ReturnType<typeof makeHarness>>, name = 'user-net', cidr = '192.168.5.0/24') {
  const net = await h.neutron.createNetwork({ name });
  const subnet = await h.neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr, name: 'user-subnet', enableDhcp: false });
  return { net, subnet };
}

describe('existing Neutron network', () => {
  for (const by of ['uuid', 'name'] as const) {
    test(`neutron.net.${by}: tags added, then removed; network and user subnet survive`, async () => {
      const h = await makeHarness();
      const { net, subnet } = await userNetwork(h);
      const did = hexId();
      const opts: Record<string, string> = by === 'uuid' ? { 'neutron.net.uuid': net.id } : { 'neutron.net.name': 'user-net' };
      const { poolId, gateway } = await dockerNetworkCreate(h, { did, subnet: '192.168.5.0/24', opts });
      assert.equal(gateway, '192.168.5.1/24', 'gateway answered from the existing subnet');
      const n = h.neutron.networks.get(net.id)!;
      assert.deepEqual([...n.tags].sort(), [`kuryr.net.existing:${did.slice(0, 12)}`, `kuryr.net.uuid.lh:${did.slice(0, 32)}`, `kuryr.net.uuid.uh:${did.slice(32)}`].sort());
      assert.equal(n.name, 'user-net');
      assert.equal(h.neutron.subnets.size, 1, 'no kuryr subnet created next to the user one');
      assert.deepEqual(h.neutron.subnets.get(subnet.id)!.tags, [poolId]);

      const eid = hexId();
      const addr = await h.service.addresses.requestAddress({ poolId, address: '', ...macOption(randomMac()) });
      await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: randomMac() });
      await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
      await h.service.addresses.releaseAddress({ poolId, address: ipOf(addr) });
      await h.service.addresses.releaseAddress({ poolId, address: ipOf(gateway) });
      await h.service.pools.releasePool(poolId);
      await h.service.networks.deleteNetwork(did);

      assert.deepEqual(h.neutron.networks.get(net.id)?.tags, []);
      assert.deepEqual(h.neutron.subnets.get(subnet.id)?.tags, []);
      assert.equal(h.neutron.pools.size, 0);
      assert.equal(h.neutron.userPorts().length, 0);
    });
  }

  test('shared conflict fails before any tag is written (Q8)', async () => {
    const h = await makeHarness();
    const { net } = await userNetwork(h);
    const did = hexId();
    await assert.rejects(
      dockerNetworkCreate(h, { did, subnet: '192.168.5.0/24', opts: { 'neutron.net.uuid': net.id, 'neutron.net.shared': 'true' } }),
      (e: unknown) => e instanceof ConflictError && e.message.includes(net.id) && e.message.includes('shared'),
    );
    assert.deepEqual(h.neutron.networks.get(net.id)!.tags, []);
  });

  test('unknown neutron.net.uuid names the value', async () => {
    const h = await makeHarness();
    const missing = '6b7c1f8e-0000-4000-8000-000000000001';
    await assert.rejects(dockerNetworkCreate(h, { did: hexId(), subnet: '10.9.0.0/24', opts: { 'neutron.net.uuid': missing } }), (e: unknown) => e instanceof NotFoundError && e.message.includes(missing));
  });

  test('new kuryr subnet on an existing network is deleted, the network kept', async () => {
    const h = await makeHarness();
    const { net, subnet } = await userNetwork(h);
    const did = hexId();
    const { poolId } = await dockerNetworkCreate(h, { did, subnet: '10.77.0.0/24', opts: { 'neutron.net.uuid': net.id } });
    assert.equal(h.neutron.subnets.size, 2);
    await h.service.networks.deleteNetwork(did);
    await h.service.pools.releasePool(poolId);
    assert.deepEqual([...h.neutron.subnets.keys()], [subnet.id]);
    assert.ok(h.neutron.networks.has(net.id));
    assert.equal(h.neutron.pools.size, 0);
  });
});

describe('user subnetpools (neutron.pool.uuid / neutron.pool.name)', () => {
  for (const by of ['uuid', 'name'] as const) {
    test(`neutron.pool.${by}: used, marked existing, survives release`, async () => {
      const h = await makeHarness();
      const pool = await h.neutron.createSubnetPool({ name: 'my-pool', prefixes: ['172.20.0.0/24'], defaultPrefixlen: 24 });
      const o: Record<string, string> = by === 'uuid' ? { 'neutron.pool.uuid': pool.id } : { 'neutron.pool.name': 'my-pool' };
      const did = hexId();
      const r = await dockerNetworkCreate(h, { did, subnet: '172.20.0.0/24', ipamOpts: o, opts: o });
      assert.equal(r.poolId, pool.id);
      assert.deepEqual(h.neutron.pools.get(pool.id)!.tags, ['kuryr.subnetpool.existing']);
      const subnet = [...h.neutron.subnets.values()][0]!;
      assert.equal(subnet.subnetpoolId, pool.id);
      assert.equal(h.neutron.pools.size, 1, 'no kuryrPool created');
      const addr = await h.service.addresses.requestAddress({ poolId: pool.id, address: '', ...macOption(randomMac()) });
      await h.service.addresses.releaseAddress({ poolId: pool.id, address: ipOf(addr) });
      await h.service.addresses.releaseAddress({ poolId: pool.id, address: ipOf(r.gateway) });
      await h.service.pools.releasePool(pool.id);
      await h.service.networks.deleteNetwork(did);
      assert.deepEqual([...h.neutron.pools.keys()], [pool.id]);
      assert.deepEqual(h.neutron.pools.get(pool.id)!.tags, []);
      assert.equal(h.neutron.networks.size, 0);
      assert.equal(h.neutron.subnets.size, 0);
    });
  }
});

describe('replays', () => {
  test('CreateNetwork twice for the same DID reuses the network and its subnet', async () => {
    const h = await makeHarness();
    const did = hexId();
    const rp = await h.service.pools.requestPool({ addressSpace: '', pool: '10.3.0.0/24', subPool: '', neutron: choices({}), v6: false });
    const gw = await h.service.addresses.requestAddress({ poolId: rp.poolId, address: '', ...GATEWAY });
    const req = { networkId: did, ipv4Data: [poolData(rp.pool, gw)], ipv6Data: [], neutron: choices({}), enableIpv6: false };
    await h.service.networks.createNetwork(req);
    await h.service.networks.createNetwork(req);
    await Promise.all([h.service.networks.createNetwork(req), h.service.networks.createNetwork(req)]);
    assert.equal(h.neutron.networks.size, 1);
    assert.equal(h.neutron.subnets.size, 1);
    await h.service.networks.deleteNetwork(did);
    await Promise.all([h.service.networks.deleteNetwork(did), h.service.networks.deleteNetwork(did)]);
    assert.equal(h.neutron.networks.size, 0);
  });

  test('a failed subnet creation removes the network CreateNetwork made', async () => {
    const h = await makeHarness();
    const did = hexId();
    const rp = await h.service.pools.requestPool({ addressSpace: '', pool: '10.4.0.0/24', subPool: '', neutron: choices({}), v6: false });
    h.neutron.failWhen((m) => (m === 'createSubnets' ? new Error('boom') : undefined));
    await assert.rejects(h.service.networks.createNetwork({ networkId: did, ipv4Data: [poolData(rp.pool, '10.4.0.1/24')], ipv6Data: [], neutron: choices({}), enableIpv6: false }), /boom/);
    assert.equal(h.neutron.networks.size, 0);
  });
});
