import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BindingError } from '../../src/common/errors.js';
import type { Vif } from '../../src/core/shared/binder.js';
import { VethBinder } from '../../src/southbound/dataplane/binder.js';
import { recorder, lines, type Call } from '../fakes/exec-recorder.js';
import { containerIfName, hostIfName } from '../../src/core/shared/device-names.js';

const PORT = '3f2a9c1e-7b44-4c1d-9f0a-1234567890ab';
const NET = '529e1043-f2aa-4bcd-8000-000000000000';
const TAP = 'tap3f2a9c1e-7b';
const TC = 't_c3f2a9c1e-7b';
const NS = '/var/run/netns/cni-1234';

const OVS_FIND_EMPTY = JSON.stringify({ data: [], headings: ['name', 'external_ids'] });
function ovsFind(rows: Array<[string, Record<string, string>]>): string {
  return JSON.stringify({ data: rows.map(([n, ids]) => [n, ['map', Object.entries(ids)]]), headings: ['name', 'external_ids'] });
}

function vif(over: Partial<Vif> = {}): Vif {
  return {
    portId: PORT,
    networkId: NET,
    projectId: 'proj',
    deviceId: 'ep-1',
    macAddress: 'FA:16:3E:AA:BB:CC',
    mtu: 1450,
    vifType: 'ovs',
    vifDetails: { bridge_name: 'br-int', datapath_type: 'netdev', ovs_hybrid_plug: false },
    addresses: [
      { address: '10.0.0.5', prefixLength: 24, family: 4 },
      { address: 'fd00::5', prefixLength: 64, family: 6 },
    ],
    routes: [{ destination: '0.0.0.0/0', nexthop: '10.0.0.1' }],
    hostIfName: hostIfName(PORT),
    containerIfName: containerIfName(PORT),
    ...over,
  };
}

const find = (calls: Call[], argv0: string, has?: string) =>
  calls.filter((c) => c.argv[0] === argv0 && (has === undefined || c.argv.includes(has)));

test('ovs plug into a CNI netns: one host batch, sysctl, kuryr ovs-vsctl, ethtool and netns batch', async () => {
  const { exec, calls } = recorder();
  await new VethBinder({ exec }).plug(vif(), { netnsPath: NS, ifName: 'eth0' });
  assert.equal(calls.length, 5);
  assert.deepEqual(calls[0]!.argv, ['ip', '-batch', '-']);
  assert.deepEqual(lines(calls[0]), [
    `link add dev ${TAP} mtu 1450 type veth peer name eth0 netns ${NS} address fa:16:3e:aa:bb:cc mtu 1450`,
    `link set dev ${TAP} alias kuryr:${PORT}:ep-1`,
    `link set dev ${TAP} addrgenmode none`,
    `link set dev ${TAP} up`,
  ]);
  assert.deepEqual(find(calls, 'sysctl')[0]!.argv, [
    'sysctl', '-q', '-w', `net.ipv6.conf.${TAP}.accept_ra=0`, `net.ipv6.conf.${TAP}.autoconf=0`,
  ]);
  assert.deepEqual(find(calls, 'ovs-vsctl')[0]!.argv, [
    'ovs-vsctl', '--', '--may-exist', 'add-port', 'br-int', TAP, '--', 'set', 'Interface', TAP,
    'external_ids:attached-mac=fa:16:3e:aa:bb:cc', `external_ids:iface-id=${PORT}`, 'external_ids:vm-uuid=ep-1',
    'external_ids:iface-status=active', 'external_ids:owner=kuryr',
  ]);
  const ns = find(calls, 'nsenter');
  assert.deepEqual(ns[0]!.argv, ['nsenter', `--net=${NS}`, 'ethtool', '-K', 'eth0', 'tx', 'off']);
  assert.deepEqual(ns[1]!.argv, ['nsenter', `--net=${NS}`, 'ip', '-batch', '-']);
  assert.deepEqual(lines(ns[1]), [
    'link set dev lo up',
    'addr add 10.0.0.5/24 dev eth0',
    'addr add fd00::5/64 dev eth0 nodad',
    'link set dev eth0 up',
    'route replace 0.0.0.0/0 via 10.0.0.1 dev eth0',
  ]);
});

