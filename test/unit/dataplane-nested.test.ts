import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BindingError, ConfigError } from '../../src/common/errors.js';
import type { Vif } from '../../src/core/shared/binder.js';
import { NestedBinder } from '../../src/southbound/dataplane/nested.js';
import { lines, recorder, type Call } from '../fakes/exec-recorder.js';

const PORT = '3f2a9c1e-7b44-4c1d-9f0a-1234567890ab';
const TC = 't_c3f2a9c1e-7b';
const NS = '/var/run/netns/cni-77';
const LINKS = JSON.stringify([
  { ifname: 'lo', address: '00:00:00:00:00:00', mtu: 65536 },
  { ifname: 'eth0', address: 'FA:16:3E:01:02:03', mtu: 1450 },
]);

function vif(over: Partial<Vif> = {}): Vif {
  return {
    portId: PORT,
    networkId: 'net',
    projectId: 'proj',
    deviceId: 'ep-1',
    macAddress: '02:42:0A:00:00:05',
    mtu: 1450,
    vifType: 'unbound',
    vifDetails: {},
    addresses: [{ address: '10.0.0.5', prefixLength: 24, family: 4 }],
    routes: [{ destination: '0.0.0.0/0', nexthop: '10.0.0.1' }],
    hostIfName: 'tap3f2a9c1e-7b',
    containerIfName: TC,
    ...over,
  };
}

/** Answers `ip -json link show` with the VM's links and `ip -json route` with a default route via eth0. */
const vmAnswers = (c: Call) =>
  c.argv.join(' ').startsWith('ip -json -d link show') ? { stdout: LINKS } : c.argv.includes('route') ? { stdout: '[{"dst":"default","dev":"eth0"}]' } : undefined;

test('macvlan for Docker: one batch creates t_c… in bridge mode on link_iface with the MAC, alias, addresses, up', async () => {
  const { exec, calls } = recorder(vmAnswers);
  const binder = new NestedBinder({ mode: 'macvlan', linkIface: 'eth0', exec });
  await binder.plug(vif(), null);
  const batch = calls.filter((c) => c.argv.join(' ') === 'ip -batch -');
  assert.equal(batch.length, 1);
  assert.deepEqual(lines(batch[0]), [
    `link add link eth0 name ${TC} address 02:42:0a:00:00:05 mtu 1450 type macvlan mode bridge`,
    `link set dev ${TC} alias kuryr:${PORT}:ep-1`,
    `addr add 10.0.0.5/24 dev ${TC}`,
    `link set dev ${TC} up`,
  ]);
  assert.deepEqual(await binder.linkInfo(), { name: 'eth0', macAddress: 'fa:16:3e:01:02:03', mtu: 1450 });
});

test('ipvlan for CNI: created in the pod netns under its final name, no MAC; configured there with routes', async () => {
  const { exec, calls } = recorder(vmAnswers);
  await new NestedBinder({ mode: 'ipvlan', linkIface: '', exec }).plug(vif(), { netnsPath: NS, ifName: 'eth0' });
  const batches = calls.filter((c) => c.argv.includes('-batch'));
  assert.deepEqual(lines(batches[0]), [`link add link eth0 name eth0 netns ${NS} mtu 1450 type ipvlan mode l2`]);
  assert.deepEqual(batches[1]!.argv, ['nsenter', `--net=${NS}`, 'ip', '-batch', '-']);
  assert.deepEqual(lines(batches[1]), [
    `link set dev eth0 alias kuryr:${PORT}:ep-1`,
    'link set dev lo up',
    'addr add 10.0.0.5/24 dev eth0',
    'link set dev eth0 up',
    'route replace 0.0.0.0/0 via 10.0.0.1 dev eth0',
  ]);
});

