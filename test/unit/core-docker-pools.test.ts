/**
 * Docker endpoints on pool ports (fake Neutron, fake parking): the claimed port ends with the same
 * Neutron state as an ordinary one, goes back to the pool only after ReleaseAddress, and requests a
 * pool cannot serve take the ordinary path.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { EndpointPools } from '../../src/core/docker/endpoint-pools.js';
import { poolTag } from '../../src/core/port-pool/pool-tags.js';
import { PortPools } from '../../src/core/port-pool/port-pools.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { FakeParking } from '../fakes/fake-parking.js';
import { GATEWAY, HOST, choices, hexId, makeHarness, poolData } from './core-helpers.js';

async function poolWorld() {
  const neutron = new FakeNeutron({ dhcpPorts: false });
  const parking = new FakeParking();
  const portPools = new PortPools({
    neutron,
    dataplane: parking,
    hostId: HOST,
    owner: 'docker',
    sizing: { min: 2, max: 3, batch: 2, updateFrequencyMs: 0 },
    activeTimeoutMs: 200,
    log: silentLogger(),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 2))),
  });
  const h = await makeHarness({ neutron });
  // the harness builds the service without pools: rebuild it with them
  const { NeutronLibnetworkService } = await import('../../src/core/docker/driver.js');
  const { DEFAULT_OPTIONS } = await import('./core-helpers.js');
  const service = new NeutronLibnetworkService({
    neutron,
    binder: h.binder,
    hostId: HOST,
    logger: silentLogger(),
    options: DEFAULT_OPTIONS,
    pools: new EndpointPools(portPools),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 5))),
  });
  await service.init();
  const did = hexId();
  const rp = await service.pools.requestPool({ addressSpace: 'x', pool: '10.0.0.0/16', subPool: '10.0.0.0/24', neutron: choices({}), v6: false });
  const gw = await service.addresses.requestAddress({ poolId: rp.poolId, address: '10.0.0.1', ...GATEWAY });
  await service.networks.createNetwork({ networkId: did, ipv4Data: [poolData(rp.pool, gw)], ipv6Data: [], neutron: choices({}), enableIpv6: false });
  await portPools.idle();
  return { neutron, parking, portPools, service, did, poolId: rp.poolId, binder: h.binder };
}

const TAG = poolTag('docker', HOST);

describe('docker endpoints on pool ports', () => {
  test('IPAM no longer asks Docker for a MAC when pools are on', async () => {
    const w = await poolWorld();
    assert.equal(w.service.ipamCapabilities().requiresMacAddress, false);
    assert.equal((await makeHarness()).service.ipamCapabilities().requiresMacAddress, true);
  });

  test('run and remove: pool port claimed with the ordinary Neutron state, back in the pool after ReleaseAddress', async () => {
    const w = await poolWorld();
    assert.equal(w.portPools.stats()[0]!.ready, 2, 'primed at CreateNetwork');
    const eid = hexId();
    const addr = await w.service.addresses.requestAddress({ poolId: w.poolId, address: '', gateway: false });
    const ip = addr.split('/')[0]!;
    const port = [...w.neutron.ports.values()].find((p) => p.fixedIps[0]?.ipAddress === ip)!;
    assert.ok(port.tags.includes(TAG), 'the address is a pool port');
    const createsBefore = w.neutron.calls.get('createPort') ?? 0;
    const ce = await w.service.endpoints.createEndpoint({ networkId: w.did, endpointId: eid, address: addr });
    assert.deepEqual(ce, { macAddress: port.macAddress });
    assert.equal(w.neutron.calls.get('createPort') ?? 0, createsBefore, 'no port made on the attach path');
    const join = await w.service.sandboxes.join({ networkId: w.did, endpointId: eid, sandboxKey: '/x' });
    assert.equal(join.srcName, `t_c${port.id.slice(0, 11)}`);
    assert.equal(join.gateway, '10.0.0.1');
    assert.equal(w.parking.links.get(join.srcName), 'host');
    assert.deepEqual(await w.service.sandboxes.endpointOperInfo({ networkId: w.did, endpointId: eid }), { status: 'ACTIVE' });

    // an ordinary endpoint for comparison (pools empty of this IP: --ip path)
    await w.service.endpoints.deleteEndpoint({ networkId: w.did, endpointId: eid }); // waits for the claim write
    // (state after claim is checked through a second claim below, before delete)
    const eid2 = hexId();
    const addr2 = await w.service.addresses.requestAddress({ poolId: w.poolId, address: '', gateway: false });
    await w.service.endpoints.createEndpoint({ networkId: w.did, endpointId: eid2, address: addr2 });
    await w.service.sandboxes.endpointOperInfo({ networkId: w.did, endpointId: eid2 });
    await new Promise((r) => setTimeout(r, 20));
    const claimed = [...w.neutron.ports.values()].find((p) => p.fixedIps[0]?.ipAddress === addr2.split('/')[0])!;
    assert.equal(claimed.deviceId, eid2);
    assert.deepEqual([...claimed.tags].sort(), ['compute:kuryr', `kuryr.net.uuid.lh:${eid2.slice(0, 32)}`, `kuryr.net.uuid.uh:${eid2.slice(32)}`].sort());
    assert.equal(claimed.name, 'kuryr-unbound-port');
    assert.equal(claimed.deviceOwner, 'compute:kuryr');
    assert.equal(claimed.hostId, HOST);

    // the first port: reset, parked, not offered until ReleaseAddress
    const back = w.neutron.ports.get(port.id)!;
    assert.deepEqual([back.deviceId, back.tags], ['', [TAG]]);
    assert.equal(w.parking.links.get(join.srcName), 'parked');
    const offeredBefore = w.portPools.stats()[0]!.ready;
    await w.service.addresses.releaseAddress({ poolId: w.poolId, address: ip });
    await w.portPools.idle();
    assert.ok(w.neutron.ports.has(port.id), 'ReleaseAddress did not delete the pool port');
    assert.equal(w.portPools.stats()[0]!.ready, Math.min(3, offeredBefore + 1));
  });

  test('a MAC asked for gives the pool port up and takes the ordinary path', async () => {
    const w = await poolWorld();
    const addr = await w.service.addresses.requestAddress({ poolId: w.poolId, address: '', gateway: false });
    const ip = addr.split('/')[0]!;
    const poolPort = [...w.neutron.ports.values()].find((p) => p.fixedIps[0]?.ipAddress === ip)!;
    const eid = hexId();
    await w.service.endpoints.createEndpoint({ networkId: w.did, endpointId: eid, address: addr, macAddress: '02:42:0a:00:00:99' });
    assert.equal(w.neutron.ports.has(poolPort.id), false, 'pool port deleted');
    const made = [...w.neutron.ports.values()].find((p) => p.deviceId === eid)!;
    assert.equal(made.macAddress, '02:42:0a:00:00:99');
    assert.equal(made.fixedIps[0]!.ipAddress, ip);
  });

  test('DeleteNetwork drains the pool first: no pool port, no parked link left (also right after a container went, and after ReleasePool)', async () => {
    const w = await poolWorld();
    const eid = hexId();
    const addr = await w.service.addresses.requestAddress({ poolId: w.poolId, address: '', gateway: false });
    await w.service.endpoints.createEndpoint({ networkId: w.did, endpointId: eid, address: addr });
    await w.service.endpoints.deleteEndpoint({ networkId: w.did, endpointId: eid });
    await w.service.addresses.releaseAddress({ poolId: w.poolId, address: addr.split('/')[0]! });
    // Docker may release the pool first; its port reset is still on its way
    await w.service.pools.releasePool(w.poolId);
    await w.service.networks.deleteNetwork(w.did);
    assert.deepEqual([...w.neutron.ports.values()].filter((p) => p.tags.includes(TAG)), []);
    assert.equal(w.parking.links.size, 0);
    assert.equal(w.neutron.networks.size, 0);
  });

  test('--expose on a pool port: ProgramExternalConnectivity waits for the claim and adds the group to the port; the reset takes it off', async () => {
    const w = await poolWorld();
    const eid = hexId();
    const addr = await w.service.addresses.requestAddress({ poolId: w.poolId, address: '', gateway: false });
    await w.service.endpoints.createEndpoint({ networkId: w.did, endpointId: eid, address: addr });
    await w.service.sandboxes.join({ networkId: w.did, endpointId: eid, sandboxKey: '/x' });
    await w.service.connectivity.programExternalConnectivity({ networkId: w.did, endpointId: eid, exposedPorts: [{ proto: 6, port: 8080 }] });
    const port = [...w.neutron.ports.values()].find((p) => p.deviceId === eid)!;
    const sg = [...w.neutron.securityGroups.values()].find((g) => g.name === `${port.id}-exposed_ports`);
    assert.ok(sg !== undefined && port.securityGroups.includes(sg.id), 'the exposed-ports group is on the pool port');
    await w.service.connectivity.revokeExternalConnectivity({ networkId: w.did, endpointId: eid });
    await w.service.endpoints.deleteEndpoint({ networkId: w.did, endpointId: eid });
    await w.service.addresses.releaseAddress({ poolId: w.poolId, address: addr.split('/')[0]! });
    await w.portPools.idle();
    const back = w.neutron.ports.get(port.id)!;
    assert.ok(!back.securityGroups.includes(sg.id), 'the pool port went back with its own groups');
  });
});
