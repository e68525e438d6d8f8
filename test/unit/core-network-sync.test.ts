/**
 * `kuryr network sync` against FakeNeutron and fake Docker engines whose network create/remove
 * drive the Kuryr service of their host, as dockerd does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LABEL_ADOPTED, type DockerEngineApi, type DockerNetworkSpec, type DockerNetworkSummary, nameTag, parseNameTag, syncNetworks } from '../../src/core/docker/network-sync.js';
import { networkCreateOptions } from '../../src/southbound/docker-engine/client.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { GATEWAY, type Harness, hexId, ipOf, makeHarness, choices } from './core-helpers.js';

class FakeEngine implements DockerEngineApi {
  readonly nets: Array<DockerNetworkSummary & { poolId: string; gateway: string }> = [];
  constructor(private readonly h: Harness) {}

  async listNetworks(): Promise<DockerNetworkSummary[]> {
    return this.nets.map(({ id, name, driver, labels }) => ({ id, name, driver, labels }));
  }

  /** RequestPool → gateway → CreateNetwork, as dockerd does for `docker network create`. */
  async createNetwork(spec: DockerNetworkSpec): Promise<string> {
    const id = hexId();
    const s = spec.subnets[0]!;
    const rp = await this.h.service.pools.requestPool({ addressSpace: 'no_address_space', pool: s.subnet, subPool: '', neutron: choices(networkCreateOptions(spec).ipamOptions), v6: false });
    const gateway = await this.h.service.addresses.requestAddress({ poolId: rp.poolId, address: s.gateway ?? '', ...GATEWAY });
    await this.h.service.networks.createNetwork({
      networkId: id,
      ipv4Data: [{ addressSpace: 'no_address_space', pool: rp.pool, gateway, auxAddresses: {} }],
      ipv6Data: [],
      neutron: choices(networkCreateOptions(spec).options),
      enableIpv6: false,
    });
    this.nets.push({ id, name: spec.name, driver: spec.driver, labels: spec.labels, poolId: rp.poolId, gateway });
    return id;
  }

  async removeNetwork(id: string): Promise<void> {
    const i = this.nets.findIndex((n) => n.id === id);
    const n = this.nets[i]!;
    await this.h.service.addresses.releaseAddress({ poolId: n.poolId, address: ipOf(n.gateway) });
    await this.h.service.pools.releasePool(n.poolId);
    await this.h.service.networks.deleteNetwork(id);
    this.nets.splice(i, 1);
  }
}

const actions = (entries: Array<{ action: string; name: string }>) => entries.map((e) => `${e.action} ${e.name}`);

test('name tags: at most 60 characters, live only while the publishing network is tagged', () => {
  const did = 'a'.repeat(64);
  assert.equal(nameTag(did, 'web'), 'kuryr.net.name:aaaaaaaaaaaa:web');
  assert.equal(nameTag(did, 'x'.repeat(33)), undefined);
  assert.deepEqual(parseNameTag('kuryr.net.name:aaaaaaaaaaaa:web', [`kuryr.net.uuid.lh:${'a'.repeat(32)}`]), { did12: 'aaaaaaaaaaaa', name: 'web', live: true });
  assert.equal(parseNameTag('kuryr.net.name:aaaaaaaaaaaa:web', [])?.live, false);
  assert.equal(parseNameTag('kuryr.net.uuid.lh:abc', []), undefined);
});

test('a network created on host A appears on host B by name, and goes when A removes it', async () => {
  const neutron = new FakeNeutron();
  const a = new FakeEngine(await makeHarness({ neutron, hostId: 'vm' }));
  const b = new FakeEngine(await makeHarness({ neutron, hostId: 'vm-lb' }));
  const opts = { driver: 'kuryr' };
  const webId = await a.createNetwork({ name: 'web', driver: 'kuryr', ipamDriver: 'kuryr', subnets: [{ subnet: '10.7.0.0/24', gateway: '10.7.0.1' }], enableIpv6: false, shared: false, labels: {} });
  const netId = [...neutron.networks.values()][0]!.id;

  assert.deepEqual(actions(await syncNetworks(neutron, a, opts)), ['published web', 'present web']);
  assert.deepEqual(await syncNetworks(neutron, a, { ...opts, dryRun: true }), [{ action: 'present', name: 'web', neutronNetworkId: netId }]);
  assert.deepEqual(actions(await syncNetworks(neutron, b, opts)), ['adopted web']);
  const adopted = b.nets[0]!;
  assert.equal(adopted.name, 'web');
  assert.equal(adopted.labels[LABEL_ADOPTED], netId);
  assert.equal(neutron.subnets.size, 1, 'host B uses the same subnet');
  assert.deepEqual(actions(await syncNetworks(neutron, b, opts)), ['present web'], 'idempotent; adopted networks are not re-published');

  await a.removeNetwork(webId);
  assert.ok(neutron.networks.has(netId), 'still used by host B');
  assert.deepEqual(actions(await syncNetworks(neutron, b, opts)), ['pruned web']);
  assert.equal(b.nets.length, 0);
  assert.equal(neutron.networks.size, 0);
  assert.equal(neutron.subnets.size, 0);
  assert.equal(neutron.pools.size, 0);
});

test('a different local network of the same name is reported, not replaced', async () => {
  const neutron = new FakeNeutron();
  const a = new FakeEngine(await makeHarness({ neutron, hostId: 'vm' }));
  const b = new FakeEngine(await makeHarness({ neutron, hostId: 'vm-lb' }));
  const spec = (subnet: string): DockerNetworkSpec => ({ name: 'db', driver: 'kuryr', ipamDriver: 'kuryr', subnets: [{ subnet }], enableIpv6: false, shared: false, labels: {} });
  await a.createNetwork(spec('10.8.0.0/24'));
  await b.createNetwork(spec('10.9.0.0/24'));
  await syncNetworks(neutron, a, { driver: 'kuryr' });
  const out = await syncNetworks(neutron, b, { driver: 'kuryr' });
  assert.ok(out.some((e) => e.action === 'conflict' && e.name === 'db'), JSON.stringify(out));
});
