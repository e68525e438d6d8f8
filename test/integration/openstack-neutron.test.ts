/**
 * The OpenStack client against the real all-in-one stack (Keystone :5000, Neutron :9696).
 * Every resource is named `it-os-<random>-...` and deleted in `t.after`, even on failure.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { AuthError, NeutronError, UnavailableError, isNotFound } from '../../src/common/errors.js';
import { REDACT_PATHS } from '../../src/common/log.js';
import { createOpenStackClients, type OpenStackClientOptions } from '../../src/southbound/openstack/index.js';

const KEYSTONE = 'http://127.0.0.1:5000/v3';
const NEUTRON = 'http://127.0.0.1:9696';
const OPENRC = '/etc/aio/admin-openrc';

function readOpenrc(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of readFileSync(path, 'utf8').matchAll(/^export\s+(\w+)=["']?([^"'\n]*)["']?$/gm)) env[m[1] as string] = m[2] as string;
  return env;
}

async function stackProblem(): Promise<string | false> {
  try {
    readFileSync(OPENRC);
  } catch {
    return `skipped: ${OPENRC} is missing; bring the stack up with scripts/aio.sh up`;
  }
  // The stack shares two cores with everything else; a slow first answer is not an absent stack.
  for (const url of [`${NEUTRON}/`, KEYSTONE]) {
    let reached = false;
    for (let attempt = 0; attempt < 3 && !reached; attempt++) {
      reached = await fetch(url, { signal: AbortSignal.timeout(20_000) }).then(
        () => true,
        () => false,
      );
    }
    if (!reached) return `skipped: OpenStack is not reachable at ${url}; bring the stack up with scripts/aio.sh up`;
  }
  return false;
}

const skip = await stackProblem();
if (skip) console.log(`# ${skip}`);
const rc = skip ? {} : readOpenrc(OPENRC);
const PREFIX = `it-os-${randomBytes(3).toString('hex')}`;

function options(extra: Partial<OpenStackClientOptions> = {}): OpenStackClientOptions {
  return {
    authUrl: rc.OS_AUTH_URL ?? KEYSTONE,
    authType: 'password',
    username: rc.OS_USERNAME,
    password: rc.OS_PASSWORD,
    userDomainName: rc.OS_USER_DOMAIN_NAME,
    projectName: rc.OS_PROJECT_NAME,
    projectDomainName: rc.OS_PROJECT_DOMAIN_NAME,
    regionName: rc.OS_REGION_NAME,
    interface: rc.OS_INTERFACE,
    timeoutMs: 60_000,
    retry: { tries: 4, baseDelayMs: 50, maxDelayMs: 400 },
    ...extra,
  };
}

/** A client closed after the test, and a cleanup stack run in reverse; "already gone" is fine. */
function setup(t: TestContext, extra: Partial<OpenStackClientOptions> = {}) {
  const os = createOpenStackClients(options(extra));
  const undo: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const fn of undo.reverse()) {
      await fn().catch((err: unknown) => {
        if (!isNotFound(err)) console.error(`# cleanup failed: ${String(err)}`);
      });
    }
    await os.close();
  });
  return { os, neutron: os.neutron, defer: (fn: () => Promise<unknown>) => undo.push(fn) };
}

const name = (what: string) => `${PREFIX}-${what}`;
const cidr24 = () => `10.${randomInt(100, 250)}.${randomInt(0, 255)}.0/24`;
const ids = (xs: Array<{ id: string }>) => xs.map((x) => x.id).sort();

test('extensions: standard-attr-tag, subnet_allocation and trunk are loaded', { skip }, async (t) => {
  const { neutron } = setup(t);
  const aliases = (await neutron.listExtensions()).map((e) => e.alias);
  for (const alias of ['standard-attr-tag', 'subnet_allocation', 'trunk']) assert.ok(aliases.includes(alias), alias);
  assert.equal((await neutron.getExtension('trunk'))?.alias, 'trunk');
  assert.equal(await neutron.getExtension('no-such-extension'), null);
});

