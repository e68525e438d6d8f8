/**
 * The CNI STATUS probe asks Keystone through the client's own HTTP layer (so `[neutron] cafile` and
 * `insecure` apply), once, and reports each service by name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeControlPlaneProbe } from '../../src/southbound/control-plane-probe.js';
import type { Exec } from '../../src/southbound/dataplane/exec.js';
import type { HttpRequest, HttpResponse } from '../../src/southbound/openstack/http.js';
import type { OpenStackClients } from '../../src/southbound/openstack/index.js';

function probeWith(status: number, opts: { ovsFails?: boolean } = {}) {
  const requests: HttpRequest[] = [];
  const calls: string[] = [];
  const openstack = {
    http: { request: async (req: HttpRequest): Promise<HttpResponse> => (requests.push(req), { status, headers: {}, body: undefined, text: '' }) },
    auth: { getToken: async () => (calls.push('token'), 'tok') },
    neutron: { getExtension: async (alias: string) => (calls.push(`ext:${alias}`), null) },
  } as unknown as OpenStackClients;
  const exec: Exec = async (argv) => {
    calls.push(argv.join(' '));
    if (opts.ovsFails) throw new Error('ovs-vsctl: no bridge named br-int');
    return { stdout: '', stderr: '', code: 0 };
  };
  return { probe: new NodeControlPlaneProbe(openstack, 'https://keystone.example:5000/v3', exec, 'br-int'), requests, calls };
}

test('keystone: one GET of auth_url through the configured HTTP layer, then a token', async () => {
  const p = probeWith(300);
  await p.probe.keystone();
  assert.deepEqual(p.requests, [{ method: 'GET', url: 'https://keystone.example:5000/v3', idempotent: false }]);
  assert.deepEqual(p.calls, ['token']);
});

test('keystone: a 5xx answer is reported as Keystone down, without asking for a token', async () => {
  const p = probeWith(503);
  await assert.rejects(p.probe.keystone(), /Keystone https:\/\/keystone\.example:5000\/v3 answered 503/);
  assert.deepEqual(p.calls, []);
});

test('neutron and data plane probes', async () => {
  const p = probeWith(200);
  await p.probe.neutron();
  await p.probe.dataplane();
  assert.deepEqual(p.calls, ['ext:binding', 'ovs-vsctl --timeout=3 br-exists br-int']);
  await assert.rejects(probeWith(200, { ovsFails: true }).probe.dataplane(), /OVS bridge br-int is missing or ovsdb is down: ovs-vsctl: no bridge named br-int/);
});
