/**
 * IpamDriver paths: gateway without a subnet (F2), the default pool (F2/F3/Q12), aux addresses
 * (Q10), `--ip` re-use of a user port, concurrent RequestPool (Q19).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError, InvalidInputError } from '../../src/common/errors.js';
import { GATEWAY, HOST, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, randomMac, choices } from './core-helpers.js';

describe('gateway and pools', () => {
  test('--subnet without --gateway: first usable host, subnet created with it', async () => {
    const h = await makeHarness();
    const did = hexId();
    const r = await dockerNetworkCreate(h, { did, subnet: '10.20.0.0/16' });
    assert.equal(r.gateway, '10.20.0.1/16');
    const subnet = [...h.neutron.subnets.values()][0]!;
    assert.equal(subnet.gatewayIp, '10.20.0.1');
    // After the subnet exists, an empty gateway request answers Neutron's gateway.
    assert.equal(await h.service.addresses.requestAddress({ poolId: r.poolId, address: '', ...GATEWAY }), '10.20.0.1/16');
    await assert.rejects(h.service.addresses.requestAddress({ poolId: r.poolId, address: '10.20.0.9', ...GATEWAY }), /does not match gateway 10\.20\.0\.1/);
  });

  test('no --subnet: a free block of the default pool `kuryr`; the default pool survives', async () => {
    const h = await makeHarness();
    const dflt = await h.neutron.createSubnetPool({ name: 'kuryr', prefixes: ['10.10.0.0/16'], defaultPrefixlen: 24 });
    const a = hexId();
    const b = hexId();
    const ra = await dockerNetworkCreate(h, { did: a });
    const rb = await dockerNetworkCreate(h, { did: b });
    assert.equal(ra.pool, '10.10.0.0/24');
    assert.equal(rb.pool, '10.10.1.0/24');
    assert.equal(ra.gateway, '10.10.0.1/24');
    assert.notEqual(ra.poolId, dflt.id);
    const eid = hexId();
    const addr = await h.service.addresses.requestAddress({ poolId: rb.poolId, address: '', ...macOption(randomMac()) });
    assert.match(addr, /^10\.10\.1\.\d+\/24$/);
    await h.service.endpoints.createEndpoint({ networkId: b, endpointId: eid, address: addr, macAddress: randomMac() });
    await h.service.endpoints.deleteEndpoint({ networkId: b, endpointId: eid });
    await h.service.addresses.releaseAddress({ poolId: rb.poolId, address: ipOf(addr) });
    for (const [did, r] of [[a, ra], [b, rb]] as const) {
      await h.service.addresses.releaseAddress({ poolId: r.poolId, address: ipOf(r.gateway) });
      await h.service.pools.releasePool(r.poolId);
      await h.service.networks.deleteNetwork(did);
    }
    assert.deepEqual([...h.neutron.pools.keys()], [dflt.id]);
    assert.equal(h.neutron.networks.size, 0);
    // ReleasePool on the default pool itself (Python-created state) never deletes it (F3).
    await h.service.pools.releasePool(dflt.id);
    assert.ok(h.neutron.pools.has(dflt.id));
  });

  test('no --subnet and no default pool: readable error naming the option', async () => {
    const h = await makeHarness();
    await assert.rejects(
      h.service.pools.requestPool({ addressSpace: '', pool: '', subPool: '', neutron: choices({}), v6: false }),
      (e: unknown) => e instanceof InvalidInputError && e.message.includes("'kuryr'") && e.message.includes('default_subnetpool_v4'),
    );
  });

  test('concurrent RequestPool for one CIDR creates one kuryrPool (Q19); the others on this host are refused', async () => {
    const h = await makeHarness();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => h.service.pools.requestPool({ addressSpace: '', pool: '10.50.0.0/24', subPool: '', neutron: choices({}), v6: false })),
    );
    assert.equal(h.neutron.pools.size, 1);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError, String(r.reason));
  });

  test('strict CIDRs: host bits set is an InvalidInputError naming it; IPv6 normalised', async () => {
    const h = await makeHarness();
    await assert.rejects(h.service.pools.requestPool({ addressSpace: '', pool: '10.0.0.1/24', subPool: '', neutron: choices({}), v6: false }), (e: unknown) => e instanceof InvalidInputError && e.message.includes('10.0.0.1/24'));
    const r = await h.service.pools.requestPool({ addressSpace: '', pool: 'FD00:0:0:1::/64', subPool: '', neutron: choices({}), v6: true });
    assert.equal(r.pool, 'fd00:0:0:1::/64');
    assert.equal(h.neutron.pools.get(r.poolId)!.name, 'kuryrPool-fd00:0:0:1::/64');
  });
});

describe('addresses', () => {
  test('--aux-address on a new network is tolerated (Q10)', async () => {
    const h = await makeHarness();
    const rp = await h.service.pools.requestPool({ addressSpace: '', pool: '10.30.0.0/24', subPool: '', neutron: choices({}), v6: false });
    assert.equal(await h.service.addresses.requestAddress({ poolId: rp.poolId, address: '10.30.0.200', gateway: false }), '10.30.0.200/24');
    await h.service.addresses.releaseAddress({ poolId: rp.poolId, address: '10.30.0.200' });
    await h.service.pools.releasePool(rp.poolId);
    assert.equal(h.neutron.pools.size, 0);
  });

  test('--ip re-uses a pre-created user port; it survives release with owner/host cleared', async () => {
    const h = await makeHarness();
    const net = await h.neutron.createNetwork({ name: 'user-net' });
    const subnet = await h.neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '192.168.7.0/24', enableDhcp: false });
    const user = await h.neutron.createPort({ networkId: net.id, name: 'my-port', fixedIps: [{ subnetId: subnet.id, ipAddress: '192.168.7.50' }] });
    const did = hexId();
    const eid = hexId();
    const r = await dockerNetworkCreate(h, { did, subnet: '192.168.7.0/24', gateway: '192.168.7.1', opts: { 'neutron.net.uuid': net.id } });
    const addr = await h.service.addresses.requestAddress({ poolId: r.poolId, address: '192.168.7.50', ...macOption(randomMac()) });
    assert.equal(addr, '192.168.7.50/24');
    assert.equal(h.neutron.userPorts().length, 1);
    assert.deepEqual(h.neutron.ports.get(user.id)!.tags, ['kuryr.port.existing']);
    const mac = randomMac();
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: mac });
    let p = h.neutron.ports.get(user.id)!;
    assert.equal(p.hostId, HOST);
    assert.equal(p.deviceOwner, 'compute:kuryr');
    assert.equal(p.deviceId, eid);
    assert.equal(p.macAddress, mac);
    assert.ok(h.binder.plugged.has(user.id));
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    await h.service.addresses.releaseAddress({ poolId: r.poolId, address: '192.168.7.50' });
    p = h.neutron.ports.get(user.id)!;
    assert.ok(p, 'user port survives');
    assert.equal(p.deviceOwner, '');
    assert.equal(p.hostId, '');
    assert.deepEqual(p.tags, []);
    assert.equal(p.vifType, 'unbound');
    await h.service.addresses.releaseAddress({ poolId: r.poolId, address: '192.168.7.1' });
    await h.service.pools.releasePool(r.poolId);
    await h.service.networks.deleteNetwork(did);
    assert.ok(h.neutron.ports.has(user.id));
    assert.ok(h.neutron.networks.has(net.id));
    assert.ok(h.neutron.subnets.has(subnet.id));
  });

  test('ReleaseAddress matches any fixed IP of a port, not only the first (Q5)', async () => {
    const h = await makeHarness();
    const did = hexId();
    const r4 = await dockerNetworkCreate(h, { did, subnet: '10.40.0.0/24', v6: { subnet: 'fd40::/64' } });
    const eid = hexId();
    // A dual-address port made by CreateEndpoint (no IPAM ports): v4 first, v6 second.
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: '10.40.0.10/24', addressIpv6: 'fd40::10/64', macAddress: randomMac() });
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    await h.service.addresses.releaseAddress({ poolId: r4.poolId6!, address: 'fd40::10' });
    assert.equal(h.neutron.userPorts().length, 0);
  });
});
