/** Error mapping: unit table for mapDockerError, and the same errors thrown by the service over the socket. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AuthError,
  BindingError,
  ConflictError,
  InvalidInputError,
  KuryrError,
  NeutronError,
  NotFoundError,
  UnavailableError,
} from '../../src/common/errors.js';
import { mapDockerError } from '../../src/northbound/docker/errors.js';
import { FakeLibnetwork } from '../fakes/fake-libnetwork.js';
import { usePluginSocket } from '../fakes/plugin-socket.js';

const NID = '7c985a2ca4133d449b44f1f6d33aa63507a5086c868c3d14a7ba9ea3c7876129';
const EID = '91bab4e36c0614efcd00aac73f3cb320335074525d278b310a382652ca95fa0a';
const PROGRAM = 'NetworkDriver.ProgramExternalConnectivity';
const REVOKE = 'NetworkDriver.RevokeExternalConnectivity';

describe('mapDockerError', () => {
  const cases: Array<[string, unknown, string, number, string]> = [
    ['invalid input', new InvalidInputError('invalid X request: A: bad', 'A'), 'NetworkDriver.Join', 400, 'invalid X request: A: bad'],
    ['invalid input naming its field only in `field`', new InvalidInputError("'10.0.0.1/24' has host bits set", 'IPv4Data.Pool'), 'NetworkDriver.CreateNetwork', 400, "IPv4Data.Pool: '10.0.0.1/24' has host bits set"],
    ['conflict', new ConflictError('endpoint busy'), 'NetworkDriver.Join', 409, 'endpoint busy'],
    ['neutron 409', new NeutronError('IpAddressAlreadyAllocated', { status: 409 }), 'IpamDriver.RequestAddress', 409, 'IpAddressAlreadyAllocated'],
    ['neutron 404', new NeutronError('Port p could not be found.', { status: 404 }), 'NetworkDriver.Join', 404, 'Port p could not be found.'],
    ['neutron 404 in Program', new NeutronError('gone', { status: 404 }), PROGRAM, 500, 'gone'],
    ['neutron 404 in Revoke', new NeutronError('gone', { status: 404 }), REVOKE, 500, 'gone'],
    ['neutron 503', new NeutronError('busy', { status: 503 }), 'NetworkDriver.CreateNetwork', 503, 'busy'],
    ['neutron bogus status', new NeutronError('weird', { status: 0 }), 'NetworkDriver.CreateNetwork', 500, 'weird'],
    ['not found', new NotFoundError("The port doesn't exist"), 'NetworkDriver.Join', 404, "The port doesn't exist"],
    ['not found in Program', new NotFoundError('no such endpoint'), PROGRAM, 500, 'no such endpoint'],
    ['unavailable', new UnavailableError('neutron unreachable'), 'NetworkDriver.Join', 500, 'neutron unreachable'],
    ['auth', new AuthError('keystone refused the credentials', 401), 'NetworkDriver.Join', 500, 'keystone refused the credentials'],
    ['binding', new BindingError('ip link failed'), 'NetworkDriver.CreateEndpoint', 500, 'ip link failed'],
    ['plain kuryr', new KuryrError('KURYR_ERR_INTERNAL', 'x failed'), '', 500, 'x failed'],
    ['TypeError', new TypeError('cannot read x of undefined'), 'NetworkDriver.Join', 500, 'internal error: cannot read x of undefined'],
    ['string', 'oops', 'NetworkDriver.Join', 500, 'internal error: oops'],
    ['object', { reason: 'x' }, 'NetworkDriver.Join', 500, 'internal error: {"reason":"x"}'],
    ['undefined', undefined, 'NetworkDriver.Join', 500, 'internal error: undefined'],
    ['empty Error', new Error(''), 'NetworkDriver.Join', 500, 'internal error: Error'],
  ];
  for (const [name, err, method, status, message] of cases) {
    it(name, () => assert.deepEqual(mapDockerError(err, method), { status, body: { Err: message } }));
  }

  it('never leaks a stack or [object Object]', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const e of [cyclic, new Error('x'), Symbol('s'), 42n]) {
      const { body } = mapDockerError(e);
      assert.ok(!body.Err.includes('[object Object]') && !body.Err.includes('    at '), body.Err);
    }
  });
});

describe('service errors over the socket', () => {
  const fake = new FakeLibnetwork();
  const socket = usePluginSocket(fake, 'kuryr-err-');

  it('turns each service throw into {"Err"} with the mapped status', async () => {
    const ref = JSON.stringify({ NetworkID: NID, EndpointID: EID });
    const table: Array<[Parameters<FakeLibnetwork['failWith']>[0], string, unknown, number]> = [
      ['programExternalConnectivity', PROGRAM, new NeutronError('Port gone', { status: 404 }), 500],
      ['revokeExternalConnectivity', REVOKE, new NeutronError('Port gone', { status: 404 }), 500],
      ['leave', 'NetworkDriver.Leave', new NeutronError('Port gone', { status: 404 }), 404],
      ['deleteEndpoint', 'NetworkDriver.DeleteEndpoint', new ConflictError('busy'), 409],
      ['endpointOperInfo', 'NetworkDriver.EndpointOperInfo', new TypeError('x is undefined'), 500],
    ];
    for (const [method, route, err, status] of table) {
      fake.clearFailures();
      fake.failWith(method, err);
      const r = await socket.engine.call(`/${route}`, ref);
      assert.equal(r.status, status, route);
      assert.deepEqual(r.json, mapDockerError(err, route).body);
    }
    fake.clearFailures();
    fake.failWith('capabilities', new Error('config not loaded'));
    const caps = await socket.engine.call('/NetworkDriver.GetCapabilities');
    assert.deepEqual([caps.status, caps.json], [500, { Err: 'internal error: config not loaded' }]);
    fake.clearFailures();
  });
});
