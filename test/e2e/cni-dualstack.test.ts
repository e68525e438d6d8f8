/**
 * Issue 12, dual-stack pods on the real stack: with `[neutron_defaults] pod_subnets` = an IPv4 and an
 * IPv6 subnet of one network, each pod (kuryr-cni called as a runtime calls it) gets one Neutron port
 * with an address per family; pods ping each other over IPv6 and IPv4; DEL leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { CniDaemon } from './support/cni-daemon.js';
import { tempNetns } from './support/cni-env.js';
import { kuryrHostLeftovers } from './support/host.js';
import { adminClients, stackIsUp } from './support/neutron.js';
import { sh } from './support/sh.js';

const PREFIX = 'cni-e2e-ds-';

test('dual-stack pods: one port with an IPv4 and an IPv6 address, ping over IPv6 and IPv4, DEL cleans up', { timeout: 600_000 }, async (t) => {
  if (process.getuid?.() !== 0) return void t.skip('needs root');
  if (!(await stackIsUp())) return void t.skip('the all-in-one stack is not up (bash scripts/aio.sh up)');
  const clients = adminClients();
  const neutron = clients.neutron;
  const cleanup = async () => {
    for (const n of await neutron.listNetworks({ name: `${PREFIX}net` })) {
      for (const p of await neutron.listPorts({ networkId: n.id })) await neutron.deletePort(p.id).catch(() => undefined);
      await neutron.deleteNetwork(n.id).catch(() => undefined);
    }
    for (const g of await neutron.listSecurityGroups({ name: `${PREFIX}sg` })) await neutron.deleteSecurityGroup(g.id).catch(() => undefined);
  };
  await cleanup();
  const net = await neutron.createNetwork({ name: `${PREFIX}net` });
  const v4 = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.234.1.0/24', name: `${PREFIX}v4`, enableDhcp: false });
  const v6 = await neutron.createSubnet({ networkId: net.id, ipVersion: 6, cidr: 'fd00:234:1::/64', name: `${PREFIX}v6`, enableDhcp: false });
  const sg = await neutron.createSecurityGroup({ name: `${PREFIX}sg` });
  for (const ethertype of ['IPv4', 'IPv6'] as const) await neutron.createSecurityGroupRule({ securityGroupId: sg.id, direction: 'ingress', ethertype });
  const daemon = new CniDaemon({
    socketPath: `/run/kuryr-cni-e2e/${PREFIX}daemon.sock`,
    podSubnet: v4.id,
    securityGroups: [sg.id],
    extraConfig: `[neutron_defaults]\npod_subnets = ${v4.id},${v6.id}\n`,
  });
  t.after(async () => {
    await daemon.stop();
    await cleanup();
    await clients.close();
  });
  await daemon.start();

  const pods = await Promise.all(['a', 'b'].map(async (n) => {
    const netns = await tempNetns(t, `${PREFIX}${n}`);
    const env = {
      CNI_CONTAINERID: `${PREFIX}${n}-${randomUUID()}`.replaceAll('-', '').padEnd(64, '0').slice(0, 64),
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${PREFIX}${n};K8S_POD_UID=${randomUUID()}`,
    };
    return { netns, env, ip4: '', ip6: '', portId: '' };
  }));
  for (const p of pods) {
    const t0 = Date.now();
    const add = await daemon.call('ADD', p.env, daemon.conflist(`${PREFIX}cni`, '1.1.0'));
    assert.equal(add.rc, 0, JSON.stringify(add.out));
    t.diagnostic(`dual-stack ADD in ${Date.now() - t0} ms`);
    const ips = add.out['ips'] as Array<{ address: string; gateway?: string }>;
    p.ip4 = ips.find((i) => !i.address.includes(':'))!.address.split('/')[0]!;
    p.ip6 = ips.find((i) => i.address.includes(':'))!.address.split('/')[0]!;
    assert.match(p.ip6, /^fd00:234:1:/);
    const [port] = await neutron.listPorts({ networkId: net.id, fixedIps: [{ ipAddress: p.ip4 }] });
    assert.ok(port);
    p.portId = port.id;
    assert.deepEqual(port.fixedIps.map((f) => f.subnetId).sort(), [v4.id, v6.id].sort(), 'one port, both families');
    const addrs = (await sh(['nsenter', `--net=${p.netns}`, 'ip', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
    assert.ok(addrs.includes(`${p.ip6}/64`), 'IPv6 address in the pod');
  }
  const [a, b] = pods as [typeof pods[0], typeof pods[0]];
  const ping6 = async (from: string, to: string) => {
    for (let i = 0; i < 10; i++) if ((await sh(['nsenter', `--net=${from}`, 'ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', to])).code === 0) return true;
    return false;
  };
  assert.ok(await ping6(a.netns, b.ip6), 'a → b over IPv6');
  assert.ok(await ping6(b.netns, a.ip6), 'b → a over IPv6');
  assert.equal((await sh(['nsenter', `--net=${a.netns}`, 'ping', '-c', '2', '-i', '0.2', '-W', '2', b.ip4])).code, 0, 'a → b over IPv4');
  for (const p of pods) {
    const del = await daemon.call('DEL', p.env, daemon.conflist(`${PREFIX}cni`, '1.1.0'));
    assert.equal(del.rc, 0, JSON.stringify(del.out));
  }
  assert.deepEqual((await neutron.listPorts({ networkId: net.id })).filter((p) => !p.deviceOwner.startsWith('network:')).map((p) => p.id), []);
  assert.deepEqual(await kuryrHostLeftovers(pods.map((p) => p.portId)), []);
});
