import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fc from 'fast-check';
import {
  filterToQuery,
  networkToDomain,
  normalizeBool,
  portCreateToWire,
  portToDomain,
  routerCreateToWire,
  securityGroupRuleCreateToWire,
  subnetCreateToWire,
  subnetPoolToDomain,
  trunkCreateToWire,
  trunkToDomain,
} from '../../src/southbound/openstack/neutron-wire.js';
import { toNeutronError } from '../../src/southbound/openstack/neutron.js';

test('filterToQuery repeats fixed_ips and comma-joins tag filters', () => {
  const q = filterToQuery({
    networkId: 'n1',
    hostId: 'h1',
    ipVersion: 4,
    shared: false,
    fixedIps: [{ subnetId: 's1', ipAddress: '10.0.0.5' }, { ipAddress: '10.0.0.6' }],
    tags: ['a', 'b'],
    tagsAny: ['c'],
    notTags: ['d', 'e'],
    notTagsAny: ['f'],
  });
  assert.deepEqual(q.getAll('fixed_ips'), ['subnet_id=s1', 'ip_address=10.0.0.5', 'ip_address=10.0.0.6']);
  assert.equal(q.get('network_id'), 'n1');
  assert.equal(q.get('binding:host_id'), 'h1');
  assert.equal(q.get('ip_version'), '4');
  assert.equal(q.get('shared'), 'false');
  assert.equal(q.get('tags'), 'a,b');
  assert.equal(q.get('tags-any'), 'c');
  assert.equal(q.get('not-tags'), 'd,e');
  assert.equal(q.get('not-tags-any'), 'f');
});

test('filterToQuery leaves out empty tag lists and absent keys', () => {
  assert.equal(filterToQuery({ tags: [], name: undefined }).toString(), '');
  assert.equal(filterToQuery().toString(), '');
});

test('filterToQuery: any tag list survives a round trip through the query string', () => {
  const tag = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes(','));
  fc.assert(
    fc.property(fc.array(tag, { minLength: 1, maxLength: 5 }), (tags) => {
      const parsed = new URLSearchParams(filterToQuery({ tags }).toString());
      assert.deepEqual(parsed.get('tags')?.split(','), tags);
    }),
  );
});

test('portToDomain maps binding:* and trunk_details', () => {
  const p = portToDomain({
    id: 'p1',
    network_id: 'n1',
    tenant_id: 't1',
    mac_address: 'fa:16:3e:00:00:01',
    fixed_ips: [{ subnet_id: 's1', ip_address: '10.0.0.2' }],
    'binding:host_id': 'host-a',
    'binding:vif_type': 'ovs',
    'binding:vif_details': { port_filter: true },
    'binding:vnic_type': 'normal',
    'binding:profile': {},
    allowed_address_pairs: [{ ip_address: '10.0.0.9' }],
    trunk_details: { trunk_id: 't9', sub_ports: [{ port_id: 'sp', segmentation_type: 'vlan', segmentation_id: 101, mac_address: 'm' }] },
  });
  assert.equal(p.projectId, 't1');
  assert.equal(p.hostId, 'host-a');
  assert.equal(p.vifType, 'ovs');
  assert.deepEqual(p.vifDetails, { port_filter: true });
  assert.deepEqual(p.fixedIps, [{ subnetId: 's1', ipAddress: '10.0.0.2' }]);
  assert.deepEqual(p.allowedAddressPairs, [{ ipAddress: '10.0.0.9' }]);
  assert.equal(p.trunkDetails?.subPorts[0]?.segmentationId, 101);
  assert.deepEqual(p.tags, []);
});

test('portCreateToWire sends only present keys under wire names', () => {
  assert.deepEqual(
    portCreateToWire({ networkId: 'n', hostId: 'h', fixedIps: [{ subnetId: 's' }], bindingProfile: { a: 1 }, allowedAddressPairs: [{ ipAddress: '1.2.3.4', macAddress: 'm' }] }),
    {
      network_id: 'n',
      'binding:host_id': 'h',
      'binding:profile': { a: 1 },
      fixed_ips: [{ subnet_id: 's' }],
      allowed_address_pairs: [{ ip_address: '1.2.3.4', mac_address: 'm' }],
    },
  );
});

