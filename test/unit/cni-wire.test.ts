import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ConflictError, InvalidInputError, NeutronError, NotFoundError, TimeoutError, UnavailableError } from '../../src/common/errors.js';
import type { PodAttachment } from '../../src/core/pod/pod-model.js';
import { cniCode } from '../../src/northbound/cni/errors.js';
import { CniError, decodeCall, encodeResult, parseCniArgs, validAttachments } from '../../src/northbound/cni/wire.js';

const ATTACHMENT: PodAttachment = {
  portId: 'p1', hostIfName: 'tap12345678-9a', hostMac: 'aa:bb:cc:00:00:01', ifName: 'eth0', netns: '/var/run/netns/cni-1',
  mac: 'fa:16:3e:11:22:33', mtu: 1450,
  ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', family: 4 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
  dns: { nameservers: ['10.96.0.10'] },
};

test('ADD result per cniVersion (table-driven)', () => {
  const rows: Array<[string, { version: boolean; mtu: boolean }]> = [
    ['0.3.0', { version: true, mtu: false }],
    ['0.3.1', { version: true, mtu: false }],
    ['0.4.0', { version: true, mtu: false }],
    ['1.0.0', { version: false, mtu: false }],
    ['1.1.0', { version: false, mtu: true }],
  ];
  for (const [v, want] of rows) {
    const r = encodeResult(ATTACHMENT, v) as { cniVersion: string; interfaces: Array<Record<string, unknown>>; ips: Array<Record<string, unknown>>; routes: unknown; dns: unknown };
    assert.equal(r.cniVersion, v);
    assert.deepEqual(r.interfaces[0], { name: 'tap12345678-9a', mac: 'aa:bb:cc:00:00:01', ...(want.mtu ? { mtu: 1450 } : {}) }, v);
    assert.deepEqual(r.interfaces[1], { name: 'eth0', mac: 'fa:16:3e:11:22:33', ...(want.mtu ? { mtu: 1450 } : {}), sandbox: '/var/run/netns/cni-1' }, v);
    assert.deepEqual(r.ips, [{ ...(want.version ? { version: '4' } : {}), address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 1 }], v);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }]);
    assert.deepEqual(r.dns, { nameservers: ['10.96.0.10'] });
  }
  assert.deepEqual(encodeResult({ ...ATTACHMENT, dns: { nameservers: [] } }, '1.0.0').dns, {});
});

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc123', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_UID=u1;IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=demo' };
const SUBNET_ID = '5b0f5c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
const config = { cniVersion: '1.0.0', name: 'kuryr', runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { 'openstack.org/kuryr-pod-subnet': SUBNET_ID, n: 5 } } };

