import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch, packageVersion, UsageError, type Command } from '../../src/bin/cli.js';
import { formatPorts, portRow } from '../../src/bin/ports.js';
import { loadConfig } from '../../src/config/load.js';
import { unimplementedOptions } from '../../src/config/show.js';
import type { Port } from '../../src/core/shared/neutron-types.js';

function table(seen: unknown[]): Command[] {
  return [
    { name: 'serve docker', summary: 'driver', run: async (v, c) => void seen.push(['serve docker', v, c]) },
    { name: 'status', summary: 'health', options: { json: { type: 'boolean' } }, run: async (v, c) => void seen.push(['status', v['json'], c]) },
  ];
}

test('cli: --help and --version on every command, usage errors name the bad option', async () => {
  const seen: unknown[] = [];
  const out: string[] = [];
  const say = (s: string) => void out.push(s);
  await dispatch(table(seen), ['serve', 'docker', '--help'], say);
  assert.match(out.pop()!, /^usage: kuryr serve docker \[options\][\s\S]*--config-file VALUE \(repeatable\)/);
  await dispatch(table(seen), ['status', '--version'], say);
  assert.equal(out.pop(), `kuryr ${packageVersion()}\n`);
  assert.match(packageVersion(), /^\d+\.\d+\.\d+/);
  await dispatch(table(seen), ['--version'], say);
  assert.equal(out.pop(), `kuryr ${packageVersion()}\n`);
  await dispatch(table(seen), [], say);
  assert.match(out.pop()!, /serve docker {2}driver\n {2}status {8}health/);
  await assert.rejects(dispatch(table(seen), ['status', '--bogus'], say), (e: unknown) => e instanceof UsageError && /'--bogus'/.test(e.message));
  await assert.rejects(dispatch(table(seen), ['frobnicate'], say), (e: unknown) => e instanceof UsageError && /unknown command: frobnicate/.test(e.message));
  assert.equal(seen.length, 0, 'help, version and errors run nothing');
  await dispatch(table(seen), ['status', '--json', '--config-file', '/a.conf', '--config-file=/b.conf', '--config-dir', '/d'], say);
  assert.deepEqual(seen.pop(), ['status', true, { configFiles: ['/a.conf', '/b.conf'], configDir: '/d' }]);
});

test('unimplementedOptions: options set but not acted on, never defaults', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'k.conf'), '[DEFAULT]\nuse_syslog = True\ndebug = True\n[neutron]\nauth_section = x\n');
  const c = loadConfig({ configFiles: [join(dir, 'k.conf')], env: { OS_DEFAULT__LOG_COLOR: 'true' }, hostname: 'h', cloudsYamlPaths: [] });
  assert.deepEqual(unimplementedOptions(c), ['[DEFAULT] use_syslog', '[DEFAULT] log_color', '[neutron] auth_section']);
});

const port = (over: Partial<Port>): Port => ({
  id: 'ffffffff-0000-0000-0000-000000000001', name: '', networkId: 'net-1', projectId: 'p', macAddress: 'fa:16:3e:00:00:01', adminStateUp: true,
  status: 'ACTIVE', fixedIps: [{ subnetId: 's', ipAddress: '10.0.0.70' }], deviceId: 'ep-1', deviceOwner: 'compute:kuryr', hostId: 'h',
  vifType: 'ovs', vifDetails: {}, vnicType: 'normal', bindingProfile: {}, securityGroups: [], portSecurityEnabled: true, revisionNumber: 1,
  allowedAddressPairs: [], tags: [], trunkDetails: undefined, ...over,
});

test('kuryr ports rows: pods from their tags, containers from Docker endpoints', () => {
  const pod = portRow(port({ tags: ['kuryr.cni.node:h', 'kuryr.cni.cid:abc', 'kuryr.pod.ns:default', 'kuryr.pod.name:web-1'] }), 'k8s-pod-net', new Map());
  assert.deepEqual([pod.kind, pod.owner, pod.attachment, pod.network, pod.ips, pod.plugged], ['pod', 'default/web-1', 'abc', 'k8s-pod-net (net-1)', ['10.0.0.70'], false]);
  const ctr = portRow(port({ deviceId: 'ep-1' }), undefined, new Map([['ep-1', 'web']]));
  assert.deepEqual([ctr.kind, ctr.owner, ctr.network], ['container', 'web', 'net-1']);
  assert.equal(portRow(port({ deviceId: '0123456789abcdef' }), undefined, new Map()).owner, 'endpoint 0123456789ab');
  const text = formatPorts([pod, ctr]);
  assert.match(text, /^KIND +OWNER +NETWORK +IPS +STATUS +PLUGGED +PORT\npod +default\/web-1 +k8s-pod-net \(net-1\) +10\.0\.0\.70 +ACTIVE +NO +ffffffff/);
});
