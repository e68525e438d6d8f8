/**
 * CNI ADD and DEL latency: kuryr-cni (shim → node daemon → Neutron port, plug, ACTIVE) against Debian's
 * bridge + host-local plugins, under the same callers in one run:
 *   1. direct: the plugin executed as libcni does (env + stdin), in a fresh netns per iteration;
 *   2. containerd CRI: RunPodSandbox (ADD) and StopPodSandbox + RemovePodSandbox (DEL + teardown).
 * Needs the stack (`bash scripts/aio.sh up`) and the runtimes (`bash scripts/cni-runtimes.sh up`).
 *   node --import tsx bench/cni.ts        (BENCH_CNI_RUNS, default 10)
 */
import { randomUUID } from 'node:crypto';
import { existsSync, openSync, readSync, closeSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from '../test/e2e/support/cni-cri.js';
import { CniDaemon, execPlugin, KURYR_CNI, RT } from '../test/e2e/support/cni-daemon.js';
import { createTopology, destroyTopology } from '../test/e2e/support/cni-neutron.js';
import { adminClients } from '../test/e2e/support/neutron.js';
import { sh, sleep, waitFor } from '../test/e2e/support/sh.js';
import { hostname } from 'node:os';
import type { NeutronApi } from '../src/core/shared/neutron-api.js';
import { poolTag } from '../src/core/port-pool/pool-tags.js';
import { row, timeIt } from './stats.js';

const RUNS = Number(process.env.BENCH_CNI_RUNS ?? 10);
const PFX = 'cni-bench-';
const BRIDGE = { cniVersion: '1.0.0', name: `${PFX}br`, type: 'bridge', bridge: `${PFX}br0`, isGateway: false, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.79.234.0/24' }]] } };

/** ADD and DEL times of `RUNS` attachments, each in a fresh netns. */
async function direct(bin: string, config: Record<string, unknown>): Promise<{ add: number[]; del: number[] }> {
  const add: number[] = [];
  const del: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const ns = `${PFX}ns${i}`;
    await sh(['ip', 'netns', 'add', ns]);
    const env = { CNI_CONTAINERID: `${PFX}${randomUUID()}`, CNI_NETNS: `/var/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${PFX}pod${i};K8S_POD_UID=${randomUUID()}` };
    const a = await execPlugin(bin, 'ADD', env, config);
    if (a.rc !== 0) throw new Error(`${bin} ADD failed: ${JSON.stringify(a.out)}`);
    const d = await execPlugin(bin, 'DEL', env, config);
    if (d.rc !== 0) throw new Error(`${bin} DEL failed: ${JSON.stringify(d.out)}`);
    add.push(a.ms);
    del.push(d.ms);
    await sh(['ip', 'netns', 'del', ns]);
  }
  return { add, del };
}

/** RunPodSandbox and Stop+Remove times with `conflist` as containerd's only network. */
async function underContainerd(cri: CriClient, conflist: Record<string, unknown>): Promise<{ add: number[]; del: number[] }> {
  for (const f of readdirSync(RT.criConfDir)) rmSync(join(RT.criConfDir, f));
  writeFileSync(join(RT.criConfDir, '10-bench.conflist'), JSON.stringify(conflist));
  await sleep(1500);
  const add: number[] = [];
  const del: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let id = '';
    add.push(await timeIt(async () => (id = await cri.runPodSandbox({ name: `${PFX}pod${i}`, namespace: 'bench', uid: randomUUID() }))));
    del.push(await timeIt(async () => {
      await cri.stopPodSandbox(id);
      await cri.removePodSandbox(id);
    }));
  }
  rmSync(join(RT.criConfDir, '10-bench.conflist'));
  return { add, del };
}

const MANY = 50;

/** VERSION answered by each plugin without any daemon or kernel work: the cost of starting the executable itself. */
async function startFloor(bin: string, config: Record<string, unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await execPlugin(bin, 'VERSION', {}, config);
    if (r.rc !== 0) throw new Error(`${bin} VERSION failed: ${JSON.stringify(r.out)}`);
    out.push(r.ms);
  }
  return out;
}

/** What the installed kuryr-cni is: the compiled shim (an ELF binary) or the Node.js fallback (a wrapper script). */
function pluginKind(bin: string): string {
  const fd = openSync(bin, 'r');
  try {
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    return head.toString('latin1') === '\x7fELF' ? 'compiled shim' : 'Node.js shim';
  } finally {
    closeSync(fd);
  }
}

/** This node's free pod pool ports of the network that are ACTIVE. */
async function readyPodPorts(neutron: NeutronApi, networkId: string): Promise<number> {
  const ports = await neutron.listPorts({ networkId, tags: [poolTag('cni', hostname())] });
  return ports.filter((p) => p.status === 'ACTIVE' && p.deviceId === '').length;
}

/** Wall time of `MANY` RunPodSandbox at once with `conflist`, then all removed. */
async function manyAtOnce(cri: CriClient, conflist: Record<string, unknown>): Promise<{ ms: number; failed: number }> {
  for (const f of readdirSync(RT.criConfDir)) rmSync(join(RT.criConfDir, f));
  writeFileSync(join(RT.criConfDir, '10-bench.conflist'), JSON.stringify(conflist));
  await sleep(1500);
  const ids: string[] = [];
  let failed = 0;
  const ms = await timeIt(() =>
    Promise.all(Array.from({ length: MANY }, (_, i) =>
      cri.runPodSandbox({ name: `${PFX}many${i}`, namespace: 'bench', uid: randomUUID() }).then((id) => void ids.push(id), () => void failed++),
    )),
  );
  for (const id of ids) {
    await cri.stopPodSandbox(id).catch(() => undefined);
    await cri.removePodSandbox(id).catch(() => undefined);
  }
  rmSync(join(RT.criConfDir, '10-bench.conflist'));
  return { ms, failed };
}

