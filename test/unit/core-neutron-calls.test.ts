/**
 * Neutron round trips per Docker verb on the `docker run --rm` hot path, counted on FakeNeutron
 * through a proxy: how many calls, and how many sequential rounds (a call's round is one more than
 * the highest round among calls that had finished when it started). The bounds are the current
 * numbers, so a regression fails. Also: the look-up caches heal themselves when Neutron changed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotFoundError } from '../../src/common/errors.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { GATEWAY, type Harness, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, poolData, randomMac, choices } from './core-helpers.js';

interface Call {
  method: string;
  round: number;
}

/** Wraps a FakeNeutron so every top-level call is recorded with its round. */
function counting(fake: FakeNeutron): { neutron: FakeNeutron; take: () => Call[] } {
  let calls: Call[] = [];
  let finished: number[] = [];
  const neutron = new Proxy(fake, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        const call = { method: prop, round: 1 + Math.max(0, ...finished) };
        calls.push(call);
        const done = () => finished.push(call.round);
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) return result.finally(done);
        done();
        return result;
      };
    },
  });
  return {
    neutron,
    take: () => {
      const out = calls;
      calls = [];
      finished = [];
      return out;
    },
  };
}

interface Budget {
  calls: number;
  rounds: number;
}

/** Upper bounds per verb (seed flow; `warm` = the network and pool caches are filled). */
const BUDGET = {
  requestAddressCold: { calls: 5, rounds: 4 },
  requestAddressWarm: { calls: 3, rounds: 3 },
  createEndpoint: { calls: 6, rounds: 4 },
  join: { calls: 2, rounds: 1 },
  programEmpty: { calls: 0, rounds: 0 },
  revoke: { calls: 1, rounds: 1 },
  leave: { calls: 0, rounds: 0 },
  deleteEndpoint: { calls: 2, rounds: 2 },
  releaseAddress: { calls: 2, rounds: 2 },
} satisfies Record<string, Budget>;

function within(verb: string, calls: Call[], budget: Budget): void {
  const rounds = Math.max(0, ...calls.map((c) => c.round));
  const trace = calls.map((c) => `${c.round}:${c.method}`).join(' ');
  assert.ok(calls.length <= budget.calls, `${verb}: ${calls.length} Neutron calls > ${budget.calls} (${trace})`);
  assert.ok(rounds <= budget.rounds, `${verb}: ${rounds} sequential rounds > ${budget.rounds} (${trace})`);
}

async function containerRun(h: Harness, take: () => Call[], did: string, poolId: string, cold: boolean): Promise<Record<string, Call[]>> {
  const eid = hexId();
  const mac = randomMac();
  const seen: Record<string, Call[]> = {};
  take();
  const addr = await h.service.addresses.requestAddress({ poolId, address: '', ...macOption(mac) });
  seen.requestAddress = take();
  within(cold ? 'RequestAddress (cold)' : 'RequestAddress', seen.requestAddress, cold ? BUDGET.requestAddressCold : BUDGET.requestAddressWarm);
  await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: mac });
  seen.createEndpoint = take();
  within('CreateEndpoint', seen.createEndpoint, BUDGET.createEndpoint);
  await h.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/0123456789ab' });
  seen.join = take();
  within('Join', seen.join, BUDGET.join);
  await h.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [] });
  seen.program = take();
  within('ProgramExternalConnectivity (no ports)', seen.program, BUDGET.programEmpty);
  await h.service.connectivity.revokeExternalConnectivity({ networkId: did, endpointId: eid });
  seen.revoke = take();
  within('RevokeExternalConnectivity (nothing exposed)', seen.revoke, BUDGET.revoke);
  await h.service.sandboxes.leave({ networkId: did, endpointId: eid });
  seen.leave = take();
  within('Leave', seen.leave, BUDGET.leave);
  await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
  seen.deleteEndpoint = take();
  within('DeleteEndpoint', seen.deleteEndpoint, BUDGET.deleteEndpoint);
  await h.service.addresses.releaseAddress({ poolId, address: ipOf(addr) });
  seen.releaseAddress = take();
  within('ReleaseAddress', seen.releaseAddress, BUDGET.releaseAddress);
  assert.equal(h.neutron.userPorts().length, 0);
  assert.equal(h.binder.plugged.size, 0);
  return seen;
}

