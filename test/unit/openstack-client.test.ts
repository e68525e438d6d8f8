import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { MockAgent } from 'undici';
import { AuthError, ConfigError, NeutronError, TimeoutError, UnavailableError } from '../../src/common/errors.js';
import { REDACT_PATHS } from '../../src/common/log.js';
import { createOpenStackClients } from '../../src/southbound/openstack/index.js';
import { OpenStackHttp } from '../../src/southbound/openstack/http.js';
import { KeystoneAuth } from '../../src/southbound/openstack/keystone.js';
import { NeutronClient } from '../../src/southbound/openstack/neutron.js';

const PASSWORD = 's3cr3t-pa55word';
const FAST_RETRY = { tries: 4, baseDelayMs: 1, maxDelayMs: 5 };

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}
interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A 127.0.0.1 server playing Keystone (`/v3/...`) and Neutron (`/v2.0/...`) through one handler. */
async function stubCloud(handler: (req: Seen, n: number) => Reply | Promise<Reply>) {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
    seen.push(s);
    const r = await handler(s, seen.length);
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
    res.end(r.body === undefined ? '' : JSON.stringify(r.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    tokenPosts: () => seen.filter((s) => s.method === 'POST' && s.url === '/v3/auth/tokens').length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let tokenSeq = 0;
function issueToken(base: string, expiresInMs = 3_600_000): Reply {
  return {
    status: 201,
    headers: { 'x-subject-token': `tok-${++tokenSeq}`, 'x-openstack-request-id': 'req-ks' },
    body: {
      token: {
        expires_at: new Date(Date.now() + expiresInMs).toISOString(),
        catalog: [
          {
            type: 'network',
            endpoints: [
              { interface: 'public', region_id: 'RegionOne', url: `${base}/` },
              { interface: 'internal', region_id: 'RegionOne', url: `${base}/internal` },
              { interface: 'public', region_id: 'RegionTwo', url: 'http://region-two:9696' },
            ],
          },
        ],
      },
    },
  };
}

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '***' } }, stream), lines };
}

function clients(url: string, extra: Record<string, unknown> = {}) {
  return createOpenStackClients({
    authUrl: `${url}/v3`,
    username: 'kuryr',
    password: PASSWORD,
    userDomainName: 'Default',
    projectName: 'service',
    projectDomainName: 'Default',
    regionName: 'RegionOne',
    retry: FAST_RETRY,
    ...extra,
  });
}

test('keystone: password body, token reuse and catalog lookup by region and interface', async (t) => {
  const cloud = await stubCloud((req) => issueToken(cloud.url));
  t.after(() => cloud.close());
  const http = new OpenStackHttp({ retry: FAST_RETRY });
  t.after(() => http.close());
  const auth = new KeystoneAuth({
    authUrl: cloud.url,
    http,
    credentials: { type: 'password', username: 'kuryr', userDomainName: 'Default', password: PASSWORD },
    scope: { projectName: 'service', projectDomainName: 'Default' },
  });
  const a = await auth.getToken();
  const b = await auth.getToken();
  assert.equal(a, b);
  assert.equal(cloud.tokenPosts(), 1);
  assert.deepEqual(cloud.seen[0]?.body, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'kuryr', domain: { name: 'Default' }, password: PASSWORD } } },
      scope: { project: { name: 'service', domain: { name: 'Default' } } },
    },
  });
  assert.equal(await auth.getEndpoint('network', { region: 'RegionOne' }), cloud.url);
  assert.equal(await auth.getEndpoint('network', { region: 'RegionOne', interface: 'internalURL' }), `${cloud.url}/internal`);
  assert.equal(await auth.getEndpoint('network', { region: 'RegionTwo' }), 'http://region-two:9696');
  await assert.rejects(auth.getEndpoint('compute'), ConfigError);
});

