/** Bad-input tests for every Docker route, over the real socket, plus a fast-check fuzz. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCidr } from '../../src/northbound/docker/api.js';
import { dockerRoutes } from '../../src/northbound/docker/routes.js';
import { FakeLibnetwork } from '../fakes/fake-libnetwork.js';
import { usePluginSocket } from '../fakes/plugin-socket.js';
import type { NeutronChoices } from '../../src/core/docker/libnetwork.js';

const NID = '7c985a2ca4133d449b44f1f6d33aa63507a5086c868c3d14a7ba9ea3c7876129';
const EID = '91bab4e36c0614efcd00aac73f3cb320335074525d278b310a382652ca95fa0a';
const SWARM_ID = 'zq3kx0m1n2b3v4c5x6z7l8k9j';
const POOL = '7064673a-9778-4f6f-a324-e4e6598c6881';

/** A valid body per route; bad-input cases mutate these. */
const VALID: Record<string, Record<string, unknown>> = {
  'NetworkDriver.CreateNetwork': {
    NetworkID: NID,
    Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
    IPv4Data: [{ AddressSpace: 'no_address_space', Gateway: '10.0.0.1/24', Pool: '10.0.0.0/24' }],
    IPv6Data: [],
  },
  'NetworkDriver.DeleteNetwork': { NetworkID: NID },
  'NetworkDriver.AllocateNetwork': { NetworkID: SWARM_ID, Options: { a: 'b' }, IPv4Data: [], IPv6Data: [] },
  'NetworkDriver.FreeNetwork': { NetworkID: SWARM_ID },
  'NetworkDriver.CreateEndpoint': {
    NetworkID: NID,
    EndpointID: EID,
    Interface: { Address: '10.0.0.239/24', AddressIPv6: '', MacAddress: '02:42:d4:df:c6:b4' },
    Options: { 'com.docker.network.endpoint.exposedports': [], 'com.docker.network.portmap': [] },
  },
  'NetworkDriver.EndpointOperInfo': { NetworkID: NID, EndpointID: EID },
  'NetworkDriver.DeleteEndpoint': { NetworkID: NID, EndpointID: EID },
  'NetworkDriver.Join': { NetworkID: NID, EndpointID: EID, SandboxKey: '/var/run/docker/netns/efb123d1d56e', Options: {} },
  'NetworkDriver.Leave': { NetworkID: NID, EndpointID: EID },
  'NetworkDriver.DiscoverNew': { DiscoveryType: 1, DiscoveryData: { Address: '127.0.0.1', BindAddress: '', Self: true } },
  'NetworkDriver.DiscoverDelete': { DiscoveryType: 1, DiscoveryData: { Address: '127.0.0.1' } },
  'NetworkDriver.ProgramExternalConnectivity': {
    NetworkID: NID,
    EndpointID: EID,
    Options: { 'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 80 }] },
  },
  'NetworkDriver.RevokeExternalConnectivity': { NetworkID: NID, EndpointID: EID },
  'IpamDriver.RequestPool': { AddressSpace: 'no_address_space', Pool: '10.0.0.0/16', SubPool: '10.0.0.0/24', Options: {}, V6: false },
  'IpamDriver.ReleasePool': { PoolID: POOL },
  'IpamDriver.RequestAddress': { PoolID: POOL, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } },
  'IpamDriver.ReleaseAddress': { PoolID: POOL, Address: '10.0.0.188' },
};
/** Routes whose (empty) body is ignored. */
const NO_BODY = ['Plugin.Activate', 'NetworkDriver.GetCapabilities', 'IpamDriver.GetCapabilities', 'IpamDriver.GetDefaultAddressSpaces'];
/** Routes that require fields (every route in VALID except the discovery notifications). */
const STRICT = Object.keys(VALID).filter((r) => !r.includes('Discover'));

const withField = (route: string, path: string[], value: unknown): Record<string, unknown> => {
  const body = structuredClone(VALID[route]!);
  let o: Record<string, unknown> = body;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string, unknown>;
  if (value === undefined) delete o[path.at(-1)!];
  else o[path.at(-1)!] = value;
  return body;
};

