/**
 * Program/RevokeExternalConnectivity → `<port id>-exposed_ports` security group (spec §7).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../src/common/errors.js';
import { exposedPortRuns } from '../../src/core/docker/expose.js';
import { type Harness, dockerNetworkCreate, hexId, macOption, makeHarness, randomMac } from './core-helpers.js';

async function endpoint(h: Harness, v6 = false) {
  const did = hexId();
  const eid = hexId();
  const r = await dockerNetworkCreate(h, { did, subnet: '10.70.0.0/24', ...(v6 ? { v6: { subnet: 'fd70::/64' } } : {}) });
  const a4 = await h.service.addresses.requestAddress({ poolId: r.poolId, address: '', ...macOption(randomMac()) });
  const a6 = v6 ? await h.service.addresses.requestAddress({ poolId: r.poolId6!, address: '', ...macOption(randomMac()) }) : undefined;
  await h.service.endpoints.createEndpoint({ networkId: did, endpointId: eid, address: a4, addressIpv6: a6, macAddress: randomMac() });
  const port = h.neutron.userPorts()[0]!;
  return { did, eid, port };
}

describe('expose', () => {
  test('runs of consecutive ports per protocol', () => {
    assert.deepEqual(
      exposedPortRuns([
        { proto: 6, port: 81 },
        { proto: 6, port: 80 },
        { proto: 6, port: 82 },
        { proto: 6, port: 90 },
        { proto: 17, port: 53 },
      ]),
      [
        { protocol: 'tcp', min: 80, max: 82 },
        { protocol: 'tcp', min: 90, max: 90 },
        { protocol: 'udp', min: 53, max: 53 },
      ],
    );
    assert.throws(() => exposedPortRuns([{ proto: 132, port: 1 }]), (e: unknown) => e instanceof InvalidInputError && e.message.includes('132'));
  });

  test('program finds the IPAM port by EID tags (Q3), creates the SG with rules; revoke removes it', async () => {
    const h = await makeHarness();
    const { did, eid, port } = await endpoint(h);
    assert.equal(port.name, 'kuryr-unbound-port');
    const req = { networkId: did, endpointId: eid, exposedPorts: [{ proto: 6, port: 80 }, { proto: 6, port: 81 }, { proto: 17, port: 53 }] };
    await h.service.connectivity.programExternalConnectivity(req);
    await h.service.connectivity.programExternalConnectivity(req); // replay
    const sgs = [...h.neutron.securityGroups.values()];
    assert.equal(sgs.length, 1);
    const sg = sgs[0]!;
    assert.equal(sg.name, `${port.id}-exposed_ports`);
    assert.equal(sg.description, 'Docker exposed ports created by Kuryr.');
    const ingress = sg.rules.filter((r) => r.direction === 'ingress').map((r) => `${r.ethertype}/${r.protocol}/${r.portRangeMin}-${r.portRangeMax}`).sort();
    assert.deepEqual(ingress, ['IPv4/tcp/80-81', 'IPv4/udp/53-53']);
    assert.deepEqual(h.neutron.ports.get(port.id)!.securityGroups, [sg.id]);

    await h.service.connectivity.revokeExternalConnectivity({ networkId: did, endpointId: eid });
    assert.equal(h.neutron.securityGroups.size, 0);
    assert.deepEqual(h.neutron.ports.get(port.id)!.securityGroups, []);
    await h.service.connectivity.revokeExternalConnectivity({ networkId: did, endpointId: eid });
  });

  test('IPv6 rules for a dual-stack port', async () => {
    const h = await makeHarness();
    const { did, eid } = await endpoint(h, true);
    await h.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [{ proto: 6, port: 8080 }] });
    const sg = [...h.neutron.securityGroups.values()][0]!;
    assert.deepEqual(sg.rules.filter((r) => r.direction === 'ingress').map((r) => r.ethertype).sort(), ['IPv4', 'IPv6']);
  });

  test('unknown protocol creates nothing; a failure after the SG is created removes it', async () => {
    const h = await makeHarness();
    const { did, eid, port } = await endpoint(h);
    await assert.rejects(h.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [{ proto: 99, port: 1 }] }), InvalidInputError);
    assert.equal(h.neutron.securityGroups.size, 0);
    h.neutron.failWhen((m) => (m === 'updatePort' ? new Error('update refused') : undefined));
    await assert.rejects(h.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [{ proto: 6, port: 22 }] }), /update refused/);
    assert.equal(h.neutron.securityGroups.size, 0);
    assert.deepEqual(h.neutron.ports.get(port.id)!.securityGroups, []);
  });

  test('process_external_connectivity=false does nothing', async () => {
    const h = await makeHarness({ options: { processExternalConnectivity: false } });
    const { did, eid } = await endpoint(h);
    await h.service.connectivity.programExternalConnectivity({ networkId: did, endpointId: eid, exposedPorts: [{ proto: 6, port: 80 }] });
    assert.equal(h.neutron.securityGroups.size, 0);
  });
});
