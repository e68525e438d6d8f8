/**
 * The generated requests of fuzz-docker.test.ts: a body per route whose IDs name nothing (so that a
 * request that happens to be valid is harmless), and one mutation per request.
 */
import fc from 'fast-check';
import {
  BAD_CIDRS, BAD_IDS, BAD_IPS, BAD_MACS, badString, deepJson, dockerIdArb, uuidArb, wrongTypeArb, type RawRequest,
} from './fuzz.js';

type Body = Record<string, unknown>;
type Gen = fc.Arbitrary<Body>;

const v4Pool = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `10.${a}.${b}.0/24`);

/**
 * A body per route whose IDs are fresh (so a valid request is harmless): CreateNetwork and
 * RequestPool name a Neutron network / subnetpool UUID that does not exist, so that valid variants
 * fail fast on the lookup instead of creating networks by the thousand; dropping or replacing that
 * option makes a real create, which the inverse call removes.
 */
export const BASE: Record<string, Gen> = {
  'NetworkDriver.CreateNetwork': fc.record({ id: dockerIdArb, pool: v4Pool, net: uuidArb }).map(({ id, pool, net }) => ({
    NetworkID: id,
    Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': { 'neutron.net.uuid': net } },
    IPv4Data: [{ AddressSpace: 'no_address_space', Pool: pool, Gateway: pool.replace(/0\/24$/, '1/24') }],
    IPv6Data: [],
  })),
  'NetworkDriver.DeleteNetwork': fc.record({ NetworkID: dockerIdArb }),
  'NetworkDriver.AllocateNetwork': fc.record({ NetworkID: dockerIdArb, Options: fc.constant({ a: 'b' }), IPv4Data: fc.constant([]), IPv6Data: fc.constant([]) }),
  'NetworkDriver.FreeNetwork': fc.record({ NetworkID: dockerIdArb }),
  'NetworkDriver.CreateEndpoint': fc.record({ NetworkID: dockerIdArb, EndpointID: dockerIdArb }).map((b) => ({
    ...b,
    Interface: { Address: '10.0.0.239/24', AddressIPv6: '', MacAddress: '02:42:d4:df:c6:b4' },
    Options: { 'com.docker.network.endpoint.exposedports': [], 'com.docker.network.portmap': [] },
  })),
  'NetworkDriver.EndpointOperInfo': fc.record({ NetworkID: dockerIdArb, EndpointID: dockerIdArb }),
  'NetworkDriver.DeleteEndpoint': fc.record({ NetworkID: dockerIdArb, EndpointID: dockerIdArb }),
  'NetworkDriver.Join': fc.record({ NetworkID: dockerIdArb, EndpointID: dockerIdArb }).map((b) => ({ ...b, SandboxKey: '/var/run/docker/netns/efb123d1d56e', Options: {} })),
  'NetworkDriver.Leave': fc.record({ NetworkID: dockerIdArb, EndpointID: dockerIdArb }),
  'NetworkDriver.DiscoverNew': fc.constant({ DiscoveryType: 1, DiscoveryData: { Address: '127.0.0.1', BindAddress: '', Self: true } }),
  'NetworkDriver.DiscoverDelete': fc.constant({ DiscoveryType: 1, DiscoveryData: { Address: '127.0.0.1' } }),
  'NetworkDriver.ProgramExternalConnectivity': fc.record({ NetworkID: dockerIdArb, EndpointID: dockerIdArb }).map((b) => ({
    ...b,
    Options: { 'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 80 }] },
  })),
  'NetworkDriver.RevokeExternalConnectivity': fc.record({ NetworkID: dockerIdArb, EndpointID: dockerIdArb }),
  'IpamDriver.RequestPool': fc.record({ pool: v4Pool, uuid: uuidArb }).map(({ pool, uuid }) => ({
    AddressSpace: 'no_address_space', Pool: pool, SubPool: '', Options: { 'neutron.pool.uuid': uuid }, V6: false,
  })),
  'IpamDriver.ReleasePool': fc.record({ PoolID: uuidArb }),
  'IpamDriver.RequestAddress': fc.record({ PoolID: uuidArb }).map((b) => ({ ...b, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } })),
  'IpamDriver.ReleaseAddress': fc.record({ PoolID: uuidArb }).map((b) => ({ ...b, Address: '10.0.0.188' })),
};
/** Routes whose body is ignored. */
export const NO_BODY = ['Plugin.Activate', 'NetworkDriver.GetCapabilities', 'IpamDriver.GetCapabilities', 'IpamDriver.GetDefaultAddressSpaces'];
export const ROUTES = [...Object.keys(BASE), ...NO_BODY];

