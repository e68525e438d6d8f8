import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import type { PoolSizing, PoolSpec } from '../../src/core/port-pool/pool-model.js';
import { poolTag } from '../../src/core/port-pool/pool-tags.js';
import { PortPools } from '../../src/core/port-pool/port-pools.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { FakeParking } from '../fakes/fake-parking.js';

const HOST = 'node-1';
const SIZING: PoolSizing = { min: 3, max: 5, batch: 4, updateFrequencyMs: 0 };

async function world(opts: { sizing?: Partial<PoolSizing>; neutron?: FakeNeutron; parking?: FakeParking; refillQuietMs?: number } = {}) {
  const neutron = opts.neutron ?? new FakeNeutron({ dhcpPorts: false });
  const parking = opts.parking ?? new FakeParking();
  const pools = new PortPools({
    neutron,
    dataplane: parking,
    hostId: HOST,
    owner: 'docker',
    sizing: { ...SIZING, ...opts.sizing },
    activeTimeoutMs: 200,
    log: silentLogger(),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 2))),
    refillQuietMs: opts.refillQuietMs ?? 0,
  });
  return { neutron, parking, pools };
}

async function network(neutron: FakeNeutron): Promise<PoolSpec> {
  const net = await neutron.createNetwork({ name: 'n' });
  const subnet = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.9.0.0/24' });
  return { key: net.id, networkId: net.id, subnets: [subnet], mtu: 1450 };
}

const poolPorts = (neutron: FakeNeutron) => [...neutron.ports.values()].filter((p) => p.tags.includes(poolTag('docker', HOST)));