test('decodeCall reads pod identity from CNI_ARGS in any order and annotations from runtimeConfig', () => {
  const c = decodeCall({ env, config });
  assert.deepEqual(c.pod, { namespace: 'demo', name: 'web', uid: 'u1' });
  assert.deepEqual(c.annotations, { 'openstack.org/kuryr-pod-subnet': SUBNET_ID });
  assert.equal(c.network, 'kuryr');
  const podman = decodeCall({ env: { ...env, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=app' }, config: { cniVersion: '1.0.0', name: 'n' } });
  assert.deepEqual(podman.pod, { namespace: undefined, name: 'app', uid: undefined });
  const bare = decodeCall({ env: { ...env, CNI_ARGS: '' }, config });
  assert.equal(bare.pod.name, 'abc123', 'no K8S_POD_NAME: the container id names the port');
});

test('the kuryr pod annotations must hold Neutron IDs: ADD and CHECK fail naming the annotation, DEL drops the value', () => {
  const annotated = (a: Record<string, string>) => ({ ...config, runtimeConfig: { 'io.kubernetes.cri.pod-annotations': a } });
  for (const [key, value] of [
    ['openstack.org/kuryr-pod-subnet', '../../networks'],
    ['openstack.org/kuryr-pod-subnet', 's1'],
    ['openstack.org/kuryr-pod-security-groups', `${SUBNET_ID},x?y=1`],
  ] as const) {
    for (const command of ['ADD', 'CHECK']) {
      assert.throws(() => decodeCall({ env: { ...env, CNI_COMMAND: command }, config: annotated({ [key]: value }) }), (e: unknown) => e instanceof CniError && e.code === 7 && e.message.includes(key));
    }
    assert.deepEqual(decodeCall({ env: { ...env, CNI_COMMAND: 'DEL' }, config: annotated({ [key]: value }) }).annotations, {});
  }
  const fine = { 'openstack.org/kuryr-pod-subnet': ` ${SUBNET_ID} `, 'openstack.org/kuryr-pod-security-groups': `${SUBNET_ID}, ${SUBNET_ID.toUpperCase()},` };
  assert.deepEqual(decodeCall({ env, config: annotated(fine) }).annotations, fine);
});

test('decodeCall rejects bad calls with CNI codes (table-driven)', () => {
  const rows: Array<[string, Record<string, string | undefined>, Record<string, unknown>, number, RegExp]> = [
    ['unknown command', { ...env, CNI_COMMAND: 'FOO' }, config, 4, /CNI_COMMAND/],
    ['missing netns on ADD', { ...env, CNI_NETNS: undefined }, config, 4, /CNI_NETNS/],
    ['bad container id', { ...env, CNI_CONTAINERID: '-x' }, config, 4, /CNI_CONTAINERID/],
    ['long ifname', { ...env, CNI_IFNAME: 'a'.repeat(16) }, config, 4, /CNI_IFNAME/],
    ['ifname with slash', { ...env, CNI_IFNAME: 'a/b' }, config, 4, /CNI_IFNAME/],
    ['ifname of 8 characters but 16 bytes', { ...env, CNI_IFNAME: 'éééééééé' }, config, 4, /CNI_IFNAME/],
    ['unsupported version', env, { ...config, cniVersion: '0.2.0' }, 1, /not supported/],
    ['CHECK before 0.4.0', { ...env, CNI_COMMAND: 'CHECK' }, { ...config, cniVersion: '0.3.1' }, 1, /does not allow CHECK/],
    ['GC before 1.1.0', { CNI_COMMAND: 'GC' }, config, 1, /does not allow GC/],
    ['no name', env, { cniVersion: '1.0.0' }, 7, /name/],
    // found by the e2e fuzz: Neutron answers 500 to a tag search with astral characters
    ['name a Neutron tag cannot hold', env, { ...config, name: 'net🙂' }, 7, /network configuration "name" has characters a Neutron tag cannot store/],
    ['ifname a Neutron tag cannot hold', { ...env, CNI_IFNAME: 'e🙂' }, config, 4, /CNI_IFNAME has characters a Neutron tag cannot store/],
  ];
  for (const [what, e, c, code, re] of rows) {
    assert.throws(() => decodeCall({ env: e, config: c }), (err: unknown) => err instanceof CniError && err.code === code && re.test(err.message), what);
  }
  // such an attachment cannot exist: DEL and GC decode, and have nothing to do
  assert.equal(decodeCall({ env: { ...env, CNI_COMMAND: 'DEL', CNI_IFNAME: 'e🙂' }, config }).untaggable, true);
  assert.equal(decodeCall({ env: { CNI_COMMAND: 'GC', CNI_IFNAME: 'e🙂' }, config: { ...config, cniVersion: '1.1.0' } }).untaggable, false);
  assert.equal(decodeCall({ env: { CNI_COMMAND: 'GC' }, config: { ...config, cniVersion: '1.1.0', name: 'n\ud800' } }).untaggable, true);
  // DEL needs no netns
  assert.equal(decodeCall({ env: { ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, config }).netns, '');
});

test('parseCniArgs and validAttachments', () => {
  assert.deepEqual(parseCniArgs('IgnoreUnknown=1;A=b=c;;K='), { IgnoreUnknown: '1', A: 'b=c', K: '' });
  assert.throws(() => parseCniArgs('novalue'), InvalidInputError);
  assert.deepEqual(validAttachments({ 'cni.dev/valid-attachments': [{ containerID: 'c', ifname: 'eth0' }] }), [{ containerId: 'c', ifName: 'eth0' }]);
  assert.deepEqual(validAttachments({ 'cni.dev/attachments': [{ containerID: 'c', ifname: 'eth1' }] }), [{ containerId: 'c', ifName: 'eth1' }]);
  assert.deepEqual(validAttachments({}), []);
  assert.throws(() => validAttachments({ 'cni.dev/valid-attachments': [{ containerID: 1 }] }), (e: unknown) => e instanceof CniError && e.code === 7);
});

test('error → CNI code mapping (table-driven)', () => {
  const rows: Array<[unknown, number]> = [
    [new CniError(8, 'x'), 8],
    [new InvalidInputError('x', 'CNI_ARGS'), 4],
    [new InvalidInputError('x', 'config.name'), 7],
    [new ConfigError('x'), 7],
    [new NotFoundError('x'), 3],
    [new ConflictError('x'), 100],
    [new UnavailableError('x'), 11],
    [new TimeoutError('x'), 11],
    [new NeutronError('x', { status: 409 }), 11],
    [new NeutronError('x', { status: 503 }), 11],
    [new NeutronError('x', { status: 400 }), 7],
    [new Error('x'), 999],
  ];
  for (const [err, code] of rows) assert.equal(cniCode(err), code, String(err));
});