test('keystone: application credential body, by id and by name plus user', async (t) => {
  const cloud = await stubCloud(() => issueToken(cloud.url));
  t.after(() => cloud.close());
  const http = new OpenStackHttp({ retry: FAST_RETRY });
  t.after(() => http.close());
  await new KeystoneAuth({ authUrl: `${cloud.url}/v3/`, http, credentials: { type: 'v3applicationcredential', id: 'ac1', secret: 'xyz' } }).getToken();
  await new KeystoneAuth({
    authUrl: cloud.url,
    http,
    credentials: { type: 'v3applicationcredential', name: 'kuryr-ac', userId: 'u1', secret: 'xyz' },
  }).getToken();
  assert.deepEqual(cloud.seen[0]?.body, { auth: { identity: { methods: ['application_credential'], application_credential: { secret: 'xyz', id: 'ac1' } } } });
  assert.deepEqual(cloud.seen[1]?.body, {
    auth: { identity: { methods: ['application_credential'], application_credential: { secret: 'xyz', name: 'kuryr-ac', user: { id: 'u1' } } } },
  });
  assert.throws(() => new KeystoneAuth({ authUrl: cloud.url, http, credentials: { type: 'v3applicationcredential', name: 'x', secret: 'y' } }), ConfigError);
});

test('keystone: refreshes 60 s before expires_at', async (t) => {
  const cloud = await stubCloud(() => issueToken(cloud.url, 10 * 60_000));
  t.after(() => cloud.close());
  const http = new OpenStackHttp({ retry: FAST_RETRY });
  t.after(() => http.close());
  let now = Date.now();
  const auth = new KeystoneAuth({ authUrl: cloud.url, http, now: () => now, credentials: { type: 'password', userId: 'u', password: PASSWORD } });
  const first = await auth.getToken();
  now += 8 * 60_000;
  assert.equal(await auth.getToken(), first, 'still 2 min left: reuse');
  now += 61_000;
  assert.notEqual(await auth.getToken(), first, 'under 60 s left: re-authenticate');
  assert.equal(cloud.tokenPosts(), 2);
});

test('keystone: 50 concurrent callers share one token request', async (t) => {
  const cloud = await stubCloud(async (req) => {
    if (req.url.startsWith('/v3/')) {
      await new Promise((r) => setTimeout(r, 50));
      return issueToken(cloud.url);
    }
    return { status: 200, body: { networks: [] } };
  });
  t.after(() => cloud.close());
  const os = clients(cloud.url);
  t.after(() => os.close());
  const results = await Promise.all(Array.from({ length: 50 }, () => os.neutron.listNetworks()));
  assert.equal(results.length, 50);
  assert.equal(cloud.tokenPosts(), 1);
  const tokens = new Set(cloud.seen.filter((s) => s.url.startsWith('/v2.0')).map((s) => s.headers['x-auth-token']));
  assert.equal(tokens.size, 1);
});

test('keystone: 401 gives AuthError naming the user, never the password; logs stay clean', async (t) => {
  const cloud = await stubCloud(() => ({ status: 401, body: { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } } }));
  t.after(() => cloud.close());
  const { logger, lines } = capturingLogger();
  const os = clients(cloud.url, { logger });
  t.after(() => os.close());
  const err = await os.neutron.listNetworks().catch((e: unknown) => e);
  assert.ok(err instanceof AuthError);
  assert.equal(err.status, 401);
  assert.match(err.message, /keystone rejected the credentials for user 'kuryr'/);
  assert.ok(!err.message.includes(PASSWORD));
  assert.ok(!JSON.stringify(err).includes(PASSWORD));
  assert.ok(lines.length > 0);
  assert.ok(!lines.join('').includes(PASSWORD));
});

test('keystone: unreachable endpoint gives UnavailableError naming the URL', async () => {
  const os = clients('http://127.0.0.1:1');
  try {
    const err = await os.auth.getToken().catch((e: unknown) => e);
    assert.ok(err instanceof UnavailableError, String(err));
    assert.match(err.message, /127\.0\.0\.1:1\/v3\/auth\/tokens/);
    assert.match(err.message, /ECONNREFUSED/);
    assert.ok(!err.message.includes(PASSWORD));
  } finally {
    await os.close();
  }
});