test('subnetCreateToWire keeps gateway_ip null and normalizes a string enable_dhcp', () => {
  const w = subnetCreateToWire({ networkId: 'n', ipVersion: 4, cidr: '10.0.0.0/24', gatewayIp: null, enableDhcp: 'False' as unknown as boolean });
  assert.deepEqual(w, { network_id: 'n', ip_version: 4, cidr: '10.0.0.0/24', gateway_ip: null, enable_dhcp: false });
  assert.equal('gateway_ip' in subnetCreateToWire({ networkId: 'n', ipVersion: 4 }), false);
  assert.equal(normalizeBool('True'), true);
  assert.equal(normalizeBool('0'), false);
  assert.equal(normalizeBool(true), true);
});

test('other create bodies and domain views', () => {
  assert.deepEqual(routerCreateToWire({ name: 'r', externalNetworkId: 'ext' }), { name: 'r', external_gateway_info: { network_id: 'ext' } });
  assert.deepEqual(trunkCreateToWire({ portId: 'p', subPorts: [{ portId: 's', segmentationType: 'vlan', segmentationId: 5 }] }), {
    port_id: 'p',
    sub_ports: [{ port_id: 's', segmentation_type: 'vlan', segmentation_id: 5 }],
  });
  assert.deepEqual(securityGroupRuleCreateToWire({ securityGroupId: 'g', direction: 'ingress', protocol: null, portRangeMin: 80 }), {
    security_group_id: 'g',
    direction: 'ingress',
    protocol: null,
    port_range_min: 80,
  });
  const n = networkToDomain({ id: 'n', project_id: 'p', mtu: 1450, 'provider:network_type': 'vxlan', 'router:external': true });
  assert.equal(n.mtu, 1450);
  assert.equal(n.networkType, 'vxlan');
  assert.equal(n.external, true);
  assert.equal(subnetPoolToDomain({ id: 'sp', default_prefixlen: '26', ip_version: 4 }).defaultPrefixlen, 26);
  assert.deepEqual(trunkToDomain({ id: 't', port_id: 'p', sub_ports: [{ port_id: 's', segmentation_type: 'vlan', segmentation_id: 7 }] }).subPorts, [
    { portId: 's', segmentationType: 'vlan', segmentationId: 7 },
  ]);
});

test('toNeutronError parses NeutronError bodies, request id and odd bodies', () => {
  const e = toNeutronError('POST', '/v2.0/ports', {
    status: 409,
    headers: { 'x-openstack-request-id': 'req-123' },
    body: { NeutronError: { type: 'IpAddressAlreadyAllocated', message: 'IP address 10.0.0.5 already allocated', detail: '' } },
    text: '',
  });
  assert.equal(e.status, 409);
  assert.equal(e.type, 'IpAddressAlreadyAllocated');
  assert.equal(e.requestId, 'req-123');
  assert.equal(e.isConflict, true);
  assert.match(e.message, /^failed to POST \/v2\.0\/ports: 409 IpAddressAlreadyAllocated IP address 10\.0\.0\.5 already allocated \(request req-123\)$/);

  const html = toNeutronError('GET', '/v2.0/networks', { status: 503, headers: {}, body: undefined, text: '<html><h1>Service Unavailable</h1></html>' });
  assert.equal(html.status, 503);
  assert.equal(html.type, undefined);
  assert.match(html.message, /503 Service Unavailable/);

  const webob = toNeutronError('GET', '/v2.0/x', { status: 400, headers: {}, body: { badRequest: { message: 'bad filter' } }, text: '' });
  assert.equal(webob.type, 'badRequest');
  assert.match(webob.message, /bad filter/);
});
