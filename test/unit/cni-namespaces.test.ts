/**
 * Namespace networks without an API server: made by the first pod's node, shared by every node,
 * removed after the last pod; two nodes racing on either end end up with one network, or none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { NamespaceNetworks, TAG_NS_DELETING, TAG_NS_READY, type NamespaceSubnetOptions } from '../../src/core/pod/namespace-networks.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { addReq, podWorld } from './cni-helpers.js';

async function world() {
  const neutron = new FakeNeutron();
  const routerId = neutron.createRouter();
  const pool = await neutron.createSubnetPool({ name: 'pods', prefixes: ['10.50.0.0/16'], defaultPrefixlen: 26 });
  const opts: NamespaceSubnetOptions = { routerId, subnetPoolId: pool.id, projects: { team2: 'p-team2' }, defaultProjectId: undefined, resourceTags: ['cluster:k1'] };
  const node = () => new NamespaceNetworks(neutron, opts, silentLogger(), (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 3))));
  const podPort = (networkId: string, subnetId: string) => neutron.createPort({ networkId, deviceOwner: 'compute:kuryr', fixedIps: [{ subnetId }] });
  return { neutron, routerId, node, podPort };
}

test('first pod: network, subnet from the pool on the router, group admitting its own members; the next pod reuses them', async () => {
  const { neutron, routerId, node } = await world();
  const a = node();
  const p = await a.ensure('team1');
  assert.ok(p.network.tags.includes(TAG_NS_READY) && p.network.tags.includes('kuryr.ns:team1') && p.network.tags.includes('cluster:k1'));
  assert.match(p.subnets[0]!.cidr, /^10\.50\.\d+\.\d+\/26$/);
  assert.equal(p.subnets[0]!.enableDhcp, false);
  const iface = [...neutron.ports.values()].find((x) => x.deviceId === routerId);
  assert.equal(iface?.fixedIps[0]?.subnetId, p.subnets[0]!.id);
  const sg = neutron.securityGroups.get(p.securityGroupId)!;
  assert.deepEqual(sg.rules.filter((r) => r.direction === 'ingress').map((r) => [r.ethertype, r.remoteGroupId]), [['IPv4', sg.id], ['IPv6', sg.id]]);
  assert.equal((await a.ensure('team1')).network.id, p.network.id);
  assert.equal((await node().ensure('team1')).network.id, p.network.id, 'another node finds it by its tags');
  assert.equal((await a.ensure('team2')).projectId, 'p-team2', 'namespace → project mapping');
});

test('two nodes racing for a new namespace end with one network', async () => {
  const { neutron, node } = await world();
  const nodes = [node(), node(), node()];
  const got = await Promise.all(nodes.map((n) => n.ensure('race')));
  assert.equal(new Set(got.map((g) => g.network.id)).size, 1);
  assert.equal([...neutron.networks.values()].filter((n) => n.tags.includes('kuryr.ns:race')).length, 1);
  assert.equal(neutron.securityGroups.size, 1, 'no group left over from a deferring node');
});

test('the last pod gone: router interface, subnet, network and group removed; a pod still there keeps them', async () => {
  const { neutron, routerId, node, podPort } = await world();
  const a = node();
  const p = await a.ensure('team1');
  const pod = await podPort(p.network.id, p.subnets[0]!.id);
  await a.releaseIfUnused(p.network.id);
  assert.ok(neutron.networks.has(p.network.id), 'still used');
  await neutron.deletePort(pod.id);
  await node().releaseIfUnused(p.network.id);
  assert.equal(neutron.networks.has(p.network.id), false);
  assert.equal(neutron.subnets.has(p.subnets[0]!.id), false);
  assert.equal(neutron.securityGroups.has(p.securityGroupId), false);
  assert.equal([...neutron.ports.values()].some((x) => x.deviceId === routerId), false);
  await a.releaseIfUnused(p.network.id);
  const again = await a.ensure('team1');
  assert.notEqual(again.network.id, p.network.id, 'a later pod makes a new one');
});

test('a pod arriving on another node while the last one leaves: the remover sees it and backs off', async () => {
  const { neutron, node, podPort } = await world();
  const a = node();
  const b = node();
  const p = await a.ensure('team1');
  let arrived = false;
  neutron.failWhen((m, args) => {
    // Right after A marks the network deleting, B's pod port lands (B found the network ready earlier).
    if (m === 'setTags' && (args[2] as string[]).includes(TAG_NS_DELETING) && !arrived) {
      arrived = true;
      void podPort(p.network.id, p.subnets[0]!.id);
    }
    return undefined;
  });
  await a.releaseIfUnused(p.network.id);
  assert.ok(arrived);
  const net = neutron.networks.get(p.network.id);
  assert.ok(net, 'kept');
  assert.equal(net.tags.includes(TAG_NS_DELETING), false, 'deleting mark taken back');
  assert.equal(await b.isDeleting(p.network.id), false);
});

test('pods: each namespace on its own network and group (plus the configured groups); the last DEL of a namespace removes it', async () => {
  const w = await podWorld({
    namespaceSubnet: async (neutron) => {
      const pool = await neutron.createSubnetPool({ name: 'pods', prefixes: ['10.60.0.0/16'], defaultPrefixlen: 26 });
      return { routerId: neutron.createRouter(), subnetPoolId: pool.id, projects: {}, defaultProjectId: undefined, resourceTags: ['cluster:k1'] };
    },
  });
  const r1 = addReq({ pod: { namespace: 'ns1', name: 'a', uid: 'u-a' } });
  const r2 = addReq({ pod: { namespace: 'ns1', name: 'b', uid: 'u-b' } });
  const r3 = addReq({ pod: { namespace: 'ns2', name: 'c', uid: 'u-c' } });
  const [a, b, c] = await Promise.all([w.service.add(r1), w.service.add(r2), w.service.add(r3)]);
  const [pa, pb, pc] = await Promise.all([a, b, c].map((x) => w.neutron.getPort(x.portId)));
  assert.equal(pa!.networkId, pb!.networkId);
  assert.notEqual(pa!.networkId, pc!.networkId);
  assert.notEqual(pa!.networkId, w.net.id, 'not the default pod network');
  assert.equal(pa!.securityGroups.length, 2, 'namespace group + [neutron_defaults] pod_security_groups');
  assert.ok(pa!.securityGroups.includes(w.sg.id));
  await w.service.del(r1);
  assert.ok(w.neutron.networks.has(pa!.networkId), 'ns1 keeps its network while b runs');
  await w.service.del(r2);
  assert.equal(w.neutron.networks.has(pa!.networkId), false, 'removed after the last ns1 pod');
  assert.ok(w.neutron.networks.has(pc!.networkId));
  await w.service.del(r3);
  assert.equal(w.neutron.networks.has(pc!.networkId), false);
});

test('dual stack: pod_subnet_pool_v6 gives each namespace an IPv6 subnet too, on the router; pods get both; all removed after the last pod', async () => {
  const w = await podWorld({
    namespaceSubnet: async (neutron) => {
      const v4 = await neutron.createSubnetPool({ name: 'pods', prefixes: ['10.60.0.0/16'], defaultPrefixlen: 26 });
      const v6 = await neutron.createSubnetPool({ name: 'pods6', prefixes: ['fd00:60::/48'], defaultPrefixlen: 64 });
      return { routerId: neutron.createRouter(), subnetPoolId: v4.id, subnetPoolV6Id: v6.id, projects: {}, defaultProjectId: undefined, resourceTags: ['cluster:k1'] };
    },
  });
  const req = addReq({ pod: { namespace: 'ns1', name: 'a', uid: 'u-a' } });
  const a = await w.service.add(req);
  assert.deepEqual(a.ips.map((i) => i.family), [4, 6], 'IPv4 first, then IPv6');
  assert.match(a.ips[1]!.address, /^fd00:60:[0-9a-f:]+\/64$/);
  const port = await w.neutron.getPort(a.portId);
  const subnets = await w.neutron.listSubnets({ networkId: port.networkId });
  assert.deepEqual(subnets.map((s) => s.ipVersion).sort(), [4, 6]);
  const routerIfaces = [...w.neutron.ports.values()].filter((p) => p.deviceOwner.startsWith('network:router'));
  for (const s of subnets) assert.ok(routerIfaces.some((p) => p.fixedIps.some((f) => f.subnetId === s.id)), `IPv${s.ipVersion} subnet on the router`);
  await w.service.del(req);
  assert.equal(w.neutron.networks.has(port.networkId), false);
  for (const s of subnets) assert.equal(w.neutron.subnets.has(s.id), false);
  assert.equal([...w.neutron.ports.values()].some((p) => p.deviceOwner.startsWith('network:router')), false, 'both router interfaces gone');
});

test('IPv6 single stack: pod_subnet_pool may be an IPv6 pool; a v6 option naming an IPv4 pool is refused with the option named', async () => {
  const { neutron, routerId } = await world();
  const v6 = await neutron.createSubnetPool({ name: 'pods6', prefixes: ['fd00:61::/48'], defaultPrefixlen: 64 });
  const v4 = await neutron.createSubnetPool({ name: 'pods4', prefixes: ['10.61.0.0/16'], defaultPrefixlen: 26 });
  const base = { routerId, projects: {}, defaultProjectId: undefined, resourceTags: ['cluster:k1'] };
  const sleep = async () => undefined;
  const p = await new NamespaceNetworks(neutron, { ...base, subnetPoolId: v6.id }, silentLogger(), sleep).ensure('six');
  assert.deepEqual(p.subnets.map((s) => s.ipVersion), [6]);
  await assert.rejects(
    new NamespaceNetworks(neutron, { ...base, subnetPoolId: v4.id, subnetPoolV6Id: v4.id }, silentLogger(), sleep).ensure('bad'),
    (e: unknown) => e instanceof ConfigError && /pod_subnet_pool_v6 .* is an IPv4 pool/.test(e.message),
  );
  assert.equal([...neutron.networks.values()].some((n) => n.tags.includes('kuryr.ns:bad')), false, 'nothing left of the refused namespace');
});
