/**
 * VethBinder on the real kernel and the real (userspace-datapath) OVS. Runs as root; every
 * netns, bridge and veth is uniquely named and removed in `t.after`, even on failure.
 * Never touches br-int/br-tun/br-ex/br-ul or the stack's namespaces.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Vif, VifTarget } from '../../src/core/shared/binder.js';
import { VethBinder } from '../../src/southbound/dataplane/binder.js';
import { run } from '../../src/southbound/dataplane/exec.js';
import { containerIfName, hostIfName, hybridNames, linuxBridgeName } from '../../src/core/shared/device-names.js';
import { parseOvsFind } from '../../src/southbound/dataplane/ovs.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'needs root (real netns, veth, OVS): run as root to exercise the data plane';

const rnd = () => randomBytes(3).toString('hex');
const mac = () => `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
const ok = async (argv: string[]) => run(argv).then(() => true, () => false);

/** Starts OVS the way the stack script does, only when it is not running. Never stops it. */
async function ensureOvs(): Promise<void> {
  if (await ok(['ovs-vsctl', '--timeout=5', 'show'])) return;
  await run(['/usr/share/openvswitch/scripts/ovs-ctl', '--no-monitor', '--system-id=random', 'start'], { timeoutMs: 60_000 });
}

interface Fixture {
  binder: VethBinder;
  bridge: string;
  ns: (suffix: string) => Promise<string>;
  links: string[];
  timings: { plug: number[]; unplug: number[] };
}

function makeVif(f: Fixture, over: Partial<Vif> & { ip4: string; ip6?: string }): Vif {
  const portId = randomUUID();
  const { ip4, ip6, ...rest } = over;
  const v: Vif = {
    portId,
    networkId: randomUUID(),
    projectId: 'kt-project',
    deviceId: randomUUID(),
    macAddress: mac().toUpperCase(),
    mtu: 1450,
    vifType: 'ovs',
    vifDetails: { bridge_name: f.bridge, datapath_type: 'netdev', ovs_hybrid_plug: false },
    addresses: [
      { address: ip4, prefixLength: 24, family: 4 },
      ...(ip6 ? [{ address: ip6, prefixLength: 64, family: 6 as const }] : []),
    ],
    routes: [
      { destination: '0.0.0.0/0', nexthop: '198.51.100.1' },
      { destination: '192.0.2.0/24', nexthop: '198.51.100.254' },
    ],
    hostIfName: hostIfName(portId),
    containerIfName: containerIfName(portId),
    ...rest,
  };
  const h = hybridNames(portId);
  f.links.push(v.hostIfName, v.containerIfName, h.qbr, h.qvb);
  return v;
}

async function timed(into: number[], fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await fn();
  into.push(performance.now() - t0);
}

const nsx = (nsName: string, ...argv: string[]) => ['ip', 'netns', 'exec', nsName, ...argv];
const json = async <T>(argv: string[]): Promise<T> => JSON.parse((await run(argv)).stdout) as T;

async function ping(from: string, to: string): Promise<void> {
  await run(nsx(from, 'ping', '-c', '2', '-i', '0.2', '-W', '2', to), { timeoutMs: 15_000 });
}

const SERVER = `const s=require('net').createServer(c=>{let n=0;c.on('data',d=>n+=d.length);c.on('end',()=>{c.end(String(n));s.close()})});s.listen(5555,process.argv[1],()=>console.log('ready'))`;
const CLIENT = `const c=require('net').connect(5555,process.argv[1]);let r='';c.on('data',d=>r+=d);c.on('end',()=>{console.log(r)});c.end(Buffer.alloc(4*1024*1024,7));setTimeout(()=>{console.error('timeout');process.exit(2)},10000).unref()`;

/** Sends 4 MiB over TCP from netns `from` to `toIp` in netns `to`; stalls if tx checksum offload is on. */
async function tcpTransfer(to: string, toIp: string, from: string): Promise<void> {
  const server = spawn('ip', nsx(to, process.execPath, '-e', SERVER, toIp).slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`tcp server exited ${code}`)));
    });
    const { stdout } = await run(nsx(from, process.execPath, '-e', CLIENT, toIp), { timeoutMs: 20_000 });
    assert.equal(stdout.trim(), String(4 * 1024 * 1024));
  } finally {
    server.kill('SIGKILL');
  }
}