test('networks: create, tag, filter by tags / tags-any / not-tags, delete', { skip }, async (t) => {
  const { neutron, defer } = setup(t);
  const a = await neutron.createNetwork({ name: name('net-a') });
  defer(() => neutron.deleteNetwork(a.id));
  const b = await neutron.createNetwork({ name: name('net-b') });
  defer(() => neutron.deleteNetwork(b.id));
  const tagA = `${PREFIX}-a`;
  const tagB = `${PREFIX}-b`;
  const shared = `${PREFIX}:shared`;

  assert.deepEqual((await neutron.setTags('networks', a.id, [tagA, shared])).sort(), [tagA, shared].sort());
  await neutron.addTag('networks', b.id, tagB);
  await neutron.addTag('networks', b.id, shared);
  await neutron.addTag('networks', b.id, shared); // idempotent
  assert.deepEqual((await neutron.getNetwork(b.id)).tags.sort(), [tagB, shared].sort());

  assert.deepEqual(ids(await neutron.listNetworks({ tags: [shared] })), ids([a, b]));
  assert.deepEqual(ids(await neutron.listNetworks({ tags: [shared, tagA] })), [a.id]);
  assert.deepEqual(ids(await neutron.listNetworks({ tagsAny: [tagA, tagB] })), ids([a, b]));
  assert.deepEqual(ids(await neutron.listNetworks({ tags: [shared], notTags: [tagB] })), [a.id]);
  assert.deepEqual(ids(await neutron.listNetworks({ tags: [shared], notTagsAny: [tagA, tagB] })), []);
  assert.deepEqual(ids(await neutron.listNetworks({ name: name('net-a') })), [a.id]);

  await neutron.removeTag('networks', a.id, tagA);
  await neutron.removeTag('networks', a.id, tagA); // a missing tag is not an error
  assert.deepEqual((await neutron.getNetwork(a.id)).tags, [shared]);
  await neutron.clearTags('networks', a.id);
  assert.deepEqual((await neutron.getNetwork(a.id)).tags, []);
  assert.equal((await neutron.updateNetwork(a.id, { name: name('net-a2') })).name, name('net-a2'));

  await neutron.deleteNetwork(b.id);
  const gone = await neutron.getNetwork(b.id).catch((e: unknown) => e);
  assert.ok(gone instanceof NeutronError && gone.status === 404 && gone.type === 'NetworkNotFound');
});

test('subnets and subnetpools: single and bulk create, allocation from a pool, tags, delete', { skip }, async (t) => {
  const { neutron, defer } = setup(t);
  const net = await neutron.createNetwork({ name: name('subnets') });
  defer(() => neutron.deleteNetwork(net.id));
  // Neutron wants every subnet of a network from the same pool (NetworkSubnetPoolAffinityError).
  const poolNet = await neutron.createNetwork({ name: name('pool-subnets') });
  defer(() => neutron.deleteNetwork(poolNet.id));
  const pool = await neutron.createSubnetPool({ name: name('pool'), prefixes: [`10.${randomInt(100, 250)}.0.0/16`], defaultPrefixlen: 26 });
  defer(() => neutron.deleteSubnetPool(pool.id));
  assert.equal(pool.defaultPrefixlen, 26);
  await neutron.addTag('subnetpools', pool.id, `${PREFIX}-pool`);
  assert.deepEqual(ids(await neutron.listSubnetPools({ tags: [`${PREFIX}-pool`] })), [pool.id]);
  assert.equal((await neutron.getSubnetPool(pool.id)).name, name('pool'));

  const cidr = cidr24();
  const single = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr, name: name('s1'), enableDhcp: false, gatewayIp: null });
  defer(() => neutron.deleteSubnet(single.id));
  assert.equal(single.cidr, cidr);
  assert.equal(single.gatewayIp, null);

  const bulk = await neutron.createSubnets([
    { networkId: poolNet.id, ipVersion: 4, subnetpoolId: pool.id, name: name('s2'), enableDhcp: false },
    { networkId: poolNet.id, ipVersion: 4, subnetpoolId: pool.id, prefixlen: 28, name: name('s3'), enableDhcp: false },
  ]);
  for (const s of bulk) defer(() => neutron.deleteSubnet(s.id));
  assert.deepEqual(bulk.map((s) => s.cidr.split('/')[1]), ['26', '28']);
  assert.ok(bulk.every((s) => s.subnetpoolId === pool.id));

  await neutron.setTags('subnets', single.id, [`${PREFIX}-x`, `${PREFIX}-y`]);
  await neutron.addTag('subnets', bulk[0]!.id, `${PREFIX}-y`);
  assert.deepEqual(ids(await neutron.listSubnets({ tags: [`${PREFIX}-y`] })), ids([single, bulk[0]!]));
  assert.deepEqual(ids(await neutron.listSubnets({ tags: [`${PREFIX}-x`, `${PREFIX}-y`] })), [single.id]);
  assert.deepEqual(ids(await neutron.listSubnets({ tagsAny: [`${PREFIX}-x`, `${PREFIX}-nope`] })), [single.id]);
  assert.deepEqual(ids(await neutron.listSubnets({ networkId: poolNet.id, subnetpoolId: pool.id })), ids(bulk));
  assert.equal((await neutron.updateSubnet(single.id, { name: name('s1b') })).name, name('s1b'));

  for (const s of [single, ...bulk]) await neutron.deleteSubnet(s.id);
  await neutron.deleteSubnetPool(pool.id);
  assert.deepEqual(await neutron.listSubnetPools({ tags: [`${PREFIX}-pool`] }), []);
});

