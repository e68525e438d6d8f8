/**
 * Docker options on the real stack: an existing Neutron network (-o neutron.net.uuid), a pre-created
 * user port reused by --ip, --expose as a security group, dual-stack with IPv6 ping, --subnet without
 * --gateway, the operator's default subnet pool, and a bad option that leaves nothing behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DockerE2e, E2E, HOST } from './support/fixture.js';
import { netTags } from './support/kuryr-state.js';
import { waitFor } from './support/sh.js';

const skip = await DockerE2e.skipReason();

describe('docker driver: options', { skip }, () => {
  const e2e = new DockerE2e();
  before(() => e2e.start());
  after(() => e2e.stop());

  test('-o neutron.net.uuid uses an existing network; --ip reuses a pre-created port; both survive', async () => {
    // made as the user of Kuryr's project would (same default security group as the containers)
    const { network, subnet } = await e2e.userNetwork(`${E2E}user-net`, '10.2.0.0/24', '10.2.0.1', await e2e.kuryrProjectId());
    const userPort = await e2e.neutron.createPort({ projectId: network.projectId, networkId: network.id, name: `${E2E}user-port`, fixedIps: [{ subnetId: subnet.id, ipAddress: '10.2.0.50' }] });
    e2e.later(() => e2e.neutron.deletePort(userPort.id));
    const net = `${E2E}existing`;
    const dockerId = await e2e.docker.must(['network', 'create', '--driver=kuryr', '--ipam-driver=kuryr', '--subnet', '10.2.0.0/24', '--gateway', '10.2.0.1', '-o', `neutron.net.uuid=${network.id}`, net]);
    const tagged = await e2e.neutron.getNetwork(network.id);
    for (const t of [...netTags(dockerId), `kuryr.net.existing:${dockerId.slice(0, 12)}`]) assert.ok(tagged.tags.includes(t), `network tagged ${t}`);

    await e2e.docker.must(['run', '-d', '--name', `${E2E}ip`, '--net', net, '--ip', '10.2.0.50', 'busybox', 'sleep', '600']);
    await e2e.docker.must(['run', '-d', '--name', `${E2E}any`, '--net', net, 'busybox', 'sleep', '600']);
    const { endpointId } = await e2e.containerIp(`${E2E}ip`, net);
    const used = await e2e.neutron.getPort(userPort.id);
    assert.equal(used.deviceId, endpointId, 'the user port became the endpoint');
    assert.equal(used.hostId, HOST);
    assert.equal(used.status, 'ACTIVE');
    assert.ok(used.tags.includes('kuryr.port.existing'));
    const other = await e2e.containerIp(`${E2E}any`, net);
    assert.match(other.ip, /^10\.2\.0\./);
    assert.ok(await e2e.ping(`${E2E}any`, '10.2.0.50'), 'a container reaches the one on the user port');

    await e2e.docker.must(['rm', '-f', `${E2E}ip`, `${E2E}any`]);
    const released = await e2e.neutron.getPort(userPort.id);
    assert.equal(released.hostId, '', 'released user port is unbound');
    assert.equal(released.deviceOwner, '');
    assert.ok(!released.tags.includes('kuryr.port.existing'));
    await e2e.docker.must(['network', 'rm', net]);
    const after = await e2e.neutron.getNetwork(network.id);
    assert.deepEqual(after.tags.filter((t) => t.startsWith('kuryr.')), [], 'our tags are gone from the user network');
    assert.equal((await e2e.neutron.getSubnet(subnet.id)).id, subnet.id, 'the user subnet survives');
    assert.deepEqual(await e2e.neutron.listSubnets({ networkId: network.id, name: 'kuryr-subnet-10.2.0.0/24' }), []);
  });

  test('--expose makes a security group on the port; removing the container removes it', async () => {
    const net = `${E2E}expose`;
    await e2e.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.4.0.0/24', net]);
    const c = `${E2E}exposed`;
    await e2e.docker.must(['run', '-d', '--name', c, '--net', net, '--expose', '8080-8081', '--expose', '53/udp', 'busybox', 'sleep', '600']);
    const { endpointId } = await e2e.containerIp(c, net);
    const port = (await e2e.neutron.listPorts({ deviceId: endpointId }))[0]!;
    const sgs = await e2e.neutron.listSecurityGroups({ name: `${port.id}-exposed_ports` });
    assert.equal(sgs.length, 1);
    const sg = sgs[0]!;
    assert.equal(sg.description, 'Docker exposed ports created by Kuryr.');
    assert.ok(port.securityGroups.includes(sg.id) || (await e2e.neutron.getPort(port.id)).securityGroups.includes(sg.id));
    const rules = sg.rules.filter((r) => r.direction === 'ingress' && r.ethertype === 'IPv4');
    assert.ok(rules.some((r) => r.protocol === 'tcp' && r.portRangeMin === 8080 && r.portRangeMax === 8081), 'tcp 8080-8081');
    assert.ok(rules.some((r) => r.protocol === 'udp' && r.portRangeMin === 53 && r.portRangeMax === 53), 'udp 53');
    await e2e.docker.must(['rm', '-f', c]);
    assert.deepEqual(await e2e.neutron.listSecurityGroups({ name: `${port.id}-exposed_ports` }), []);
    await e2e.docker.must(['network', 'rm', net]);
  });

  test('dual stack: IPv4 and IPv6 from Neutron, containers ping over IPv6', async () => {
    const net = `${E2E}dual`;
    await e2e.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--ipv6', '--subnet', '10.3.0.0/24', '--gateway', '10.3.0.1', '--subnet', 'fd00:3::/64', '--gateway', 'fd00:3::1', net]);
    await e2e.docker.must(['run', '-d', '--name', `${E2E}d1`, '--net', net, 'busybox', 'sleep', '600']);
    await e2e.docker.must(['run', '-d', '--name', `${E2E}d2`, '--net', net, 'busybox', 'sleep', '600']);
    const d1 = await e2e.containerIp(`${E2E}d1`, net);
    const d2 = await e2e.containerIp(`${E2E}d2`, net);
    assert.match(d2.ip6, /^fd00:3::/);
    const port = (await e2e.neutron.listPorts({ deviceId: d2.endpointId }))[0]!;
    assert.deepEqual(port.fixedIps.map((f) => f.ipAddress).sort(), [d2.ip, d2.ip6].sort(), 'one port carries both addresses');
    assert.equal(port.status, 'ACTIVE');
    const ok = await waitFor('IPv6 ping', async () => (await e2e.docker.run(['exec', `${E2E}d1`, 'ping', '-c', '2', '-W', '2', d2.ip6], 20_000)).code === 0, 30_000, 500);
    assert.ok(ok);
    assert.ok(await e2e.ping(`${E2E}d2`, d1.ip));
    const portIds = [port.id, (await e2e.neutron.listPorts({ deviceId: d1.endpointId }))[0]!.id];
    await e2e.docker.must(['rm', '-f', `${E2E}d1`, `${E2E}d2`]);
    await e2e.assertNoLeftovers(portIds);
    await e2e.docker.must(['network', 'rm', net]);
    assert.deepEqual(await e2e.neutron.listSubnetPools({ name: 'kuryrPool-fd00:3::/64' }), []);
  });

  test('--subnet without --gateway works (the Python driver failed here)', async () => {
    const net = `${E2E}nogw`;
    await e2e.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.5.0.0/24', net]);
    await e2e.docker.must(['run', '-d', '--name', `${E2E}nogw1`, '--net', net, 'busybox', 'sleep', '600']);
    const { ip } = await e2e.containerIp(`${E2E}nogw1`, net);
    assert.match(ip, /^10\.5\.0\./);
    const subnet = (await e2e.neutron.listSubnets({ cidr: '10.5.0.0/24', name: 'kuryr-subnet-10.5.0.0/24' }))[0];
    assert.equal(subnet?.gatewayIp, '10.5.0.1', 'the first host of the pool became the gateway');
    assert.match(await e2e.docker.must(['exec', `${E2E}nogw1`, 'ip', 'route']), /default via 10\.5\.0\.1/);
    await e2e.docker.must(['rm', '-f', `${E2E}nogw1`]);
    await e2e.docker.must(['network', 'rm', net]);
    assert.deepEqual(await e2e.neutron.listSubnetPools({ name: 'kuryrPool-10.5.0.0/24' }), []);
  });

  test("no --subnet: the operator's default pool 'kuryr' serves the network and survives it", async () => {
    const existing = await e2e.neutron.listSubnetPools({ name: 'kuryr' });
    const pool = existing[0] ?? (await e2e.neutron.createSubnetPool({ name: 'kuryr', prefixes: ['10.10.0.0/16'], defaultPrefixlen: 24, shared: true }));
    if (existing.length === 0) e2e.later(() => e2e.neutron.deleteSubnetPool(pool.id));
    const net = `${E2E}default`;
    await e2e.docker.must(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', net]);
    await e2e.docker.must(['run', '-d', '--name', `${E2E}dp1`, '--net', net, 'busybox', 'sleep', '600']);
    const { ip } = await e2e.containerIp(`${E2E}dp1`, net);
    assert.match(ip, /^10\.10\./);
    await e2e.docker.must(['rm', '-f', `${E2E}dp1`]);
    await e2e.docker.must(['network', 'rm', net]);
    assert.equal((await e2e.neutron.getSubnetPool(pool.id)).id, pool.id, 'the default pool is never deleted');
  });

  test('an unknown neutron.* option is refused, naming it, and nothing is left in Neutron', async () => {
    const r = await e2e.docker.run(['network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.6.0.0/24', '-o', 'neutron.net.uid=' + randomUUID(), `${E2E}bad`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /neutron\.net\.uid/);
    assert.deepEqual(await e2e.neutron.listSubnetPools({ name: 'kuryrPool-10.6.0.0/24' }), []);
    assert.deepEqual(await e2e.neutron.listSubnets({ cidr: '10.6.0.0/24' }), []);
  });
});