async function main(): Promise<void> {
  if (!existsSync(KURYR_CNI) || !existsSync(RT.criSock)) throw new Error('run bash scripts/cni-runtimes.sh up first');
  const clients = adminClients();
  const neutron = clients.neutron;
  await destroyTopology(neutron, PFX);
  const topo = await createTopology(neutron, PFX, 234);
  const projectId = (await neutron.getNetwork(topo.podNetId)).projectId;
  // the production build (dist/, as the main job, the units and the package run it), not the sources under tsx,
  // logging at the production default (info)
  const daemon = new CniDaemon({ socketPath: `/run/kuryr-cni-e2e/${PFX}daemon.sock`, podSubnet: topo.podSubnetId, securityGroups: [topo.sgId], project: projectId, runtime: 'compiled', logLevel: 'info' });
  const cri = new CriClient(RT.criSock);
  const pooled = new CniDaemon({
    socketPath: `/run/kuryr-cni-e2e/${PFX}pool.sock`, podSubnet: topo.podSubnetId, securityGroups: [topo.sgId], project: projectId, runtime: 'compiled', logLevel: 'info',
    extraConfig: `[vif_pool]\nenabled = True\nports_pool_min = ${MANY}\nports_pool_max = ${MANY + 10}\nports_pool_batch = 25\nports_pool_update_frequency = 1`,
  });
  try {
    await daemon.start();
    const kuryrConf = daemon.conflist(`${PFX}net`, '1.0.0');
    await direct(KURYR_CNI, kuryrConf); // warm-up: token, subnet cache, agent
    const kd = await direct(KURYR_CNI, kuryrConf);
    const bd = await direct('/usr/lib/cni/bridge', BRIDGE);
    const [kv, bv] = [await startFloor(KURYR_CNI, kuryrConf), await startFloor('/usr/lib/cni/bridge', BRIDGE)];
    const wrap = (plugin: Record<string, unknown>) => {
      const { cniVersion, name, ...rest } = plugin;
      return { cniVersion, name, plugins: [rest] };
    };
    const kc = await underContainerd(cri, wrap(kuryrConf));
    const bc = await underContainerd(cri, wrap(BRIDGE));
    // The same with port pools: a second daemon with [vif_pool] on, primed by a first ADD.
    await pooled.start();
    const poolConf = pooled.conflist(`${PFX}pnet`, '1.0.0');
    await direct(KURYR_CNI, poolConf);
    await waitFor(`${MANY} ready pod pool ports`, async () => (await readyPodPorts(neutron, topo.podNetId)) >= MANY, 300_000, 1000);
    await sleep(3000);
    const pd = await direct(KURYR_CNI, poolConf);
    const pc = await underContainerd(cri, wrap(poolConf));
    await waitFor(`${MANY} ready pod pool ports`, async () => (await readyPodPorts(neutron, topo.podNetId)) >= MANY, 300_000, 1000);
    await sleep(3000);
    const manyPool = await manyAtOnce(cri, wrap(poolConf));
    const manyBridge = await manyAtOnce(cri, wrap(BRIDGE));
    console.log(`CNI latency, ${RUNS} runs each (kuryr-cni vs Debian bridge+host-local, same caller)`);
    // The floor under every kuryr-cni row: starting the installed plugin executable (the bridge plugin is a Go binary).
    console.log(row(`VERSION, ${pluginKind(KURYR_CNI)} (start-up)`, kv, bv));
    console.log(row('direct exec ADD', kd.add, bd.add));
    console.log(row('direct exec DEL', kd.del, bd.del));
    console.log(row('containerd RunPodSandbox (ADD)', kc.add, bc.add));
    console.log(row('containerd Stop+RemovePodSandbox', kc.del, bc.del));
    console.log(row('direct exec ADD (pool)', pd.add, bd.add));
    console.log(row('direct exec DEL (pool)', pd.del, bd.del));
    console.log(row('containerd RunPodSandbox (pool)', pc.add, bc.add));
    console.log(`${MANY} pods at once via CRI (pool)         wall ${manyPool.ms.toFixed(0)} ms, ${manyPool.failed} failed | bridge ${manyBridge.ms.toFixed(0)} ms, ${manyBridge.failed} failed | ratio ${(manyPool.ms / manyBridge.ms).toFixed(2)}x`);
  } finally {
    cri.close();
    await daemon.stop();
    await pooled.stop();
    // The pool's plugs go with its ports (the daemon keeps them across restarts, the bench does not).
    for (const p of await neutron.listPorts({ tags: [poolTag('cni', hostname())] })) {
      await sh(['ovs-vsctl', '--if-exists', 'del-port', `tap${p.id.slice(0, 11)}`]);
      await sh(['ip', 'link', 'del', `tap${p.id.slice(0, 11)}`]);
    }
    await destroyTopology(neutron, PFX);
    await clients.close();
    await sh(['ip', 'link', 'del', `${PFX}br0`]);
    rmSync(`/var/lib/cni/networks/${PFX}br`, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