test('ports: create, bulk create, fixed_ips and tag filters, update, 409 on a taken IP, delete', { skip }, async (t) => {
  const { neutron, defer } = setup(t);
  const net = await neutron.createNetwork({ name: name('ports') });
  defer(() => neutron.deleteNetwork(net.id));
  const cidr = cidr24();
  const subnet = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr, enableDhcp: false });
  defer(() => neutron.deleteSubnet(subnet.id));
  const ip = cidr.replace(/0\/24$/, '10');

  const one = await neutron.createPort({ networkId: net.id, name: name('p1'), fixedIps: [{ subnetId: subnet.id, ipAddress: ip }] });
  defer(() => neutron.deletePort(one.id));
  assert.deepEqual(one.fixedIps, [{ subnetId: subnet.id, ipAddress: ip }]);

  const bulk = await neutron.createPorts([
    { networkId: net.id, name: name('p2') },
    { networkId: net.id, name: name('p3'), deviceOwner: 'kuryr:container' },
  ]);
  for (const p of bulk) defer(() => neutron.deletePort(p.id));
  assert.equal(bulk.length, 2);

  const conflict = await neutron.createPort({ networkId: net.id, fixedIps: [{ subnetId: subnet.id, ipAddress: ip }] }).catch((e: unknown) => e);
  assert.ok(conflict instanceof NeutronError, String(conflict));
  assert.equal(conflict.status, 409);
  assert.equal(conflict.type, 'IpAddressAlreadyAllocated');
  assert.match(conflict.requestId ?? '', /^req-/);
  assert.match(conflict.message, /409 IpAddressAlreadyAllocated/);

  assert.deepEqual(ids(await neutron.listPorts({ fixedIps: [{ subnetId: subnet.id, ipAddress: ip }] })), [one.id]);
  assert.deepEqual(ids(await neutron.listPorts({ networkId: net.id, deviceOwner: 'kuryr:container' })), [bulk[1]!.id]);
  await neutron.setTags('ports', one.id, [`${PREFIX}-a`, `${PREFIX}-b`]);
  await neutron.addTag('ports', bulk[0]!.id, `${PREFIX}-b`);
  assert.deepEqual(ids(await neutron.listPorts({ tags: [`${PREFIX}-b`] })), ids([one, bulk[0]!]));
  assert.deepEqual(ids(await neutron.listPorts({ tags: [`${PREFIX}-a`, `${PREFIX}-b`] })), [one.id]);
  assert.deepEqual(ids(await neutron.listPorts({ networkId: net.id, tagsAny: [`${PREFIX}-a`], notTags: [] })), [one.id]);

  const updated = await neutron.updatePort(one.id, { name: name('p1b'), deviceId: 'container-1' });
  assert.deepEqual([updated.name, updated.deviceId], [name('p1b'), 'container-1']);

  for (const p of [one, ...bulk]) await neutron.deletePort(p.id);
  assert.deepEqual(await neutron.listPorts({ networkId: net.id, deviceOwner: 'kuryr:container' }), []);
});

