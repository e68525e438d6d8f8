/**
 * The seed flow of spec §2.5, asserting the resulting Neutron state after every step, and the
 * two Docker orders of network removal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OVS_VIF_DETAILS } from '../fakes/fake-neutron.js';
import { GATEWAY, HOST, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, poolData, randomMac, choices } from './core-helpers.js';

describe('seed flow: --subnet 10.0.0.0/16 --ip-range 10.0.0.0/24 --gateway 10.0.0.1', () => {
  test('each step leaves exactly the spec §2.5 state, and nothing at the end', async () => {
    const h = await makeHarness();
    const { neutron, binder, service } = h;
    const did = hexId();
    const eid = hexId();
    const mac = randomMac();

    // RequestPool
    const rp = await service.pools.requestPool({ addressSpace: 'no_address_space', pool: '10.0.0.0/16', subPool: '10.0.0.0/24', neutron: choices({}), v6: false });
    assert.deepEqual(rp, { poolId: rp.poolId, pool: '10.0.0.0/24', data: {} });
    const pool = neutron.pools.get(rp.poolId);
    assert.ok(pool);
    assert.equal(pool.name, 'kuryrPool-10.0.0.0/24');
    assert.deepEqual(pool.prefixes, ['10.0.0.0/24']);
    assert.equal(pool.defaultPrefixlen, 24);
    assert.equal(pool.shared, false);
    // the one deviation from spec §2.5: the host holding the pool (docs/multihost.md)
    assert.deepEqual(pool.tags, ['kuryr.pool.host:vm']);
    assert.equal(neutron.networks.size, 0);

    // RequestAddress gateway: no subnet yet, echoed with the pool prefix
    const gw = await service.addresses.requestAddress({ poolId: rp.poolId, address: '10.0.0.1', ...GATEWAY });
    assert.equal(gw, '10.0.0.1/24');
    assert.equal(neutron.subnets.size, 0);
    assert.equal(neutron.ports.size, 0);

    // CreateNetwork
    await service.networks.createNetwork({ networkId: did, ipv4Data: [poolData('10.0.0.0/24', gw)], ipv6Data: [], neutron: choices({}), enableIpv6: false });
    assert.equal(neutron.networks.size, 1);
    const net = [...neutron.networks.values()][0]!;
    assert.equal(net.name, `kuryr-net-${did.slice(0, 8)}`);
    assert.deepEqual(net.tags, [`kuryr.net.uuid.lh:${did.slice(0, 32)}`, `kuryr.net.uuid.uh:${did.slice(32)}`]);
    assert.equal(net.shared, false);
    assert.equal(net.adminStateUp, true);
    assert.equal(neutron.subnets.size, 1);
    const subnet = [...neutron.subnets.values()][0]!;
    assert.equal(subnet.name, 'kuryr-subnet-10.0.0.0/24');
    assert.equal(subnet.cidr, '10.0.0.0/24');
    assert.equal(subnet.gatewayIp, '10.0.0.1');
    assert.equal(subnet.subnetpoolId, rp.poolId);
    assert.equal(subnet.enableDhcp, true);
    assert.deepEqual(subnet.tags, [rp.poolId]);
    assert.equal(neutron.userPorts().length, 0);

    // RequestAddress for the container (with Docker's MAC)
    const addr = await service.addresses.requestAddress({ poolId: rp.poolId, address: '', ...macOption(mac) });
    assert.match(addr, /^10\.0\.0\.\d+\/24$/);
    let ports = neutron.userPorts();
    assert.equal(ports.length, 1);
    let port = ports[0]!;
    assert.equal(port.name, 'kuryr-unbound-port');
    assert.equal(port.networkId, net.id);
    assert.deepEqual(port.fixedIps, [{ subnetId: subnet.id, ipAddress: ipOf(addr) }]);
    assert.notEqual(port.macAddress, mac);
    assert.equal(port.status, 'DOWN');
    assert.deepEqual(port.tags, ['compute:kuryr']);
    assert.equal(port.deviceOwner, '');
    assert.equal(port.deviceId, '');
    assert.equal(port.hostId, '');

    // CreateEndpoint
    const ce = await service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: mac });
    assert.deepEqual(ce, {});
    ports = neutron.userPorts();
    assert.equal(ports.length, 1);
    port = ports[0]!;
    assert.equal(port.name, 'kuryr-unbound-port');
    assert.equal(port.hostId, HOST);
    assert.equal(port.deviceOwner, 'compute:kuryr');
    assert.equal(port.deviceId, eid);
    assert.equal(port.macAddress, mac);
    assert.equal(port.status, 'ACTIVE');
    assert.equal(port.vifType, 'ovs');
    assert.deepEqual(port.vifDetails, OVS_VIF_DETAILS);
    assert.deepEqual([...port.tags].sort(), ['compute:kuryr', `kuryr.net.uuid.lh:${eid.slice(0, 32)}`, `kuryr.net.uuid.uh:${eid.slice(32)}`].sort());
    const vif = binder.plugged.get(port.id);
    assert.ok(vif);
    assert.equal(vif.hostIfName, `tap${port.id.slice(0, 11)}`);
    assert.equal(vif.containerIfName, `t_c${port.id.slice(0, 11)}`);
    assert.equal(vif.macAddress, mac);
    assert.equal(vif.mtu, 1450);
    assert.equal(vif.deviceId, eid);
    assert.deepEqual(vif.addresses, [{ address: ipOf(addr), prefixLength: 24, family: 4 }]);
    assert.equal(binder.targets.get(port.id), null);

    // Join / Leave: no change
    const before = JSON.stringify([...neutron.ports.values()]);
    const j = await service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/0123456789ab' });
    assert.deepEqual(j, { srcName: `t_c${port.id.slice(0, 11)}`, dstPrefix: 'eth', gateway: '10.0.0.1', staticRoutes: [], disableGatewayService: true });
    assert.deepEqual(await service.sandboxes.endpointOperInfo({ networkId: did, endpointId: eid }), { status: 'ACTIVE' });
    await service.sandboxes.leave({ networkId: did, endpointId: eid });
    assert.equal(JSON.stringify([...neutron.ports.values()]), before);

    // DeleteEndpoint: unplugged, EID tags gone, port still compute:kuryr
    await service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    assert.equal(binder.plugged.size, 0);
    port = neutron.ports.get(port.id)!;
    assert.ok(port);
    assert.deepEqual(port.tags, ['compute:kuryr']);

    // ReleaseAddress: port deleted
    await service.addresses.releaseAddress({ poolId: rp.poolId, address: ipOf(addr) });
    assert.equal(neutron.userPorts().length, 0);

    // ReleaseAddress(gw) → ReleasePool → DeleteNetwork
    await service.addresses.releaseAddress({ poolId: rp.poolId, address: '10.0.0.1' });
    assert.equal(neutron.subnets.size, 1);
    await service.pools.releasePool(rp.poolId);
    assert.equal(neutron.pools.size, 0);
    assert.equal(neutron.subnets.size, 0);
    await service.networks.deleteNetwork(did);
    assert.equal(neutron.networks.size, 0);
    assert.equal(neutron.ports.size, 0);
    assert.ok(neutron.isEmptyExcept());
  });

  test('older Docker order: DeleteNetwork, then ReleaseAddress(gw) and ReleasePool', async () => {
    const h = await makeHarness();
    const { neutron, service } = h;
    const did = hexId();
    const eid = hexId();
    const rp = await service.pools.requestPool({ addressSpace: 'x', pool: '10.0.0.0/16', subPool: '10.0.0.0/24', neutron: choices({}), v6: false });
    const gw = await service.addresses.requestAddress({ poolId: rp.poolId, address: '10.0.0.1', ...GATEWAY });
    await service.networks.createNetwork({ networkId: did, ipv4Data: [poolData(rp.pool, gw)], ipv6Data: [], neutron: choices({}), enableIpv6: false });
    const addr = await service.addresses.requestAddress({ poolId: rp.poolId, address: '', ...macOption(randomMac()) });
    await service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: randomMac() });
    await service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    await service.addresses.releaseAddress({ poolId: rp.poolId, address: ipOf(addr) });

    await service.networks.deleteNetwork(did);
    assert.equal(neutron.networks.size, 0);
    assert.equal(neutron.subnets.size, 0);
    assert.equal(neutron.pools.size, 1);
    await service.addresses.releaseAddress({ poolId: rp.poolId, address: '10.0.0.1' });
    await service.pools.releasePool(rp.poolId);
    assert.ok(neutron.isEmptyExcept());
    // Replays of every delete are successes.
    await service.pools.releasePool(rp.poolId);
    await service.addresses.releaseAddress({ poolId: rp.poolId, address: '10.0.0.1' });
    await service.networks.deleteNetwork(did);
    await service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
  });

  test('works with DHCP on: the DHCP port holds an address, containers get others, removal still complete', async () => {
    const h = await makeHarness();
    const did = hexId();
    const { poolId } = await dockerNetworkCreate(h, { did, subnet: '10.1.0.0/24', gateway: '10.1.0.1' });
    const dhcp = [...h.neutron.ports.values()].find((p) => p.deviceOwner === 'network:dhcp');
    assert.ok(dhcp);
    const addrs = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const a = await h.service.addresses.requestAddress({ poolId, address: '', ...macOption(randomMac()) });
      addrs.add(ipOf(a));
    }
    assert.equal(addrs.size, 3);
    assert.ok(!addrs.has(dhcp.fixedIps[0]!.ipAddress));
    for (const a of addrs) await h.service.addresses.releaseAddress({ poolId, address: a });
    await h.service.addresses.releaseAddress({ poolId, address: '10.1.0.1' });
    await h.service.pools.releasePool(poolId);
    await h.service.networks.deleteNetwork(did);
    assert.ok(h.neutron.isEmptyExcept());
    assert.equal(h.neutron.ports.size, 0);
  });
});
