import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, NeutronError, NotFoundError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { applyPairChanges } from '../../src/core/nested/address-pairs.js';
import { findVmPort } from '../../src/core/nested/attachment.js';
import { AddressPairAttachment } from '../../src/core/nested/nested-vm.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';

const VM_MAC = 'fa:16:3e:00:00:01';

async function vmSetup(mode: 'macvlan' | 'ipvlan' = 'macvlan', attempts = 3) {
  const neutron = new FakeNeutron();
  const net = await neutron.createNetwork({ name: 'tenant' });
  const subnet = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.9.0.0/24' });
  const vmPort = await neutron.createPort({ networkId: net.id, macAddress: VM_MAC, deviceOwner: 'compute:nova' });
  const vm = new AddressPairAttachment(neutron, vmPort, { mode, revUpdateAttempts: attempts }, silentLogger());
  const container = (ip: string) => neutron.createPort({ networkId: net.id, fixedIps: [{ subnetId: subnet.id, ipAddress: ip }] });
  return { neutron, vm, vmPort, container };
}

test('the VM port is found by the NIC MAC; an unknown MAC names link_iface', async () => {
  const { neutron, vmPort } = await vmSetup();
  assert.equal((await findVmPort(neutron, { linkInfo: async () => ({ name: 'eth0', macAddress: VM_MAC }) })).id, vmPort.id);
  const lost = findVmPort(neutron, { linkInfo: async () => ({ name: 'ens9', macAddress: 'fa:16:3e:99:99:99' }) });
  await assert.rejects(lost, (e: unknown) => e instanceof NotFoundError && /interface name ens9/.test(e.message));
});

test('ten containers at once: every pair lands, in few writes; removal leaves exactly the others', async () => {
  const { neutron, vm, vmPort, container } = await vmSetup();
  const ports = await Promise.all(Array.from({ length: 10 }, (_, i) => container(`10.9.0.${20 + i}`)));
  neutron.calls.clear();
  await Promise.all(ports.map((p, i) => vm.attach(p, `02:42:0a:09:00:${(20 + i).toString(16)}`)));
  const pairs = (await neutron.getPort(vmPort.id)).allowedAddressPairs;
  assert.deepEqual(pairs.map((p) => p.ipAddress).sort(), ports.map((p) => p.fixedIps[0]!.ipAddress).sort());
  assert.ok((neutron.calls.get('updatePort') ?? 0) <= 3, `queued changes share writes (${neutron.calls.get('updatePort')} PUTs)`);
  await Promise.all(ports.slice(0, 7).map((p) => vm.detach(p)));
  assert.deepEqual((await neutron.getPort(vmPort.id)).allowedAddressPairs.map((p) => p.ipAddress).sort(), ['10.9.0.27', '10.9.0.28', '10.9.0.29']);
});

test('two daemons on one VM port: If-Match makes the loser re-read, nobody loses a pair', async () => {
  const { neutron, vmPort, container } = await vmSetup();
  const a = new AddressPairAttachment(neutron, vmPort, { mode: 'macvlan', revUpdateAttempts: 10 }, silentLogger());
  const b = new AddressPairAttachment(neutron, vmPort, { mode: 'macvlan', revUpdateAttempts: 10 }, silentLogger());
  const ports = await Promise.all(Array.from({ length: 8 }, (_, i) => container(`10.9.0.${40 + i}`)));
  let conflicts = 0;
  neutron.failWhen((m, args) => {
    const opts = args[2] as { ifRevision?: number } | undefined;
    if (m === 'updatePort' && opts?.ifRevision !== undefined && opts.ifRevision !== neutron.ports.get(vmPort.id)!.revisionNumber) conflicts++;
    return undefined;
  });
  await Promise.all(ports.map((p, i) => (i % 2 === 0 ? a : b).attach(p, `02:42:0a:09:00:${(40 + i).toString(16)}`)));
  assert.equal((await neutron.getPort(vmPort.id)).allowedAddressPairs.length, 8);
  assert.ok(conflicts > 0, 'the two writers did collide');
});