test('security groups and rules: create, tag, filter, delete', { skip }, async (t) => {
  const { neutron, defer } = setup(t);
  const sg = await neutron.createSecurityGroup({ name: name('sg'), description: 'integration' });
  defer(() => neutron.deleteSecurityGroup(sg.id));
  assert.ok(sg.rules.length >= 1, 'Neutron adds default egress rules');
  const rule = await neutron.createSecurityGroupRule({
    securityGroupId: sg.id,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 'tcp',
    portRangeMin: 8080,
    portRangeMax: 8081,
    remoteIpPrefix: '192.0.2.0/24',
  });
  defer(() => neutron.deleteSecurityGroupRule(rule.id));
  assert.deepEqual([rule.protocol, rule.portRangeMin, rule.portRangeMax, rule.remoteIpPrefix], ['tcp', 8080, 8081, '192.0.2.0/24']);
  const rules = await neutron.listSecurityGroupRules({ securityGroupId: sg.id });
  assert.ok(rules.some((r) => r.id === rule.id));

  await neutron.addTag('security-groups', sg.id, `${PREFIX}-sg`);
  assert.deepEqual(ids(await neutron.listSecurityGroups({ tags: [`${PREFIX}-sg`] })), [sg.id]);
  assert.deepEqual(ids(await neutron.listSecurityGroups({ tagsAny: [`${PREFIX}-sg`, `${PREFIX}-other`] })), [sg.id]);
  assert.equal((await neutron.getSecurityGroup(sg.id)).rules.length, rules.length);

  await neutron.deleteSecurityGroupRule(rule.id);
  assert.ok(!(await neutron.listSecurityGroupRules({ securityGroupId: sg.id })).some((r) => r.id === rule.id));
  await neutron.deleteSecurityGroup(sg.id);
  assert.deepEqual(await neutron.listSecurityGroups({ tags: [`${PREFIX}-sg`] }), []);
});

test('routers: create, add and remove an interface, tag, filter, delete', { skip }, async (t) => {
  const { neutron, defer } = setup(t);
  const net = await neutron.createNetwork({ name: name('rnet') });
  defer(() => neutron.deleteNetwork(net.id));
  const subnet = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: cidr24(), enableDhcp: false });
  defer(() => neutron.deleteSubnet(subnet.id));
  const router = await neutron.createRouter({ name: name('router') });
  defer(() => neutron.deleteRouter(router.id));

  const itf = await neutron.addRouterInterface(router.id, { subnetId: subnet.id });
  defer(() => neutron.removeRouterInterface(router.id, { subnetId: subnet.id }));
  assert.equal(itf.subnetId, subnet.id);
  assert.deepEqual(ids(await neutron.listPorts({ deviceId: router.id })), [itf.portId]);

  await neutron.setTags('routers', router.id, [`${PREFIX}-r`]);
  assert.deepEqual(ids(await neutron.listRouters({ tags: [`${PREFIX}-r`] })), [router.id]);
  assert.deepEqual(ids(await neutron.listRouters({ tagsAny: [`${PREFIX}-r`, 'x'] })), [router.id]);

  await neutron.removeRouterInterface(router.id, { subnetId: subnet.id });
  assert.deepEqual(await neutron.listPorts({ deviceId: router.id }), []);
  await neutron.deleteRouter(router.id);
  assert.deepEqual(await neutron.listRouters({ tags: [`${PREFIX}-r`] }), []);
});

