/**
 * CreateEndpoint / Join / DeleteEndpoint: dual stack (Q2/F4), rollback (Q17), binding failures
 * (Q28), DeleteEndpoint without Neutron (Q18), replays, concurrency, global scope.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BindingError, NotFoundError, TimeoutError, UnavailableError } from '../../src/common/errors.js';
import { FakeBinder } from '../fakes/fake-binder.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { type Harness, dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, randomMac } from './core-helpers.js';

async function withNetwork(h: Harness, subnet = '10.0.0.0/24') {
  const did = hexId();
  const r = await dockerNetworkCreate(h, { did, subnet });
  return { did, ...r };
}

async function ipamPort(h: Harness, poolId: string): Promise<string> {
  return h.service.addresses.requestAddress({ poolId, address: '', ...macOption(randomMac()) });
}

describe('CreateEndpoint', () => {
  test('dual stack: one tagged port with both addresses; Join returns both gateways', async () => {
    const h = await makeHarness();
    const did = hexId();
    const eid = hexId();
    const r = await dockerNetworkCreate(h, { did, subnet: '10.60.0.0/24', gateway: '10.60.0.1', v6: { subnet: 'fd60::/64', gateway: 'fd60::1' } });
    const a4 = await ipamPort(h, r.poolId);
    const a6 = await ipamPort(h, r.poolId6!);
    assert.equal(h.neutron.userPorts().length, 2);
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: a4, addressIpv6: a6, macAddress: randomMac() });
    const ports = h.neutron.userPorts();
    assert.equal(ports.length, 1);
    const p = ports[0]!;
    assert.equal(p.name, `${eid}-port`);
    assert.deepEqual(p.fixedIps.map((f) => f.ipAddress).sort(), [ipOf(a4), ipOf(a6)].sort());
    assert.ok(p.tags.includes(`kuryr.net.uuid.lh:${eid.slice(0, 32)}`));
    assert.ok(p.tags.includes('compute:kuryr'));
    assert.deepEqual(h.binder.plugged.get(p.id)!.addresses.map((a) => a.family).sort(), [4, 6]);
    const j = await h.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/abcdefabcdef' });
    assert.equal(j.gateway, '10.60.0.1');
    assert.equal(j.gatewayIpv6, 'fd60::1');
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    assert.equal(h.binder.plugged.size, 0);
    await h.service.addresses.releaseAddress({ poolId: r.poolId, address: ipOf(a4) });
    await h.service.addresses.releaseAddress({ poolId: r.poolId6!, address: ipOf(a6) });
    assert.equal(h.neutron.userPorts().length, 0);
  });

  test('binder failure rolls back everything: no port bound, no EID tags, no plug', async () => {
    const h = await makeHarness();
    const { did, poolId } = await withNetwork(h);
    const addr = await ipamPort(h, poolId);
    const before = structuredClone(h.neutron.userPorts()[0]!);
    h.binder.failPlug = () => true;
    await assert.rejects(h.service.endpoints.createEndpoint({ networkId: did, endpointId: hexId(), address: addr, macAddress: randomMac() }), BindingError);
    const after = h.neutron.userPorts()[0]!;
    assert.equal(after.hostId, '');
    assert.equal(after.deviceOwner, '');
    assert.equal(after.deviceId, '');
    assert.equal(after.macAddress, before.macAddress);
    assert.deepEqual(after.tags, ['compute:kuryr']);
    assert.equal(h.binder.plugged.size, 0);
  });

  test('a port created by CreateEndpoint is deleted when the plug fails', async () => {
    const h = await makeHarness();
    const { did } = await withNetwork(h);
    h.binder.failPlug = () => true;
    await assert.rejects(h.service.endpoints.createEndpoint({ networkId: did, endpointId: hexId(), address: '10.0.0.77/24', macAddress: randomMac() }));
    assert.equal(h.neutron.userPorts().length, 0);
  });

  test('binding_failed: clear BindingError, rolled back', async () => {
    const h = await makeHarness({ neutron: { deadHosts: ['vm'] } });
    const { did, poolId } = await withNetwork(h);
    const addr = await ipamPort(h, poolId);
    await assert.rejects(
      h.service.endpoints.createEndpoint({ networkId: did, endpointId: hexId(), address: addr, macAddress: randomMac() }),
      (e: unknown) => e instanceof BindingError && /could not bind port .* on host vm: vif_type=binding_failed; is an L2 agent running on vm\?/.test(e.message),
    );
    const p = h.neutron.userPorts()[0]!;
    assert.equal(p.hostId, '');
    assert.deepEqual(p.tags, ['compute:kuryr']);
    assert.equal(h.binder.plugged.size, 0);
  });

  test('port never ACTIVE: fatal → rollback and TimeoutError; not fatal → success', async () => {
    const fatal = await makeHarness({ neutron: { activation: 'never' }, options: { activeTimeoutMs: 50, vifPluggingIsFatal: true } });
    const n1 = await withNetwork(fatal);
    const a1 = await ipamPort(fatal, n1.poolId);
    await assert.rejects(fatal.service.endpoints.createEndpoint({ networkId: n1.did, endpointId: hexId(), address: a1, macAddress: randomMac() }), TimeoutError);
    assert.equal(fatal.binder.plugged.size, 0);
    assert.equal(fatal.neutron.userPorts()[0]!.hostId, '');

    const lax = await makeHarness({ neutron: { activation: 'never' }, options: { activeTimeoutMs: 50 } });
    const n2 = await withNetwork(lax);
    const a2 = await ipamPort(lax, n2.poolId);
    await lax.service.endpoints.createEndpoint({ networkId: n2.did, endpointId: hexId(), address: a2, macAddress: randomMac() });
    assert.equal(lax.binder.plugged.size, 1);
  });

  test('waits until the port turns ACTIVE', async () => {
    const h = await makeHarness({ neutron: { activation: { afterGets: 3 } }, options: { vifPluggingIsFatal: true } });
    const { did, poolId } = await withNetwork(h);
    const addr = await ipamPort(h, poolId);
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: hexId(), address: addr, macAddress: randomMac() });
    assert.equal(h.neutron.userPorts()[0]!.status, 'ACTIVE');
  });

  test('unknown Docker network: NotFoundError naming the network ID', async () => {
    const h = await makeHarness();
    const did = hexId();
    await assert.rejects(
      h.service.endpoints.createEndpoint({ networkId: did, endpointId: hexId(), address: '10.0.0.5/24' }),
      (e: unknown) => e instanceof NotFoundError && e.message.includes(did),
    );
  });

  test('replay: CreateEndpoint twice reuses the port and the plug; MAC returned when Docker sent none', async () => {
    const h = await makeHarness();
    const { did, poolId } = await withNetwork(h);
    const eid = hexId();
    const addr = await ipamPort(h, poolId);
    const req = { networkId: did, endpointId: eid, address: addr, options: {} };
    const r1 = await h.service.endpoints.createEndpoint(req);
    const r2 = await h.service.endpoints.createEndpoint(req);
    const p = h.neutron.userPorts();
    assert.equal(p.length, 1);
    assert.deepEqual(r1, { macAddress: p[0]!.macAddress });
    assert.deepEqual(r2, r1);
    assert.equal(h.binder.plugged.size, 1);
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    assert.equal(h.binder.plugged.size, 0);
  });

  test('20 concurrent endpoints on one network', async () => {
    const h = await makeHarness();
    const { did, poolId } = await withNetwork(h);
    const eids = Array.from({ length: 20 }, hexId);
    const addrs = await Promise.all(eids.map(() => ipamPort(h, poolId)));
    await Promise.all(eids.map((eid, i) => h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addrs[i], macAddress: randomMac() })));
    assert.equal(h.binder.plugged.size, 20);
    assert.equal(new Set(h.neutron.userPorts().map((p) => p.deviceId)).size, 20);
    await Promise.all(eids.map((eid) => h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid })));
    await Promise.all(addrs.map((a) => h.service.addresses.releaseAddress({ poolId, address: ipOf(a) })));
    assert.equal(h.binder.plugged.size, 0);
    assert.equal(h.neutron.userPorts().length, 0);
  });
});

describe('DeleteEndpoint', () => {
  test('unplugs by what the binder lists when Neutron is unreachable, then reports the error', async () => {
    const h = await makeHarness();
    const { did, poolId } = await withNetwork(h);
    const eid = hexId();
    const addr = await ipamPort(h, poolId);
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: randomMac() });
    const stop = h.neutron.failWhen((m) => (m === 'listPorts' ? new UnavailableError('neutron down') : undefined));
    await assert.rejects(h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid }), UnavailableError);
    assert.equal(h.binder.plugged.size, 0);
    stop();
    await h.service.endpoints.deleteEndpoint({ networkId: did, endpointId: eid });
    assert.equal(h.neutron.userPorts()[0]!.tags.length, 1);
  });
});

describe('global scope', () => {
  test('a second host resolves everything from Neutron', async () => {
    const neutron = new FakeNeutron();
    const h1 = await makeHarness({ neutron, hostId: 'host-1', options: { capabilityScope: 'global' } });
    const h2 = await makeHarness({ neutron, binder: new FakeBinder(), hostId: 'host-2', options: { capabilityScope: 'global' } });
    const { did, poolId } = await withNetwork(h1);
    const eid = hexId();
    const addr = await ipamPort(h2, poolId);
    await h2.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: randomMac() });
    const j = await h2.service.sandboxes.join({ networkId: did, endpointId: eid, sandboxKey: '/var/run/docker/netns/abcdefabcdef' });
    assert.equal(j.gateway, '10.0.0.1');
    assert.equal(neutron.userPorts()[0]!.hostId, 'host-2');
    assert.equal(h2.binder.plugged.size, 1);
    assert.equal(h1.binder.plugged.size, 0);
    assert.deepEqual(h2.service.capabilities(), { scope: 'global', connectivityScope: 'global' });
  });
});