/** Near misses per field name, wherever the field sits. */
function nearMisses(field: string): readonly string[] {
  if (/ID$/.test(field)) return BAD_IDS;
  if (/^(Pool|SubPool|Gateway|Address|AddressIPv6)$/.test(field)) return [...BAD_CIDRS, ...BAD_IPS];
  if (field === 'MacAddress') return BAD_MACS;
  if (field === 'SandboxKey') return ['relative/path', '/', '/dev/null', '/a\0b', '//', '/var/run/docker/netns/../../../etc'];
  return [];
}

/** One generated request and what may come back. */
export interface Case {
  route: string;
  kind: string;
  req: RawRequest;
  /** The field made bad (its top-level key, and its own name): a 400 must name one of them. */
  field?: string;
  leaf?: string;
  /** The body as sent, when it is JSON we built (for the inverse call of a create). */
  body?: Body;
}

/** The leaf paths of a body (objects descended; arrays by index). */
function paths(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  const inner = entries.flatMap(([k, x]) => paths(x, [...prefix, k]));
  return prefix.length ? [prefix, ...inner] : inner;
}

function setPath(body: Body, path: string[], value: unknown): Body {
  const copy = structuredClone(body);
  let o = copy as Record<string, unknown>;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string, unknown>;
  if (value === undefined) delete o[path.at(-1)!];
  else o[path.at(-1)!] = value;
  return copy;
}

const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.docker.plugins.v1.2+json', 'image/png', '', 'application/json; charset=latin1'];