async function ovsRows(portId: string) {
  return parseOvsFind((await run(['ovs-vsctl', '--format=json', '--columns=name,external_ids', 'find', 'Interface', `external_ids:iface-id=${portId}`])).stdout);
}

async function assertGone(nsName: string | null, vif: Vif): Promise<void> {
  assert.equal(await ok(['ip', 'link', 'show', 'dev', vif.hostIfName]), false, `${vif.hostIfName} still exists`);
  assert.equal(await ok(['ip', 'link', 'show', 'dev', vif.containerIfName]), false);
  if (nsName) assert.equal(await ok(['ip', '-n', nsName, 'link', 'show', 'dev', 'eth0']), false);
  assert.deepEqual(await ovsRows(vif.portId), []);
}

test('VethBinder on the real kernel and OVS', { skip: SKIP, timeout: 180_000 }, async (t: TestContext) => {
  await ensureOvs();
  const r = rnd();
  const namespaces: string[] = [];
  const f: Fixture = {
    binder: new VethBinder(),
    bridge: `ktbr${r}`,
    links: [],
    timings: { plug: [], unplug: [] },
    ns: async (suffix) => {
      const name = `kt-${r}-${suffix}`;
      await run(['ip', 'netns', 'add', name]);
      namespaces.push(name);
      return name;
    },
  };
  t.after(async () => {
    await run(['ovs-vsctl', '--if-exists', 'del-br', f.bridge]).catch(() => {});
    for (const n of namespaces) await run(['ip', 'netns', 'del', n]).catch(() => {});
    const lines = f.links.map((l) => `link del dev ${l}`).join('\n');
    await run(['ip', '-force', '-batch', '-'], { input: `${lines}\n`, okCodes: [0, 1] }).catch(() => {});
    const p = f.timings.plug.map(Math.round);
    const u = f.timings.unplug.map(Math.round);
    t.diagnostic(`plug ms: ${p.join(', ')}; unplug ms: ${u.join(', ')}`);
  });
  await run(['ovs-vsctl', 'add-br', f.bridge, '--', 'set', 'Bridge', f.bridge, 'datapath_type=netdev']);
  const pathOf = (n: string) => `/var/run/netns/${n}`;

  await t.test('ovs plug into two netns: config, OVS external_ids, ping, TCP, unplug', async () => {
    const [nsA, nsB] = [await f.ns('a'), await f.ns('b')];
    const a = makeVif(f, { ip4: '198.51.100.11', ip6: 'fd00:6b74::11' });
    const b = makeVif(f, { ip4: '198.51.100.12', ip6: 'fd00:6b74::12' });
    const ta: VifTarget = { netnsPath: pathOf(nsA), ifName: 'eth0' };
    const tb: VifTarget = { netnsPath: pathOf(nsB), ifName: 'eth0' };
    await timed(f.timings.plug, () => f.binder.plug(a, ta));
    await timed(f.timings.plug, () => f.binder.plug(b, tb));

    const [link] = await json<Array<{ mtu: number; address: string; flags: string[] }>>(['ip', '-n', nsA, '-json', 'link', 'show', 'dev', 'eth0']);
    assert.equal(link!.mtu, 1450);
    assert.equal(link!.address, a.macAddress.toLowerCase());
    assert.ok(link!.flags.includes('UP'));
    const [lo] = await json<Array<{ flags: string[] }>>(['ip', '-n', nsA, '-json', 'link', 'show', 'dev', 'lo']);
    assert.ok(lo!.flags.includes('UP'));
    const [addr] = await json<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(['ip', '-n', nsA, '-json', 'addr', 'show', 'dev', 'eth0']);
    const addrs = addr!.addr_info.map((x) => `${x.local}/${x.prefixlen}`);
    assert.ok(addrs.includes('198.51.100.11/24') && addrs.includes('fd00:6b74::11/64'), addrs.join(' '));
    const routes = await json<Array<{ dst: string; gateway?: string }>>(['ip', '-n', nsA, '-json', 'route']);
    assert.ok(routes.some((x) => x.dst === 'default' && x.gateway === '198.51.100.1'));
    assert.ok(routes.some((x) => x.dst === '192.0.2.0/24' && x.gateway === '198.51.100.254'));
    const offload = (await run(nsx(nsA, 'ethtool', '-k', 'eth0'))).stdout;
    assert.match(offload, /^tx-checksumming: off/m);

    const [host] = await json<Array<{ mtu: number; flags: string[] }>>(['ip', '-json', 'link', 'show', 'dev', a.hostIfName]);
    assert.equal(host!.mtu, 1450);
    assert.ok(host!.flags.includes('UP'));
    assert.equal((await readFile(`/proc/sys/net/ipv6/conf/${a.hostIfName}/accept_ra`, 'utf8')).trim(), '0');
    assert.equal((await readFile(`/proc/sys/net/ipv6/conf/${a.hostIfName}/autoconf`, 'utf8')).trim(), '0');

    const rows = await ovsRows(a.portId);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.name, a.hostIfName);
    assert.deepEqual(rows[0]!.externalIds, {
      'attached-mac': a.macAddress.toLowerCase(),
      'iface-id': a.portId,
      'vm-uuid': a.deviceId,
      'iface-status': 'active',
      owner: 'kuryr',
    });
    assert.equal((await run(['ovs-vsctl', 'port-to-br', a.hostIfName])).stdout.trim(), f.bridge);
    const plugged = await f.binder.listPlugged();
    for (const v of [a, b]) {
      assert.ok(plugged.some((p) => p.portId === v.portId && p.kind === 'ovs' && p.hostIfName === v.hostIfName && p.deviceId === v.deviceId));
    }

    await ping(nsA, '198.51.100.12');
    await ping(nsB, 'fd00:6b74::11');
    await tcpTransfer(nsB, '198.51.100.12', nsA);

    // Plugging again recreates cleanly and still works.
    await timed(f.timings.plug, () => f.binder.plug(a, ta));
    await ping(nsA, '198.51.100.12');

    await timed(f.timings.unplug, () => f.binder.unplug(a, ta));
    await timed(f.timings.unplug, () => f.binder.unplug(b, tb));
    await assertGone(nsA, a);
    await assertGone(nsB, b);
    await f.binder.unplug(a, ta);
    assert.ok(!(await f.binder.listPlugged()).some((p) => p.portId === a.portId || p.portId === b.portId));
  });

  await t.test('hybrid plug: qbr/qvb/qvo, qvo in OVS with vm-id, ping and TCP, unplug', async () => {
    const [nsA, nsB] = [await f.ns('ha'), await f.ns('hb')];
    const details = { bridge_name: f.bridge, datapath_type: 'netdev', ovs_hybrid_plug: true };
    const a = makeVif(f, { ip4: '198.51.100.21', vifDetails: details });
    const b = makeVif(f, { ip4: '198.51.100.22', vifDetails: details });
    await timed(f.timings.plug, () => f.binder.plug(a, { netnsPath: pathOf(nsA), ifName: 'eth0' }));
    await timed(f.timings.plug, () => f.binder.plug(b, { netnsPath: pathOf(nsB), ifName: 'eth0' }));
    const h = hybridNames(a.portId);
    const [tap] = await json<Array<{ master?: string }>>(['ip', '-json', 'link', 'show', 'dev', a.hostIfName]);
    assert.equal(tap!.master, h.qbr);
    const [qvb] = await json<Array<{ master?: string }>>(['ip', '-json', 'link', 'show', 'dev', h.qvb]);
    assert.equal(qvb!.master, h.qbr);
    const rows = await ovsRows(a.portId);
    assert.equal(rows[0]!.name, h.qvo);
    assert.equal(rows[0]!.externalIds['vm-id'], a.deviceId);
    assert.equal(rows[0]!.externalIds['vm-uuid'], undefined);
    assert.ok((await f.binder.listPlugged()).some((p) => p.portId === a.portId && p.hostIfName === a.hostIfName));
    await ping(nsA, '198.51.100.22');
    await tcpTransfer(nsA, '198.51.100.21', nsB);
    await timed(f.timings.unplug, () => f.binder.unplug(a, null));
    await f.binder.unplug(b, null);
    for (const v of [a, b]) {
      await assertGone(null, v);
      const n = hybridNames(v.portId);
      assert.equal(await ok(['ip', 'link', 'show', 'dev', n.qbr]), false);
      assert.equal(await ok(['ip', 'link', 'show', 'dev', n.qvb]), false);
      assert.equal(await ok(['ip', 'link', 'show', 'dev', n.qvo]), false);
    }
  });

  await t.test('linux bridge plug: brq<net[:11]> created and enslaved, ping, unplug', async () => {
    const [nsA, nsB] = [await f.ns('la'), await f.ns('lb')];
    const networkId = `${rnd()}${rnd()}-kt00-4000-8000-000000000000`;
    const brq = linuxBridgeName(networkId);
    f.links.push(brq);
    const a = makeVif(f, { ip4: '198.51.100.31', vifType: 'bridge', networkId, vifDetails: { port_filter: true } });
    const b = makeVif(f, { ip4: '198.51.100.32', vifType: 'bridge', networkId, vifDetails: { port_filter: true } });
    await timed(f.timings.plug, () => f.binder.plug(a, { netnsPath: pathOf(nsA), ifName: 'eth0' }));
    await f.binder.plug(b, { netnsPath: pathOf(nsB), ifName: 'eth0' });
    const [tap] = await json<Array<{ master?: string }>>(['ip', '-json', 'link', 'show', 'dev', a.hostIfName]);
    assert.equal(tap!.master, brq);
    const [br] = await json<Array<{ flags: string[]; linkinfo: { info_data: { forward_delay: number; stp_state: number } } }>>(['ip', '-json', '-d', 'link', 'show', 'dev', brq]);
    assert.ok(br!.flags.includes('UP'));
    assert.equal(br!.linkinfo.info_data.forward_delay, 0);
    assert.equal(br!.linkinfo.info_data.stp_state, 0);
    assert.equal(await ok(nsx(nsA, 'ethtool', '-k', 'eth0')), true);
    await ping(nsA, '198.51.100.32');
    const plugged = await f.binder.listPlugged();
    assert.ok(plugged.some((p) => p.portId === a.portId && p.kind === 'link' && p.deviceId === a.deviceId));
    await timed(f.timings.unplug, () => f.binder.unplug(a, null));
    await f.binder.unplug(b, null);
    await f.binder.unplug(b, null);
    await assertGone(nsA, a);
    await assertGone(nsB, b);
  });

  await t.test('docker mode (no target): container end stays in the host netns, configured', async () => {
    const v = makeVif(f, { ip4: '198.51.100.41', ip6: 'fd00:6b74::41', vifType: 'tap', vifDetails: { datapath_type: 'netdev' } });
    v.addresses[0]!.address = `203.0.113.${10 + (randomBytes(1)[0]! % 200)}`;
    await timed(f.timings.plug, () => f.binder.plug(v, null));
    const [link] = await json<Array<{ mtu: number; address: string; flags: string[]; link?: string }>>(['ip', '-json', 'link', 'show', 'dev', v.containerIfName]);
    assert.equal(link!.mtu, 1450);
    assert.equal(link!.address, v.macAddress.toLowerCase());
    assert.ok(link!.flags.includes('UP'));
    assert.equal(link!.link, v.hostIfName);
    const [addr] = await json<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(['ip', '-json', 'addr', 'show', 'dev', v.containerIfName]);
    const addrs = addr!.addr_info.map((x) => `${x.local}/${x.prefixlen}`);
    assert.ok(addrs.includes(`${v.addresses[0]!.address}/24`) && addrs.includes('fd00:6b74::41/64'), addrs.join(' '));
    assert.match((await run(['ethtool', '-k', v.containerIfName])).stdout, /^tx-checksumming: off/m);
    assert.ok((await f.binder.listPlugged()).some((p) => p.portId === v.portId && p.kind === 'link'));
    await timed(f.timings.unplug, () => f.binder.unplug(v, null));
    await f.binder.unplug(v, null);
    await assertGone(null, v);
  });

  await t.test('failures roll back: unknown OVS bridge, missing netns', async () => {
    const nsA = await f.ns('fa');
    const v = makeVif(f, { ip4: '198.51.100.51', vifDetails: { bridge_name: `ktno${r}`, datapath_type: 'netdev' } });
    await assert.rejects(f.binder.plug(v, { netnsPath: pathOf(nsA), ifName: 'eth0' }), /ktno/);
    await assertGone(nsA, v);
    const w = makeVif(f, { ip4: '198.51.100.52' });
    await assert.rejects(f.binder.plug(w, { netnsPath: `/var/run/netns/kt-${r}-missing`, ifName: 'eth0' }));
    await assertGone(null, w);
    await assert.rejects(f.binder.plug(makeVif(f, { ip4: '198.51.100.53', vifType: 'binding_failed' }), null), /binding_failed/);
  });
});