describe('port pools', () => {
  test('ensure fills a pool in one bulk POST of ports bound here, tagged, parked and ACTIVE', async () => {
    const { neutron, parking, pools } = await world();
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.idle();
    assert.equal(neutron.calls.get('createPorts'), 1);
    const ports = poolPorts(neutron);
    assert.equal(ports.length, 4, 'one batch of ports_pool_batch');
    for (const p of ports) {
      assert.equal(p.hostId, HOST);
      assert.equal(p.deviceOwner, 'compute:kuryr');
      assert.equal(p.deviceId, '');
      assert.equal(p.name, poolTag('docker', HOST), 'named after the pool from the POST on');
      assert.equal(parking.links.get(`t_c${p.id.slice(0, 11)}`), 'parked');
    }
    assert.deepEqual(pools.stats().map((s) => [s.ready, s.preparing, s.inUse]), [[4, 0, 0]]);
  });

  test('take never waits: an empty or unknown pool answers undefined; taking refills below min', async () => {
    const { neutron, pools } = await world();
    assert.equal(pools.take('nope'), undefined);
    const spec = await network(neutron);
    pools.ensure(spec);
    assert.equal(pools.take(spec.key), undefined, 'nothing ready while the first batch is on its way');
    await pools.idle();
    const taken = [pools.take(spec.key), pools.take(spec.key)];
    assert.ok(taken.every((t) => t !== undefined));
    assert.notEqual(taken[0]!.port.id, taken[1]!.port.id);
    await pools.idle();
    const s = pools.stats()[0]!;
    assert.equal(s.inUse, 2);
    assert.ok(s.ready >= 3, `refilled to min (${s.ready} ready)`);
    assert.ok(s.ready + s.inUse <= 4 + 4);
  });

  test('while ports are being taken the refill waits for a pause, unless the pool runs low', async () => {
    const { neutron, pools } = await world({ sizing: { min: 8, max: 12, batch: 8 }, refillQuietMs: 60 });
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.idle();
    assert.equal(pools.stats()[0]!.ready, 8);
    for (let i = 0; i < 5; i++) assert.ok(pools.take(spec.key));
    await pools.idle();
    assert.deepEqual([pools.stats()[0]!.ready, pools.stats()[0]!.preparing, neutron.calls.get('createPorts')], [3, 0, 1], 'no refill during the takes');
    await new Promise((r) => setTimeout(r, 90));
    await pools.idle();
    assert.equal(neutron.calls.get('createPorts'), 2, 'refilled once the takes paused');
    assert.equal(pools.stats()[0]!.ready, 11);
    // down to a quarter of min (2 of 8): refilled at once, burst or not
    for (let i = 0; i < 9; i++) assert.ok(pools.take(spec.key));
    assert.equal(pools.stats()[0]!.ready, 2);
    assert.ok(pools.stats()[0]!.preparing > 0, 'a low pool refills during the burst');
    await pools.idle();
    await pools.close();
  });

  test('drain deletes free pool ports of the network that this pool does not hold, addresses and all', async () => {
    const neutron = new FakeNeutron({ dhcpPorts: false });
    const parking = new FakeParking();
    const first = await world({ neutron, parking });
    const spec = await network(neutron);
    first.pools.ensure(spec);
    await first.pools.idle();
    assert.equal(poolPorts(neutron).length, 4);
    assert.ok(poolPorts(neutron).every((p) => p.fixedIps.length === 1), 'each holds an address');
    // another process (a restart that has not adopted them) knows nothing of these ports
    const second = await world({ neutron, parking });
    assert.equal(await second.pools.drain(`drain:${spec.networkId}`, spec.networkId), 4);
    assert.equal(poolPorts(neutron).length, 0);
    assert.equal([...parking.links.values()].filter((l) => l === 'parked').length, 0, 'their links went too');
  });

  test('take by IP gives exactly the port holding it', async () => {
    const { neutron, pools } = await world();
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.idle();
    const ip = poolPorts(neutron)[2]!.fixedIps[0]!.ipAddress;
    assert.equal(pools.take(spec.key, ip)?.port.fixedIps[0]?.ipAddress, ip);
    assert.equal(pools.take(spec.key, '10.9.0.250'), undefined);
  });

  test('recycle after reset offers the port again; above max it is deleted', async () => {
    const { neutron, parking, pools } = await world({ sizing: { min: 1, max: 2, batch: 2 } });
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.idle();
    const a = pools.take(spec.key)!;
    await neutron.updatePort(a.port.id, { deviceId: 'eid', name: 'eid-port' });
    await neutron.setTags('ports', a.port.id, ['kuryr.net.uuid.lh:eid']);
    await parking.toHost(a.vif);
    assert.equal(await parking.back(a.vif, null), true);
    await pools.reset(a);
    const back = neutron.ports.get(a.port.id)!;
    assert.deepEqual([back.deviceId, back.name, back.tags], ['', poolTag('docker', HOST), [poolTag('docker', HOST)]]);
    pools.recycle(a);
    await pools.idle();
    assert.equal(pools.stats()[0]!.ready, 2, 'back in the pool (max 2)');
    const b = pools.take(spec.key)!;
    const c = pools.take(spec.key)!;
    await pools.idle();
    pools.recycle(b);
    pools.recycle(c);
    await pools.idle();
    assert.equal(pools.stats()[0]!.ready, 2, 'never more than ports_pool_max ready');
    assert.equal(poolPorts(neutron).length, 2, 'the extra port was deleted');
  });

  test('a returned port whose link vanished is re-plugged before it is offered', async () => {
    const { neutron, parking, pools } = await world({ sizing: { min: 1, max: 3, batch: 1 } });
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.idle();
    const a = pools.take(spec.key)!;
    await parking.toHost(a.vif);
    parking.vanish(a.vif);
    assert.equal(await parking.back(a.vif, null), false);
    pools.recycle(a, { replug: true });
    await pools.idle();
    assert.ok(parking.hosts.has(a.vif.hostIfName), 'plugged again');
    assert.equal(parking.links.get(a.vif.containerIfName), 'parked');
  });

  test('ports that fail to plug or never become ACTIVE are deleted; a failed POST backs off', async () => {
    const neutron = new FakeNeutron({ dhcpPorts: false, activation: 'never' });
    const { parking, pools } = await world({ neutron });
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.idle();
    assert.equal(poolPorts(neutron).length, 0, 'no port that never became ACTIVE is kept');
    assert.equal(parking.links.size, 0, 'nor its devices');
    const { pools: p2, neutron: n2 } = await world();
    const spec2 = await network(n2);
    const undo = n2.failWhen((m) => (m === 'createPorts' ? new Error('IpAddressGenerationFailure') : undefined));
    p2.ensure(spec2);
    await p2.idle();
    assert.equal(n2.calls.get('createPorts'), 1, 'no tight retry loop');
    undo();
  });

  test('drain deletes ready ports, their devices and stray pool ports of the network; ports in use stay', async () => {
    const { neutron, parking, pools } = await world();
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.idle();
    const used = pools.take(spec.key)!;
    await pools.idle();
    const deleted = await pools.drain(spec.key);
    assert.ok(deleted >= 3);
    assert.deepEqual(poolPorts(neutron).map((p) => p.id), [used.port.id]);
    assert.deepEqual([...parking.links.keys()], [used.vif.containerIfName]);
    assert.equal(pools.take(spec.key), undefined, 'a drained pool offers nothing');
    pools.recycle(used);
    await pools.idle();
    assert.equal(poolPorts(neutron).length, 0, 'a port returned to a drained pool is deleted');
  });

  test('a drain while a refill and a `kuryr pool fill` are mid-POST waits for both batches and leaves no port', async () => {
    const { neutron, parking, pools } = await world({ sizing: { min: 2, max: 10, batch: 2 } });
    const spec = await network(neutron);
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    const real = neutron.createPorts.bind(neutron);
    neutron.createPorts = async (bodies) => (await hung, real(bodies));
    pools.ensure(spec); // a refill batch, waiting on its POST
    const filling = pools.fill(spec.key, 2); // the CLI's batch, waiting too
    await new Promise((r) => setTimeout(r, 5));
    const draining = pools.drain(spec.key);
    release();
    await Promise.all([filling, draining]);
    await pools.idle();
    assert.deepEqual([...neutron.ports.values()].filter((p) => p.name === poolTag('docker', HOST)), [], 'no pool port outlives the drain');
    assert.deepEqual([...parking.links.keys()], []);
  });

  test('a restart adopts parked ports, re-plugs ports without devices, removes stray links, reports taken ports', async () => {
    const { neutron, parking, pools } = await world({ sizing: { min: 0, max: 10, batch: 4 } });
    const spec = await network(neutron);
    await pools.fill(spec.key, 0);
    pools.ensure(spec);
    await pools.fill(spec.key, 5);
    const [a, b, c, d] = [pools.take(spec.key)!, pools.take(spec.key)!, pools.take(spec.key)!, pools.take(spec.key)!];
    // d was used and parked again, but its reset never reached Neutron
    await neutron.updatePort(d.port.id, { name: 'kuryr-unbound-port', deviceId: 'eid-d' });
    await neutron.setTags('ports', d.port.id, ['compute:kuryr', 'kuryr.net.uuid.lh:gone']);
    await parking.toHost(a.vif); // a container holds it (host end exists, link not parked)
    await parking.label(a.vif, 'eid-a');
    parking.vanish(b.vif); // devices gone
    await neutron.updatePort(c.port.id, { deviceId: 'eid-c' }); // a claim half written
    parking.links.set('t_cdeadbeef-00', 'parked');
    await pools.close();

    const again = await world({ neutron, parking, sizing: { min: 0, max: 10, batch: 4 } });
    const report = await again.pools.adopt(async () => spec);
    assert.deepEqual(report.taken.map((t) => `${t.port.id}:${t.user}`).sort(), [`${a.port.id}:eid-a`, `${c.port.id}:eid-c`].sort());
    assert.equal(report.replugged, 1);
    assert.equal(report.removedLinks, 1);
    assert.equal(report.reset, 1);
    assert.equal(report.ready, 3);
    assert.deepEqual(neutron.ports.get(d.port.id)!.tags, [poolTag('docker', HOST)], 'd is a pool port again');
    assert.equal(parking.links.has('t_cdeadbeef-00'), false);
    const offered = [again.pools.take(spec.key)!, again.pools.take(spec.key)!, again.pools.take(spec.key)!].map((p) => p.port.id);
    assert.ok(!offered.includes(a.port.id) && !offered.includes(c.port.id), 'no port used twice');
  });

  test('a pool port whose tag write never landed is found by its name: a restart adopts and tags it, a drain deletes it', async () => {
    const { neutron, parking, pools } = await world({ sizing: { min: 0, max: 10, batch: 4 } });
    const spec = await network(neutron);
    pools.ensure(spec);
    await pools.fill(spec.key, 2);
    const [a, b] = [...neutron.ports.values()].filter((p) => p.name === poolTag('docker', HOST));
    // The process died between the bulk POST and the tag writes (this Neutron drops tags in a bulk POST).
    await neutron.setTags('ports', a!.id, []);
    await neutron.setTags('ports', b!.id, []);
    await pools.close();

    const again = await world({ neutron, parking, sizing: { min: 0, max: 10, batch: 4 } });
    const report = await again.pools.adopt(async () => spec);
    assert.equal(report.retagged, 2);
    assert.equal(report.ready, 2);
    assert.deepEqual(neutron.ports.get(a!.id)!.tags, [poolTag('docker', HOST)]);

    await neutron.setTags('ports', b!.id, []);
    assert.equal(await again.pools.drain(spec.key), 2);
    assert.equal(neutron.ports.size, 0, 'the untagged one is drained too');
  });
});