test('a network MTU above the VM NIC MTU is refused before any device is made, naming both', async () => {
  const { exec, calls } = recorder(vmAnswers);
  await assert.rejects(new NestedBinder({ mode: 'macvlan', linkIface: 'eth0', exec }).plug(vif({ mtu: 1500 }), null), (e: unknown) => {
    return e instanceof BindingError && /MTU 1500 .* MTU 1450 of link_iface eth0/.test(e.message);
  });
  assert.equal(calls.filter((c) => c.argv.includes('-batch')).length, 0);
});

test('a missing link_iface is a config error naming it', async () => {
  const { exec } = recorder(vmAnswers);
  await assert.rejects(new NestedBinder({ mode: 'macvlan', linkIface: 'ens9', exec }).linkInfo(), (e: unknown) => e instanceof ConfigError && /link_iface ens9/.test(e.message));
});

test('a leftover device of the same name is removed and the plug retried once; a second failure rolls back', async () => {
  let creates = 0;
  const { exec, calls } = recorder((c) => {
    if (c.input?.startsWith('link add')) {
      creates++;
      if (creates === 1) throw new BindingError('command failed (exit 2): ip -batch -: RTNETLINK answers: File exists');
    }
    return vmAnswers(c);
  });
  await new NestedBinder({ mode: 'macvlan', linkIface: 'eth0', exec }).plug(vif(), null);
  assert.equal(creates, 2);
  assert.ok(calls.some((c) => c.argv.includes('-force') && c.input === `link del dev ${TC}\n`));
});

test('unplug: Docker deletes t_c… in the VM netns; CNI deletes the device in the pod netns, a gone netns is success', async () => {
  const { exec, calls } = recorder((c) => (c.argv[0] === 'nsenter' ? { stderr: 'Cannot find device "eth0"' } : undefined));
  const binder = new NestedBinder({ mode: 'macvlan', linkIface: 'eth0', exec });
  await binder.unplug(vif(), null);
  assert.deepEqual(calls[0]!.argv, ['ip', '-force', '-batch', '-']);
  assert.equal(calls[0]!.input, `link del dev ${TC}\n`);
  await binder.unplug(vif(), { netnsPath: NS, ifName: 'eth0' });
  assert.deepEqual(calls[1]!.argv, ['nsenter', `--net=${NS}`, 'ip', '-force', '-batch', '-']);
  const failing = recorder((c) => (c.argv[0] === 'nsenter' ? { stderr: 'RTNETLINK answers: Operation not permitted' } : undefined));
  await assert.rejects(new NestedBinder({ mode: 'macvlan', linkIface: 'eth0', exec: failing.exec }).unplug(vif(), { netnsPath: NS, ifName: 'eth0' }), BindingError);
});

test('listPlugged: only macvlan devices carrying our alias', async () => {
  const links = [
    { ifname: TC, ifalias: `kuryr:${PORT}:ep-1` },
    { ifname: 'mv-other', ifalias: 'someone else' },
  ];
  const { exec, calls } = recorder(() => ({ stdout: JSON.stringify(links) }));
  assert.deepEqual(await new NestedBinder({ mode: 'macvlan', linkIface: 'eth0', exec }).listPlugged(), [{ portId: PORT, hostIfName: TC, deviceId: 'ep-1', kind: 'link' }]);
  assert.deepEqual(calls[0]!.argv, ['ip', '-json', '-d', 'link', 'show', 'type', 'macvlan']);
});

test('vlan: a VLAN device with the subport VLAN id and the port MAC; no VLAN id is a clear error', async () => {
  const { exec, calls } = recorder(vmAnswers);
  const binder = new NestedBinder({ mode: 'vlan', linkIface: 'eth0', exec });
  await binder.plug(vif({ vlanId: 101 }), null);
  assert.equal(lines(calls.find((c) => c.argv.join(' ') === 'ip -batch -'))[0], `link add link eth0 name ${TC} address 02:42:0a:00:00:05 mtu 1450 type vlan id 101`);
  await assert.rejects(binder.plug(vif(), null), (e: unknown) => e instanceof BindingError && /no VLAN id/.test(e.message));
});

