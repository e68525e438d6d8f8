/**
 * The seeds' single-host flow on the real stack: dockerd → our daemon → Neutron → OVS.
 * Containers on a kuryr network reach each other, OpenStack "VMs" on the same network and,
 * through a Neutron router, on another subnet; Neutron state matches kuryr-libnetwork's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerE2e, E2E, HOST, tcpToVm } from './support/fixture.js';
import { netTags, portTagsOf } from './support/kuryr-state.js';

const skip = await DockerE2e.skipReason();

describe('docker driver: the seed flow on one host', { skip }, () => {
  const e2e = new DockerE2e();
  const NET = 'kuryr';
  const c1 = `${E2E}seed-c1`;
  const c2 = `${E2E}seed-c2`;
  const portIds: string[] = [];

  before(async () => {
    await e2e.docker.run(['network', 'rm', NET]);
    await e2e.start();
  });
  after(async () => {
    await e2e.docker.run(['rm', '-f', c1, c2]);
    await e2e.docker.run(['network', 'rm', NET]);
    await e2e.stop();
  });

  test('docker network create (seed command, verbatim) makes the Neutron network, subnet and pool', async () => {
    const id = await e2e.docker.must(['network', 'create', '--driver=kuryr', '--ipam-driver=kuryr', '--subnet', '10.0.0.0/16', '--gateway', '10.0.0.1', '--ip-range', '10.0.0.0/24', NET]);
    const nets = await e2e.neutron.listNetworks({ tags: netTags(id) });
    assert.equal(nets.length, 1);
    const net = nets[0]!;
    assert.equal(net.name, `kuryr-net-${id.slice(0, 8)}`);
    const subnets = await e2e.neutron.listSubnets({ networkId: net.id });
    assert.equal(subnets.length, 1);
    const subnet = subnets[0]!;
    assert.equal(subnet.name, 'kuryr-subnet-10.0.0.0/24');
    assert.equal(subnet.cidr, '10.0.0.0/24');
    assert.equal(subnet.gatewayIp, '10.0.0.1');
    assert.equal(subnet.enableDhcp, true, '[neutron] enable_dhcp defaults to True, as in kuryr-lib');
    const pools = await e2e.neutron.listSubnetPools({ name: 'kuryrPool-10.0.0.0/24' });
    assert.equal(pools.length, 1);
    assert.equal(subnet.subnetpoolId, pools[0]!.id);
    assert.ok(subnet.tags.includes(pools[0]!.id), 'the subnet carries its pool id as a tag');
  });

  test('docker run -d --net kuryr: ACTIVE ports bound to this host, IPs from Neutron, the network MTU', async () => {
    await e2e.docker.must(['run', '-d', '--name', c1, '--net', NET, 'busybox', 'sleep', '3600']);
    await e2e.docker.must(['run', '-d', '--name', c2, '--net', NET, 'busybox', 'sleep', '3600']);
    const inspect = await e2e.docker.networkInspect(NET);
    assert.equal(Object.keys(inspect.Containers).length, 2);
    for (const name of [c1, c2]) {
      const { ip, mac, endpointId } = await e2e.containerIp(name, NET);
      const ports = await e2e.neutron.listPorts({ deviceId: endpointId });
      assert.equal(ports.length, 1, `one Neutron port for ${name}`);
      const port = ports[0]!;
      portIds.push(port.id);
      assert.equal(port.status, 'ACTIVE');
      assert.equal(port.deviceOwner, 'compute:kuryr');
      assert.equal(port.hostId, HOST);
      assert.equal(port.vifType, 'ovs');
      assert.equal(port.macAddress, mac);
      assert.deepEqual(port.fixedIps.map((f) => f.ipAddress), [ip], 'docker network inspect shows the IP Neutron allocated');
      assert.ok(ip.startsWith('10.0.0.'), `${ip} comes from the --ip-range`);
      assert.deepEqual(portTagsOf(port, endpointId), { compute: true, lh: true, uh: true });
      const link = await e2e.docker.must(['exec', name, 'ip', '-o', 'link', 'show', 'eth0']);
      assert.match(link, /mtu 1450/, 'the container gets the VXLAN network MTU, not 1500');
    }
  });

  test('two containers ping each other', async () => {
    const { ip } = await e2e.containerIp(c2, NET);
    assert.ok(await e2e.ping(c1, ip));
  });

  test('DHCP is on for the subnet and the DHCP server leases the container its Neutron IP', async () => {
    const { ip } = await e2e.containerIp(c1, NET);
    const r = await e2e.docker.run(['exec', c1, 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-s', '/bin/true'], 60_000);
    assert.match(r.stdout + r.stderr, new RegExp(`lease of ${ip.replace(/\./g, '\\.')} obtained`));
  });

  test('a container reaches a VM on the same network, 10 MB of TCP included', async () => {
    const net = (await e2e.neutron.listNetworks({ tags: netTags((await e2e.docker.networkInspect(NET)).Id) }))[0]!;
    const subnet = (await e2e.neutron.listSubnets({ networkId: net.id }))[0]!;
    const { vm, port } = await e2e.vm('seed-vm1', net.id, subnet, net.mtu ?? 1500, net.projectId);
    const vmIp = port.fixedIps[0]!.ipAddress;
    assert.ok(await e2e.ping(c1, vmIp), 'container → VM');
    const { ip } = await e2e.containerIp(c1, NET);
    assert.ok(await vm.reaches(ip), 'VM → container');
    assert.equal(await tcpToVm(e2e, c1, vm, vmIp, 10 * 1024 * 1024), 10 * 1024 * 1024);
    await e2e.removeVm(vm);
  });

  test('a container reaches a VM on another subnet through a Neutron router', async () => {
    const net = (await e2e.neutron.listNetworks({ tags: netTags((await e2e.docker.networkInspect(NET)).Id) }))[0]!;
    const kuryrSubnet = (await e2e.neutron.listSubnets({ networkId: net.id }))[0]!;
    const { network: vmNet, subnet: vmSubnet } = await e2e.userNetwork(`${E2E}vmnet`, '10.1.0.0/24', '10.1.0.1', net.projectId);
    const router = await e2e.neutron.createRouter({ name: `${E2E}router`, projectId: net.projectId });
    e2e.later(() => e2e.neutron.deleteRouter(router.id));
    await e2e.neutron.addRouterInterface(router.id, { subnetId: kuryrSubnet.id });
    e2e.later(() => e2e.neutron.removeRouterInterface(router.id, { subnetId: kuryrSubnet.id }));
    await e2e.neutron.addRouterInterface(router.id, { subnetId: vmSubnet.id });
    e2e.later(() => e2e.neutron.removeRouterInterface(router.id, { subnetId: vmSubnet.id }));
    const { port } = await e2e.vm('seed-vm2', vmNet.id, vmSubnet, vmNet.mtu ?? 1500, net.projectId);
    const vmIp = port.fixedIps[0]!.ipAddress;
    // the router interface needs a moment before it answers (REPORT: 0.7–3.3 s)
    let ok = false;
    for (let i = 0; i < 10 && !ok; i++) ok = await e2e.ping(c1, vmIp, 2);
    assert.ok(ok, `container → VM ${vmIp} via the router`);
    // the kuryr network's router port is not ours: remove it now so docker network rm can delete the network
    await e2e.neutron.removeRouterInterface(router.id, { subnetId: kuryrSubnet.id });
  });

  test('docker rm and docker network rm leave nothing of ours in Neutron, OVS or the host links', async () => {
    const dockerId = (await e2e.docker.networkInspect(NET)).Id;
    const net = (await e2e.neutron.listNetworks({ tags: netTags(dockerId) }))[0]!;
    await e2e.docker.must(['rm', '-f', c1, c2]);
    await e2e.assertNoLeftovers(portIds);
    await e2e.docker.must(['network', 'rm', NET]);
    assert.deepEqual(await e2e.neutron.listNetworks({ id: net.id }), []);
    assert.deepEqual(await e2e.neutron.listSubnetPools({ name: 'kuryrPool-10.0.0.0/24' }), []);
    assert.deepEqual(await e2e.neutron.listSubnets({ networkId: net.id }), []);
  });
});
