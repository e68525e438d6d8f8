/**
 * podman 4.3 with the CNI backend runs containers on a kuryr network: the container gets its Neutron
 * port (named after the container, device_id = container id: podman sends no pod UID) and the port
 * disappears with the container. Isolated podman config from `bash scripts/cni-runtimes.sh up`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { RT } from './support/cni-daemon.js';
import { cniEnv } from './support/cni-env.js';
import { podPorts } from './support/cni-neutron.js';
import { kuryrHostLeftovers } from './support/host.js';
import { sh } from './support/sh.js';

const PREFIX = 'cni-e2e-pm-';
const NET = `${PREFIX}net`;

function podman(args: string[]) {
  return sh(['env', `CONTAINERS_CONF=${RT.podmanConf}`, `CONTAINERS_STORAGE_CONF=${RT.podmanStorage}`, 'podman', ...args], { timeoutMs: 180_000 });
}

test('podman (CNI backend) runs containers on the kuryr network', { timeout: 600_000 }, async (t) => {
  if (!existsSync(RT.podmanConf)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 233);
  if (!env) return;
  const { neutron, topo, daemon } = env;
  const conf = daemon.writeConflist(RT.podmanConfDir, `${NET}.conflist`, NET, '1.0.0');
  t.after(async () => {
    await podman(['rm', '-f', '-t', '0', `${PREFIX}app`]);
    rmSync(conf, { force: true });
  });

  await t.test('podman run --rm: the container sees its Neutron address; nothing is left after exit', async () => {
    const started = performance.now();
    const r = await podman(['run', '--rm', '--network', NET, RT.busybox, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    t.diagnostic(`podman run --rm: ${Math.round(performance.now() - started)} ms`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /inet 10\.233\.1\.\d+\/24/);
    assert.deepEqual(await podPorts(neutron, topo.podNetId), []);
  });

  await t.test('podman run -d: port named after the container, ACTIVE, default route via the subnet gateway; rm -f removes it', async () => {
    const run = await podman(['run', '-d', '--name', `${PREFIX}app`, '--network', NET, RT.busybox, 'sleep', '600']);
    assert.equal(run.code, 0, run.stderr);
    const cid = run.stdout.trim();
    const [port] = await neutron.listPorts({ name: `${PREFIX}app` });
    assert.ok(port);
    assert.equal(port.status, 'ACTIVE');
    assert.equal(port.deviceId, cid);
    const route = await podman(['exec', `${PREFIX}app`, 'ip', 'route']);
    assert.match(route.stdout, /default via 10\.233\.1\.1 dev eth0/);
    const gw = await podman(['exec', `${PREFIX}app`, 'ping', '-c', '2', '-W', '2', '10.233.1.1']);
    assert.equal(gw.code, 0, `ping the router: ${gw.stdout}${gw.stderr}`);
    assert.equal((await podman(['rm', '-f', '-t', '0', `${PREFIX}app`])).code, 0);
    assert.deepEqual(await podPorts(neutron, topo.podNetId), []);
    assert.deepEqual(await kuryrHostLeftovers([port.id]), []);
  });
});