test('trunks: create on an unbound parent, add and remove subports, tag, filter, delete', { skip }, async (t) => {
  const { neutron, defer } = setup(t);
  const net = await neutron.createNetwork({ name: name('tnet') });
  defer(() => neutron.deleteNetwork(net.id));
  const subnet = await neutron.createSubnet({ networkId: net.id, ipVersion: 4, cidr: cidr24(), enableDhcp: false });
  defer(() => neutron.deleteSubnet(subnet.id));
  const [parent, child] = await neutron.createPorts([
    { networkId: net.id, name: name('parent') },
    { networkId: net.id, name: name('child') },
  ]);
  assert.ok(parent && child);
  defer(() => neutron.deletePort(parent.id));
  defer(() => neutron.deletePort(child.id));

  const trunk = await neutron.createTrunk({ portId: parent.id, name: name('trunk') });
  defer(() => neutron.deleteTrunk(trunk.id));
  assert.equal(trunk.portId, parent.id);
  assert.deepEqual(trunk.subPorts, []);

  const withSub = await neutron.addSubports(trunk.id, [{ portId: child.id, segmentationType: 'vlan', segmentationId: 101 }]);
  assert.deepEqual(withSub.subPorts, [{ portId: child.id, segmentationType: 'vlan', segmentationId: 101 }]);
  const details = (await neutron.getPort(parent.id)).trunkDetails;
  assert.equal(details?.trunkId, trunk.id);
  assert.deepEqual(details?.subPorts.map((s) => [s.portId, s.segmentationId]), [[child.id, 101]]);

  await neutron.addTag('trunks', trunk.id, `${PREFIX}-t`);
  assert.deepEqual(ids(await neutron.listTrunks({ tags: [`${PREFIX}-t`] })), [trunk.id]);
  assert.deepEqual(ids(await neutron.listTrunks({ tagsAny: [`${PREFIX}-t`, 'x'] })), [trunk.id]);
  assert.deepEqual(ids(await neutron.listTrunks({ portId: parent.id })), [trunk.id]);

  const without = await neutron.removeSubports(trunk.id, [child.id]);
  assert.deepEqual(without.subPorts, []);
  await neutron.deleteTrunk(trunk.id);
  assert.deepEqual(await neutron.listTrunks({ tags: [`${PREFIX}-t`] }), []);
});

test('errors: wrong password is an AuthError that never shows the password', { skip }, async (t) => {
  const wrong = `wrong-${randomBytes(6).toString('hex')}`;
  const { neutron } = setup(t, { password: wrong });
  const err = await neutron.listNetworks().catch((e: unknown) => e);
  assert.ok(err instanceof AuthError, String(err));
  assert.equal(err.status, 401);
  assert.match(err.message, new RegExp(`keystone rejected the credentials for user '${rc.OS_USERNAME}'`));
  assert.ok(!err.message.includes(wrong));
});

test('errors: unreachable Keystone or Neutron is an UnavailableError naming the URL', { skip }, async (t) => {
  const noKeystone = setup(t, { authUrl: 'http://127.0.0.1:1/v3' }).neutron;
  const e1 = await noKeystone.listNetworks().catch((e: unknown) => e);
  assert.ok(e1 instanceof UnavailableError, String(e1));
  assert.match(e1.message, /127\.0\.0\.1:1\/v3\/auth\/tokens/);
  const noNeutron = setup(t, { endpointOverride: 'http://127.0.0.1:1' }).neutron;
  const e2 = await noNeutron.listNetworks().catch((e: unknown) => e);
  assert.ok(e2 instanceof UnavailableError, String(e2));
  assert.match(e2.message, /GET http:\/\/127\.0\.0\.1:1\/v2\.0\/networks: ECONNREFUSED after 4 attempts/);
});

