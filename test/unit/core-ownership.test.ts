/**
 * One test per rule of docs/ownership.md: a request deletes only what it created, or what our tags
 * show nobody else (another Docker network, host or pod) still uses; never the user's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError } from '../../src/common/errors.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { GATEWAY, choices, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, poolData, randomMac } from './core-helpers.js';

const NAMES = new Map<string, string>();
const dockerNetworkName = async (did: string): Promise<string | undefined> => NAMES.get(did);

/** What a Docker network create on 10.0.0.0/16 with --ip-range 10.0.0.0/24 --gateway 10.0.0.1 sends. */
const CASE1 = { subnet: '10.0.0.0/16', ipRange: '10.0.0.0/24', gateway: '10.0.0.1' };

describe('ownership rules (docs/ownership.md)', () => {
  test('rule 1: a failed create undoes only what it made; the user network it tagged keeps living', async () => {
    const h = await makeHarness();
    const userNet = await h.neutron.createNetwork({ name: 'user-net' });
    const rp = await h.service.pools.requestPool({ addressSpace: '', pool: '10.4.0.0/24', subPool: '', neutron: choices({}), v6: false });
    h.neutron.failWhen((m) => (m === 'createSubnets' ? new Error('boom') : undefined));
    const req = { networkId: hexId(), ipv4Data: [poolData(rp.pool, '10.4.0.1/24')], ipv6Data: [], neutron: choices({ 'neutron.net.uuid': userNet.id }), enableIpv6: false };
    await assert.rejects(h.service.networks.createNetwork(req), /boom/);
    assert.ok(h.neutron.networks.has(userNet.id), 'the user network is not ours to delete');
    assert.deepEqual(h.neutron.networks.get(userNet.id)!.tags, [], 'our tags are undone');
  });

  test('rule 2: a range taken by a Docker network of this host is refused up front with a 409 naming it; netA stays usable', async () => {
    const h = await makeHarness({ dockerNetworkName });
    const didA = hexId();
    NAMES.set(didA, 'netA');
    const a = await dockerNetworkCreate(h, { did: didA, ...CASE1 });
    const before = { pools: h.neutron.pools.size, nets: h.neutron.networks.size, subnets: h.neutron.subnets.size };
    const err = await h.service.pools.requestPool({ addressSpace: '', pool: CASE1.subnet, subPool: CASE1.ipRange, neutron: choices({}), v6: false }).then(
      () => assert.fail('netB got the range'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConflictError);
    assert.match(err.message, /Docker network netA \(/);
    const subnet = [...h.neutron.subnets.values()][0]!;
    assert.match(err.message, new RegExp(`Neutron subnet ${subnet.id}`));
    // Docker sends nothing else for netB (its RequestPool failed): netA is whole and serves addresses.
    assert.deepEqual({ pools: h.neutron.pools.size, nets: h.neutron.networks.size, subnets: h.neutron.subnets.size }, before);
    const addr = await h.service.addresses.requestAddress({ poolId: a.poolId, address: '', ...macOption(randomMac()) });
    assert.match(addr, /^10\.0\.0\.\d+\/24$/);
  });

  test('rule 2: the holder is named by ID when dockerd cannot name it, and by the pool when no subnet exists yet', async () => {
    const h = await makeHarness();
    const did = hexId();
    await dockerNetworkCreate(h, { did, subnet: '10.9.0.0/24', gateway: '10.9.0.1' });
    await assert.rejects(
      h.service.pools.requestPool({ addressSpace: '', pool: '10.9.0.0/24', subPool: '', neutron: choices({}), v6: false }),
      (e: unknown) => e instanceof ConflictError && e.message.includes(`Docker network ${did.slice(0, 12)} uses Neutron subnet`),
    );
    await h.service.pools.requestPool({ addressSpace: '', pool: '10.8.0.0/24', subPool: '', neutron: choices({}), v6: false });
    await assert.rejects(
      h.service.pools.requestPool({ addressSpace: '', pool: '10.8.0.0/24', subPool: '', neutron: choices({}), v6: false }),
      (e: unknown) => e instanceof ConflictError && /subnetpool kuryrPool-10\.8\.0\.0\/24 .* is held by another Docker network/.test(e.message),
    );
  });

  test('rule 2: a pool this host holds without a subnet, left by a process that died before CreateNetwork, is reused', async () => {
    const neutron = new FakeNeutron();
    const before = await makeHarness({ neutron });
    const req = { addressSpace: '', pool: '10.12.0.0/24', subPool: '', neutron: choices({}), v6: false };
    const first = await before.service.pools.requestPool(req);
    const restarted = await makeHarness({ neutron }); // same host, new process: nothing pending
    const again = await restarted.service.pools.requestPool(req);
    assert.equal(again.poolId, first.poolId);
    await dockerNetworkCreate(restarted, { did: hexId(), subnet: '10.13.0.0/24' });
    assert.equal(neutron.pools.size, 2);
  });

  test("rule 3: a range another host's Docker network holds: 409 naming it, and Docker's ReleasePool keeps the pool and subnet", async () => {
    const neutron = new FakeNeutron();
    const a = await makeHarness({ neutron, hostId: 'vm', dockerNetworkName });
    const b = await makeHarness({ neutron, hostId: 'vm-lb', dockerNetworkName });
    const didA = hexId();
    NAMES.set(didA, 'netA');
    await dockerNetworkCreate(a, { did: didA, ...CASE1 });
    const rp = await b.service.pools.requestPool({ addressSpace: '', pool: CASE1.subnet, subPool: CASE1.ipRange, neutron: choices({}), v6: false });
    const gw = await b.service.addresses.requestAddress({ poolId: rp.poolId, address: CASE1.gateway, ...GATEWAY });
    const req = { networkId: hexId(), ipv4Data: [poolData(rp.pool, gw)], ipv6Data: [], neutron: choices({}), enableIpv6: false };
    await assert.rejects(b.service.networks.createNetwork(req), (e: unknown) => e instanceof ConflictError && /Docker network netA/.test(e.message));
    await b.service.addresses.releaseAddress({ poolId: rp.poolId, address: ipOf(gw) });
    await b.service.pools.releasePool(rp.poolId);
    assert.equal(neutron.pools.size, 1, "host A's pool kept");
    assert.equal(neutron.subnets.size, 1, "host A's subnet kept");
    assert.equal(neutron.networks.size, 1, 'only netA is left');
  });

  test('rule 4: pools kuryr did not create (default, neutron.pool.*) are never deleted', async () => {
    const h = await makeHarness();
    const user = await h.neutron.createSubnetPool({ name: 'my-pool', prefixes: ['172.21.0.0/24'], defaultPrefixlen: 24 });
    const dflt = await h.neutron.createSubnetPool({ name: 'kuryr', prefixes: ['10.200.0.0/16'], defaultPrefixlen: 24 });
    await h.service.pools.releasePool(user.id);
    await h.service.pools.releasePool(dflt.id);
    assert.ok(h.neutron.pools.has(user.id) && h.neutron.pools.has(dflt.id));
  });

  test('rule 5: a kuryr network another Docker network still uses outlives the Docker network that created it', async () => {
    const neutron = new FakeNeutron();
    const a = await makeHarness({ neutron, hostId: 'vm' });
    const b = await makeHarness({ neutron, hostId: 'vm-lb' });
    const didA = hexId();
    await dockerNetworkCreate(a, { did: didA, subnet: '10.3.0.0/24', gateway: '10.3.0.1' });
    const netId = [...neutron.networks.values()][0]!.id;
    await dockerNetworkCreate(b, { did: hexId(), subnet: '10.3.0.0/24', gateway: '10.3.0.1', opts: { 'neutron.net.uuid': netId } });
    await a.service.networks.deleteNetwork(didA);
    assert.ok(neutron.networks.has(netId));
    assert.equal(neutron.subnets.size, 1);
  });

  test('rule 6: ReleaseAddress never deletes a port an endpoint on another host still claims', async () => {
    const neutron = new FakeNeutron();
    const a = await makeHarness({ neutron, hostId: 'vm', options: { capabilityScope: 'global' } });
    const b = await makeHarness({ neutron, hostId: 'vm-lb', options: { capabilityScope: 'global' } });
    const did = hexId();
    const net = await dockerNetworkCreate(a, { did, subnet: '10.7.0.0/24', gateway: '10.7.0.1' });
    const mac = randomMac();
    const addr = await b.service.addresses.requestAddress({ poolId: net.poolId, address: '', ...macOption(mac) });
    await b.service.endpoints.createEndpoint({ networkId: did, endpointId: hexId(), address: addr, macAddress: mac });
    const port = [...neutron.ports.values()].find((p) => p.hostId === 'vm-lb')!;
    await a.service.addresses.releaseAddress({ poolId: net.poolId, address: ipOf(addr) });
    assert.ok(neutron.ports.has(port.id), "host B's bound port survives a release sent to host A");
  });

  test('rule 7: RevokeExternalConnectivity deletes only our <port>-exposed_ports group, never another group on the port', async () => {
    const h = await makeHarness();
    const did = hexId();
    const eid = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.5.0.0/24', gateway: '10.5.0.1' });
    const mac = randomMac();
    const addr = await h.service.addresses.requestAddress({ poolId: net.poolId, address: '', ...macOption(mac) });
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: mac });
    const port = [...h.neutron.ports.values()].find((p) => p.deviceOwner === 'compute:kuryr')!;
    const mine = await h.neutron.createSecurityGroup({ name: 'operator-sg' });
    await h.neutron.updatePort(port.id, { securityGroups: [...h.neutron.ports.get(port.id)!.securityGroups, mine.id] });
    await h.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [{ proto: 6, port: 80 }] });
    await h.service.connectivity.revokeExternalConnectivity({ networkId: did, endpointId: eid });
    assert.ok(h.neutron.securityGroups.has(mine.id));
    assert.ok(h.neutron.ports.get(port.id)!.securityGroups.includes(mine.id));
    assert.equal([...h.neutron.securityGroups.values()].filter((s) => s.name.endsWith('-exposed_ports')).length, 0);
  });
});
