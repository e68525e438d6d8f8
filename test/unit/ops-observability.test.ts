import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import net from 'node:net';
import { MockAgent } from 'undici';
import { textLine } from '../../src/common/log.js';
import { createDaemonMetrics } from '../../src/common/metrics.js';
import { currentRequest, noteIds, runInRequest } from '../../src/common/request-context.js';
import { setTelemetry, telemetry } from '../../src/common/telemetry.js';
import { UndoStack } from '../../src/common/undo.js';
import { runChecks, startDaemonStatus } from '../../src/compose/status.js';
import { describeCniCall } from '../../src/northbound/cni/server.js';
import { describeDockerCall } from '../../src/northbound/docker/server.js';
import { OpenStackHttp, resourceOf } from '../../src/southbound/openstack/http.js';
import { NeutronClient } from '../../src/southbound/openstack/neutron.js';
import { silentLogger } from '../../src/common/log.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

test('resourceOf drops ids and tag values, keeps the collection', () => {
  assert.equal(resourceOf('http://n:9696/v2.0/ports/3f2c1a7e-1111-4222-8333-444455556666'), 'ports');
  assert.equal(resourceOf('http://n:9696/v2.0/networks/3f2c1a7e-1111-4222-8333-444455556666/tags/kuryr.net.uuid.lh:abc'), 'networks/tags');
  assert.equal(resourceOf('http://k:5000/v3/auth/tokens'), 'auth/tokens');
  assert.equal(resourceOf('http://n:9696/v2.0/subnetpools?name=kuryr'), 'subnetpools');
  assert.equal(resourceOf('not a url'), 'unknown');
});

test('Neutron calls carry the running call\'s request id as X-OpenStack-Request-ID and are measured', async (t) => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  t.after(() => agent.close());
  const seen: Array<string | undefined> = [];
  agent.get('http://neutron.test').intercept({ path: '/v2.0/ports/p1', method: 'GET' }).reply(200, (opts) => {
    const h = opts.headers as Record<string, string>;
    seen.push(h['x-openstack-request-id']);
    return { port: { id: 'p1', status: 'ACTIVE', fixed_ips: [], tags: [] } };
  }).times(2);
  const calls: string[] = [];
  const restore = setTelemetry({ ...telemetry(), openstackCall: (m, r, s) => void calls.push(`${m} ${r} ${s}`) });
  t.after(restore);
  const neutron = new NeutronClient({
    auth: { getToken: async () => 'tok', invalidate: () => {}, getEndpoint: async () => 'unused' },
    http: new OpenStackHttp({ dispatcher: agent }),
    endpointOverride: 'http://neutron.test',
  });
  const id = await runInRequest({}, async (ctx) => (await neutron.getPort('p1'), ctx.requestId));
  await neutron.getPort('p1');
  assert.deepEqual(seen, [id, undefined], 'outside a call no id is invented');
  assert.deepEqual(calls, ['GET ports 200', 'GET ports 200']);
});

test('request context: ids noted along the way stay with their own call', async () => {
  const [a, b] = await Promise.all(['a', 'b'].map((n) => runInRequest({ network: n }, async () => {
    await new Promise((r) => setTimeout(r, n === 'a' ? 5 : 1));
    noteIds({ endpoint: `ep-${n}`, empty: undefined });
    return currentRequest()!;
  })));
  assert.deepEqual(a!.ids, { network: 'a', endpoint: 'ep-a' });
  assert.deepEqual(b!.ids, { network: 'b', endpoint: 'ep-b' });
  assert.notEqual(a!.requestId, b!.requestId);
  assert.equal(currentRequest(), undefined);
});

test('describe*Call: the ids a log line names', () => {
  assert.deepEqual(describeDockerCall('NetworkDriver.Join', { NetworkID: 'n1', EndpointID: 'e1', SandboxKey: '/var/run/docker/netns/abc123' }), {
    name: 'NetworkDriver.Join',
    ids: { network: 'n1', endpoint: 'e1', sandbox: 'abc123' },
  });
  const cni = describeCniCall('Cni.Exec', { env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/x',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1' } });
  assert.deepEqual(cni, { name: 'ADD', ids: { pod: 'default/web-1', container: 'c1', ifname: 'eth0', netns: '/var/run/netns/x' } });
  assert.deepEqual(describeCniCall('Cni.Exec', 'garbage'), { name: 'call', ids: {} });
});