test('docker mode (no target): container end configured in the host netns, tx off there', async () => {
  const { exec, calls } = recorder();
  await new VethBinder({ exec }).plug(vif({ vifDetails: { datapath_type: 'netdev' } }), null);
  assert.deepEqual(lines(calls[0]), [
    `link add dev ${TAP} mtu 1450 type veth peer name ${TC} address fa:16:3e:aa:bb:cc mtu 1450`,
    `link set dev ${TAP} alias kuryr:${PORT}:ep-1`,
    `link set dev ${TAP} addrgenmode none`,
    `link set dev ${TAP} up`,
    `addr add 10.0.0.5/24 dev ${TC}`,
    `addr add fd00::5/64 dev ${TC} nodad`,
    `link set dev ${TC} up`,
  ]);
  assert.deepEqual(find(calls, 'ethtool')[0]!.argv, ['ethtool', '-K', TC, 'tx', 'off']);
  assert.equal(find(calls, 'nsenter').length, 0);
  assert.equal(find(calls, 'ovs-vsctl')[0]!.argv[4], 'br-int', 'default bridge when bridge_name is absent');
});

test('defaultOvsBridge applies when vif_details has no bridge_name; no tx off on a kernel datapath', async () => {
  const { exec, calls } = recorder();
  await new VethBinder({ exec, defaultOvsBridge: 'br-x' }).plug(vif({ vifDetails: { datapath_type: 'system' } }), null);
  assert.equal(find(calls, 'ovs-vsctl')[0]!.argv[4], 'br-x');
  assert.equal(find(calls, 'ethtool').length, 0);
});

test('hybrid plug: qbr/qvb/qvo in the host batch, qvo into OVS with vm-id', async () => {
  const { exec, calls } = recorder();
  await new VethBinder({ exec }).plug(vif({ vifDetails: { bridge_name: 'br-int', ovs_hybrid_plug: true } }), null);
  const l = lines(calls[0]);
  assert.ok(l.includes('link add dev qbr3f2a9c1e-7b type bridge forward_delay 0 stp_state 0'));
  assert.ok(l.includes(`link set dev ${TAP} master qbr3f2a9c1e-7b`));
  assert.ok(l.includes('link add dev qvb3f2a9c1e-7b mtu 1450 type veth peer name qvo3f2a9c1e-7b mtu 1450'));
  assert.ok(l.includes('link set dev qvb3f2a9c1e-7b master qbr3f2a9c1e-7b'));
  assert.ok(l.indexOf(`link add dev ${TAP} mtu 1450 type veth peer name ${TC} address fa:16:3e:aa:bb:cc mtu 1450`) === 0);
  const ovs = find(calls, 'ovs-vsctl')[0]!.argv;
  assert.equal(ovs[5], 'qvo3f2a9c1e-7b');
  assert.ok(ovs.includes('external_ids:vm-id=ep-1'));
  assert.ok(!ovs.some((a) => a.startsWith('external_ids:vm-uuid')));
});

test('bridge plug: enslaves the tap to brq<net[:11]> and brings it up; no OVS', async () => {
  const { exec, calls } = recorder();
  await new VethBinder({ exec }).plug(vif({ vifType: 'bridge', vifDetails: { port_filter: true } }), null);
  assert.equal(find(calls, 'ovs-vsctl').length, 0);
  assert.equal(find(calls, 'ethtool').length, 0);
  assert.deepEqual(lines(calls.at(-1)), [`link set dev ${TAP} master brq529e1043-f2`, 'link set dev brq529e1043-f2 up']);
});

test('bridge plug creates a missing brq bridge (forward delay 0, STP off) and retries', async () => {
  let enslaves = 0;
  const { exec, calls } = recorder((c) => {
    if (c.input?.includes('master brq')) {
      enslaves += 1;
      if (enslaves === 1) throw new BindingError('Cannot find device "brq529e1043-f2"');
    }
    if (c.argv.includes('-json')) return { stdout: '[]' };
    return undefined;
  });
  await new VethBinder({ exec }).plug(vif({ vifType: 'bridge', vifDetails: {} }), null);
  assert.ok(calls.some((c) => c.input === 'link add dev brq529e1043-f2 type bridge forward_delay 0 stp_state 0\n'));
  assert.equal(enslaves, 2);
});