const methods = (calls: Call[]): string[] => calls.map((c) => c.method);

describe('Neutron calls per Docker verb (docker run --rm)', () => {
  test('seed flow, first and second container: within the budget, state as before', async () => {
    const { neutron, take } = counting(new FakeNeutron());
    const h = await makeHarness({ neutron });
    const did = hexId();
    const { poolId } = await dockerNetworkCreate(h, { did, subnet: '10.0.0.0/24', gateway: '10.0.0.1' });

    const first = await containerRun(h, take, did, poolId, true);
    const second = await containerRun(h, take, did, poolId, false);
    for (const run of [first, second]) {
      const ce = methods(run.createEndpoint ?? []);
      // The network comes from the cache: no GET /networks, no second GET /subnets.
      assert.ok(!ce.includes('listNetworks') && !ce.includes('listSubnets'), ce.join(' '));
      // All EID tags in one PUT /ports/{id}/tags.
      assert.deepEqual(ce.filter((m) => m.endsWith('Tag') || m === 'setTags'), ['setTags']);
      assert.deepEqual(methods(run.deleteEndpoint ?? []), ['listPorts', 'setTags']);
      assert.ok(!methods(run.join ?? []).includes('listNetworks'));
      assert.deepEqual(methods(run.revoke ?? []), ['listSecurityGroups']);
    }
    assert.deepEqual(methods(second.requestAddress ?? []), ['listPorts', 'createPort', 'addTag']);
    assert.deepEqual(methods(second.releaseAddress ?? []), ['listPorts', 'deletePort']);
  });

  test('a restarted driver (empty caches) still serves the flow from Neutron alone', async () => {
    const neutron = new FakeNeutron();
    const h1 = await makeHarness({ neutron });
    const did = hexId();
    const eid = hexId();
    const { poolId } = await dockerNetworkCreate(h1, { did, subnet: '10.3.0.0/24' });
    const addr = await h1.service.addresses.requestAddress({ poolId, address: '', ...macOption(randomMac()) });
    await h1.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: randomMac() });
    const h2 = await makeHarness({ neutron, binder: h1.binder });
    await h2.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [{ proto: 6, port: 80 }] });
    const j = await h2.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/0123456789ab' });
    assert.equal(j.gateway, '10.3.0.1');
    await h2.service.connectivity.revokeExternalConnectivity({ networkId: did, endpointId: eid });
    assert.equal(neutron.securityGroups.size, 0);
    await h2.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    await h2.service.addresses.releaseAddress({ poolId, address: ipOf(addr) });
    await h2.service.addresses.releaseAddress({ poolId, address: '10.3.0.1' });
    await h2.service.pools.releasePool(poolId);
    await h2.service.networks.deleteNetwork(did);
    assert.ok(neutron.isEmptyExcept());
  });
});

