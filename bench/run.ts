/**
 * `npm run bench`: Kuryr against Docker's own bridge driver, measured in the same run on the same dockerd.
 * Needs the all-in-one stack (`bash scripts/aio.sh up`). Prints medians, p90s and ratios.
 */
import { DockerCli } from '../test/e2e/support/docker.js';
import { KuryrDaemon } from '../test/e2e/support/kuryr-daemon.js';
import { row, timeIt } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 20);
const docker = new DockerCli();
const PFX = 'bench-';

async function runRm(net: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await timeIt(() => docker.must(['run', '--rm', '--net', net, 'busybox', 'true'])));
  return out;
}

async function createRm(driverArgs: (i: number) => string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const name = `${PFX}cr${i}`;
    out.push(await timeIt(async () => {
      await docker.must(['network', 'create', ...driverArgs(i), name]);
      await docker.must(['network', 'rm', name]);
    }));
  }
  return out;
}

async function concurrentStart(net: string, tag: string): Promise<number> {
  const names = Array.from({ length: CONCURRENT }, (_, i) => `${PFX}${tag}${i}`);
  const ms = await timeIt(() => Promise.all(names.map((n) => docker.must(['run', '-d', '--name', n, '--net', net, 'busybox', 'sleep', '600']))));
  await docker.run(['rm', '-f', ...names]);
  return ms;
}

async function main(): Promise<void> {
  await docker.removeAll(PFX);
  const daemon = new KuryrDaemon({ runtime: 'compiled', env: { KURYR_LOG_LEVEL: 'info' } }); // the production build, as the main job runs it
  await daemon.start();
  try {
    await docker.must(['network', 'create', '--driver', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.90.0.0/24', `${PFX}kuryr`]);
    await docker.must(['network', 'create', '--driver', 'bridge', '--subnet', '10.91.0.0/24', `${PFX}bridge`]);
    // warm both paths once (image cache, Keystone token, Neutron connection)
    await docker.must(['run', '--rm', '--net', `${PFX}kuryr`, 'busybox', 'true']);
    await docker.must(['run', '--rm', '--net', `${PFX}bridge`, 'busybox', 'true']);

    const runK = await runRm(`${PFX}kuryr`);
    const runB = await runRm(`${PFX}bridge`);
    const crK = await createRm((i) => ['--driver', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', `10.92.${i}.0/24`]);
    const crB = await createRm((i) => ['--driver', 'bridge', '--subnet', `10.93.${i}.0/24`]);
    const conK = await concurrentStart(`${PFX}kuryr`, 'ck');
    const conB = await concurrentStart(`${PFX}bridge`, 'cb');

    console.log(`benchmark: ${RUNS} runs each, ${CONCURRENT} concurrent starts; baseline = Docker's bridge driver on the same dockerd`);
    console.log(row('docker run --rm busybox true', runK, runB));
    console.log(row('docker network create + rm', crK, crB));
    console.log(row(`${CONCURRENT}x docker run -d at once (wall)`, [conK], [conB]));
  } finally {
    await docker.removeAll(PFX);
    await daemon.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