test('neutron: a 401 invalidates the token, re-authenticates once and retries once', async (t) => {
  let rejected = false;
  const cloud = await stubCloud((req) => {
    if (req.url.startsWith('/v3/')) return issueToken(cloud.url);
    if (!rejected) {
      rejected = true;
      return { status: 401, body: { error: { message: 'token revoked' } } };
    }
    return { status: 200, body: { network: { id: 'n1', name: 'x' } } };
  });
  t.after(() => cloud.close());
  const { logger, lines } = capturingLogger();
  const os = clients(cloud.url, { logger });
  t.after(() => os.close());
  const n = await os.neutron.getNetwork('n1');
  assert.equal(n.id, 'n1');
  assert.equal(cloud.tokenPosts(), 2);
  const neutronCalls = cloud.seen.filter((s) => s.url.startsWith('/v2.0'));
  assert.equal(neutronCalls.length, 2);
  assert.notEqual(neutronCalls[0]?.headers['x-auth-token'], neutronCalls[1]?.headers['x-auth-token']);
  const logged = lines.join('');
  for (const s of cloud.seen) if (typeof s.headers['x-auth-token'] === 'string') assert.ok(!logged.includes(s.headers['x-auth-token']));
  assert.ok(!logged.includes(PASSWORD));
});

test('neutron: a second 401 after re-auth is an AuthError, not a loop', async (t) => {
  const cloud = await stubCloud((req) => (req.url.startsWith('/v3/') ? issueToken(cloud.url) : { status: 401 }));
  t.after(() => cloud.close());
  const os = clients(cloud.url);
  t.after(() => os.close());
  await assert.rejects(os.neutron.listPorts(), (e: unknown) => e instanceof AuthError && e.status === 401);
  assert.equal(cloud.tokenPosts(), 2);
  assert.equal(cloud.seen.filter((s) => s.url.startsWith('/v2.0')).length, 2);
});

test('neutron: 503 is retried for GET, never for POST, and surfaces as NeutronError', async (t) => {
  const cloud = await stubCloud((req) =>
    req.url.startsWith('/v3/')
      ? issueToken(cloud.url)
      : { status: 503, headers: { 'x-openstack-request-id': 'req-503' }, body: { NeutronError: { type: 'ServiceUnavailable', message: 'busy' } } },
  );
  t.after(() => cloud.close());
  const os = clients(cloud.url);
  t.after(() => os.close());
  const getErr = await os.neutron.listNetworks().catch((e: unknown) => e);
  assert.ok(getErr instanceof NeutronError);
  assert.equal(getErr.status, 503);
  assert.equal(getErr.requestId, 'req-503');
  assert.equal(cloud.seen.filter((s) => s.method === 'GET').length, 4);
  const postErr = await os.neutron.createNetwork({ name: 'x' }).catch((e: unknown) => e);
  assert.ok(postErr instanceof NeutronError && postErr.status === 503);
  assert.equal(cloud.seen.filter((s) => s.method === 'POST' && s.url.startsWith('/v2.0')).length, 1);
});

test('neutron: a GET recovers when 502 turns into 200', async (t) => {
  let n = 0;
  const cloud = await stubCloud((req) => {
    if (req.url.startsWith('/v3/')) return issueToken(cloud.url);
    return ++n < 3 ? { status: 502 } : { status: 200, body: { ports: [{ id: 'p', network_id: 'n' }] } };
  });
  t.after(() => cloud.close());
  const os = clients(cloud.url);
  t.after(() => os.close());
  assert.deepEqual((await os.neutron.listPorts()).map((p) => p.id), ['p']);
  assert.equal(n, 3);
});

test('neutron: 404 and 409 carry status, type, message and request id', async (t) => {
  const cloud = await stubCloud((req) => {
    if (req.url.startsWith('/v3/')) return issueToken(cloud.url);
    if (req.method === 'GET') return { status: 404, headers: { 'x-openstack-request-id': 'req-a' }, body: { NeutronError: { type: 'NetworkNotFound', message: 'Network nope could not be found.' } } };
    return { status: 409, headers: { 'x-openstack-request-id': 'req-b' }, body: { NeutronError: { type: 'IpAddressAlreadyAllocated', message: 'IP address 10.0.0.5 already allocated in subnet s' } } };
  });
  t.after(() => cloud.close());
  const os = clients(cloud.url);
  t.after(() => os.close());
  const e404 = await os.neutron.getNetwork('nope').catch((e: unknown) => e);
  assert.ok(e404 instanceof NeutronError);
  assert.deepEqual([e404.status, e404.type, e404.requestId, e404.isNotFound], [404, 'NetworkNotFound', 'req-a', true]);
  assert.equal(await os.neutron.getExtension('nope'), null);
  const e409 = await os.neutron.createPort({ networkId: 'n', fixedIps: [{ ipAddress: '10.0.0.5' }] }).catch((e: unknown) => e);
  assert.ok(e409 instanceof NeutronError);
  assert.deepEqual([e409.status, e409.type, e409.requestId], [409, 'IpAddressAlreadyAllocated', 'req-b']);
  assert.match(e409.message, /failed to POST \/v2\.0\/ports: 409 IpAddressAlreadyAllocated/);
});

