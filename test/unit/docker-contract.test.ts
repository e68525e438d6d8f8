/**
 * Contract test: replays every request of the real dockerd ↔ kuryr-libnetwork trace
 * (../shared/specs/docker-trace.jsonl) byte-exact over one keep-alive unix-socket connection,
 * with the fake service primed from the recorded answer, and checks status and answer shape.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { NotFoundError } from '../../src/common/errors.js';
import type { JoinResult } from '../../src/core/docker/libnetwork.js';
import { FakeLibnetwork, type ServiceMethod } from '../fakes/fake-libnetwork.js';
import { usePluginSocket } from '../fakes/plugin-socket.js';

/** The trace in ../shared beside the checkout (as CI lays it out), else the workplace copy. */
const TRACE =
  process.env.KURYR_DOCKER_TRACE ??
  [fileURLToPath(new URL('../../../shared/specs/docker-trace.jsonl', import.meta.url)), '/work/shared/specs/docker-trace.jsonl'].find((p) => existsSync(p)) ??
  '../shared/specs/docker-trace.jsonl';

interface TraceEntry {
  path: string;
  status: string;
  request: string;
  response: string;
}

/** Keys our answers may add to the Python driver's (the service reports them; Docker accepts them). */
const ALLOWED_EXTRA_KEYS = new Set(['ConnectivityScope', 'RequiresRequestReplay', 'Data']);

