/**
 * Pod ADD/DEL/GC in nested mode: the pod port is unbound and not awaited, the VM port admits it
 * (pair or subport) before the device is made, and DEL/GC take it back; the CNI result has no host end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { AddressPairAttachment } from '../../src/core/nested/nested-vm.js';
import { TrunkAttachment, VmTrunk } from '../../src/core/nested/trunk.js';
import { encodeResult } from '../../src/northbound/cni/wire.js';
import { addReq, podWorld } from './cni-helpers.js';

const VM_MAC = 'fa:16:3e:aa:00:01';

/** A pod world whose node is a VM (port with VM_MAC) in a macvlan or ipvlan nested mode; `vmPortId()` once built. */
async function pairWorld(mode: 'macvlan' | 'ipvlan') {
  let vmPortId = '';
  const w = await podWorld({
    activation: 'never',
    nested: async (neutron, net) => {
      const vmPort = await neutron.createPort({ networkId: net.id, macAddress: VM_MAC, deviceOwner: 'compute:nova' });
      vmPortId = vmPort.id;
      return new AddressPairAttachment(neutron, vmPort, { mode, revUpdateAttempts: 3 }, silentLogger());
    },
  });
  return { ...w, vmPortId };
}

test('nested macvlan ADD: unbound port, pair on the VM port, device in the pod netns; DEL and GC take it back', async () => {
  const { vmPortId, ...w } = await pairWorld('macvlan');
  const req = addReq();
  const a = await w.service.add(req);
  const port = await w.neutron.getPort(a.portId);
  assert.equal(port.hostId, '', 'never bound (and never ACTIVE: ADD did not wait for it)');
  assert.deepEqual((await w.neutron.getPort(vmPortId)).allowedAddressPairs, [{ ipAddress: port.fixedIps[0]!.ipAddress, macAddress: port.macAddress }]);
  assert.deepEqual(w.binder.targets.get(a.portId), { netnsPath: req.netns, ifName: 'eth0' });
  const result = encodeResult(a, '1.1.0') as { interfaces: Array<{ name: string }>; ips: Array<{ interface: number }> };
  assert.deepEqual(result.interfaces.map((i) => i.name), ['eth0'], 'no host end in the result');
  assert.equal(result.ips[0]!.interface, 0);
  await w.service.del(req);
  assert.deepEqual((await w.neutron.getPort(vmPortId)).allowedAddressPairs, []);
  assert.equal(w.binder.plugged.size, 0);
  const b = await w.service.add(addReq());
  const report = await w.service.gc('kuryr', []);
  assert.deepEqual(report.removed, [b.portId]);
  assert.deepEqual((await w.neutron.getPort(vmPortId)).allowedAddressPairs, []);
});

test('nested VLAN ADD: subport with a VLAN id for the device; a failed plug takes the subport and the port back', async () => {
  let trunkId = '';
  const w = await podWorld({
    nested: async (neutron, net) => {
      const vmPort = await neutron.createPort({ networkId: net.id, macAddress: VM_MAC, deviceOwner: 'compute:nova' });
      trunkId = (await neutron.createTrunk({ portId: vmPort.id })).id;
      return new TrunkAttachment(new VmTrunk(neutron, silentLogger()), vmPort, trunkId);
    },
  });
  const a = await w.service.add(addReq());
  const [sub] = w.neutron.trunks.get(trunkId)!.subPorts;
  assert.equal(sub?.portId, a.portId);
  assert.equal(w.binder.plugged.get(a.portId)!.vlanId, sub?.segmentationId);
  w.binder.failPlug = () => true;
  const before = w.neutron.userPorts().length;
  await assert.rejects(w.service.add(addReq()));
  assert.equal(w.neutron.trunks.get(trunkId)!.subPorts.length, 1);
  assert.equal(w.neutron.userPorts().length, before);
});

test('nested ipvlan ADD: the pair carries the VM NIC\'s MAC, and so do the CNI result and CHECK', async () => {
  const { vmPortId, ...w } = await pairWorld('ipvlan');
  const req = addReq();
  const a = await w.service.add(req);
  const port = await w.neutron.getPort(a.portId);
  assert.notEqual(port.macAddress, VM_MAC);
  assert.deepEqual((await w.neutron.getPort(vmPortId)).allowedAddressPairs, [{ ipAddress: port.fixedIps[0]!.ipAddress, macAddress: VM_MAC }]);
  assert.equal(a.mac, VM_MAC, 'the pod interface shows the VM NIC\'s MAC');
  const result = encodeResult(a, '1.1.0') as { interfaces: Array<{ mac: string }> };
  assert.equal(result.interfaces[0]!.mac, VM_MAC);
  // What the kernel shows for an ipvlan device: the lower device's MAC.
  const key = `${req.netns}/eth0`;
  const link = (await w.inspector.inspect(req.netns, 'eth0'))!;
  w.inspector.overrides.set(key, { ...link, mac: VM_MAC });
  await w.service.check(req);
  w.inspector.overrides.set(key, { ...link, mac: port.macAddress });
  await assert.rejects(w.service.check(req), (e: Error) => e instanceof ConflictError && /expected fa:16:3e:aa:00:01 \(the VM NIC\)/.test(e.message));
});

test('nested CHECK: the pod port is never bound, so DOWN is what it must be; the interface must still match', async () => {
  const w = await pairWorld('macvlan');
  const req = addReq();
  const a = await w.service.add(req);
  assert.equal((await w.neutron.getPort(a.portId)).status, 'DOWN');
  await w.service.check(req);
  const link = (await w.inspector.inspect(req.netns, 'eth0'))!;
  w.inspector.overrides.set(`${req.netns}/eth0`, { ...link, addresses: [] });
  await assert.rejects(w.service.check(req), (e: Error) => e instanceof ConflictError && /lacks address/.test(e.message));
});
