/**
 * Docker on port pools against Docker's bridge driver, on the same dockerd in one run: `docker run
 * --rm`, 20 and 50 `docker run -d` at once (every port checked ACTIVE right after), the time to
 * prime a pool of 20 and the refill rate. Our daemon runs as plugin `kuryrpool` (see
 * test/e2e/support/pools.ts). Needs the all-in-one stack.
 *   node --import tsx bench/pools.ts   (BENCH_RUNS, default 15)
 */
import { DockerCli } from '../test/e2e/support/docker.js';
import { KuryrDaemon } from '../test/e2e/support/kuryr-daemon.js';
import { netTags } from '../test/e2e/support/kuryr-state.js';
import { adminClients } from '../test/e2e/support/neutron.js';
import { POOL_DRIVER, daemonReady, poolDaemon } from '../test/e2e/support/pools.js';
import { waitFor } from '../test/e2e/support/sh.js';
import { median, percentile, row, timeIt } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BIG = 50;
const SMALL = 20;
const PFX = 'bench-pool-';
const docker = new DockerCli();
const clients = adminClients();
const neutron = clients.neutron;

async function runRm(net: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await timeIt(() => docker.must(['run', '--rm', '--net', net, 'busybox', 'true'])));
  return out;
}

/** Wall time of `n` concurrent `docker run -d`, then the status of each container's Neutron port (pool side only). */
async function concurrent(net: string, tag: string, n: number, checkPorts: boolean): Promise<{ ms: number; notActive: number }> {
  const names = Array.from({ length: n }, (_, i) => `${PFX}${tag}${i}`);
  const ms = await timeIt(() => Promise.all(names.map((c) => docker.must(['run', '-d', '--name', c, '--net', net, 'busybox', 'sleep', '600']))));
  let notActive = 0;
  if (checkPorts) {
    // By MAC: a pool port's device_id may still be on its way to Neutron.
    const inspected = JSON.parse(await docker.must(['inspect', ...names])) as Array<{ NetworkSettings: { Networks: Record<string, { MacAddress: string }> } }>;
    for (const c of inspected) {
      const mac = c.NetworkSettings.Networks[net]?.MacAddress ?? '';
      const [port] = await neutron.listPorts({ macAddress: mac });
      if (port?.status !== 'ACTIVE') notActive++;
    }
  }
  await docker.run(['rm', '-f', ...names]);
  return { ms, notActive };
}

/** Ready ports as the daemon counts them (parked and seen ACTIVE). */
function readyCount(netId: string): Promise<number> {
  return daemonReady(`/run/docker/plugins/${POOL_DRIVER}.sock`, netId);
}

async function main(): Promise<void> {
  await docker.removeAll(PFX);
  const daemon = new KuryrDaemon({ ...poolDaemon({ min: BIG, max: BIG + 10, batch: 25, everyS: 1 }), runtime: 'compiled', env: { KURYR_LOG_LEVEL: 'info' } });
  await daemon.start();
  try {
    await docker.must(['network', 'create', '--driver', 'bridge', '--subnet', '10.95.0.0/24', `${PFX}bridge`]);
    // Time to prime: network create → 20 ACTIVE ports parked.
    const t0 = performance.now();
    const id = await docker.must(['network', 'create', '--driver', POOL_DRIVER, '--ipam-driver', POOL_DRIVER, '--subnet', '10.94.0.0/24', `${PFX}net`]);
    const netId = (await neutron.listNetworks({ tags: netTags(id) }))[0]!.id;
    await waitFor('20 ready pool ports', async () => (await readyCount(netId)) >= SMALL, 180_000, 200);
    const prime20 = performance.now() - t0;
    await waitFor(`${BIG} ready pool ports`, async () => (await readyCount(netId)) >= BIG, 300_000, 500);
    const net = `${PFX}net`;
    await docker.must(['run', '--rm', '--net', net, 'busybox', 'true']);
    await docker.must(['run', '--rm', '--net', `${PFX}bridge`, 'busybox', 'true']);

    const runK = await runRm(net);
    const runB = await runRm(`${PFX}bridge`);
    await waitFor('pool refilled', async () => (await readyCount(netId)) >= BIG, 300_000, 500);
    const c20 = await concurrent(net, 'a', SMALL, true);
    const b20 = await concurrent(`${PFX}bridge`, 'b', SMALL, false);
    await waitFor('pool refilled', async () => (await readyCount(netId)) >= BIG, 300_000, 500);
    const names = Array.from({ length: BIG }, (_, i) => `${PFX}c${i}`);
    const c50ms = await timeIt(() => Promise.all(names.map((c) => docker.must(['run', '-d', '--name', c, '--net', net, 'busybox', 'sleep', '600']))));
    // Refill rate: the containers keep their ports; the pool makes new ones.
    const r0 = performance.now();
    const left = await readyCount(netId);
    await waitFor('refill after 50', async () => (await readyCount(netId)) >= BIG, 300_000, 500);
    const refillPerS = ((BIG - left) / (performance.now() - r0)) * 1000;
    await docker.run(['rm', '-f', ...names]);
    const b50 = await concurrent(`${PFX}bridge`, 'd', BIG, false);

    console.log(`port pools: ${RUNS} runs each; baseline = Docker's bridge driver on the same dockerd`);
    console.log(row('docker run --rm busybox true (pool)', runK, runB));
    console.log(`${SMALL}x docker run -d at once (pool)     wall ${c20.ms.toFixed(0)} ms | bridge ${b20.ms.toFixed(0)} ms | ratio ${(c20.ms / b20.ms).toFixed(2)}x | ports not ACTIVE after return: ${c20.notActive}`);
    console.log(`${BIG}x docker run -d at once (pool)     wall ${c50ms.toFixed(0)} ms | bridge ${b50.ms.toFixed(0)} ms | vs ${SMALL} at once ${(c50ms / c20.ms).toFixed(2)}x (bridge ${(b50.ms / b20.ms).toFixed(2)}x)`);
    console.log(`pool: prime 20 ports ${prime20.toFixed(0)} ms (network create → 20 ACTIVE, parked); refill ${refillPerS.toFixed(1)} ports/s`);
    console.log(`(pool run --rm median ${median(runK).toFixed(0)} ms, p90 ${percentile(runK, 90).toFixed(0)} ms)`);
  } finally {
    await docker.removeAll(PFX);
    await daemon.stop();
    await clients.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
