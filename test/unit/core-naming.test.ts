/**
 * Pure encodings of spec §2.1 (names, tags) and the CIDR helpers, with fast-check properties.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/common/errors.js';
import {
  cidrContains,
  cidrFamily,
  cidrsOverlap,
  firstUsableHost,
  formatIp,
  networkOf,
  normalizeCidr,
  normalizeIp,
  parseIp,
  prefixLength,
  sameIp,
} from '../../src/common/cidr.js';
import { DEVICE_OWNER, containerIfName, hostIfName } from '../../src/core/shared/device-names.js';
import {
  SG_DESCRIPTION,
  UNBOUND_PORT_NAME,
  endpointPortName,
  exposedPortsSgName,
  networkName,
  subnetName,
  subnetpoolName,
} from '../../src/core/docker/naming.js';
import {
  TAG_POOL_EXISTING,
  TAG_PORT_EXISTING,
  TAG_PORT_OWNED,
  existingNetworkTag,
  hasForeignIdTags,
  hasIdTags,
  idFromTags,
  idTagFilter,
  idTags,
} from '../../src/core/docker/tags.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const swarm25 = fc.stringMatching(/^[0-9a-z]{25}$/);

describe('tags', () => {
  test('exact encodings', () => {
    const id = '0123456789abcdef0123456789abcdef' + 'fedcba9876543210fedcba9876543210';
    assert.deepEqual(idTags(id), ['kuryr.net.uuid.lh:0123456789abcdef0123456789abcdef', 'kuryr.net.uuid.uh:fedcba9876543210fedcba9876543210']);
    assert.equal(idTagFilter(id), 'kuryr.net.uuid.lh:0123456789abcdef0123456789abcdef,kuryr.net.uuid.uh:fedcba9876543210fedcba9876543210');
    assert.equal(existingNetworkTag(id), 'kuryr.net.existing:0123456789ab');
    assert.deepEqual(idTags('abcdefghijklmnopqrstuvwxy'), ['kuryr.net.uuid.lh:abcdefghijklmnopqrstuvwxy']);
    assert.equal(TAG_PORT_OWNED, 'compute:kuryr');
    assert.equal(TAG_PORT_EXISTING, 'kuryr.port.existing');
    assert.equal(TAG_POOL_EXISTING, 'kuryr.subnetpool.existing');
  });

  test('round trip and length limit (property)', () => {
    fc.assert(
      fc.property(fc.oneof(hex64, swarm25), (id) => {
        const tags = idTags(id);
        assert.equal(idFromTags(tags), id);
        assert.ok(hasIdTags(tags, id));
        assert.ok(!hasForeignIdTags(tags, id));
        assert.ok(tags.every((t) => t.length <= 60));
        assert.equal(tags.length, id.length > 32 ? 2 : 1);
      }),
    );
    fc.assert(fc.property(hex64, hex64, (a, b) => a === b || hasForeignIdTags(idTags(a), b)));
  });
});

describe('names', () => {
  test('exact encodings', () => {
    const id = 'a'.repeat(64);
    const port = '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
    assert.equal(networkName(id), 'kuryr-net-aaaaaaaa');
    assert.equal(networkName(id, false), id);
    assert.equal(subnetName('10.0.0.0/24'), 'kuryr-subnet-10.0.0.0/24');
    assert.equal(subnetpoolName('kuryrPool', '10.11.0.0/24'), 'kuryrPool-10.11.0.0/24');
    assert.equal(subnetpoolName('kuryrPool', 'FE81:0::/64'), 'kuryrPool-fe81::/64');
    assert.equal(UNBOUND_PORT_NAME, 'kuryr-unbound-port');
    assert.equal(endpointPortName(id), `${id}-port`);
    assert.equal(DEVICE_OWNER, 'compute:kuryr');
    assert.equal(exposedPortsSgName(port), `${port}-exposed_ports`);
    assert.equal(SG_DESCRIPTION, 'Docker exposed ports created by Kuryr.');
    assert.equal(hostIfName(port), 'tap3f2a9c1e-5b');
    assert.equal(containerIfName(port), 't_c3f2a9c1e-5b');
  });

  test('device names are 14 chars (property)', () => {
    fc.assert(
      fc.property(fc.uuid(), (u) => {
        assert.equal(hostIfName(u).length, 14);
        assert.equal(containerIfName(u), `t_c${u.slice(0, 11)}`);
      }),
    );
  });
});

describe('cidr', () => {
  test('Python ipaddress renderings', () => {
    assert.equal(normalizeCidr('10.0.0.0/16'), '10.0.0.0/16');
    assert.equal(normalizeCidr('2001:0DB8:0000:0000:0000:0000:0000:0000/32'), '2001:db8::/32');
    assert.equal(normalizeIp('1:0:1:1:1:1:1:1'), '1:0:1:1:1:1:1:1');
    assert.equal(normalizeIp('1:0:0:1:0:0:0:1'), '1:0:0:1::1');
    assert.equal(normalizeIp('::'), '::');
    assert.equal(normalizeIp('fe80:0:0:0:0:0:0:1'), 'fe80::1');
    assert.throws(() => normalizeCidr('10.0.0.1/24'), (e: unknown) => e instanceof InvalidInputError && e.message.includes('10.0.0.1/24'));
    assert.throws(() => normalizeCidr('10.0.0.0/33'), InvalidInputError);
    assert.throws(() => normalizeCidr('10.0.0/8'), InvalidInputError);
    assert.equal(networkOf('10.0.0.5/24'), '10.0.0.0/24');
    assert.equal(prefixLength('fd00::/64'), 64);
    assert.equal(cidrFamily('fd00::/64'), 6);
    assert.equal(firstUsableHost('10.0.0.0/24'), '10.0.0.1');
    assert.equal(firstUsableHost('10.0.0.4/31'), '10.0.0.4');
    assert.equal(firstUsableHost('fd00::/64'), 'fd00::1');
    assert.ok(cidrContains('10.0.0.0/16', '10.0.3.0/24'));
    assert.ok(cidrContains('10.0.0.0/16', '10.0.3.4'));
    assert.ok(!cidrContains('10.0.0.0/16', 'fd00::1'));
    assert.ok(cidrsOverlap('10.0.0.0/16', '10.0.255.0/24'));
    assert.ok(!cidrsOverlap('10.0.0.0/24', '10.0.1.0/24'));
    assert.ok(sameIp('FD00::0:1', 'fd00::1'));
  });

  test('properties: normalise is idempotent, networkOf is contained, IPv6 rendering parses back', () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }));
    fc.assert(
      fc.property(v4, ([n, len]) => {
        const ip = formatIp(4, BigInt(n));
        const net = networkOf(`${ip}/${len}`);
        assert.equal(normalizeCidr(net), net);
        assert.ok(cidrContains(net, ip));
        assert.ok(cidrContains(net, firstUsableHost(net)));
      }),
    );
    const v6 = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }));
    fc.assert(
      fc.property(v6, ([n, len]) => {
        const ip = formatIp(6, n);
        assert.equal(parseIp(ip).value, n);
        assert.equal(ip, ip.toLowerCase());
        assert.ok(!ip.includes(':::'));
        const net = networkOf(`${ip}/${len}`);
        assert.equal(normalizeCidr(net), net);
        assert.ok(cidrContains(net, ip));
      }),
    );
  });
});
