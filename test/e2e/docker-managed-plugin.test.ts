/**
 * The Docker managed plugin (v2) on the real dockerd: built by scripts/docker-plugin.sh from this machine's
 * Debian packages and the npm package, created and enabled with `docker plugin`, configured with `docker plugin
 * set`, then seed 000's flow (create, run ×2, ping, rm, network rm) with nothing left in Neutron or OVS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostIfName } from '../../src/core/shared/device-names.js';
import { DockerE2e, E2E } from './support/fixture.js';
import { netTags } from './support/kuryr-state.js';
import { adminClients, portOfEndpoint } from './support/neutron.js';
import { must, sh, waitFor } from './support/sh.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PLUGIN = 'kuryr-ts:latest';
const DOCKER = '/usr/bin/docker';
const skip = await DockerE2e.skipReason();

describe('docker managed plugin (v2): the seed flow through `docker plugin`', { skip }, () => {
  const e2e = new DockerE2e();
  const openstack = adminClients();
  const NET = `${E2E}plugin-net`;
  const [C1, C2] = [`${E2E}plugin-c1`, `${E2E}plugin-c2`];

  before(async () => {
    await e2e.docker.removeAll(`${E2E}plugin-`);
    await must(['bash', join(ROOT, 'scripts/docker-plugin.sh'), 'create', PLUGIN], { timeoutMs: 600_000 });
    await must([DOCKER, 'plugin', 'set', PLUGIN, 'OS_AUTH_URL=http://127.0.0.1:5000/v3', 'OS_USERNAME=kuryr', 'OS_PASSWORD=kuryr',
      'OS_PROJECT_NAME=service', 'OS_REGION_NAME=RegionOne', `OS_DEFAULT__HOST=${hostname()}`]);
    await must([DOCKER, 'plugin', 'enable', PLUGIN], { timeoutMs: 120_000 });
  });
  after(async () => {
    await e2e.docker.removeAll(`${E2E}plugin-`);
    await sh([DOCKER, 'plugin', 'disable', '-f', PLUGIN]);
    await sh([DOCKER, 'plugin', 'rm', '-f', PLUGIN]);
    await openstack.close();
  });

  test('docker plugin ls shows it enabled, with our settings', async () => {
    const inspect = JSON.parse(await must([DOCKER, 'plugin', 'inspect', PLUGIN])) as Array<{ Enabled: boolean; Settings: { Env: string[] } }>;
    assert.equal(inspect[0]!.Enabled, true);
    assert.ok(inspect[0]!.Settings.Env.includes(`OS_DEFAULT__HOST=${hostname()}`));
  });

  test('seed flow: network create, run x2, ping, rm, network rm; 0 leftovers', async () => {
    const id = await e2e.docker.must(['network', 'create', '--driver', PLUGIN, '--ipam-driver', PLUGIN,
      '--subnet', '10.0.0.0/16', '--gateway', '10.0.0.1', '--ip-range', '10.0.0.0/24', NET]);
    assert.equal((await openstack.neutron.listNetworks({ tags: netTags(id) })).length, 1, 'a Neutron network tagged with the Docker id');
    await e2e.docker.must(['run', '-d', '--name', C1, '--net', NET, 'busybox', 'sleep', '600']);
    await e2e.docker.must(['run', '-d', '--name', C2, '--net', NET, 'busybox', 'sleep', '600']);
    const c1 = await e2e.docker.containerInspect(C1);
    const c2 = await e2e.docker.containerInspect(C2);
    const ip2 = c2.NetworkSettings.Networks[NET]!.IPAddress;
    assert.match(ip2, /^10\.0\.0\.\d+$/);
    await waitFor('c1 pings c2', async () => (await e2e.docker.run(['exec', C1, 'ping', '-c', '1', '-W', '1', ip2])).code === 0, 30_000, 500);
    const ports = await Promise.all([c1, c2].map((c) => portOfEndpoint(openstack.neutron, c.NetworkSettings.Networks[NET]!.EndpointID)));
    for (const p of ports) assert.equal(p?.status, 'ACTIVE');

    await e2e.docker.must(['rm', '-f', C1, C2]);
    await e2e.docker.must(['network', 'rm', NET]);
    for (const p of ports) {
      await assert.rejects(openstack.neutron.getPort(p!.id), /404/, `port ${p!.id} deleted`);
      assert.ok(!(await must(['ovs-vsctl', 'list-ports', 'br-int'])).split('\n').includes(hostIfName(p!.id)), 'OVS port removed');
    }
    assert.deepEqual(await openstack.neutron.listNetworks({ tags: netTags(id) }), [], 'no Neutron network left');
    assert.deepEqual((await openstack.neutron.listSubnetPools({})).filter((sp) => sp.name.includes('10.0.0.0/24')), [], 'no kuryr pool left');
  });
});
