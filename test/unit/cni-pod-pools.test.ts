import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { PodNetworkService } from '../../src/core/pod/pod-network.js';
import { PodPools } from '../../src/core/pod/pod-pools.js';
import { poolTag } from '../../src/core/port-pool/pool-tags.js';
import { PortPools } from '../../src/core/port-pool/port-pools.js';
import { FakeBinder } from '../fakes/fake-binder.js';
import { FakeNeutron } from '../fakes/fake-neutron.js';
import { FakeParking } from '../fakes/fake-parking.js';
import { FakeInspector, FakeProbe, HOST, addReq } from './cni-helpers.js';

async function world(claimDelayMs = 0) {
  const neutron = new FakeNeutron({ dhcpPorts: false });
  const binder = new FakeBinder();
  const parking = new FakeParking();
  const net = await neutron.createNetwork({ name: 'pods', mtu: 1450 });
  const subnet = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: '10.1.0.0/24', enableDhcp: false });
  const sg = await neutron.createSecurityGroup({ name: 'pods' });
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 2)));
  const portPools = new PortPools({ neutron, dataplane: parking, hostId: HOST, owner: 'cni', sizing: { min: 2, max: 5, batch: 2, updateFrequencyMs: 0 }, activeTimeoutMs: 200, log: silentLogger(), sleep });
  const pools = new PodPools(portPools, silentLogger(), sleep, claimDelayMs);
  const service = new PodNetworkService({
    neutron, binder, inspector: new FakeInspector(binder), probe: new FakeProbe(),
    options: { hostId: HOST, projectId: undefined, podSubnetId: subnet.id, podSubnetIds: [], securityGroups: [sg.id], networkDeviceMtu: 0, resourceTags: [], activeTimeoutMs: 1_000, cacheTtlMs: 30_000 },
    pools,
    sleep,
  });
  return { neutron, binder, parking, portPools, service, subnet, pools };
}

describe('pods on pool ports', () => {
  test('first ADD primes the pool and makes its own port; later ADDs take a pool port named and tagged for the pod; DEL returns it', async () => {
    const w = await world();
    const first = await w.service.add(addReq());
    assert.equal(w.binder.plugged.has(first.portId), true, 'the ordinary path while the pool fills');
    await w.portPools.idle();
    const req = addReq();
    const made = w.neutron.calls.get('createPort') ?? 0;
    const att = await w.service.add(req);
    assert.equal(w.neutron.calls.get('createPort') ?? 0, made, 'no port made on the ADD path');
    assert.equal(w.parking.links.get(`t_c${att.portId.slice(0, 11)}`), req.netns, 'the parked end is in the pod netns');
    assert.equal(att.mtu, 1450);
    await new Promise((r) => setTimeout(r, 30)); // the Neutron writes land right after the reply
    const port = w.neutron.ports.get(att.portId)!;
    assert.equal(port.name, req.pod.name);
    assert.equal(port.deviceId, req.pod.uid);
    assert.ok(!port.tags.includes(poolTag('cni', HOST)));
    assert.ok(port.tags.some((t) => t.startsWith('kuryr.cni.cid:')));
    await w.service.del({ ...req });
    await w.portPools.idle();
    const back = w.neutron.ports.get(att.portId)!;
    assert.deepEqual([back.name, back.deviceId, back.tags], [poolTag('cni', HOST), '', [poolTag('cni', HOST)]]);
    assert.equal(w.parking.links.get(`t_c${att.portId.slice(0, 11)}`), 'parked');
  });

  test('the pod name and tags reach Neutron a moment after the reply; CHECK writes them first, DEL drops them, stopping writes them', async () => {
    const w = await world(60_000);
    await w.service.add(addReq());
    await w.portPools.idle();
    const port = async (id: string) => w.neutron.ports.get(id)!;

    const checked = addReq();
    const a = await w.service.add(checked);
    assert.equal((await port(a.portId)).deviceId, '', 'not yet written');
    // the fake inspector knows only the binder's plugs, so CHECK fails after its Neutron part here
    await w.service.check(checked).catch(() => undefined);
    assert.equal((await port(a.portId)).deviceId, checked.pod.uid, 'CHECK wrote it first');

    const deleted = addReq();
    const b = await w.service.add(deleted);
    const updates = w.neutron.calls.get('updatePort') ?? 0;
    await w.service.del({ ...deleted });
    await w.portPools.idle();
    const back = await port(b.portId);
    assert.deepEqual([back.name, back.deviceId, back.tags], [poolTag('cni', HOST), '', [poolTag('cni', HOST)]], 'back in the pool as it was');
    assert.equal(w.neutron.calls.get('updatePort') ?? 0, updates, 'the dropped claim was never written, so nothing was reset');
    assert.ok(w.portPools.stats()[0]!.ready >= 2, 'the port is ready again at once');

    const stopped = addReq();
    const c = await w.service.add(stopped);
    await w.pools.close();
    assert.equal((await port(c.portId)).name, stopped.pod.name, 'written when the daemon stops');
    await w.portPools.close();
  });
});
