import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/common/errors.js';
import {
  MAX_IFNAME_BYTES,
  containerIfName,
  hostIfName,
  hostIfNameOfOvsInterface,
  hybridNames,
  linuxBridgeName,
} from '../../src/core/shared/device-names.js';

const PORT = '3f2a9c1e-7b44-4c1d-9f0a-1234567890ab';

test('names match kuryr and Neutron for a port ID', () => {
  assert.equal(hostIfName(PORT), 'tap3f2a9c1e-7b');
  assert.equal(containerIfName(PORT), 't_c3f2a9c1e-7b');
  assert.deepEqual(hybridNames(PORT), { qbr: 'qbr3f2a9c1e-7b', qvb: 'qvb3f2a9c1e-7b', qvo: 'qvo3f2a9c1e-7b' });
  assert.equal(linuxBridgeName('529e1043-f2aa-4bcd-8000-000000000000'), 'brq529e1043-f2');
  assert.equal(hostIfNameOfOvsInterface('qvo3f2a9c1e-7b'), 'tap3f2a9c1e-7b');
  assert.equal(hostIfNameOfOvsInterface('tap3f2a9c1e-7b'), 'tap3f2a9c1e-7b');
});

test('short IDs give short names', () => {
  assert.equal(hostIfName('abc'), 'tapabc');
});

test('IDs the kernel would reject are refused', () => {
  for (const bad of ['', 'a/b', 'a:b', 'a b', 'ä-port', '\n']) {
    assert.throws(() => hostIfName(bad), InvalidInputError, JSON.stringify(bad));
  }
});

test('property: every UUID gives ≤15-byte names of prefix + ID[:11]', () => {
  fc.assert(
    fc.property(fc.uuid(), (id) => {
      const names = [hostIfName(id), containerIfName(id), ...Object.values(hybridNames(id)), linuxBridgeName(id)];
      for (const n of names) {
        assert.ok(Buffer.byteLength(n) <= MAX_IFNAME_BYTES, n);
        assert.equal(n.slice(3), id.slice(0, 11));
      }
      assert.equal(hostIfNameOfOvsInterface(hybridNames(id).qvo), hostIfName(id));
    }),
  );
});

test('property: any printable ASCII ID without / or : gives a valid name', () => {
  const ch = fc.constantFrom(...'abcdefABCDEF0123456789-_.!~'.split(''));
  fc.assert(
    fc.property(fc.string({ unit: ch, minLength: 1, maxLength: 80 }), (id) => {
      const n = hostIfName(id);
      assert.ok(Buffer.byteLength(n) <= MAX_IFNAME_BYTES);
      assert.ok(n.startsWith('tap'));
    }),
  );
});