describe('docker request validation', () => {
  const fake = new FakeLibnetwork();
  const socket = usePluginSocket(fake, 'kuryr-val-');

  const post = async (route: string, body: unknown) => socket.engine.call(`/${route}`, typeof body === 'string' ? body : JSON.stringify(body));
  const expectErr = async (route: string, body: unknown, status: number, pattern: RegExp) => {
    const r = await post(route, body);
    assert.equal(r.status, status, `${route}: ${r.text}`);
    const err = (r.json as { Err?: unknown }).Err;
    assert.equal(typeof err, 'string', `${route}: no Err in ${r.text}`);
    assert.match(err as string, pattern, route);
  };

  it('routes cover all 21 verbs', () => {
    assert.equal(dockerRoutes(fake).size, 21);
    assert.deepEqual([...dockerRoutes(fake).keys()].sort(), [...NO_BODY, ...Object.keys(VALID)].sort());
  });

  it('accepts every valid body', async () => {
    for (const route of [...NO_BODY, ...Object.keys(VALID)]) {
      const r = await post(route, VALID[route] ?? '');
      assert.equal(r.status, 200, `${route}: ${r.text}`);
    }
  });

  it('rejects malformed JSON, non-object and null bodies on every body-taking route', async () => {
    for (const route of Object.keys(VALID)) {
      await expectErr(route, '{"NetworkID":', 400, /^malformed JSON body: /);
      await expectErr(route, '[1,2]', 400, new RegExp(`^invalid ${route} request: body must be a JSON object$`));
      await expectErr(route, 'null', 400, /body must be a JSON object/);
      await expectErr(route, '"str"', 400, /body must be a JSON object/);
    }
  });

  it('names every missing required field', async () => {
    for (const route of STRICT) {
      for (const field of Object.keys(VALID[route]!)) {
        if (['Options', 'IPv4Data', 'IPv6Data', 'Interface'].includes(field)) continue; // may be absent/null
        await expectErr(route, withField(route, [field], undefined), 400, new RegExp(`^invalid ${route} request: ${field}: is required`));
      }
    }
  });

  it('rejects wrong types naming the field', async () => {
    for (const route of STRICT) {
      const field = Object.keys(VALID[route]!)[0]!;
      await expectErr(route, withField(route, [field], 12345), 400, new RegExp(`${field}: .*expected`));
    }
    await expectErr('IpamDriver.RequestPool', withField('IpamDriver.RequestPool', ['V6'], 'false'), 400, /V6: .*expected boolean/);
  });

  it('checks ID formats and lengths', async () => {
    const msg = /EndpointID: must be 64 lowercase hex characters or a 25-character swarm ID/;
    const route = 'NetworkDriver.CreateEndpoint';
    await expectErr(route, withField(route, ['EndpointID'], EID.toUpperCase()), 400, msg);
    await expectErr(route, withField(route, ['EndpointID'], `${EID}0`), 400, msg);
    await expectErr(route, withField(route, ['EndpointID'], 'x'.repeat(100_000)), 400, msg);
    await expectErr(route, withField(route, ['EndpointID'], ''), 400, msg);
    assert.equal((await post(route, withField(route, ['EndpointID'], SWARM_ID))).status, 200);
    for (const r of ['IpamDriver.ReleasePool', 'IpamDriver.RequestAddress', 'IpamDriver.ReleaseAddress']) {
      await expectErr(r, withField(r, ['PoolID'], 'kuryr-pool-1'), 400, /PoolID: must be a lowercase UUID/);
      await expectErr(r, withField(r, ['PoolID'], ''), 400, /PoolID: must be a lowercase UUID/);
    }
  });

  it('rejects over-long strings', async () => {
    const long = 'a'.repeat(4097);
    await expectErr('IpamDriver.RequestPool', withField('IpamDriver.RequestPool', ['AddressSpace'], long), 400, /AddressSpace: must be at most 4096 characters/);
    await expectErr('NetworkDriver.Join', withField('NetworkDriver.Join', ['SandboxKey'], `/${long}`), 400, /SandboxKey: must be at most 4096/);
    const gen = { 'com.docker.network.generic': { 'neutron.net.name': long } };
    await expectErr('NetworkDriver.CreateNetwork', withField('NetworkDriver.CreateNetwork', ['Options'], gen), 400, /\["neutron\.net\.name"\]: must be at most 4096/);
  });

  it('validates addresses and CIDRs per family', async () => {
    const cn = 'NetworkDriver.CreateNetwork';
    const v4 = (d: Record<string, unknown>) => withField(cn, ['IPv4Data'], [d]);
    await expectErr(cn, v4({ AddressSpace: 'a', Pool: '10.0.0.0/33' }), 400, /IPv4Data\[0\]\.Pool: must be an IPv4 CIDR/);
    await expectErr(cn, v4({ AddressSpace: 'a', Pool: '2001:db8::/64' }), 400, /IPv4Data\[0\]\.Pool: must be an IPv4 CIDR/);
    await expectErr(cn, v4({ AddressSpace: 'a', Pool: '10.0.0.0/24', Gateway: '10.0.0.1' }), 400, /IPv4Data\[0\]\.Gateway/);
    await expectErr(cn, v4({ AddressSpace: 'a', Pool: '10.0.0.0/24', AuxAddresses: { h: 'nope' } }), 400, /IPv4Data\[0\]\.AuxAddresses\.h/);
    assert.equal((await post(cn, v4({ AddressSpace: 'a', Pool: '10.0.0.0/24', AuxAddresses: { h: '10.0.0.9/24', g: '10.0.0.8' } }))).status, 200);
    await expectErr(cn, withField(cn, ['IPv6Data'], [{ AddressSpace: 'a', Pool: '2001:db8::/129' }]), 400, /IPv6Data\[0\]\.Pool: must be an IPv6 CIDR/);
    const rp = 'IpamDriver.RequestPool';
    await expectErr(rp, withField(rp, ['SubPool'], '10.0.0.0/24x'), 400, /SubPool: must be an IPv4 or IPv6 CIDR/);
    await expectErr(rp, withField(rp, ['V6'], true), 400, /Pool: must be an IPv6 CIDR when V6 is true/);
    const ra = 'IpamDriver.RequestAddress';
    await expectErr(ra, withField(ra, ['Address'], '10.0.0.256'), 400, /Address: must be an IPv4 or IPv6 address/);
    await expectErr('IpamDriver.ReleaseAddress', withField('IpamDriver.ReleaseAddress', ['Address'], '10.0.0.5/24'), 400, /Address: must be an IPv4 or IPv6 address/);
    const ce = 'NetworkDriver.CreateEndpoint';
    await expectErr(ce, withField(ce, ['Interface', 'Address'], '10.0.0.239'), 400, /Interface\.Address: must be an IPv4 CIDR/);
    await expectErr(ce, withField(ce, ['Interface', 'AddressIPv6'], '10.0.0.2/24'), 400, /Interface\.AddressIPv6: must be an IPv6 CIDR/);
    await expectErr(ce, withField(ce, ['Interface', 'MacAddress'], '02:42:d4:df:c6'), 400, /Interface\.MacAddress: must be a MAC/);
  });

  it('accepts what the Python schemas wrongly rejected', async () => {
    const cn = 'NetworkDriver.CreateNetwork';
    const before = fake.calls.length;
    // Q11: IPv6 pool without a gateway.
    const v6 = withField(cn, ['IPv6Data'], [{ AddressSpace: 'a', Pool: '2001:db8::/64' }]);
    assert.equal((await post(cn, v6)).status, 200);
    // A second dockerd's exec-root.
    const jn = withField('NetworkDriver.Join', ['SandboxKey'], '/run/docker2/netns/0123456789ab');
    assert.equal((await post('NetworkDriver.Join', jn)).status, 200);
    // Mixed-case MAC; null Interface; unknown top-level fields.
    const ce = 'NetworkDriver.CreateEndpoint';
    assert.equal((await post(ce, withField(ce, ['Interface', 'MacAddress'], '02:42:D4:df:C6:b4'))).status, 200);
    assert.equal((await post(ce, withField(ce, ['Interface'], null))).status, 200);
    assert.equal((await post(ce, { ...VALID[ce], FutureField: { x: 1 } })).status, 200);
    // Program without Options, with null exposed ports.
    const pe = 'NetworkDriver.ProgramExternalConnectivity';
    assert.equal((await post(pe, withField(pe, ['Options'], undefined))).status, 200);
    assert.equal((await post(pe, withField(pe, ['Options'], { 'com.docker.network.endpoint.exposedports': null }))).status, 200);
    assert.equal(fake.calls.length - before, 7);
    assert.deepEqual(fake.argsOf('programExternalConnectivity').at(-1), { networkId: NID, endpointId: EID, exposedPorts: [] });
    await expectErr(pe, withField(pe, ['Options'], { 'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 70000 }] }), 400, /exposedports"\]\[0\]\.Port/);
  });

  it('rejects unknown neutron.* options and stringifies option values', async () => {
    const cn = 'NetworkDriver.CreateNetwork';
    const gen = (m: Record<string, unknown>) => withField(cn, ['Options'], { 'com.docker.network.generic': m, 'com.docker.network.enable_ipv6': 'true' });
    await expectErr(cn, gen({ 'neutron.net.uid': 'x' }), 400, /unknown option neutron\.net\.uid/);
    const rp = 'IpamDriver.RequestPool';
    await expectErr(rp, withField(rp, ['Options'], { 'neutron.pool.uid': 'x' }), 400, /Options\["neutron\.pool\.uid"\]: unknown option neutron\.pool\.uid/);
    // found by the e2e fuzz: these reached Neutron's URL path (Neutron answered 500) or the URL encoder (URIError, 500)
    await expectErr(rp, withField(rp, ['Options'], { 'neutron.pool.uuid': '\ud800' }), 400, /Options\["neutron\.pool\.uuid"\]: neutron\.pool\.uuid must be a Neutron UUID/);
    await expectErr(cn, gen({ 'neutron.net.uuid': '../ports' }), 400, /\["neutron\.net\.uuid"\]: neutron\.net\.uuid must be a Neutron UUID/);
    await expectErr(cn, gen({ 'neutron.net.name': 'a\udc00' }), 400, /\["neutron\.net\.name"\]: must be valid unicode/);
    assert.equal((await post(cn, gen({ 'neutron.net.uuid': '7064673A-9778-4F6F-A324-E4E6598C6881', 'neutron.subnet.uuid': '' }))).status, 200);
    const r = await post(cn, gen({ 'neutron.net.shared': true, 'neutron.net.name': 'n1', 'com.example.other': 5 }));
    assert.equal(r.status, 200, r.text);
    const arg = fake.argsOf('createNetwork').at(-1) as { neutron: NeutronChoices; enableIpv6: boolean };
    // `true` was stringified and read as oslo's bool; the name arrives typed; other keys are not core's business.
    assert.equal(arg.neutron.shared, true);
    assert.deepEqual(arg.neutron.network, { name: 'n1', uuidOption: 'neutron.net.uuid', nameOption: 'neutron.net.name' });
    assert.equal(arg.enableIpv6, true);
    assert.equal((await post(rp, withField(rp, ['Options'], null))).status, 200);
    const none = (fake.argsOf('requestPool').at(-1) as { neutron: NeutronChoices }).neutron;
    assert.equal(none.shared, false);
    for (const p of [none.network, none.v4.pool, none.v4.subnet, none.v6.pool, none.v6.subnet]) assert.deepEqual([p.uuid, p.name], [undefined, undefined]);
  });

  it('never crashes or hangs on random bodies (fuzz)', async () => {
    const routes = [...NO_BODY, ...Object.keys(VALID), 'NetworkDriver.Unknown'];
    const bodyArb = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string(),
      // a valid body with one field replaced by random JSON
      fc.tuple(fc.constantFrom(...Object.keys(VALID)), fc.jsonValue()).map(([route, v]) => {
        const body = structuredClone(VALID[route]!);
        const keys = Object.keys(body);
        body[keys[JSON.stringify(v).length % keys.length]!] = v;
        return JSON.stringify(body);
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), bodyArb, async (route, body) => {
        const r = await socket.engine.call(`/${route}`, body);
        assert.ok(r.status >= 200 && r.status < 600);
        assert.equal(typeof r.json, 'object', r.text);
        if (r.status !== 200) {
          const err = (r.json as { Err?: unknown }).Err;
          assert.equal(typeof err, 'string');
          assert.ok((err as string).length > 0 && !(err as string).includes('[object Object]'), err as string);
          assert.ok(r.status < 500, `${route} answered ${r.status} to ${body.slice(0, 200)}: ${err}`);
        }
      }),
      { numRuns: 400 },
    );
    assert.equal(socket.engine.connections, 1, 'the keep-alive connection survived every answer');
  });
});

describe('isCidr', () => {
  it('checks prefix range per family', () => {
    for (const ok of ['10.0.0.0/0', '10.0.0.0/32', '::/0', '2001:db8::/128', '::ffff:10.0.0.1/128']) assert.ok(isCidr(ok), ok);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0', '10.0.0.0/-1', '10.0.0.0/+8', '2001:db8::/129', '1.2.3/8', '10.0.0.0/8/8', '/8'])
      assert.ok(!isCidr(bad), bad);
    assert.ok(!isCidr('10.0.0.0/8', 6));
    assert.ok(!isCidr('::/8', 4));
  });
});