test('errors: Neutron 404 carries status, type and request id', { skip }, async (t) => {
  const { neutron } = setup(t);
  const err = await neutron.getNetwork('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
  assert.ok(err instanceof NeutronError, String(err));
  assert.deepEqual([err.status, err.type, err.isNotFound], [404, 'NetworkNotFound', true]);
  assert.match(err.requestId ?? '', /^req-/);
  await assert.rejects(neutron.deletePort('00000000-0000-4000-8000-000000000000'), (e: unknown) => isNotFound(e));
});

test('errors: a 503 endpoint gives a NeutronError 503 after retrying the GET', { skip }, async (t) => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(503, { 'content-type': 'application/json', 'x-openstack-request-id': `req-fake-${hits}` });
    res.end(JSON.stringify({ NeutronError: { type: 'ServiceUnavailable', message: 'try later', detail: '' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { neutron } = setup(t, { endpointOverride: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  const err = await neutron.listNetworks().catch((e: unknown) => e);
  assert.ok(err instanceof NeutronError, String(err));
  assert.deepEqual([err.status, err.type, err.requestId], [503, 'ServiceUnavailable', 'req-fake-4']);
  assert.equal(hits, 4);
});

test('auth: a revoked token gets one re-auth on 401 and the call succeeds', { skip }, async (t) => {
  const { os, neutron } = setup(t);
  const revoker = setup(t).os;
  const victim = await os.auth.getToken();
  const res = await fetch(`${KEYSTONE}/auth/tokens`, {
    method: 'DELETE',
    headers: { 'x-auth-token': await revoker.auth.getToken(), 'x-subject-token': victim },
  });
  assert.equal(res.status, 204);
  assert.equal(os.auth.authCount, 1);
  const networks = await neutron.listNetworks({ name: name('none') });
  assert.deepEqual(networks, []);
  assert.equal(os.auth.authCount, 2);
  assert.notEqual(await os.auth.getToken(), victim);
});

test('auth: 50 concurrent listNetworks share one token; no token or password in the debug log', { skip }, async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '***' } }, sink);
  const { os, neutron } = setup(t, { logger });
  const results = await Promise.all(Array.from({ length: 50 }, () => neutron.listNetworks({ name: name('none') })));
  assert.equal(results.length, 50);
  assert.equal(os.auth.authCount, 1);
  const log = lines.join('');
  assert.ok(lines.length >= 51, 'one line per request at debug');
  assert.ok(!log.includes(await os.auth.getToken()));
  assert.ok(!log.includes(`"${rc.OS_PASSWORD}"`));
});

test('auth: a v3 application credential authenticates and lists networks', { skip }, async (t) => {
  const admin = setup(t).os;
  const token = await admin.auth.getToken();
  const who = await fetch(`${KEYSTONE}/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': token } });
  const userId = ((await who.json()) as { token: { user: { id: string } } }).token.user.id;
  const created = await fetch(`${KEYSTONE}/users/${userId}/application_credentials`, {
    method: 'POST',
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    body: JSON.stringify({ application_credential: { name: name('appcred') } }),
  });
  assert.equal(created.status, 201);
  const ac = ((await created.json()) as { application_credential: { id: string; secret: string } }).application_credential;
  t.after(async () => {
    await fetch(`${KEYSTONE}/users/${userId}/application_credentials/${ac.id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
  });
  const byId = setup(t, { authType: 'v3applicationcredential', applicationCredentialId: ac.id, applicationCredentialSecret: ac.secret }).neutron;
  assert.ok(Array.isArray(await byId.listNetworks({ name: name('none') })));
  const byName = setup(t, {
    authType: 'v3applicationcredential',
    applicationCredentialName: name('appcred'),
    applicationCredentialSecret: ac.secret,
    userId,
  }).neutron;
  assert.ok(Array.isArray(await byName.listExtensions()));
  const bad = setup(t, { authType: 'v3applicationcredential', applicationCredentialId: ac.id, applicationCredentialSecret: 'nope-nope' }).neutron;
  const err = await bad.listNetworks().catch((e: unknown) => e);
  assert.ok(err instanceof AuthError && err.status === 401, String(err));
  assert.match(err.message, new RegExp(`application credential '${ac.id}'`));
});