test('neutron: filters, pagination, bulk create, tags and actions hit the right URLs', async (t) => {
  const cloud = await stubCloud((req) => {
    if (req.url.startsWith('/v3/')) return issueToken(cloud.url);
    const u = new URL(req.url, cloud.url);
    if (u.pathname === '/v2.0/ports' && req.method === 'GET') {
      if (u.searchParams.get('marker') === 'p1') return { status: 200, body: { ports: [{ id: 'p2', network_id: 'n' }], ports_links: [{ rel: 'previous', href: 'x' }] } };
      return { status: 200, body: { ports: [{ id: 'p1', network_id: 'n' }], ports_links: [{ rel: 'next', href: `http://public.example:9696/v2.0/ports?limit=1&marker=p1&${u.searchParams}` }] } };
    }
    if (u.pathname === '/v2.0/ports' && req.method === 'POST') {
      const body = req.body as { ports: Array<{ network_id: string }> };
      return { status: 201, body: { ports: body.ports.map((p, i) => ({ id: `b${i}`, network_id: p.network_id })) } };
    }
    if (u.pathname.endsWith('/tags/gone')) return { status: 404, body: { NeutronError: { type: 'TagNotFound', message: 'Tag gone could not be found' } } };
    if (u.pathname.endsWith('/tags/lost-net')) return { status: 404, body: { NeutronError: { type: 'NetworkNotFound', message: 'Network x could not be found' } } };
    if (u.pathname.endsWith('/tags') && req.method === 'PUT') return { status: 200, body: req.body };
    if (u.pathname.endsWith('/add_router_interface')) return { status: 200, body: { id: 'r', port_id: 'rp', subnet_id: 's' } };
    if (u.pathname.endsWith('/add_subports')) return { status: 200, body: { id: 't', port_id: 'pp', sub_ports: [{ port_id: 'sp', segmentation_type: 'vlan', segmentation_id: 9 }] } };
    return { status: req.method === 'PUT' ? 201 : 204 };
  });
  t.after(() => cloud.close());
  const os = clients(cloud.url);
  t.after(() => os.close());
  const ports = await os.neutron.listPorts({ fixedIps: [{ subnetId: 's', ipAddress: '10.0.0.5' }], tags: ['a', 'b'], tagsAny: ['c'] });
  assert.deepEqual(ports.map((p) => p.id), ['p1', 'p2']);
  const first = new URL(cloud.seen[1]?.url ?? '', cloud.url);
  assert.deepEqual(first.searchParams.getAll('fixed_ips'), ['subnet_id=s', 'ip_address=10.0.0.5']);
  assert.equal(first.searchParams.get('tags'), 'a,b');
  assert.equal(first.searchParams.get('tags-any'), 'c');
  assert.equal(new URL(cloud.seen[2]?.url ?? '', cloud.url).searchParams.get('marker'), 'p1', 'next link followed on our endpoint');

  const bulk = await os.neutron.createPorts([{ networkId: 'n' }, { networkId: 'n', hostId: 'h' }]);
  assert.deepEqual(bulk.map((p) => p.id), ['b0', 'b1']);
  assert.deepEqual(cloud.seen.at(-1)?.body, { ports: [{ network_id: 'n' }, { network_id: 'n', 'binding:host_id': 'h' }] });

  await os.neutron.addTag('security-groups', 'g1', 'kuryr:x/y');
  assert.equal(cloud.seen.at(-1)?.url, '/v2.0/security-groups/g1/tags/kuryr%3Ax%2Fy');
  await os.neutron.removeTag('ports', 'p1', 'gone');
  await assert.rejects(os.neutron.removeTag('networks', 'x', 'lost-net'), (e: unknown) => e instanceof NeutronError && e.type === 'NetworkNotFound');
  assert.deepEqual(await os.neutron.setTags('networks', 'n1', ['a', 'b']), ['a', 'b']);
  await os.neutron.clearTags('networks', 'n1');
  assert.deepEqual([cloud.seen.at(-1)?.method, cloud.seen.at(-1)?.url], ['DELETE', '/v2.0/networks/n1/tags']);

  assert.deepEqual(await os.neutron.addRouterInterface('r', { subnetId: 's' }), { portId: 'rp', subnetId: 's' });
  assert.deepEqual(cloud.seen.at(-1)?.body, { subnet_id: 's' });
  const trunk = await os.neutron.addSubports('t', [{ portId: 'sp', segmentationType: 'vlan', segmentationId: 9 }]);
  assert.deepEqual(trunk.subPorts, [{ portId: 'sp', segmentationType: 'vlan', segmentationId: 9 }]);
  assert.equal(cloud.tokenPosts(), 1);
});

