/**
 * A pod (kuryr-cni → node daemon) and a Docker container (libnetwork driver) on the same Neutron
 * network reach each other: both are plain Neutron ports, whichever northbound made them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { KURYR_CNI } from './support/cni-daemon.js';
import { cniEnv, tempNetns } from './support/cni-env.js';
import { DockerE2e, E2E } from './support/fixture.js';
import { sh, waitFor } from './support/sh.js';

const PREFIX = 'cni-e2e-dk-';

test('a pod and a Docker container on one Neutron network ping each other', { timeout: 600_000 }, async (t) => {
  const skip = await DockerE2e.skipReason();
  if (skip) return void t.skip(skip);
  if (!existsSync(KURYR_CNI)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 232);
  if (!env) return;
  const { topo, daemon } = env;
  const docker = new DockerE2e();
  await docker.start();
  t.after(() => docker.stop());

  const net = `${E2E}cni-shared`;
  await docker.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.232.1.0/24', '--gateway', '10.232.1.1', '-o', `neutron.net.uuid=${topo.podNetId}`, net]);
  const c = `${E2E}cni-c`;
  await docker.docker.must(['run', '-d', '--name', c, '--net', net, 'busybox', 'sleep', '600']);
  const container = await docker.containerIp(c, net);
  const cport = (await docker.neutron.listPorts({ deviceId: container.endpointId }))[0]!;
  // the pods' security group admits everything; the operator lets it reach the container too
  await docker.neutron.updatePort(cport.id, { securityGroups: [...cport.securityGroups, topo.sgId] });

  const ns = await tempNetns(t, `${PREFIX}pod`);
  const podEnv = {
    CNI_CONTAINERID: `${PREFIX}${Date.now()}`,
    CNI_NETNS: ns,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${PREFIX}pod;K8S_POD_UID=${randomUUID()}`,
  };
  const conf = daemon.conflist(`${PREFIX}net`, '1.0.0');
  const add = await daemon.call('ADD', podEnv, conf);
  assert.equal(add.rc, 0, JSON.stringify(add.out));
  t.after(() => daemon.call('DEL', podEnv, conf));
  const podIp = String((add.out.ips as Array<{ address: string }>)[0]!.address).split('/')[0]!;
  const nsName = ns.split('/').pop()!;

  assert.ok(await waitFor('container → pod', () => docker.ping(c, podIp, 2), 30_000, 500));
  assert.ok(await waitFor('pod → container', async () => (await sh(['ip', 'netns', 'exec', nsName, 'ping', '-c', '2', '-W', '2', container.ip])).code === 0, 30_000, 500));

  assert.equal((await daemon.call('DEL', podEnv, conf)).rc, 0);
  await docker.docker.must(['rm', '-f', c]);
  await docker.docker.must(['network', 'rm', net]);
  assert.equal((await docker.neutron.getNetwork(topo.podNetId)).id, topo.podNetId, 'the operator network survives');
});
