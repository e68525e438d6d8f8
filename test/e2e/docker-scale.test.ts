/**
 * Load and restarts on the real stack: 20 `docker run -d` at once on one kuryr network, and the
 * Kuryr daemon killed while containers run (they keep connectivity and are removed cleanly later).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerE2e, E2E } from './support/fixture.js';
import { waitActive } from './support/neutron.js';

const skip = await DockerE2e.skipReason();
const N = 20;

describe('docker driver: concurrency and restarts', { skip }, () => {
  const e2e = new DockerE2e();
  const NET = `${E2E}scale`;
  before(async () => {
    await e2e.start();
    await e2e.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.7.0.0/24', NET]);
  });
  after(async () => {
    await e2e.docker.removeAll(E2E);
    await e2e.stop();
  });

  test(`${N} docker run -d at once: all start, every port goes ACTIVE, they ping, rm -f leaves nothing`, async () => {
    const names = Array.from({ length: N }, (_, i) => `${E2E}many${i}`);
    const results = await Promise.all(names.map((n) => e2e.docker.run(['run', '-d', '--name', n, '--net', NET, 'busybox', 'sleep', '600'], 300_000)));
    results.forEach((r, i) => assert.equal(r.code, 0, `${names[i]}: ${r.stderr}`));
    const eps = await Promise.all(names.map((n) => e2e.containerIp(n, NET)));
    assert.equal(new Set(eps.map((e) => e.ip)).size, N, 'every IP is unique');
    const portIds: string[] = [];
    for (const ep of eps) {
      const port = (await e2e.neutron.listPorts({ deviceId: ep.endpointId }))[0];
      assert.ok(port, `a port for endpoint ${ep.endpointId}`);
      portIds.push(port.id);
      await waitActive(e2e.neutron, port.id, 60_000);
    }
    for (const ep of eps.slice(1)) assert.ok(await e2e.ping(names[0]!, ep.ip, 1), `${names[0]} → ${ep.ip}`);
    const rm = await e2e.docker.run(['rm', '-f', ...names], 300_000);
    assert.equal(rm.code, 0, rm.stderr);
    await e2e.assertNoLeftovers(portIds);
  });

  test('the daemon killed with SIGKILL and restarted: containers keep connectivity and are removed cleanly', async () => {
    const [a, b] = [`${E2E}rs-a`, `${E2E}rs-b`];
    await e2e.docker.must(['run', '-d', '--name', a, '--net', NET, 'busybox', 'sleep', '600']);
    await e2e.docker.must(['run', '-d', '--name', b, '--net', NET, 'busybox', 'sleep', '600']);
    const ipB = (await e2e.containerIp(b, NET)).ip;
    assert.ok(await e2e.ping(a, ipB));
    await e2e.daemon.stop('SIGKILL');
    assert.ok(await e2e.ping(a, ipB), 'traffic flows while the daemon is down');
    await e2e.daemon.start();
    assert.ok(await e2e.ping(a, ipB), 'and after the restart');
    const c = `${E2E}rs-c`;
    await e2e.docker.must(['run', '-d', '--name', c, '--net', NET, 'busybox', 'sleep', '600']);
    assert.ok(await e2e.ping(c, ipB), 'a container started after the restart joins in');
    const ports = await Promise.all([a, b, c].map(async (n) => (await e2e.neutron.listPorts({ deviceId: (await e2e.containerIp(n, NET)).endpointId }))[0]!.id));
    await e2e.docker.must(['rm', '-f', a, b, c]);
    await e2e.assertNoLeftovers(ports);
  });

  test('docker network rm after all that removes the network, subnet and pool', async () => {
    await e2e.docker.must(['network', 'rm', NET]);
    assert.deepEqual(await e2e.neutron.listSubnetPools({ name: 'kuryrPool-10.7.0.0/24' }), []);
    assert.deepEqual(await e2e.neutron.listSubnets({ cidr: '10.7.0.0/24' }), []);
    assert.deepEqual(await e2e.kuryrPorts().then((ps) => ps.filter((p) => p.fixedIps.some((f) => f.ipAddress.startsWith('10.7.0.')))), []);
  });
});
