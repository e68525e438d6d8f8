/**
 * The CNI daemon's reconciler on the real stack: pod ports that no pod uses any more are removed on
 * their own, without a DEL and without `kuryr gc`: a pod whose netns was deleted without DEL, a port
 * plugged the way an ADD cut short leaves it (container end still in the host netns), and whatever a
 * kill -9 of the daemon mid-ADD left. A live pod next to them keeps its port and its traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { buildVif } from '../../src/core/shared/vif.js';
import { VethBinder } from '../../src/southbound/dataplane/binder.js';
import { KURYR_CNI } from './support/cni-daemon.js';
import { cniEnv, tempNetns } from './support/cni-env.js';
import { pingFrom, podPorts } from './support/cni-neutron.js';
import { kuryrHostLeftovers } from './support/host.js';
import { sh, sleep, waitFor } from './support/sh.js';

const PREFIX = 'cni-e2e-recon-';
const GC = '[DEFAULT]\ngc_interval = 2\ngc_grace = 5\n';

test('the CNI daemon removes pod ports no pod uses, on its own', { timeout: 6 * 60_000 }, async (t) => {
  if (!existsSync(KURYR_CNI)) return void t.skip('run bash scripts/cni-runtimes.sh up first');
  const env = await cniEnv(t, PREFIX, 239, GC);
  if (!env) return;
  const { neutron, topo, daemon } = env;
  const conf = daemon.conflist(`${PREFIX}net`, '1.0.0');
  const pod = async (name: string) => {
    const p = { name: `${PREFIX}${name}`, ns: await tempNetns(t, `${PREFIX}${name}`), cid: `recon${name}${Date.now()}`, uid: randomUUID() };
    const envOf = { CNI_CONTAINERID: p.cid, CNI_NETNS: p.ns, CNI_IFNAME: 'eth0', CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${p.name};K8S_POD_UID=${p.uid}` };
    return { ...p, env: envOf };
  };
  const ipOf = (out: Record<string, unknown>) => String((out['ips'] as Array<{ address: string }>)[0]!.address).split('/')[0]!;
  const ports = new Set<string>();

  // a live pod and one whose netns goes away without a DEL
  const live = await pod('live');
  const orphan = await pod('orphan');
  const [a, b] = await Promise.all([daemon.call('ADD', live.env, conf), daemon.call('ADD', orphan.env, conf)]);
  assert.equal(a.rc, 0, `ADD live: ${a.out.msg}`);
  assert.equal(b.rc, 0, `ADD orphan: ${b.out.msg}`);
  const orphanPort = (await podPorts(neutron, topo.podNetId)).find((p) => p.name === orphan.name)!;
  ports.add(orphanPort.id);
  await sh(['ip', 'netns', 'del', `${PREFIX}orphan`]);

  // a port bound and plugged the way ADD does it, cut short before the container end moved into a netns
  const subnet = await neutron.getSubnet(topo.podSubnetId);
  const cut = await neutron.createPort({ networkId: topo.podNetId, name: `${PREFIX}cut`, deviceOwner: 'compute:kuryr', deviceId: randomUUID(), hostId: hostname(), fixedIps: [{ subnetId: subnet.id }], securityGroups: [topo.sgId] });
  ports.add(cut.id);
  await neutron.setTags('ports', cut.id, [`kuryr.cni.node:${hostname()}`, `kuryr.cni.cid:cut${Date.now()}`, 'kuryr.cni.if:eth0', `kuryr.cni.net:${PREFIX}net`]);
  await new VethBinder().plug(buildVif(cut, [subnet], { mtu: topo.mtu }), null);
  assert.ok((await sh(['ip', 'link', 'show', `t_c${cut.id.slice(0, 11)}`])).code === 0, 'the cut-short plug left its container end in the host netns');

  // kill -9 of the daemon in the middle of an ADD, restarted; the runtime gives up on the pod (no DEL)
  const killed = await pod('killed');
  const add = daemon.call('ADD', killed.env, conf);
  await sleep(300 + Math.random() * 1200);
  await daemon.stop('SIGKILL');
  await add;
  await daemon.start();
  for (const p of await podPorts(neutron, topo.podNetId)) if (p.name === killed.name) ports.add(p.id);
  await sh(['ip', 'netns', 'del', `${PREFIX}killed`]);

  await waitFor('the reconciler to remove every unused pod port', async () => {
    const left = (await podPorts(neutron, topo.podNetId)).filter((p) => p.name !== live.name).map((p) => `port ${p.name} ${p.id}`);
    const host = await kuryrHostLeftovers([...ports]);
    return (left.length === 0 && host.length === 0) || (console.log(`# waiting on: ${[...left, ...host].join(', ')}`), undefined);
  }, 90_000, 2000);
  const removals = readFileSync(daemon.logPath, 'utf8').split('\n').filter((l) => l.includes('gc removed'));
  for (const l of removals) console.log(`# ${l.trim()}`);
  assert.ok(removals.some((l) => l.includes(orphanPort.id) && l.includes('is gone')), 'a log line names the orphan pod port and why');
  assert.ok(removals.some((l) => l.includes(cut.id) && l.includes('never left the host netns')), 'a log line names the cut-short port and why');

  // the live pod was left alone: its port, its veth and OVS port are there and it answers on its address
  const still = (await podPorts(neutron, topo.podNetId)).filter((p) => p.name === live.name);
  assert.equal(still.length, 1, 'the live pod keeps its port');
  assert.equal((await kuryrHostLeftovers([still[0]!.id])).length, 2, 'the live pod keeps its veth and OVS port');
  assert.ok(await pingFrom(live.ns, ipOf(a.out), 1), 'the live pod still has its address');
  assert.equal((await daemon.call('DEL', live.env, conf)).rc, 0);
  assert.deepEqual(await podPorts(neutron, topo.podNetId), []);
});