test('textLine: readable oslo-like lines, one per record, stack indented below', () => {
  const line = textLine(JSON.stringify({ level: 30, time: Date.UTC(2026, 10, 29, 20, 0, 1, 123), pid: 42, name: 'kuryr', component: 'docker-api',
    reqId: 'req-1', msg: 'call finished', method: 'NetworkDriver.Join', status: 200, ms: 1.5, network: 'n 1' }));
  assert.equal(line, '2026-11-29 20:00:01.123 42 INFO kuryr.docker-api [req-1] call finished method=NetworkDriver.Join status=200 ms=1.5 network="n 1"\n');
  const err = textLine(JSON.stringify({ level: 50, time: 0, pid: 1, name: 'kuryr', msg: 'call failed', err: { message: 'boom', stack: 'Error: boom\n    at x' } }));
  assert.match(err, /ERROR kuryr \[-\] call failed err="boom"\n {4}Error: boom\n/);
  assert.equal(textLine('not json'), 'not json');
});

test('metrics: calls, OpenStack calls, ACTIVE waits and rollbacks in the exposition', async (t) => {
  const m = createDaemonMetrics('cni');
  m.call('ADD', 1.2, false);
  m.call('DEL', 0.1, true);
  m.openstackCall('POST', 'ports', '201', 0.05);
  m.activeWait(1.1, 'active');
  const restore = setTelemetry(m);
  t.after(restore);
  await assert.rejects(UndoStack.guard(async (undo) => {
    undo.push('a', async () => {});
    undo.push('b', async () => { throw new Error('stuck'); });
    throw new Error('step failed');
  }));
  await UndoStack.guard(async () => 1); // nothing to undo: not a rollback
  const text = await m.render();
  assert.match(text, /kuryr_cni_request_duration_seconds_count\{command="ADD",error="false"\} 1/);
  assert.match(text, /kuryr_cni_request_duration_seconds_count\{command="DEL",error="true"\} 1/);
  assert.match(text, /kuryr_openstack_request_duration_seconds_count\{method="POST",resource="ports",status="201"\} 1/);
  assert.match(text, /kuryr_port_active_wait_seconds_count\{result="active"\} 1/);
  assert.match(text, /kuryr_rollbacks_total 1/);
  assert.match(text, /kuryr_rollback_failed_steps_total 1/);
  assert.match(text, /process_resident_memory_bytes/);
  const d = createDaemonMetrics('docker');
  d.call('NetworkDriver.Join', 0.01, false);
  assert.match(await d.render(), /kuryr_docker_request_duration_seconds_count\{method="NetworkDriver.Join",error="false"\} 1/);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

test('status endpoints: /alive, /ready 200 or 503 naming the failed check, /metrics, 404 elsewhere; port 0 = off', async (t) => {
  const metrics = createDaemonMetrics('docker');
  const off = await startDaemonStatus({ daemon: 'docker', healthPort: 0, metricsPort: 0, metrics, checks: {}, logger: silentLogger() });
  assert.deepEqual(off.ports, {});
  await off.close();
  let neutronUp = true;
  const port = await freePort();
  const servers = await startDaemonStatus({
    daemon: 'docker',
    healthPort: port,
    metricsPort: port,
    metrics,
    checks: { neutron: async () => { if (!neutronUp) throw new Error('ECONNREFUSED 127.0.0.1:9696'); } },
    logger: silentLogger(),
  });
  t.after(() => servers.close());
  assert.equal((await get(port, '/alive')).status, 200);
  assert.equal((await get(port, '/ready')).status, 200);
  neutronUp = false;
  const notReady = await get(port, '/ready');
  assert.equal(notReady.status, 503);
  assert.deepEqual(JSON.parse(notReady.body).checks.neutron.error, 'ECONNREFUSED 127.0.0.1:9696');
  metrics.call('NetworkDriver.Join', 0.02, false);
  assert.match((await get(port, '/metrics')).body, /kuryr_docker_request_duration_seconds_count\{method="NetworkDriver.Join",error="false"\} 1/);
  assert.equal((await get(port, '/nope')).status, 404);
  await assert.rejects(startDaemonStatus({ daemon: 'docker', healthPort: port, metricsPort: 0, metrics, checks: {}, logger: silentLogger() }), /EADDRINUSE/);
});

test('runChecks: every check bounded and reported with its error', async () => {
  const r = await runChecks({ ok: async () => 1, bad: async () => { throw new Error('neutron down'); } });
  assert.equal(r['ok']!.ok, true);
  assert.deepEqual([r['bad']!.ok, r['bad']!.error], [false, 'neutron down']);
});