test('tap plug: veth only', async () => {
  const { exec, calls } = recorder();
  await new VethBinder({ exec }).plug(vif({ vifType: 'tap', vifDetails: {} }), null);
  assert.deepEqual(calls.map((c) => c.argv[0]), ['ip', 'sysctl']);
});

for (const vifType of ['unbound', 'binding_failed', 'vhostuser', '']) {
  test(`vif_type ${JSON.stringify(vifType)} is refused before anything is created`, async () => {
    const { exec, calls } = recorder();
    await assert.rejects(new VethBinder({ exec }).plug(vif({ vifType }), null), (err: unknown) => {
      assert.ok(err instanceof BindingError);
      assert.ok(err.message.includes(JSON.stringify(vifType)));
      assert.ok(err.message.includes(PORT));
      return true;
    });
    assert.equal(calls.length, 0);
  });
}

test('a failed OVS plug removes the OVS port and the veth, then rethrows', async () => {
  const { exec, calls } = recorder((c) => {
    if (c.argv.includes('add-port')) throw new BindingError('ovs-vsctl: no bridge named br-int');
    if (c.argv.includes('find')) return { stdout: ovsFind([[TAP, { 'iface-id': PORT }]]) };
    return undefined;
  });
  await assert.rejects(new VethBinder({ exec }).plug(vif(), { netnsPath: NS, ifName: 'eth0' }), /no bridge named/);
  const tail = calls.slice(-3);
  assert.deepEqual(tail[0]!.argv, ['ovs-vsctl', '--format=json', '--columns=name,external_ids', 'find', 'Interface', `external_ids:iface-id=${PORT}`]);
  assert.deepEqual(tail[1]!.argv, ['ovs-vsctl', '--', '--if-exists', 'del-port', TAP]);
  assert.deepEqual(tail[2]!.argv, ['ip', '-force', '-batch', '-']);
  assert.equal(tail[2]!.input, `link del dev ${TAP}\n`);
});

test('existing devices of the same names: removed and recreated once', async () => {
  let creates = 0;
  const { exec, calls } = recorder((c) => {
    if (c.input?.startsWith('link add dev tap')) {
      creates += 1;
      if (creates === 1) throw new BindingError('RTNETLINK answers: File exists');
    }
    if (c.argv.includes('find')) return { stdout: OVS_FIND_EMPTY };
    return undefined;
  });
  await new VethBinder({ exec }).plug(vif(), null);
  assert.equal(creates, 2);
  assert.ok(calls.some((c) => c.input === `link del dev ${TAP}\n`));
});

test('ovs unplug: find by iface-id, del-port, delete veth; nothing found is success', async () => {
  const a = recorder((c) => (c.argv.includes('find') ? { stdout: ovsFind([[TAP, { 'iface-id': PORT }]]) } : undefined));
  await new VethBinder({ exec: a.exec }).unplug(vif(), null);
  assert.deepEqual(a.calls.map((c) => c.argv.slice(0, 5).join(' ')), [
    'ovs-vsctl --format=json --columns=name,external_ids find Interface',
    'ovs-vsctl -- --if-exists del-port tap3f2a9c1e-7b',
    'ip -force -batch -',
  ]);
  const gone = recorder((c) => {
    if (c.argv.includes('find')) return { stdout: OVS_FIND_EMPTY };
    if (c.argv.includes('-force')) return { stderr: `Cannot find device "${TAP}"\nCommand failed -:1\n` };
    if (c.argv.includes('-json')) return { stdout: '[{"ifname":"lo"}]' };
    return undefined;
  });
  await new VethBinder({ exec: gone.exec }).unplug(vif(), null);
  assert.equal(find(gone.calls, 'ovs-vsctl').length, 1, 'no del-port when nothing was found');
});

