/**
 * Issue 12, nested macvlan on the real stack: Kuryr runs inside a "VM" (netns with a Neutron port
 * plugged into br-int, OVS firewall = port security enforced) with the tenant's credentials, its
 * own dockerd, `[binding] default_driver = macvlan` on the VM NIC. Containers get Neutron ports for
 * IPAM; their traffic passes the VM port only because their addresses are in its allowed_address_pairs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Network, Port, SecurityGroup, Subnet } from '../../src/core/shared/neutron-types.js';
import { existsSync } from 'node:fs';
import { NeutronError } from '../../src/common/errors.js';
import { CniDaemon, KURYR_CNI } from './support/cni-daemon.js';
import { DockerCli } from './support/docker.js';
import { KuryrDaemon } from './support/kuryr-daemon.js';
import { adminClients, demoClients, stackIsUp, waitActive } from './support/neutron.js';
import { createVmPort, fakeVmOf, NestedDockerHost, removeVmNetworks } from './support/nested.js';
import { must, sh, waitFor } from './support/sh.js';
import type { FakeVm } from './support/vm.js';

const skip = (await stackIsUp()) ? false : 'the all-in-one stack is not up (bash scripts/aio.sh up)';
const P = 'nest-';
const CIDR = '10.203.0.0/24';
const GW = '10.203.0.1';
const MIB10 = 10 * 1024 * 1024;

describe('nested macvlan: Docker inside a VM', { skip, timeout: 900_000 }, () => {
  const admin = adminClients();
  const demo = demoClients();
  const neutron = admin.neutron;
  const hostDocker = new DockerCli();
  const hostKuryr = new KuryrDaemon();
  let net: Network;
  let subnet: Subnet;
  let sg: SecurityGroup;
  let vmPort: Port;
  let vm2Port: Port;
  let hostPort: Port;
  let vm: FakeVm;
  let vm2: FakeVm;
  let inVm: NestedDockerHost;
  let hostIp: string;

  /** The VM port's pairs as `ip mac` strings, sorted. */
  const pairs = async () => (await neutron.getPort(vmPort.id)).allowedAddressPairs.map((p) => `${p.ipAddress} ${p.macAddress}`).sort();
  /** What the pairs must be: every running VM container's IP and MAC. */
  const expectedPairs = async () => {
    const ids = (await inVm.docker.must(['ps', '-q', '--filter', `name=${P}`])).split('\n').filter(Boolean);
    const out: string[] = [];
    for (const id of ids) {
      const n = (await inVm.docker.containerInspect(id)).NetworkSettings.Networks[`${P}net`]!;
      out.push(`${n.IPAddress} ${n.MacAddress}`);
    }
    return out.sort();
  };
  const ping = async (d: DockerCli, c: string, ip: string) => (await d.run(['exec', c, 'ping', '-c', '2', '-i', '0.2', '-W', '2', ip], 30_000)).code === 0;
  const runIn = (d: DockerCli, name: string, netName: string, extra: string[] = []) =>
    d.must(['run', '-d', '--name', name, '--net', netName, ...extra, 'busybox', 'sleep', '3600']);
  const ipOf = async (d: DockerCli, c: string, netName: string) => (await d.containerInspect(c)).NetworkSettings.Networks[netName]!.IPAddress;
  /**
   * 10 MiB over one TCP connection: `to` serves a 10 MiB file over HTTP (busybox httpd), the container
   * (or, without `fromDocker`, the netns) `from` fetches it and counts the bytes; the transfer ends at
   * Content-Length, so the count is exact.
   */
  const tcpBytes = async (fromDocker: DockerCli | undefined, from: string, toDocker: DockerCli, to: string, toIp: string): Promise<number> => {
    await toDocker.must(['exec', to, 'sh', '-c', 'mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/10m bs=1048576 count=10 2>/dev/null && (pgrep httpd >/dev/null || httpd -p 8080 -h /tmp/www)']);
    const get = `wget -q -O - http://${toIp}:8080/10m | wc -c`;
    const r = fromDocker
      ? await fromDocker.run(['exec', from, 'sh', '-c', get], 60_000)
      : await sh(['ip', 'netns', 'exec', from, 'busybox', 'sh', '-c', `busybox ${get.replace('| wc', '| busybox wc')}`], { timeoutMs: 60_000 });
    return Number(r.stdout.trim() || '0');
  };

  before(async () => {
    const t0 = Date.now();
    await cleanup();
    // The tenant's network, subnet and a group admitting ICMP and TCP: what a cloud user sets up for VMs.
    net = await demo.neutron.createNetwork({ name: `${P}net` });
    subnet = await demo.neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: CIDR, gatewayIp: GW, name: `${P}subnet` });
    sg = await demo.neutron.createSecurityGroup({ name: `${P}open` });
    for (const protocol of ['icmp', 'tcp']) await demo.neutron.createSecurityGroupRule({ securityGroupId: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol });
    vmPort = await createVmPort(neutron, net, subnet, `${P}vm1`, [sg.id]);
    vm2Port = await createVmPort(neutron, net, subnet, `${P}vm2`, [sg.id]);
    vm = fakeVmOf(`${P}vm1`, vmPort, 24);
    vm2 = fakeVmOf(`${P}vm2`, vm2Port, 24);
    const mtu = net.mtu ?? 1500;
    await Promise.all([vm.plugOvs(mtu), vm2.plugOvs(mtu)]);
    await Promise.all([waitActive(neutron, vmPort.id), waitActive(neutron, vm2Port.id)]);
    inVm = new NestedDockerHost(vm, { name: 'vm1', portDriver: 'nested', bindingDriver: 'macvlan' });
    await inVm.up();
    // A container on the host (veth mode, the host's Kuryr) on the same network, in the same group.
    await hostKuryr.start();
    hostPort = await neutron.createPort({ networkId: net.id, name: `${P}host-c`, projectId: net.projectId, fixedIps: [{ subnetId: subnet.id }], securityGroups: [sg.id] });
    hostIp = hostPort.fixedIps[0]!.ipAddress;
    await hostDocker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '-o', `neutron.net.uuid=${net.id}`, '--subnet', CIDR, '--gateway', GW, `${P}hnet`]);
    await runIn(hostDocker, `${P}host-c`, `${P}hnet`, ['--ip', hostIp]);
    console.log(`# VMs plugged, dockerd + Kuryr in the VM, host container: ${Date.now() - t0} ms`);
  });

  after(async () => {
    await cleanup();
    await Promise.all([admin.close(), demo.close()]);
  });

  /** Removes everything named `nest-*` (also what an aborted earlier run left): VM docker hosts, VMs, Neutron objects. */
  async function cleanup(): Promise<void> {
    await hostDocker.removeAll(P).catch(() => undefined);
    await inVm?.daemon.stop();
    await hostKuryr.stop();
    await sh(['bash', 'scripts/nested-vm.sh', 'down', 'vm1', `${P}vm1`]);
    await removeVmNetworks(neutron, `${P}net`);
    for (const ns of [`${P}vm1`, `${P}vm2`]) await sh(['ip', 'netns', 'del', ns]);
    for (const s of await neutron.listSecurityGroups({ name: `${P}open` })) await neutron.deleteSecurityGroup(s.id).catch(() => undefined);
    for (const p of await neutron.listSubnetPools({ name: `kuryrPool-${CIDR}` })) await neutron.deleteSubnetPool(p.id).catch(() => undefined);
  }

  test('two containers in the VM: own Neutron ports, pairs on the VM port, ping each other, VM 2 and the host; 10 MiB TCP', async (t) => {
    // No neutron.net.uuid: nested mode puts the network on the VM port's own network.
    await inVm.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', CIDR, '--gateway', GW, `${P}net`]);
    const t0 = Date.now();
    await Promise.all([runIn(inVm.docker, `${P}c1`, `${P}net`), runIn(inVm.docker, `${P}c2`, `${P}net`)]);
    t.diagnostic(`two nested containers up in ${Date.now() - t0} ms`);
    const [ip1, ip2] = await Promise.all([ipOf(inVm.docker, `${P}c1`, `${P}net`), ipOf(inVm.docker, `${P}c2`, `${P}net`)]);
    for (const ip of [ip1, ip2]) {
      const [port] = await neutron.listPorts({ networkId: net.id, fixedIps: [{ ipAddress: ip }] });
      assert.ok(port, `a Neutron port holds ${ip}`);
      assert.equal(port.hostId, '', 'container ports are not bound (the VM is no Neutron host)');
      assert.equal(port.projectId, net.projectId, 'made with the tenant credentials');
    }
    assert.deepEqual(await pairs(), await expectedPairs());
    assert.equal((await pairs()).length, 2);
    assert.ok(await ping(inVm.docker, `${P}c1`, ip2), 'c1 → c2 (macvlan bridge mode inside the VM)');
    assert.ok(await ping(inVm.docker, `${P}c1`, vm2Port.fixedIps[0]!.ipAddress), 'c1 → VM 2 (through the VM port)');
    assert.ok(await ping(inVm.docker, `${P}c2`, hostIp), 'c2 → container on the host');
    assert.ok(await vm2.reaches(ip1), 'VM 2 → c1');
    // 10 MiB of TCP each way between a VM container and the host container, counted by the receiver.
    const tx = Date.now();
    const rx = await tcpBytes(inVm.docker, `${P}c1`, hostDocker, `${P}host-c`, hostIp);
    const back = await tcpBytes(hostDocker, `${P}host-c`, inVm.docker, `${P}c1`, ip1);
    if (rx !== MIB10 || back !== MIB10) {
      // Which leg loses the stream: a plain VM (no macvlan) to the host container, and inside the VM.
      const fromVm2 = await tcpBytes(undefined, vm2.netns, hostDocker, `${P}host-c`, hostIp);
      const inside = await tcpBytes(inVm.docker, `${P}c1`, inVm.docker, `${P}c2`, ip2);
      t.diagnostic(`TCP bytes: host → c1 ${rx}, c1 → host ${back}, host → VM 2 ${fromVm2}, c2 → c1 ${inside}`);
    }
    assert.equal(rx, MIB10, 'host container → VM container');
    assert.equal(back, MIB10, 'VM container → host container');
    t.diagnostic(`10 MiB TCP each way between a VM container and the host container in ${Date.now() - tx} ms`);
  });

  test('removing a pair cuts the container off (port security is real), and the daemon puts nothing back by itself', async () => {
    const ip1 = await ipOf(inVm.docker, `${P}c1`, `${P}net`);
    const read = await neutron.getPort(vmPort.id);
    const before = read.allowedAddressPairs;
    await neutron.updatePort(vmPort.id, { allowedAddressPairs: before.filter((p) => p.ipAddress !== ip1) }, { ifRevision: read.revisionNumber });
    // What the daemon relies on: a write against the revision it read is refused once someone else wrote.
    await assert.rejects(neutron.updatePort(vmPort.id, { allowedAddressPairs: [] }, { ifRevision: read.revisionNumber }), (e: unknown) => e instanceof NeutronError && e.isPreconditionFailed);
    try {
      await waitFor('c1 cut off from VM 2', async () => !(await ping(inVm.docker, `${P}c1`, vm2Port.fixedIps[0]!.ipAddress)), 20_000, 500);
    } finally {
      await neutron.updatePort(vmPort.id, { allowedAddressPairs: before });
    }
    await waitFor('c1 reaches VM 2 again', () => ping(inVm.docker, `${P}c1`, vm2Port.fixedIps[0]!.ipAddress), 20_000, 500);
  });

  test('10 containers start at once: the pairs hold exactly the running containers; an 11th is refused cleanly; removal takes exactly theirs', async (t) => {
    // Neutron's max_allowed_address_pair (10 by default) bounds the containers of one VM: start from none.
    await inVm.docker.must(['rm', '-f', `${P}c1`, `${P}c2`]);
    assert.deepEqual(await pairs(), []);
    const names = Array.from({ length: 10 }, (_, i) => `${P}m${i}`);
    const t0 = Date.now();
    await Promise.all(names.map((n) => runIn(inVm.docker, n, `${P}net`)));
    t.diagnostic(`10 concurrent nested containers up in ${Date.now() - t0} ms`);
    assert.equal((await pairs()).length, 10);
    assert.deepEqual(await pairs(), await expectedPairs());
    assert.ok(await ping(inVm.docker, names[9]!, vm2Port.fixedIps[0]!.ipAddress), 'the last one reaches VM 2');
    const portsBefore = (await neutron.listPorts({ networkId: net.id })).length;
    const over = await inVm.docker.run(['run', '-d', '--name', `${P}m10`, '--net', `${P}net`, 'busybox', 'sleep', '3600']);
    assert.notEqual(over.code, 0);
    assert.match(over.stderr, /AllowedAddressPairExhausted/, 'the 11th names Neutron\'s limit');
    await inVm.docker.run(['rm', '-f', `${P}m10`]);
    assert.equal((await neutron.listPorts({ networkId: net.id })).length, portsBefore, 'the refused container left no port');
    assert.equal((await pairs()).length, 10);
    const ips = await Promise.all(names.map((n) => ipOf(inVm.docker, n, `${P}net`)));
    await inVm.docker.must(['rm', '-f', ...names]);
    assert.deepEqual(await pairs(), []);
    for (const ip of ips) assert.equal((await neutron.listPorts({ networkId: net.id, fixedIps: [{ ipAddress: ip }] })).length, 0, `port of ${ip} deleted`);
    await Promise.all([runIn(inVm.docker, `${P}c1`, `${P}net`), runIn(inVm.docker, `${P}c2`, `${P}net`)]);
    assert.deepEqual(await pairs(), await expectedPairs());
  });

  test('a restart of Kuryr in the VM loses nothing: traffic keeps flowing, later removals still clean up', async () => {
    await inVm.daemon.stop('SIGKILL');
    await inVm.daemon.start();
    const ip2 = await ipOf(inVm.docker, `${P}c2`, `${P}net`);
    assert.ok(await ping(inVm.docker, `${P}c1`, ip2));
    await runIn(inVm.docker, `${P}c3`, `${P}net`);
    assert.deepEqual(await pairs(), await expectedPairs());
    assert.equal((await pairs()).length, 3);
  });

  test('CNI in the same VM (nested-macvlan): a pod gets a port and a device, reaches VM 2 and a container; DEL cleans up', async (t) => {
    if (!existsSync(KURYR_CNI)) return void t.skip(`${KURYR_CNI} is not installed (bash scripts/cni-runtimes.sh up)`);
    const cni = new CniDaemon({
      socketPath: `/run/aio/mh-vm1/${P}cni.sock`,
      podSubnet: subnet.id,
      netns: vm.netns,
      credentials: { username: 'demo', password: 'demo', projectName: 'demo' },
      extraConfig: '[kubernetes]\npod_vif_driver = nested-macvlan\n[binding]\nlink_iface = eth0\n',
    });
    const podNs = `${P}pod1`;
    await sh(['ip', 'netns', 'del', podNs]);
    await must(['ip', 'netns', 'add', podNs]);
    const env = {
      CNI_CONTAINERID: `${P}pod1-0000000000000000000000000000000000000000000000000000000000`.slice(0, 64),
      CNI_NETNS: `/var/run/netns/${podNs}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${P}pod1;K8S_POD_UID=${P}uid-1`,
    };
    try {
      await cni.start();
      const t0 = Date.now();
      const add = await cni.call('ADD', env, cni.conflist(`${P}cni`, '1.1.0'));
      assert.equal(add.rc, 0, JSON.stringify(add.out));
      t.diagnostic(`nested pod ADD in ${Date.now() - t0} ms`);
      const ips = add.out['ips'] as Array<{ address: string }>;
      const podIp = ips[0]!.address.split('/')[0]!;
      assert.ok((await pairs()).some((p) => p.startsWith(`${podIp} `)), 'the pod IP is a pair of the VM port');
      assert.deepEqual(await pairs(), [...(await expectedPairs()), ...(await pairs()).filter((p) => p.startsWith(`${podIp} `))].sort());
      const pingFromPod = async (ip: string) => (await sh(['ip', 'netns', 'exec', podNs, 'ping', '-c', '2', '-i', '0.2', '-W', '2', ip])).code === 0;
      assert.ok(await pingFromPod(vm2Port.fixedIps[0]!.ipAddress), 'pod → VM 2');
      assert.ok(await pingFromPod(await ipOf(inVm.docker, `${P}c2`, `${P}net`)), 'pod → Docker container in the same VM');
      const del = await cni.call('DEL', env, cni.conflist(`${P}cni`, '1.1.0'));
      assert.equal(del.rc, 0, JSON.stringify(del.out));
      assert.ok(!(await pairs()).some((p) => p.startsWith(`${podIp} `)), 'pair taken back');
      assert.equal((await neutron.listPorts({ networkId: net.id, fixedIps: [{ ipAddress: podIp }] })).length, 0, 'pod port deleted');
      assert.equal((await sh(['ip', '-n', podNs, '-o', 'link', 'show', 'eth0'])).code !== 0, true, 'pod device deleted');
    } finally {
      await cni.stop();
      await sh(['ip', 'netns', 'del', podNs]);
    }
  });

  test('removal: pairs, ports and devices are gone', async () => {
    const ports = await neutron.listPorts({ networkId: net.id, deviceOwner: 'compute:kuryr' });
    const ours = ports.filter((p) => p.id !== hostPort.id);
    await inVm.docker.must(['rm', '-f', `${P}c1`, `${P}c2`, `${P}c3`]);
    await inVm.docker.must(['network', 'rm', `${P}net`]);
    assert.deepEqual(await pairs(), []);
    for (const p of ours) assert.equal((await neutron.listPorts({ id: p.id })).length, 0, `port ${p.id} deleted`);
    assert.deepEqual(await inVm.leftoverDevices(ours.map((p) => p.id)), []);
    const macvlans = (await sh(['ip', '-n', vm.netns, '-o', 'link', 'show', 'type', 'macvlan'])).stdout.trim();
    assert.equal(macvlans, '', 'no macvlan device left in the VM');
  });
});
