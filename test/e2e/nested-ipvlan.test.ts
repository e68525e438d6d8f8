/**
 * Issue 12, nested ipvlan on the real stack, where it differs from macvlan: pods in a "VM" (netns
 * with a Neutron port on br-int, OVS firewall) through Kuryr's CNI daemon in `nested-ipvlan` mode
 * with the tenant's credentials. Every pod device shares the VM NIC's MAC, so the VM port's
 * allowed_address_pairs get the pod IPs with that MAC, never a pod port's own MAC. (Docker refuses
 * ipvlan: it sets a MAC of its own on the device, which an ipvlan device cannot take.)
 *
 * The ipvlan device needs the kernel's CONFIG_IPVLAN. Without it (the machine this was written on),
 * the data path is shown with what ipvlan puts on the wire — the VM NIC's MAC with a pod's IP — and
 * the daemon must report the device step's failure and leave nothing behind; with it, pods run the
 * whole way (ping, 10 MiB TCP, 10 at once, removal).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { AddressPairAttachment } from '../../src/core/nested/nested-vm.js';
import type { Network, Port, SecurityGroup, Subnet } from '../../src/core/shared/neutron-types.js';
import { CniDaemon } from './support/cni-daemon.js';
import { DockerCli } from './support/docker.js';
import { KuryrDaemon } from './support/kuryr-daemon.js';
import { adminClients, demoClients, stackIsUp } from './support/neutron.js';
import { removeVmNetworks, stopServers, tcpBytes, twoVms, type TcpEnd } from './support/nested.js';
import { must, sh, waitFor } from './support/sh.js';
import type { FakeVm } from './support/vm.js';

const skip = (await stackIsUp()) ? false : 'the all-in-one stack is not up (bash scripts/aio.sh up)';
const P = 'nesti-';
const CIDR = '10.208.0.0/24';
const GW = '10.208.0.1';
const MIB10 = 10 * 1024 * 1024;
const VM_NAME = 'ipv';
const SOCKET_DIR = `/run/aio/mh-${VM_NAME}`;

/** Whether this kernel makes ipvlan devices at all (CONFIG_IPVLAN). */
async function ipvlanDevices(): Promise<boolean> {
  await sh(['ip', 'link', 'add', `${P}probe0`, 'type', 'veth', 'peer', 'name', `${P}probe1`]);
  const r = await sh(['ip', 'link', 'add', 'link', `${P}probe0`, 'name', `${P}probe2`, 'type', 'ipvlan', 'mode', 'l2']);
  await sh(['ip', 'link', 'del', `${P}probe0`]);
  return r.code === 0;
}

const pingFrom = async (netns: string, ip: string, source?: string) =>
  (await sh(['ip', 'netns', 'exec', netns, 'ping', ...(source ? ['-I', source] : []), '-c', '2', '-i', '0.2', '-W', '2', ip], { timeoutMs: 30_000 })).code === 0;

