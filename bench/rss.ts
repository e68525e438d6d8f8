/**
 * Memory of the daemons: idle RSS (5 s after start) and peak RSS (VmHWM after a small Docker workload), for the
 * sources under tsx (the development runtime) and the compiled build (what aio.sh, the units, the package and the
 * managed plugin run). The baseline of the ratio is tsx, measured in the same run. Needs `npm run build` and the
 * stack (under the lock).
 */
import { existsSync, readFileSync } from 'node:fs';
import { CniDaemon } from '../test/e2e/support/cni-daemon.js';
import { DockerCli } from '../test/e2e/support/docker.js';
import { KuryrDaemon, type DaemonRuntime } from '../test/e2e/support/kuryr-daemon.js';

const docker = new DockerCli();
const PFX = 'bench-rss-';
const GOAL_IDLE_MB = 80;

/** VmRSS and VmHWM of a pid, in MB. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(/(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? NaN);
  return { rss: kb('VmRSS:') / 1024, hwm: kb('VmHWM:') / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dockerDaemon(runtime: DaemonRuntime): Promise<{ idle: number; peak: number }> {
  const daemon = new KuryrDaemon({ runtime });
  await daemon.start();
  try {
    await sleep(5_000);
    const idle = memory(daemon.pid!).rss;
    await docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.94.0.0/24', `${PFX}net`]);
    const names = Array.from({ length: 10 }, (_, i) => `${PFX}c${i}`);
    await Promise.all(names.map((n) => docker.must(['run', '-d', '--name', n, '--net', `${PFX}net`, 'busybox', 'sleep', '600'])));
    await docker.run(['rm', '-f', ...names]);
    await docker.must(['network', 'rm', `${PFX}net`]);
    return { idle, peak: memory(daemon.pid!).hwm };
  } finally {
    await docker.removeAll(PFX);
    await daemon.stop();
  }
}

/** The pod subnet aio.sh made (any subnet id does for an idle daemon: it is only read on ADD). */
function podSubnet(): string {
  const conf = '/etc/kuryr/kuryr-cni.conf';
  const m = existsSync(conf) ? /pod_subnet = (\S+)/.exec(readFileSync(conf, 'utf8')) : null;
  return m?.[1] ?? '00000000-0000-0000-0000-000000000000';
}

async function cniDaemon(runtime: DaemonRuntime): Promise<number> {
  const daemon = new CniDaemon({ socketPath: `/run/kuryr-cni-e2e/${PFX}${runtime}.sock`, podSubnet: podSubnet(), runtime });
  await daemon.start();
  try {
    await sleep(5_000);
    return memory(daemon.pid!).rss;
  } finally {
    await daemon.stop();
  }
}

async function main(): Promise<void> {
  const mb = (v: number) => `${v.toFixed(1).padStart(6)} MB`;
  const d = { tsx: await dockerDaemon('tsx'), compiled: await dockerDaemon('compiled') };
  const c = { tsx: await cniDaemon('tsx'), compiled: await cniDaemon('compiled') };
  console.log(`daemon memory (baseline = the same daemon under tsx; goal: idle <= ${GOAL_IDLE_MB} MB compiled)`);
  console.log(`serve docker  idle: tsx ${mb(d.tsx.idle)} | compiled ${mb(d.compiled.idle)} | ratio ${(d.compiled.idle / d.tsx.idle).toFixed(2)}x`);
  console.log(`serve docker  peak: tsx ${mb(d.tsx.peak)} | compiled ${mb(d.compiled.peak)} | ratio ${(d.compiled.peak / d.tsx.peak).toFixed(2)}x  (10 concurrent docker run)`);
  console.log(`serve cni     idle: tsx ${mb(c.tsx)} | compiled ${mb(c.compiled)} | ratio ${(c.compiled / c.tsx).toFixed(2)}x`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
