/**
 * After a broken connection dockerd's plugin client (moby pkg/plugins `callWithRetry`) re-sends the
 * call with the body it already drained: an empty body. The answer is a 400 that says so and changes
 * nothing; and the ReleaseAddress Docker sends when it rolls back removes the half-made endpoint's
 * veth/OVS port along with its Neutron port.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePluginSocket } from '../fakes/plugin-socket.js';
import { FakeLibnetwork } from '../fakes/fake-libnetwork.js';
import { dockerNetworkCreate, hexId, ipOf, macOption, makeHarness, randomMac } from './core-helpers.js';

const NEEDS_BODY = [
  'NetworkDriver.CreateNetwork', 'NetworkDriver.DeleteNetwork', 'NetworkDriver.CreateEndpoint', 'NetworkDriver.DeleteEndpoint',
  'NetworkDriver.Join', 'NetworkDriver.Leave', 'NetworkDriver.EndpointOperInfo', 'NetworkDriver.ProgramExternalConnectivity',
  'NetworkDriver.RevokeExternalConnectivity', 'IpamDriver.RequestPool', 'IpamDriver.ReleasePool', 'IpamDriver.RequestAddress',
  'IpamDriver.ReleaseAddress',
];

describe("dockerd's empty-body retry", () => {
  const service = new FakeLibnetwork();
  const sock = usePluginSocket(service, 'kuryr-retry-');

  test('every verb that needs a body answers 400 naming the retry, and calls nothing', async () => {
    for (const m of NEEDS_BODY) {
      const r = await sock.engine.call(`/${m}`, '');
      assert.equal(r.status, 400, m);
      const err = (r.json as { Err: string }).Err;
      assert.match(err, new RegExp(`^empty ${m.replace('.', '\\.')} request: dockerd re-sends a plugin call with an empty body`), m);
    }
    assert.deepEqual(service.calls, []);
  });

  test('a real but incomplete body still names the missing fields', async () => {
    const r = await sock.engine.call('/NetworkDriver.CreateEndpoint', JSON.stringify({ NetworkID: 'n' }));
    assert.equal(r.status, 400);
    assert.match((r.json as { Err: string }).Err, /EndpointID: is required/);
  });
});

describe('rollback after an interrupted CreateEndpoint', () => {
  test('ReleaseAddress of a port still bound and plugged here unplugs it before deleting it', async () => {
    const h = await makeHarness();
    const did = hexId();
    const net = await dockerNetworkCreate(h, { did, subnet: '10.11.0.0/24', gateway: '10.11.0.1' });
    const mac = randomMac();
    const addr = await h.service.addresses.requestAddress({ poolId: net.poolId, address: '', ...macOption(mac) });
    const eid = hexId();
    const sgsBefore = h.neutron.securityGroups.size;
    await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: addr, macAddress: mac });
    await h.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [{ proto: 6, port: 80 }] });
    assert.equal(h.binder.plugged.size, 1);
    // The retried CreateEndpoint failed; Docker never sends DeleteEndpoint for it, only ReleaseAddress.
    await h.service.addresses.releaseAddress({ poolId: net.poolId, address: ipOf(addr) });
    assert.equal(h.binder.plugged.size, 0, 'veth and OVS port removed');
    assert.equal(h.neutron.securityGroups.size, sgsBefore, 'its exposed-ports group went with it');
    assert.equal([...h.neutron.ports.values()].filter((p) => p.deviceOwner === 'compute:kuryr').length, 0);
  });
});

describe('SIGTERM drain', () => {
  test('waits for running calls however long they take within shutdown_timeout; reports a call cut off', async () => {
    const { drain } = await import('../../src/bin/daemon-runner.js');
    const { silentLogger } = await import('../../src/common/log.js');
    const slow = () => new Promise<void>((r) => setTimeout(r, 150));
    assert.equal(await drain(slow, 1000, silentLogger()), true);
    assert.equal(await drain(slow, 20, silentLogger()), false);
  });

  test('the plugin server finishes a call that is running when close() starts, then closes', { timeout: 10_000 }, async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { startDockerPlugin } = await import('../../src/northbound/docker/server.js');
    const { silentLogger } = await import('../../src/common/log.js');
    const { FakeDockerEngine } = await import('../fakes/fake-libnetwork.js');
    const dir = await mkdtemp(join(tmpdir(), 'kuryr-drain-'));
    const service = new FakeLibnetwork();
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    service.deleteNetwork = async () => {
      await gate;
    };
    const plugin = await startDockerPlugin({ service, logger: silentLogger(), socketPath: join(dir, 'k.sock') });
    const engine = new FakeDockerEngine(join(dir, 'k.sock'));
    const call = engine.call('/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: 'a'.repeat(64) }));
    await new Promise((r) => setTimeout(r, 50));
    let closed = false;
    const closing = plugin.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(closed, false, 'close waits for the running call');
    finish();
    assert.equal((await call).status, 200, 'the running call is answered');
    await closing;
    engine.close();
    await rm(dir, { recursive: true, force: true });
  });
});
