/**
 * Docker use cases in nested mode: ports made for IPAM only (never bound, MAC untouched), the VM
 * port admits the device (address pair or trunk subport), everything undone on failure and removal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { AddressPairAttachment } from '../../src/core/nested/nested-vm.js';
import { TrunkAttachment, VmTrunk } from '../../src/core/nested/trunk.js';
import { FakeBinder } from '../fakes/fake-binder.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { dockerNetworkCreate, hexId, ipOf, macOption, makeHarness } from './core-helpers.js';

const VM_MAC = 'fa:16:3e:0a:0b:0c';
const DOCKER_MAC = '02:42:0a:46:00:07';

async function vm() {
  const neutron = new FakeNeutron();
  const net = await neutron.createNetwork({ name: 'tenant' });
  await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.70.0.0/24', gatewayIp: '10.70.0.1' });
  const vmPort = await neutron.createPort({ networkId: net.id, macAddress: VM_MAC, deviceOwner: 'compute:nova', hostId: 'compute-1' });
  return { neutron, net, vmPort };
}

async function endpoint(h: Awaited<ReturnType<typeof makeHarness>>) {
  const did = hexId();
  const eid = hexId();
  const r = await dockerNetworkCreate(h, { did, subnet: '10.70.0.0/24', gateway: '10.70.0.1' });
  const address = await h.service.addresses.requestAddress({ poolId: r.poolId, address: '', ...macOption(DOCKER_MAC) });
  return { did, eid, r, address };
}

test('macvlan: the VM network is the default; the port stays unbound with its MAC; the pair carries Docker\'s MAC; removal takes it back', async () => {
  const { neutron, net, vmPort } = await vm();
  const nested = new AddressPairAttachment(neutron, vmPort, { mode: 'macvlan', revUpdateAttempts: 3 }, silentLogger());
  const h = await makeHarness({ neutron, nested });
  const { did, eid, r, address } = await endpoint(h);
  assert.equal(neutron.networks.size, 1, 'no network made: the VM port\'s network is used');
  const res = await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address, macAddress: DOCKER_MAC });
  assert.deepEqual(res, {});
  const port = h.neutron.userPorts().find((p) => p.fixedIps[0]!.ipAddress === ipOf(address))!;
  assert.equal(port.networkId, net.id);
  assert.equal(port.hostId, '', 'never bound');
  assert.notEqual(port.macAddress, DOCKER_MAC, 'the tenant may not change a port MAC: it is left alone');
  assert.equal(h.binder.plugged.get(port.id)!.macAddress, DOCKER_MAC);
  assert.deepEqual((await neutron.getPort(vmPort.id)).allowedAddressPairs, [{ ipAddress: ipOf(address), macAddress: DOCKER_MAC }]);
  await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
  assert.deepEqual((await neutron.getPort(vmPort.id)).allowedAddressPairs, []);
  assert.equal(h.binder.plugged.size, 0);
  await h.service.addresses.releaseAddress({ poolId: r.poolId, address: ipOf(address) });
  await h.service.networks.deleteNetwork(did);
  assert.equal(neutron.networks.size, 1, 'the VM network is not deleted');
});

test('a failed plug takes the pair back', async () => {
  const { neutron, vmPort } = await vm();
  const binder = new FakeBinder();
  binder.failPlug = () => true;
  const nested = new AddressPairAttachment(neutron, vmPort, { mode: 'macvlan', revUpdateAttempts: 3 }, silentLogger());
  const h = await makeHarness({ neutron, nested, binder });
  const { did, eid, address } = await endpoint(h);
  await assert.rejects(h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address, macAddress: DOCKER_MAC }));
  assert.deepEqual((await neutron.getPort(vmPort.id)).allowedAddressPairs, []);
});

test('vlan: the port becomes a subport, the device gets its VLAN id; removal drops the subport', async () => {
  const { neutron, vmPort } = await vm();
  const trunk = await neutron.createTrunk({ portId: vmPort.id });
  const nested = new TrunkAttachment(new VmTrunk(neutron, silentLogger()), vmPort, trunk.id);
  const h = await makeHarness({ neutron, nested });
  const { did, eid, address } = await endpoint(h);
  await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address, macAddress: DOCKER_MAC });
  const [sub] = neutron.trunks.get(trunk.id)!.subPorts;
  assert.ok(sub);
  assert.equal(h.binder.plugged.get(sub.portId)!.vlanId, sub.segmentationId);
  await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
  assert.deepEqual(neutron.trunks.get(trunk.id)!.subPorts, []);
});