test('a stale PUT that Neutron let through after ours (its If-Match is not atomic) is noticed by the read after the write and undone', async () => {
  const { neutron, vm, vmPort, container } = await vmSetup();
  const [q, r] = await Promise.all([container('10.9.0.70'), container('10.9.0.71')]);
  await vm.attach(q, '02:42:0a:09:00:46');
  await vm.attach(r, '02:42:0a:09:00:47');
  // Another writer read the port now and its PUT lands right after ours, with both pairs in it.
  const stale = (await neutron.getPort(vmPort.id)).allowedAddressPairs;
  const putsBefore = neutron.calls.get('updatePort') ?? 0;
  let clobbered = false;
  neutron.failWhen((m) => {
    if (m === 'getPort' && !clobbered && (neutron.calls.get('updatePort') ?? 0) > putsBefore) {
      clobbered = true;
      const port = neutron.ports.get(vmPort.id)!;
      port.allowedAddressPairs = stale;
      port.revisionNumber++;
    }
    return undefined;
  });
  await vm.detach(q);
  assert.ok(clobbered);
  assert.deepEqual((await neutron.getPort(vmPort.id)).allowedAddressPairs.map((p) => p.ipAddress), ['10.9.0.71']);
  assert.equal(neutron.calls.get('updatePort'), putsBefore + 2, 'removed again');
});

test('overwritten more often than rev_update_attempts: a ConflictError naming the option', async () => {
  const { neutron, vm, vmPort, container } = await vmSetup('macvlan', 2);
  const p = await container('10.9.0.72');
  // Every write is undone at once by another writer's stale list.
  neutron.failWhen((m) => {
    if (m === 'getPort' && (neutron.calls.get('updatePort') ?? 0) > 0) neutron.ports.get(vmPort.id)!.allowedAddressPairs = [];
    return undefined;
  });
  await assert.rejects(vm.attach(p, '02:42:0a:09:00:48'), (e: unknown) => e instanceof ConflictError && /overwritten by other writers 2 times .*rev_update_attempts/.test(e.message));
  assert.equal(neutron.calls.get('updatePort'), 2);
});

test('412 more often than rev_update_attempts is reported, not swallowed', async () => {
  const { neutron, vm, container } = await vmSetup('macvlan', 2);
  const p = await container('10.9.0.60');
  neutron.failWhen((m) => (m === 'updatePort' ? new NeutronError('412', { status: 412, type: 'RevisionNumberConstraintFailed' }) : undefined));
  await assert.rejects(vm.attach(p, '02:42:0a:09:00:3c'), (e: unknown) => e instanceof NeutronError && e.isPreconditionFailed);
  assert.equal(neutron.calls.get('updatePort'), 2);
});

test('ipvlan pairs carry the VM NIC MAC; re-adding an IP with a new MAC replaces its pair; /32 matches the bare IP', async () => {
  const { vm } = await vmSetup('ipvlan');
  assert.deepEqual(vm.pairsOf({ fixedIps: [{ subnetId: 's', ipAddress: '10.9.0.5' }] }, '02:00:00:00:00:05'), [{ ipAddress: '10.9.0.5', macAddress: VM_MAC }]);
  const cur = [{ ipAddress: '10.9.0.5/32', macAddress: '02:00:00:00:00:05' }, { ipAddress: '10.9.0.6', macAddress: '02:00:00:00:00:06' }];
  assert.deepEqual(applyPairChanges(cur, [{ ipAddress: '10.9.0.5', macAddress: '02:00:00:00:00:55' }], []), [
    { ipAddress: '10.9.0.6', macAddress: '02:00:00:00:00:06' },
    { ipAddress: '10.9.0.5', macAddress: '02:00:00:00:00:55' },
  ]);
  assert.deepEqual(applyPairChanges(cur, [], [{ ipAddress: '10.9.0.5' }]), [{ ipAddress: '10.9.0.6', macAddress: '02:00:00:00:00:06' }]);
});

test('more pairs than Neutron allows: the changes that fit land, only the others fail with Neutron\'s error', async () => {
  const { neutron, vm, vmPort, container } = await vmSetup();
  const ports = await Promise.all(Array.from({ length: 12 }, (_, i) => container(`10.9.0.${80 + i}`)));
  // Neutron's max_allowed_address_pair (10 by default), applied to the whole list of a PUT.
  neutron.failWhen((m, args) => {
    const body = args[1] as { allowedAddressPairs?: unknown[] };
    return m === 'updatePort' && (body.allowedAddressPairs?.length ?? 0) > 10 ? new NeutronError('400 AllowedAddressPairExhausted', { status: 400, type: 'AllowedAddressPairExhausted' }) : undefined;
  });
  const results = await Promise.allSettled(ports.map((p, i) => vm.attach(p, `02:42:0a:09:00:${(80 + i).toString(16)}`)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 10);
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as NeutronError).type, 'AllowedAddressPairExhausted');
  assert.equal((await neutron.getPort(vmPort.id)).allowedAddressPairs.length, 10);
});
