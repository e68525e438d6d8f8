/**
 * Chaos for the CNI node daemon on the real stack: pod lifecycles (concurrent ADD, DEL) called the
 * way libcni calls kuryr-cni, while the daemon is killed with SIGKILL at a random point and restarted.
 * The runtime's contract is kept: a failed ADD is followed by DEL, and DEL is retried until it
 * succeeds. Every pod either has connectivity (it reaches another pod of its round) or its ADD failed
 * cleanly, and once every pod is deleted no port, veth or OVS port of ours is left.
 *
 * Size: KURYR_CHAOS_ROUNDS rounds (default 2) of KURYR_CHAOS_PODS pods (default 4); the big run:
 * KURYR_CHAOS_ROUNDS=13 KURYR_CHAOS_PODS=8 (104 pod lifecycles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { KURYR_CNI } from './support/cni-daemon.js';
import { cniEnv, tempNetns } from './support/cni-env.js';
import { pingFrom, podPorts } from './support/cni-neutron.js';
import { kuryrHostLeftovers } from './support/host.js';
import { sleep, waitFor } from './support/sh.js';

const ROUNDS = Number(process.env.KURYR_CHAOS_ROUNDS ?? 2);
const PODS = Number(process.env.KURYR_CHAOS_PODS ?? 4);
const PREFIX = 'cni-e2e-chaos-';
const KILL_POINTS = ['ADD', 'DEL'] as const;

test('chaos: the CNI daemon killed at random points of pod lifecycles', { timeout: 20 * 60_000 * Math.max(1, ROUNDS / 2) }, async (t) => {
  if (!existsSync(KURYR_CNI)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 233);
  if (!env) return;
  const { neutron, topo, daemon } = env;
  const conf = daemon.conflist(`${PREFIX}net`, '1.0.0');
  const stats = { lifecycles: 0, connected: 0, failedCleanly: 0, retried: 0, kills: new Map<string, number>() };
  const seenPorts = new Set<string>();

  const killAndRestart = async (point: string, delayMs: number): Promise<void> => {
    await sleep(delayMs);
    await daemon.stop('SIGKILL');
    stats.kills.set(point, (stats.kills.get(point) ?? 0) + 1);
    await sleep(Math.random() * 1500);
    await daemon.start();
  };

  for (let round = 0; round < ROUNDS; round++) {
    await t.test(`round ${round + 1}/${ROUNDS}`, async (t) => {
      const point = KILL_POINTS[Math.floor(Math.random() * KILL_POINTS.length)]!;
      const delay = Math.floor(Math.random() * 2500);
      const pods = await Promise.all(
        Array.from({ length: PODS }, async (_, i) => ({
          cid: `chaos${round}x${i}${Date.now()}`,
          ns: await tempNetns(t, `${PREFIX}${round}-${i}`),
          name: `${PREFIX}p${round}-${i}`,
          uid: randomUUID(),
        })),
      );
      const envOf = (p: (typeof pods)[number]) => ({
        CNI_CONTAINERID: p.cid,
        CNI_NETNS: p.ns,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${p.name};K8S_POD_UID=${p.uid}`,
      });
      // the runtime's DEL: retried until it succeeds (the daemon may be down for a moment)
      const del = async (p: (typeof pods)[number]) =>
        waitFor(`DEL ${p.name}`, async () => (await daemon.call('DEL', envOf(p), conf)).rc === 0 || undefined, 120_000, 500);

      const adds = pods.map((p) => daemon.call('ADD', envOf(p), conf));
      if (point === 'ADD') await killAndRestart(point, delay);
      const results = await Promise.all(adds);
      stats.lifecycles += pods.length;
      for (const p of await podPorts(neutron, topo.podNetId)) seenPorts.add(p.id);

      const ipOf = (r: (typeof results)[number]) => String((r.out['ips'] as Array<{ address: string }> | undefined)?.[0]?.address ?? '').split('/')[0]!;
      const up = results.flatMap((r, i) => (r.rc === 0 ? [{ pod: pods[i]!, ip: ipOf(r) }] : []));
      for (const [i, r] of results.entries()) {
        const p = pods[i]!;
        if (r.rc === 0) {
          // connectivity: each pod reaches the next one that came up (itself when alone)
          const peer = up[(up.findIndex((u) => u.pod === p) + 1) % up.length]!;
          const ok = await waitFor(`${p.name} reaches ${peer.ip}`, async () => (await pingFrom(p.ns, peer.ip, 1)) || undefined, 30_000, 500).catch(() => false);
          assert.ok(ok, `${p.name}: ADD succeeded but cannot reach ${peer.pod.name} (${peer.ip})`);
          stats.connected++;
        } else {
          // a failed ADD: the runtime calls DEL; nothing of the pod may remain
          await del(p);
          stats.failedCleanly++;
          const left = (await podPorts(neutron, topo.podNetId)).filter((x) => x.name === p.name);
          assert.deepEqual(left.map((x) => x.id), [], `${p.name}: failed ADD (${r.out.msg}) left its port after DEL`);
          // then it retries the sandbox: the daemon is back, so this ADD must work
          const again = await daemon.call('ADD', envOf(p), conf);
          assert.equal(again.rc, 0, `${p.name}: retried ADD failed: ${again.out.msg}`);
          const ip = ipOf(again);
          const ok = await waitFor(`${p.name} reaches itself and the subnet`, async () => (await pingFrom(p.ns, up[0]?.ip ?? ip, 1)) || undefined, 30_000, 500).catch(() => false);
          assert.ok(ok, `${p.name}: retried ADD has no connectivity`);
          stats.retried++;
        }
      }

      const dels = pods.map(del);
      if (point === 'DEL') await killAndRestart(point, delay / 5);
      await Promise.all(dels);
      const left = await podPorts(neutron, topo.podNetId);
      assert.deepEqual(left.map((p) => `${p.name} ${p.id}`), [], 'no pod port left');
      assert.deepEqual(await kuryrHostLeftovers([...seenPorts]), [], 'no veth or OVS port left');
    });
  }

  console.log(
    `# CNI chaos: ${stats.lifecycles} pod lifecycles, ${stats.connected} with connectivity, ${stats.failedCleanly} failed cleanly (${stats.retried} retried ADDs then had connectivity); ` +
      `kills: ${[...stats.kills].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; 0 leaks`,
  );
  assert.equal(stats.connected + stats.failedCleanly, stats.lifecycles);
});
