import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, NotFoundError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { pickFreeVlan, VmTrunk } from '../../src/core/nested/trunk.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';

async function trunkSetup() {
  const neutron = new FakeNeutron();
  const net = await neutron.createNetwork({ name: 'tenant' });
  await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.8.0.0/24' });
  const parent = await neutron.createPort({ networkId: net.id });
  const trunk = await neutron.createTrunk({ portId: parent.id });
  const ports = await Promise.all(Array.from({ length: 12 }, () => neutron.createPort({ networkId: net.id })));
  return { neutron, parent, trunk, ports };
}

test('pickFreeVlan: skips used ids, stays in 1..4094, fails when all are taken', () => {
  assert.equal(pickFreeVlan(new Set([1, 2, 3]), () => 0), 4);
  assert.equal(pickFreeVlan(new Set([4094]), () => 0.99999999), 4093);
  const all = new Set(Array.from({ length: 4094 }, (_, i) => i + 1));
  assert.throws(() => pickFreeVlan(all), ConflictError);
});

test('trunkOf finds the trunk by parent port; a VM port without trunk is a clear error', async () => {
  const { neutron, parent, trunk, ports } = await trunkSetup();
  const t = new VmTrunk(neutron, silentLogger());
  assert.equal((await t.trunkOf(parent.id)).id, trunk.id);
  await assert.rejects(t.trunkOf(ports[0]!.id), (e: unknown) => e instanceof NotFoundError && /not the parent port of a Neutron trunk/.test(e.message));
});

test('concurrent attaches get distinct VLAN ids even when the random pick collides; re-attach keeps the id; detach is idempotent', async () => {
  const { neutron, trunk, ports } = await trunkSetup();
  const t = new VmTrunk(neutron, silentLogger(), () => 0); // always the lowest free id: collisions if not serialized
  const vlans = await Promise.all(ports.map((p) => t.attach(trunk.id, p.id)));
  assert.equal(new Set(vlans).size, ports.length);
  assert.equal(await t.attach(trunk.id, ports[3]!.id), vlans[3]);
  await Promise.all(ports.map((p) => t.detach(trunk.id, p.id)));
  await t.detach(trunk.id, ports[0]!.id);
  assert.deepEqual((await neutron.listTrunks({ id: trunk.id }))[0]!.subPorts, []);
});

test('two daemons on one trunk: Neutron refuses the duplicate id (409) and the loser picks again', async () => {
  const { neutron, trunk, ports } = await trunkSetup();
  const a = new VmTrunk(neutron, silentLogger(), () => 0);
  const b = new VmTrunk(neutron, silentLogger(), () => 0);
  const vlans = await Promise.all(ports.slice(0, 6).map((p, i) => (i % 2 ? a : b).attach(trunk.id, p.id)));
  assert.equal(new Set(vlans).size, 6);
  assert.ok((neutron.calls.get('addSubports') ?? 0) > 6, 'some adds were refused and retried');
});