test('unplug fails when a device is still there after the delete', async () => {
  const { exec } = recorder((c) => {
    if (c.argv.includes('find')) return { stdout: OVS_FIND_EMPTY };
    if (c.argv.includes('-force')) return { stderr: 'RTNETLINK answers: Operation not permitted\n' };
    if (c.argv.includes('-json')) return { stdout: JSON.stringify([{ ifname: TAP }]) };
    return undefined;
  });
  await assert.rejects(new VethBinder({ exec }).unplug(vif(), null), BindingError);
});

test('hybrid and bridge unplug remove their extra devices', async () => {
  const h = recorder((c) => (c.argv.includes('find') ? { stdout: OVS_FIND_EMPTY } : undefined));
  await new VethBinder({ exec: h.exec }).unplug(vif({ vifDetails: { ovs_hybrid_plug: true } }), null);
  assert.equal(h.calls.at(-1)!.input, `link del dev ${TAP}\nlink del dev qvb3f2a9c1e-7b\nlink del dev qbr3f2a9c1e-7b\n`);
  const q = recorder((c) => (c.argv.includes('find') ? { stdout: ovsFind([['qvo3f2a9c1e-7b', { 'iface-id': PORT }]]) } : undefined));
  await new VethBinder({ exec: q.exec }).unplug(vif({ vifDetails: {} }), null);
  assert.equal(q.calls.at(-1)!.input, `link del dev ${TAP}\nlink del dev qvb3f2a9c1e-7b\nlink del dev qbr3f2a9c1e-7b\n`, 'a qvo in OVS means hybrid');
  const b = recorder();
  await new VethBinder({ exec: b.exec }).unplug(vif({ vifType: 'bridge' }), null);
  assert.equal(b.calls.length, 1);
  assert.equal(b.calls[0]!.input, `link set dev ${TAP} nomaster\nlink del dev ${TAP}\n`);
});

test('listPlugged: OVS owner=kuryr interfaces plus kuryr tap veths, no duplicates', async () => {
  const { exec } = recorder((c) => {
    if (c.argv.includes('find')) {
      return { stdout: ovsFind([['qvo3f2a9c1e-7b', { 'iface-id': PORT, 'vm-id': 'ep-1', owner: 'kuryr' }]]) };
    }
    return {
      stdout: JSON.stringify([
        { ifname: TAP, link: TC },
        { ifname: 'tapaaaaaaaa-aa', ifalias: 'kuryr:aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa:pod-uid', link_netnsid: 1 },
        { ifname: 'tapbbbbbbbb-bb', link: 't_cbbbbbbbb-bb' },
        { ifname: 'tapcccccccc-cc', link_netnsid: 2 },
        { ifname: 'qvb3f2a9c1e-7b', link: 'qvo3f2a9c1e-7b' },
      ]),
    };
  });
  assert.deepEqual(await new VethBinder({ exec }).listPlugged(), [
    { portId: PORT, hostIfName: TAP, deviceId: 'ep-1', kind: 'ovs' },
    { portId: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', hostIfName: 'tapaaaaaaaa-aa', deviceId: 'pod-uid', kind: 'link' },
    { portId: 'bbbbbbbb-bb', hostIfName: 'tapbbbbbbbb-bb', deviceId: '', kind: 'link' },
  ]);
});

test('a batch failure names the failing line', async () => {
  const { exec } = recorder((c) => {
    if (c.argv[0] === 'nsenter' && c.argv.includes('-batch')) {
      throw new BindingError('command failed (exit 1): ip -batch -: Error: Nexthop has invalid gateway.\nCommand failed -:5');
    }
    if (c.argv.includes('find')) return { stdout: OVS_FIND_EMPTY };
    return undefined;
  });
  await assert.rejects(new VethBinder({ exec }).plug(vif(), { netnsPath: NS, ifName: 'eth0' }), (err: unknown) => {
    assert.ok(err instanceof BindingError);
    assert.match(err.message, /route replace 0\.0\.0\.0\/0 via 10\.0\.0\.1 dev eth0/);
    return true;
  });
});

test('unsafe tokens never reach ip -batch', async () => {
  const { exec, calls } = recorder();
  await assert.rejects(new VethBinder({ exec }).plug(vif({ deviceId: 'a b' }), null), BindingError);
  assert.equal(calls.length, 0);
});
