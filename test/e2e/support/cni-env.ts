/**
 * One CNI e2e environment: admin Neutron access, a fresh topology named `prefix*`, and a running
 * daemon on its own socket; all of it removed in `t.after`, then checked for leaks.
 */
import type { TestContext } from 'node:test';
import { adminClients, stackIsUp } from './neutron.js';
import { CniDaemon } from './cni-daemon.js';
import { createTopology, destroyTopology, type CniTopology } from './cni-neutron.js';
import { sh } from './sh.js';

export interface CniEnv {
  neutron: ReturnType<typeof adminClients>['neutron'];
  topo: CniTopology;
  daemon: CniDaemon;
  projectId: string;
}

/** Returns undefined (and skips) when the stack or the runtimes are not up. */
export async function cniEnv(t: TestContext, prefix: string, octet: number, extraConfig?: string): Promise<CniEnv | undefined> {
  if (process.getuid?.() !== 0) return void t.skip('needs root');
  if (!(await stackIsUp())) return void t.skip('OpenStack stack is not running (bash scripts/aio.sh up)');
  const clients = adminClients();
  const neutron = clients.neutron;
  await destroyTopology(neutron, prefix);
  const topo = await createTopology(neutron, prefix, octet);
  const projectId = (await neutron.getNetwork(topo.podNetId)).projectId;
  const daemon = new CniDaemon({ socketPath: `/run/kuryr-cni-e2e/${prefix}daemon.sock`, podSubnet: topo.podSubnetId, securityGroups: [topo.sgId], project: projectId, ...(extraConfig !== undefined ? { extraConfig } : {}) });
  t.after(async () => {
    await daemon.stop();
    await destroyTopology(neutron, prefix);
    await clients.close();
  });
  await daemon.start();
  return { neutron, topo, daemon, projectId };
}

/** Creates a named netns and registers its removal; returns its path. */
export async function tempNetns(t: TestContext, name: string): Promise<string> {
  await sh(['ip', 'netns', 'del', name]);
  const r = await sh(['ip', 'netns', 'add', name]);
  if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`);
  t.after(() => sh(['ip', 'netns', 'del', name]).then(() => undefined));
  return `/var/run/netns/${name}`;
}