describe('nested ipvlan: pods inside a VM', { skip, timeout: 600_000 }, () => {
  const admin = adminClients();
  const demo = demoClients();
  const neutron = admin.neutron;
  let net: Network;
  let subnet: Subnet;
  let sg: SecurityGroup;
  let vmPort: Port;
  let vm2Port: Port;
  let vm: FakeVm;
  let vm2: FakeVm;
  let cni: CniDaemon;
  let ipvlan = false;

  /** The VM port's pairs as `ip mac` strings, sorted. */
  const pairs = async () => (await neutron.getPort(vmPort.id)).allowedAddressPairs.map((p) => `${p.ipAddress} ${p.macAddress}`).sort();
  /** The pairs ipvlan pods with these IPs need: each IP with the VM NIC's MAC. */
  const ipvlanPairs = (ips: string[]) => ips.map((ip) => `${ip} ${vmPort.macAddress}`).sort();
  const kuryrPorts = async () => (await neutron.listPorts({ networkId: net.id, deviceOwner: 'compute:kuryr' })).map((p) => p.id);

  /** A pod: its own netns, put on the network by a CNI ADD through the daemon in the VM. */
  const podEnv = (name: string) => ({
    CNI_CONTAINERID: `${name}-${'0'.repeat(64)}`.slice(0, 64),
    CNI_NETNS: `/var/run/netns/${name}`,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name};K8S_POD_UID=${name}-uid`,
  });
  const addPod = async (name: string) => {
    await sh(['ip', 'netns', 'del', name]);
    await must(['ip', 'netns', 'add', name]);
    return cni.call('ADD', podEnv(name), cni.conflist(`${P}cni`, '1.1.0'));
  };
  const delPod = async (name: string) => {
    const r = await cni.call('DEL', podEnv(name), cni.conflist(`${P}cni`, '1.1.0'));
    await stopServers(name);
    await sh(['ip', 'netns', 'del', name]);
    return r;
  };
  const podLinks = async (name: string) => (await sh(['ip', '-n', name, '-o', 'link', 'show'])).stdout.split('\n').filter((l) => l.trim() !== '' && !/: lo:/.test(l));

  before(async () => {
    const t0 = Date.now();
    await cleanup();
    ipvlan = await ipvlanDevices();
    ({ net, subnet, sg, vmPort, vm2Port, vm, vm2 } = await twoVms(neutron, demo.neutron, P, CIDR, GW));
    // The VM reaches Keystone and Neutron at its 127.0.0.1 (no dockerd: pods only).
    await must(['bash', 'scripts/nested-vm.sh', 'relays', VM_NAME, vm.netns], { timeoutMs: 60_000 });
    await must(['mkdir', '-p', SOCKET_DIR]);
    cni = new CniDaemon({
      socketPath: `${SOCKET_DIR}/${P}cni.sock`,
      podSubnet: subnet.id,
      netns: vm.netns,
      credentials: { username: 'demo', password: 'demo', projectName: 'demo' },
      extraConfig: '[kubernetes]\npod_vif_driver = nested-ipvlan\n[binding]\nlink_iface = eth0\n',
    });
    await cni.start();
    console.log(`# VMs plugged, Kuryr CNI (nested-ipvlan) in the VM: ${Date.now() - t0} ms; kernel ipvlan devices: ${ipvlan ? 'yes' : 'no'}`);
  });

  after(async () => {
    await cni?.stop();
    await cleanup();
    await Promise.all([admin.close(), demo.close()]);
  });

  /** Removes everything named `nesti-*` (also what an aborted earlier run left). */
  async function cleanup(): Promise<void> {
    const netnses = (await sh(['ip', 'netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(P));
    for (const ns of netnses) await stopServers(ns).catch(() => undefined);
    await sh(['bash', 'scripts/nested-vm.sh', 'down', VM_NAME, `${P}vm1`]).catch(() => undefined);
    await removeVmNetworks(neutron, `${P}net`).catch(() => undefined);
    for (const ns of netnses) await sh(['ip', 'netns', 'del', ns]).catch(() => undefined);
    for (const s of await neutron.listSecurityGroups({ name: `${P}open` })) await neutron.deleteSecurityGroup(s.id).catch(() => undefined);
  }

  test('the VM port admits ipvlan pods by IP with the VM NIC\'s MAC: 10 at once from two writers hold exactly theirs; such frames pass only while paired', async (t) => {
    const ports = await Promise.all(Array.from({ length: 10 }, (_, i) => demo.neutron.createPort({ networkId: net.id, name: `${P}p${i}`, fixedIps: [{ subnetId: subnet.id }] })));
    // Two writers with no shared memory (two daemons in one VM, or one restarted): only If-Match keeps their
    // pairs. They collide on purpose, so they get more tries than the default 3 (what is under test is that
    // no pair is lost, not the retry budget).
    const a = new AddressPairAttachment(demo.neutron, vmPort, { mode: 'ipvlan', revUpdateAttempts: 10 }, silentLogger());
    const b = new AddressPairAttachment(demo.neutron, vmPort, { mode: 'ipvlan', revUpdateAttempts: 10 }, silentLogger());
    const ips = ports.map((p) => p.fixedIps[0]!.ipAddress);
    try {
      const t0 = Date.now();
      await Promise.all(ports.map((p, i) => (i % 2 ? a : b).attach(p, p.macAddress)));
      t.diagnostic(`10 ipvlan pairs from two writers at once in ${Date.now() - t0} ms`);
      assert.deepEqual(await pairs(), ipvlanPairs(ips), 'each pod IP once, with the VM NIC\'s MAC');
      assert.ok(!(await pairs()).some((p) => ports.some((port) => p.endsWith(port.macAddress))), 'no pair carries a pod port\'s own MAC');

      // What an ipvlan pod puts on the wire: the VM NIC's MAC with the pod's IP. Before its pair it is dropped,
      // with it it passes, after removal it is dropped again.
      const podIp = ips[0]!;
      await a.detach(ports[0]!);
      await must(['ip', '-n', vm.netns, 'addr', 'add', `${podIp}/32`, 'dev', 'eth0']);
      const vm2Ip = vm2Port.fixedIps[0]!.ipAddress;
      await waitFor('unpaired pod IP dropped', async () => !(await pingFrom(vm.netns, vm2Ip, podIp)), 20_000, 500);
      await b.attach(ports[0]!, ports[0]!.macAddress);
      await waitFor('paired pod IP passes', () => pingFrom(vm.netns, vm2Ip, podIp), 20_000, 500);
      assert.ok(await vm2.ping(podIp), 'VM 2 → the pod IP (its ARP answered with the VM NIC\'s MAC)');
      await b.detach(ports[0]!);
      await waitFor('pod IP dropped again after its pair went', async () => !(await pingFrom(vm.netns, vm2Ip, podIp)), 20_000, 500);
      assert.ok(await vm.ping(vm2Ip), 'the VM itself is not affected');

      await Promise.all(ports.map((p, i) => (i % 2 ? b : a).detach(p)));
      assert.deepEqual(await pairs(), []);
    } finally {
      await sh(['ip', '-n', vm.netns, 'addr', 'del', `${ips[0]}/32`, 'dev', 'eth0']);
      for (const p of ports) await demo.neutron.deletePort(p.id).catch(() => undefined);
    }
  });

  test('a kernel without ipvlan: pod ADDs fail at the device step, name it, and leave no pair, port or device', async (t) => {
    if (ipvlan) return void t.skip('this kernel makes ipvlan devices: the data path test below runs instead');
    const names = [1, 2, 3].map((i) => `${P}pod${i}`);
    try {
      const results = await Promise.all(names.map((n) => addPod(n)));
      for (const r of results) {
        assert.notEqual(r.rc, 0);
        assert.match(String(r.out.msg ?? '') + String(r.out['details'] ?? ''), /ipvlan|Unknown device type/i, 'the error names the device step');
      }
      t.diagnostic(`CNI error: ${JSON.stringify(results[0]!.out).slice(0, 300)}`);
      assert.deepEqual(await pairs(), [], 'pairs taken back');
      assert.deepEqual(await kuryrPorts(), [], 'pod ports deleted');
      for (const n of names) assert.deepEqual(await podLinks(n), [], `no device left in ${n}`);
    } finally {
      for (const n of names) await delPod(n).catch(() => undefined);
    }
  });

  test('pods on ipvlan: VM NIC MAC, ping each other, VM 2 and a host container; 10 MiB TCP; 10 at once; removal', async (t) => {
    if (!ipvlan) return void t.skip('this kernel has no ipvlan devices (CONFIG_IPVLAN is not set)');
    const hostDocker = new DockerCli();
    const hostKuryr = new KuryrDaemon();
    const pods: string[] = [];
    try {
      await hostKuryr.start();
      const hostPort = await neutron.createPort({ networkId: net.id, name: `${P}host-c`, projectId: net.projectId, fixedIps: [{ subnetId: subnet.id }], securityGroups: [sg.id] });
      const hostIp = hostPort.fixedIps[0]!.ipAddress;
      await hostDocker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '-o', `neutron.net.uuid=${net.id}`, '--subnet', CIDR, '--gateway', GW, `${P}hnet`]);
      await hostDocker.must(['run', '-d', '--name', `${P}host-c`, '--net', `${P}hnet`, '--ip', hostIp, 'busybox', 'sleep', '3600']);

      const [p1, p2] = [`${P}pod1`, `${P}pod2`];
      pods.push(p1, p2);
      const adds = await Promise.all([addPod(p1), addPod(p2)]);
      for (const r of adds) assert.equal(r.rc, 0, JSON.stringify(r.out));
      const [ip1, ip2] = adds.map((r) => (r.out['ips'] as Array<{ address: string }>)[0]!.address.split('/')[0]!) as [string, string];
      for (const r of adds) assert.equal((r.out['interfaces'] as Array<{ mac: string }>)[0]!.mac, vmPort.macAddress, 'the result shows the shared MAC');
      assert.match((await must(['ip', '-n', p1, 'link', 'show', 'eth0'])).toLowerCase(), new RegExp(`link/ether ${vmPort.macAddress}`));
      assert.deepEqual(await pairs(), ipvlanPairs([ip1, ip2]));
      const check = await cni.call('CHECK', podEnv(p1), { ...cni.conflist(`${P}cni`, '1.1.0'), prevResult: adds[0]!.out });
      assert.equal(check.rc, 0, JSON.stringify(check.out));
      assert.ok(await pingFrom(p1, ip2), 'pod 1 → pod 2 (ipvlan L2 inside the VM)');
      assert.ok(await pingFrom(p1, vm2Port.fixedIps[0]!.ipAddress), 'pod 1 → VM 2');
      assert.ok(await pingFrom(p2, hostIp), 'pod 2 → container on the host');
      assert.ok(await vm2.ping(ip1), 'VM 2 → pod 1');
      const hostC: TcpEnd = { docker: hostDocker, container: `${P}host-c` };
      assert.equal(await tcpBytes({ netns: p1 }, hostC, hostIp), MIB10, 'host container → pod');
      assert.equal(await tcpBytes(hostC, { netns: p1 }, ip1), MIB10, 'pod → host container');

      for (const p of pods.splice(0)) assert.equal((await delPod(p)).rc, 0);
      assert.deepEqual(await pairs(), []);
      const many = Array.from({ length: 10 }, (_, i) => `${P}m${i}`);
      pods.push(...many);
      const t0 = Date.now();
      const results = await Promise.all(many.map((n) => addPod(n)));
      t.diagnostic(`10 concurrent ipvlan pods up in ${Date.now() - t0} ms`);
      for (const r of results) assert.equal(r.rc, 0, JSON.stringify(r.out));
      const ips = results.map((r) => (r.out['ips'] as Array<{ address: string }>)[0]!.address.split('/')[0]!);
      assert.deepEqual(await pairs(), ipvlanPairs(ips));
      assert.ok(await pingFrom(many[9]!, vm2Port.fixedIps[0]!.ipAddress), 'the last one reaches VM 2');
      const ports = await kuryrPorts();
      for (const p of pods.splice(0)) assert.equal((await delPod(p)).rc, 0);
      assert.deepEqual(await pairs(), []);
      for (const id of ports) assert.equal((await neutron.listPorts({ id })).length, 0, `port ${id} deleted`);
      const ipvlans = (await sh(['ip', '-n', vm.netns, '-o', 'link', 'show', 'type', 'ipvlan'])).stdout.trim();
      assert.equal(ipvlans, '', 'no ipvlan device left in the VM');
    } finally {
      for (const p of pods) await delPod(p).catch(() => undefined);
      await hostDocker.removeAll(P).catch(() => undefined);
      await hostKuryr.stop();
    }
  });
});
