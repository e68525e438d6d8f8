/**
 * Chaos for the Docker driver on the real stack: container lifecycles (network create, concurrent
 * `docker run -d`, `docker rm -f`, `docker network rm`) while our daemon is killed with SIGKILL at a
 * random point and restarted. Every container must either run with connectivity or have failed
 * cleanly, and once everything is removed no Neutron port, IP, network, subnet pool, security group,
 * veth or OVS port of ours may remain (the daemon's reconciler runs with a short period, as it would
 * in production with its default one; how much it had to remove is printed).
 *
 * Size: KURYR_CHAOS_ROUNDS rounds (default 2) of KURYR_CHAOS_CONTAINERS containers (default 4):
 * about a minute per round here. The big run: KURYR_CHAOS_ROUNDS=25 KURYR_CHAOS_CONTAINERS=8 (200 lifecycles).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DockerE2e, E2E } from './support/fixture.js';
import { dockerNetworkLeaks, kuryrNetworkIds } from './support/docker-leaks.js';
import { KuryrDaemon } from './support/kuryr-daemon.js';
import { sh, sleep, waitFor } from './support/sh.js';

const ROUNDS = Number(process.env.KURYR_CHAOS_ROUNDS ?? 2);
const CONTAINERS = Number(process.env.KURYR_CHAOS_CONTAINERS ?? 4);
const GC = '[DEFAULT]\ngc_interval = 3\ngc_grace = 5\n';
const skip = await DockerE2e.skipReason();

/** Where in the lifecycle the kill lands. */
const KILL_POINTS = ['network create', 'docker run', 'docker rm', 'network rm'] as const;
type KillPoint = (typeof KILL_POINTS)[number];

describe('chaos: our Docker daemon killed at random points', { skip, timeout: 30 * 60_000 * Math.max(1, ROUNDS / 2) }, () => {
  const e2e = new DockerE2e();
  let daemon: KuryrDaemon;
  const stats = { lifecycles: 0, ran: 0, failedCleanly: 0, kills: new Map<KillPoint, number>() };

  before(async () => {
    await e2e.start();
    await e2e.daemon.stop();
    daemon = new KuryrDaemon({ extraConfig: GC });
    await daemon.start();
  });
  after(async () => {
    await daemon.stop();
    await e2e.stop();
  });

  const killAndRestart = async (point: KillPoint, delayMs: number): Promise<void> => {
    await sleep(delayMs);
    await daemon.stop('SIGKILL');
    stats.kills.set(point, (stats.kills.get(point) ?? 0) + 1);
    await sleep(Math.random() * 2000);
    await daemon.start();
  };

  for (let round = 0; round < ROUNDS; round++) {
    test(`round ${round + 1}/${ROUNDS}`, async () => {
      const point = KILL_POINTS[Math.floor(Math.random() * KILL_POINTS.length)]!;
      const delay = Math.floor(Math.random() * 3000);
      const net = `${E2E}chaos${round}`;
      const netsBefore = await kuryrNetworkIds(e2e.neutron);
      const cidr = `10.${150 + (round % 100)}.${Math.floor(round / 100)}.0/24`;
      const createNet = () => e2e.docker.run(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', cidr, net]);
      let created = await (point === 'network create' ? Promise.all([createNet(), killAndRestart(point, delay / 10)]).then(([r]) => r) : createNet());
      if (created.code !== 0) {
        // failed cleanly: nothing of the attempt may stay (checked below), and a second attempt works
        created = await createNet();
      }
      assert.equal(created.code, 0, `network create: ${created.stderr}`);
      const did = created.stdout.trim();

      const names = Array.from({ length: CONTAINERS }, (_, i) => `${E2E}ch${round}-${i}`);
      const run = (n: string, i: number) =>
        e2e.docker.run(['run', '-d', '--name', n, '--net', net, ...(i % 2 === 0 ? ['--expose', '8080'] : []), 'busybox', 'sleep', '600'], 240_000);
      const runs = names.map(run);
      if (point === 'docker run') await killAndRestart(point, delay);
      const results = await Promise.all(runs);
      stats.lifecycles += names.length;

      const running: Array<{ name: string; ip: string }> = [];
      for (const [i, r] of results.entries()) {
        const name = names[i]!;
        const state = await e2e.docker.run(['inspect', '-f', '{{.State.Running}} {{(index .NetworkSettings.Networks "' + net + '").IPAddress}}', name]);
        const [up, ip] = state.stdout.trim().split(' ');
        if (r.code === 0 && up === 'true') running.push({ name, ip: ip ?? '' });
        else {
          stats.failedCleanly++;
          // a failed run must leave a container that is not running (Docker removes its endpoint)
          assert.notEqual(up, 'true', `${name} runs although docker run failed: ${r.stderr}`);
        }
      }
      stats.ran += running.length;
      // connectivity: every running container reaches another running one (or itself when alone)
      for (const [i, c] of running.entries()) {
        const peer = running[(i + 1) % running.length]!;
        const ok = await waitFor(`${c.name} → ${peer.ip}`, async () => (await e2e.ping(c.name, peer.ip, 1)) || undefined, 30_000, 500).catch(() => false);
        assert.ok(ok, `${c.name} has no connectivity to ${peer.name} (${peer.ip})`);
      }

      const rm = e2e.docker.run(['rm', '-f', ...names], 240_000);
      if (point === 'docker rm') await killAndRestart(point, delay / 3);
      await rm;
      const netRm = e2e.docker.run(['network', 'rm', net]);
      if (point === 'network rm') await killAndRestart(point, delay / 10);
      await netRm;
      await e2e.docker.run(['network', 'rm', net]); // gone already, or removed now

      // 0 leaks once everything is removed (the reconciler may need a few rounds for what a kill left)
      await waitFor(`no leftovers of round ${round + 1}`, async () => {
        const leaks = await dockerNetworkLeaks(e2e.neutron, did, cidr, netsBefore);
        return leaks.length === 0 || (console.log(`# waiting on: ${leaks.join(', ')}`), undefined);
      }, 120_000, 3000);
    });
  }

  test('summary', async () => {
    const gcLines = (await sh(['grep', '-c', 'gc removed', daemon.logPath])).stdout.trim();
    console.log(
      `# chaos: ${stats.lifecycles} container lifecycles, ${stats.ran} ran with connectivity, ${stats.failedCleanly} failed cleanly; ` +
        `kills: ${[...stats.kills].map(([k, v]) => `${k} ${v}`).join(', ')}; reconciler removals: ${gcLines || 0}; 0 leaks`,
    );
    assert.equal(stats.ran + stats.failedCleanly, stats.lifecycles);
  });
});