test('http: undici MockAgent dispatcher; action PUTs are not retried, plain PUTs are', async (t) => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  t.after(() => agent.close());
  const pool = agent.get('http://neutron.test');
  pool.intercept({ path: '/v2.0/routers/r/add_router_interface', method: 'PUT' }).reply(503, {}).times(1);
  pool.intercept({ path: '/v2.0/networks/n', method: 'PUT' }).reply(503, {}).times(2);
  pool.intercept({ path: '/v2.0/networks/n', method: 'PUT' }).reply(200, { network: { id: 'n', name: 'renamed' } });
  const http = new OpenStackHttp({ dispatcher: agent, retry: FAST_RETRY });
  const neutron = new NeutronClient({
    auth: { getToken: async () => 'tok', invalidate: () => {}, getEndpoint: async () => 'unused' },
    http,
    endpointOverride: 'http://neutron.test',
  });
  await assert.rejects(neutron.addRouterInterface('r', { subnetId: 's' }), (e: unknown) => e instanceof NeutronError && e.status === 503);
  assert.equal((await neutron.updateNetwork('n', { name: 'renamed' })).name, 'renamed');
  agent.assertNoPendingInterceptors();
});

test('neutron: updatePort with ifRevision sends If-Match and maps 412 to a precondition failure', async (t) => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  t.after(() => agent.close());
  const pool = agent.get('http://neutron.test');
  const port = { id: 'p', network_id: 'n', revision_number: 8, allowed_address_pairs: [{ ip_address: '10.0.0.9', mac_address: 'fa:16:3e:00:00:09' }] };
  pool.intercept({ path: '/v2.0/ports/p', method: 'PUT', headers: { 'if-match': 'revision_number=7' } })
    .reply(412, { NeutronError: { type: 'RevisionNumberConstraintFailed', message: 'Constrained to 7, but current revision is 8', detail: '' } });
  pool.intercept({ path: '/v2.0/ports/p', method: 'PUT', headers: { 'if-match': 'revision_number=8' } }).reply(200, { port: { ...port, revision_number: 9 } });
  const neutron = new NeutronClient({
    auth: { getToken: async () => 'tok', invalidate: () => {}, getEndpoint: async () => 'unused' },
    http: new OpenStackHttp({ dispatcher: agent, retry: FAST_RETRY }),
    endpointOverride: 'http://neutron.test',
  });
  const pairs = [{ ipAddress: '10.0.0.9', macAddress: 'fa:16:3e:00:00:09' }];
  await assert.rejects(neutron.updatePort('p', { allowedAddressPairs: pairs }, { ifRevision: 7 }), (e: unknown) => e instanceof NeutronError && e.isPreconditionFailed);
  const updated = await neutron.updatePort('p', { allowedAddressPairs: pairs }, { ifRevision: 8 });
  assert.equal(updated.revisionNumber, 9);
  assert.deepEqual(updated.allowedAddressPairs, pairs);
  agent.assertNoPendingInterceptors();
});

test('http: a request with no answer within the timeout is not sent again (a caller would wait tries × timeout)', async (t) => {
  let received = 0;
  const server = createServer(() => void received++); // never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const http = new OpenStackHttp({ timeoutMs: 200, retry: FAST_RETRY });
  t.after(() => http.close());
  const { port } = server.address() as AddressInfo;
  const err = await http.request({ method: 'GET', url: `http://127.0.0.1:${port}/v2.0/ports` }).catch((e: unknown) => e);
  assert.ok(err instanceof TimeoutError, String(err));
  assert.match(err.message, /GET http:\/\/127\.0\.0\.1:\d+\/v2\.0\/ports: no answer within 200 ms$/);
  assert.equal(received, 1);
});