const SERVICE_METHOD: Record<string, ServiceMethod> = {
  '/NetworkDriver.GetCapabilities': 'capabilities',
  '/NetworkDriver.CreateNetwork': 'createNetwork',
  '/NetworkDriver.DeleteNetwork': 'deleteNetwork',
  '/NetworkDriver.CreateEndpoint': 'createEndpoint',
  '/NetworkDriver.EndpointOperInfo': 'endpointOperInfo',
  '/NetworkDriver.DeleteEndpoint': 'deleteEndpoint',
  '/NetworkDriver.Join': 'join',
  '/NetworkDriver.Leave': 'leave',
  '/NetworkDriver.ProgramExternalConnectivity': 'programExternalConnectivity',
  '/NetworkDriver.RevokeExternalConnectivity': 'revokeExternalConnectivity',
  '/IpamDriver.GetCapabilities': 'ipamCapabilities',
  '/IpamDriver.GetDefaultAddressSpaces': 'defaultAddressSpaces',
  '/IpamDriver.RequestPool': 'requestPool',
  '/IpamDriver.ReleasePool': 'releasePool',
  '/IpamDriver.RequestAddress': 'requestAddress',
  '/IpamDriver.ReleaseAddress': 'releaseAddress',
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Primes the fake so that it answers what kuryr-libnetwork answered in the trace. */
function prime(fake: FakeLibnetwork, path: string, resp: Json): void {
  const r = fake.results;
  switch (path) {
    case '/NetworkDriver.GetCapabilities':
      r.capabilities = { scope: resp.Scope, connectivityScope: resp.ConnectivityScope ?? resp.Scope };
      break;
    case '/IpamDriver.GetCapabilities':
      r.ipamCapabilities = { requiresMacAddress: resp.RequiresMACAddress, requiresRequestReplay: false };
      break;
    case '/IpamDriver.GetDefaultAddressSpaces':
      r.defaultAddressSpaces = { local: resp.LocalDefaultAddressSpace, global: resp.GlobalDefaultAddressSpace };
      break;
    case '/IpamDriver.RequestPool':
      r.requestPool = { poolId: resp.PoolID, pool: resp.Pool, data: resp.Data ?? {} };
      break;
    case '/IpamDriver.RequestAddress':
      r.requestAddress = resp.Address;
      break;
    case '/NetworkDriver.CreateEndpoint':
      r.createEndpoint = {
        ...(resp.Interface.MacAddress ? { macAddress: resp.Interface.MacAddress } : {}),
        ...(resp.Interface.Address ? { address: resp.Interface.Address } : {}),
      };
      break;
    case '/NetworkDriver.EndpointOperInfo':
      r.endpointOperInfo = resp.Value;
      break;
    case '/NetworkDriver.Join': {
      const j: JoinResult = {
        srcName: resp.InterfaceName.SrcName,
        dstPrefix: resp.InterfaceName.DstPrefix,
        staticRoutes: (resp.StaticRoutes ?? []).map((s: Json) => ({
          destination: s.Destination,
          routeType: s.RouteType,
          nextHop: s.NextHop,
        })),
        disableGatewayService: resp.DisableGatewayService,
      };
      if ('Gateway' in resp) j.gateway = resp.Gateway;
      if ('GatewayIPv6' in resp) j.gatewayIpv6 = resp.GatewayIPv6;
      r.join = j;
      break;
    }
  }
}

/** Every recorded key must be present with the same value; extra keys only from the allowed list. */
function assertShape(path: string, ours: unknown, theirs: Json): void {
  assert.equal(typeof ours, 'object', `${path}: answer is not a JSON object`);
  const o = ours as Json;
  for (const [k, v] of Object.entries(theirs)) assert.deepEqual(o[k], v, `${path}: key ${k}`);
  for (const k of Object.keys(o)) {
    if (!(k in theirs)) assert.ok(ALLOWED_EXTRA_KEYS.has(k), `${path}: unexpected key ${k}`);
  }
}

/** The typed Neutron choices carry every `neutron.*` option of the wire map (empty = not given). */
function assertChoices(choices: Json, options: Json): void {
  const o = options ?? {};
  const pick = (uuidOption: string, nameOption: string) => ({
    ...(o[uuidOption] ? { uuid: o[uuidOption] } : {}),
    ...(o[nameOption] ? { name: o[nameOption] } : {}),
    uuidOption,
    nameOption,
  });
  assert.deepEqual(choices, {
    network: pick('neutron.net.uuid', 'neutron.net.name'),
    shared: ['1', 't', 'true', 'on', 'y', 'yes'].includes(String(o['neutron.net.shared'] ?? '').toLowerCase()),
    sharedOption: 'neutron.net.shared',
    v4: { subnet: pick('neutron.subnet.uuid', 'neutron.subnet.name'), pool: pick('neutron.pool.uuid', 'neutron.pool.name') },
    v6: { subnet: pick('neutron.subnet.v6.uuid', 'neutron.subnet.v6.name'), pool: pick('neutron.pool.v6.uuid', 'neutron.pool.v6.name') },
  });
}

/** Checks that the decoded domain request carries what the wire request said. */
function assertDomainArg(path: string, req: Json, arg: Json): void {
  switch (path) {
    case '/NetworkDriver.CreateNetwork':
      assert.equal(arg.networkId, req.NetworkID);
      assertChoices(arg.neutron, req.Options['com.docker.network.generic']);
      assert.equal(arg.enableIpv6, req.Options['com.docker.network.enable_ipv6']);
      assert.deepEqual(arg.ipv4Data.map((d: Json) => [d.pool, d.gateway]), req.IPv4Data.map((d: Json) => [d.Pool, d.Gateway]));
      assert.deepEqual(arg.ipv6Data.map((d: Json) => [d.pool, d.gateway]), req.IPv6Data.map((d: Json) => [d.Pool, d.Gateway]));
      break;
    case '/NetworkDriver.CreateEndpoint':
      assert.equal(arg.endpointId, req.EndpointID);
      assert.equal(arg.address, req.Interface.Address || undefined);
      assert.equal(arg.macAddress, req.Interface.MacAddress || undefined);
      // Endpoint options carry nothing core reads; they stay at the edge.
      assert.equal(arg.options, undefined);
      break;
    case '/NetworkDriver.Join':
      assert.equal(arg.sandboxKey, req.SandboxKey);
      break;
    case '/NetworkDriver.DeleteNetwork':
      assert.equal(arg, req.NetworkID);
      break;
    case '/IpamDriver.RequestPool':
      assert.deepEqual({ ...arg, neutron: undefined }, { addressSpace: req.AddressSpace, pool: req.Pool, subPool: req.SubPool, neutron: undefined, v6: req.V6 });
      assertChoices(arg.neutron, req.Options);
      break;
    case '/IpamDriver.RequestAddress':
      assert.deepEqual(arg, {
        poolId: req.PoolID,
        address: req.Address,
        gateway: req.Options?.RequestAddressType === 'com.docker.network.gateway',
        ...(req.Options?.['com.docker.network.endpoint.macaddress'] ? { macAddress: req.Options['com.docker.network.endpoint.macaddress'] } : {}),
      });
      break;
    case '/IpamDriver.ReleaseAddress':
      assert.deepEqual(arg, { poolId: req.PoolID, address: req.Address });
      break;
    case '/IpamDriver.ReleasePool':
      assert.equal(arg, req.PoolID);
      break;
  }
}

describe('docker trace replay', { skip: existsSync(TRACE) ? false : `trace ${TRACE} not found` }, () => {
  const entries: TraceEntry[] = existsSync(TRACE)
    ? readFileSync(TRACE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceEntry)
    : [];
  const fake = new FakeLibnetwork();
  const socket = usePluginSocket(fake, 'kuryr-trace-');

  it('has requests for every verb the trace covers', () => {
    assert.ok(entries.length >= 100, `only ${entries.length} entries`);
  });

  it('answers every traced request like kuryr-libnetwork did', async () => {
    for (const [i, e] of entries.entries()) {
      const recorded = JSON.parse(e.response) as Json;
      const method = SERVICE_METHOD[e.path];
      fake.clearFailures();
      if (e.status === '200') prime(fake, e.path, recorded);
      else if (method) fake.failWith(method, new NotFoundError(recorded.Err));
      const before = fake.calls.length;
      const reply = await socket.engine.call(e.path, e.request);
      const where = `#${i} ${e.path}`;
      // Python answered 500 for every "does not exist"; ours is a 404, the request named what is missing (docs/errors.md)
      const status = e.status === '500' && method !== undefined ? '404' : e.status;
      assert.equal(String(reply.status), status, `${where}: ${reply.text}`);
      assert.equal(reply.headers['content-type'], 'application/vnd.docker.plugins.v1+json', where);
      if (e.status === '200') assertShape(where, reply.json, recorded);
      else assert.deepEqual(reply.json, recorded, where);
      if (method) {
        const calls = fake.calls.slice(before);
        assert.equal(calls.length, 1, `${where}: expected exactly one service call`);
        assert.equal(calls[0]!.method, method, where);
        if (e.request) assertDomainArg(where, JSON.parse(e.request) as Json, calls[0]!.arg as Json);
      }
    }
  });

  it('used a single keep-alive connection for the whole replay', () => {
    assert.equal(socket.engine.connections, 1);
  });
});