export function caseArb(route: string): fc.Arbitrary<Case> {
  const base = BASE[route] ?? fc.constant<Body>({});
  const json = (b: Body, kind: string, path?: string[], headers?: Record<string, string>): Case => ({
    route, kind, body: b, req: { path: `/${route}`, body: JSON.stringify(b), ...(headers ? { headers } : {}) }, ...(path?.length ? { field: path[0]!, leaf: path.at(-1)! } : {}),
  });
  const text = (body: string | Buffer, kind: string, extra: Partial<RawRequest> = {}): Case => ({ route, kind, req: { path: `/${route}`, body, ...extra } });
  const withPath = (b: Body): fc.Arbitrary<string[]> => { const ps = paths(b); return ps.length ? fc.constantFrom(...ps) : fc.constant([]); };
  // deep values are spliced in as text: JSON.stringify of a 20,000-deep value would overflow this process's stack
  const deep = (b: Body, p: string[], depth: number): Case => {
    if (!p.length) return text(deepJson(depth), 'deep value');
    const c = json(setPath(b, p, '\u0001deep\u0001'), 'deep value', p);
    return { ...c, req: { ...c.req, body: String(c.req.body).replace('"\u0001deep\u0001"', deepJson(depth)) } };
  };
  return fc.oneof(
    // the body is not what it claims to be
    { weight: 10, arbitrary: fc.tuple(base, fc.nat()).map(([b, n]) => { const s = JSON.stringify(b); return text(s.slice(0, n % Math.max(1, s.length)), 'truncated JSON'); }) },
    { weight: 5, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => text(s, 'random text')) },
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => text(Buffer.from(a), 'random bytes')) },
    { weight: 5, arbitrary: fc.constantFrom('', ' ', '\n', '\r\n\t').map((s) => text(s, 'empty body')) },
    { weight: 5, arbitrary: fc.constantFrom('null', '[]', '[{}]', '0', '"x"', 'true', '1e999', '{"a":1}{"b":2}', '{"NetworkID":"a","NetworkID":1}').map((s) => text(s, 'not one object')) },
    { weight: 5, arbitrary: fc.integer({ min: 2000, max: 60_000 }).map((d) => text(deepJson(d, '{"a":', '}').replace(/\{"a":\}/, '{"a":0}'), 'deep nesting')) },
    // one field missing, of a wrong type, or a bad string
    { weight: 15, arbitrary: base.chain((b) => withPath(b).map((p) => json(setPath(b, p, undefined), 'missing field', p))) },
    { weight: 20, arbitrary: base.chain((b) => fc.tuple(withPath(b), wrongTypeArb).map(([p, v]) => json(setPath(b, p, v), 'wrong type', p))) },
    { weight: 25, arbitrary: base.chain((b) => withPath(b).chain((p) => badString(nearMisses(p.at(-1)!)).map((s) => json(setPath(b, p, s), 'bad string', p)))) },
    { weight: 5, arbitrary: base.chain((b) => fc.tuple(withPath(b), fc.integer({ min: 1000, max: 20_000 })).map(([p, d]) => deep(b, p, d))) },
    // extra fields, odd keys, other headers on a valid body: accepted like the valid body
    { weight: 10, arbitrary: fc.tuple(base, fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })).map(([b, extra]) => json({ ...extra, ...b }, 'extra fields')) },
    { weight: 5, arbitrary: base.map((b) => text(JSON.stringify(b).replace(/^\{(?=.)/, (m) => `${m}"__proto__":{"NetworkID":1,"PoolID":2},"constructor":"x","hasOwnProperty":1${Object.keys(b).length ? ',' : ''}`), 'prototype keys')) },
    { weight: 10, arbitrary: fc.tuple(base, fc.constantFrom(...CONTENT_TYPES), fc.constantFrom('', 'application/json', '*/*', 'text/html')).map(([b, ct, acc]) => json(b, 'content type', undefined, { 'Content-Type': ct, ...(acc ? { Accept: acc } : {}) })) },
    // transport abuse
    { weight: 1, arbitrary: fc.constant(0).map(() => text(`{"x":"${'y'.repeat(1024 * 1024 + 10)}"}`, 'body over 1 MiB')) },
    { weight: 5, arbitrary: fc.tuple(base, fc.nat()).map(([b, n]) => { const s = JSON.stringify(b); return text(s, 'truncated upload', { truncateAt: n % Math.max(1, s.length) }); }) },
    { weight: 5, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS').map((m) => text('{}', 'wrong method', { method: m })) },
    { weight: 5, arbitrary: fc.constantFrom(`/${route}x`, `/${route.toLowerCase()}`, `/${route}/`, `//${route}`, `/${route}?a=b`, `/${route}%00`).map((p) => ({ route, kind: 'odd path', req: { path: p, body: '{}' } })) },
    { weight: 5, arbitrary: fc.constantFrom(
      `POST /${route} HTTP/1.1\r\nHost: \r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      `POST /${route} HTTP/1.1\r\nHost: \r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}`,
      `POST /${route} HTTP/1.1\r\nHost: \r\nContent-Length: -1\r\n\r\n{}`,
      `POST /${route} HTTP/9.9\r\n\r\n`,
      `\x00\x01\x02 garbage\r\n\r\n`,
      `POST /${route} HTTP/1.1\r\nHost: \r\nX-Long: ${'h'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`,
    ).map((raw) => ({ route, kind: 'garbage HTTP', req: { path: `/${route}`, body: '', raw: Buffer.from(raw, 'latin1') } })) },
  );
}

/** The call that undoes a successful create, or undefined when the verb creates nothing. */
export function inverse(route: string, body: Body, answer: Record<string, unknown>): { route: string; body: Body } | undefined {
  switch (route) {
    case 'NetworkDriver.CreateNetwork': return { route: 'NetworkDriver.DeleteNetwork', body: { NetworkID: body['NetworkID'] } };
    case 'NetworkDriver.CreateEndpoint': return { route: 'NetworkDriver.DeleteEndpoint', body: { NetworkID: body['NetworkID'], EndpointID: body['EndpointID'] } };
    case 'NetworkDriver.Join': return { route: 'NetworkDriver.Leave', body: { NetworkID: body['NetworkID'], EndpointID: body['EndpointID'] } };
    case 'IpamDriver.RequestPool': return { route: 'IpamDriver.ReleasePool', body: { PoolID: answer['PoolID'] } };
    case 'IpamDriver.RequestAddress': return { route: 'IpamDriver.ReleaseAddress', body: { PoolID: body['PoolID'], Address: String(answer['Address']).split('/')[0] } };
    default: return undefined;
  }
}