describe('look-up caches heal on a stale entry (global scope: another host changed Neutron)', () => {
  test('the network was removed elsewhere: CreateEndpoint and Join fail as without a cache', async () => {
    const neutron = new FakeNeutron();
    const h1 = await makeHarness({ neutron, options: { capabilityScope: 'global' } });
    const h2 = await makeHarness({ neutron, hostId: 'host-2', options: { capabilityScope: 'global' } });
    const did = hexId();
    const { poolId, gateway } = await dockerNetworkCreate(h1, { did, subnet: '10.4.0.0/24' });
    await h2.service.addresses.releaseAddress({ poolId, address: ipOf(gateway) });
    await h2.service.pools.releasePool(poolId);
    await h2.service.networks.deleteNetwork(did);
    const named = (e: unknown) => e instanceof NotFoundError && e.message.includes(did) && e.message.includes('no Neutron network');
    await assert.rejects(h1.service.endpoints.createEndpoint({ networkId: did, endpointId: hexId(), address: '10.4.0.9/24' }), named);
    await assert.rejects(h1.service.sandboxes.join({ networkId: did, endpointId: hexId(), sandboxKey: '/x' }), named);
    await assert.rejects(h1.service.addresses.requestAddress({ poolId, address: '', ...macOption(randomMac()) }), NotFoundError);
  });

  test('the Docker network now maps to another Neutron network: CreateEndpoint retries with a fresh look-up', async () => {
    const neutron = new FakeNeutron();
    const h = await makeHarness({ neutron });
    const did = hexId();
    const eid = hexId();
    const { poolId } = await dockerNetworkCreate(h, { did, subnet: '10.5.0.0/24' });
    const old = [...neutron.networks.values()][0]!;
    // Another host's `kuryr network sync`-like move: same DID tags on a new network, the old one gone.
    for (const s of [...neutron.subnets.values()]) await neutron.deleteSubnet(s.id);
    await neutron.deleteNetwork(old.id);
    const moved = await neutron.createNetwork({ name: 'moved' });
    await neutron.setTags('networks', moved.id, [...old.tags]);
    await neutron.createSubnet({ name: 'kuryr-subnet-10.5.0.0/24', networkId: moved.id, ipVersion: 4, cidr: '10.5.0.0/24', subnetpoolId: poolId, gatewayIp: '10.5.0.1' });
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: '10.5.0.20/24', macAddress: randomMac() });
    const port = neutron.userPorts()[0]!;
    assert.equal(port.networkId, moved.id);
    assert.equal(h.binder.plugged.get(port.id)?.networkId, moved.id);
  });

  test('the pool now has another subnet: RequestAddress and ReleaseAddress re-read it', async () => {
    const neutron = new FakeNeutron();
    const h1 = await makeHarness({ neutron });
    const h2 = await makeHarness({ neutron, hostId: 'host-2' });
    const did = hexId();
    const rp = await h1.service.pools.requestPool({ addressSpace: 'x', pool: '10.6.0.0/24', subPool: '', neutron: choices({}), v6: false });
    const gw = await h1.service.addresses.requestAddress({ poolId: rp.poolId, address: '', ...GATEWAY });
    await h1.service.networks.createNetwork({ networkId: did, ipv4Data: [poolData(rp.pool, gw)], ipv6Data: [], neutron: choices({}), enableIpv6: false });
    const a1 = await h1.service.addresses.requestAddress({ poolId: rp.poolId, address: '', ...macOption(randomMac()) });
    await h1.service.addresses.releaseAddress({ poolId: rp.poolId, address: ipOf(a1) });
    // Elsewhere the network is rebuilt on the same pool: a new subnet (and network) behind the PoolID.
    await h2.service.networks.deleteNetwork(did);
    const did2 = hexId();
    await h2.service.networks.createNetwork({ networkId: did2, ipv4Data: [poolData(rp.pool, gw)], ipv6Data: [], neutron: choices({}), enableIpv6: false });
    const fresh = [...neutron.subnets.values()][0]!;
    // h2 allocates an address; h1's cached subnet is the old one, yet it releases the port.
    const a3 = await h2.service.addresses.requestAddress({ poolId: rp.poolId, address: '', ...macOption(randomMac()) });
    await h1.service.addresses.releaseAddress({ poolId: rp.poolId, address: ipOf(a3) });
    assert.equal(neutron.userPorts().length, 0);
    // RequestAddress on the stale entry hits a 404 and re-reads the pool's subnet.
    const a2 = await h1.service.addresses.requestAddress({ poolId: rp.poolId, address: '', ...macOption(randomMac()) });
    assert.equal(neutron.userPorts()[0]!.fixedIps[0]!.subnetId, fresh.id);
    await h1.service.addresses.releaseAddress({ poolId: rp.poolId, address: ipOf(a2) });
    assert.equal(neutron.userPorts().length, 0);
  });
});
