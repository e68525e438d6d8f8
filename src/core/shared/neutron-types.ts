/**
 * Domain views of Neutron resources, camelCase. The southbound client translates
 * Neutron's snake_case wire JSON to and from these; core never sees the wire shape.
 */

export interface Network {
  id: string;
  name: string;
  projectId: string;
  adminStateUp: boolean;
  shared: boolean;
  status: string;
  /** Absent when the net-mtu extension is off; Kuryr then assumes 1500. */
  mtu: number | undefined;
  subnetIds: string[];
  tags: string[];
  /** Neutron's `updated_at` (UTC, ISO 8601), when Neutron reports it. */
  updatedAt?: string;
  networkType: string | undefined;
  external: boolean;
}

export interface HostRoute {
  destination: string;
  nexthop: string;
}

export interface AllocationPool {
  start: string;
  end: string;
}

export interface Subnet {
  id: string;
  name: string;
  networkId: string;
  projectId: string;
  ipVersion: 4 | 6;
  cidr: string;
  gatewayIp: string | null;
  subnetpoolId: string | null;
  enableDhcp: boolean;
  hostRoutes: HostRoute[];
  dnsNameservers: string[];
  allocationPools: AllocationPool[];
  ipv6AddressMode: string | null;
  ipv6RaMode: string | null;
  tags: string[];
}

export interface SubnetPool {
  id: string;
  name: string;
  projectId: string;
  prefixes: string[];
  defaultPrefixlen: number;
  minPrefixlen: number;
  maxPrefixlen: number;
  ipVersion: 4 | 6;
  shared: boolean;
  isDefault: boolean;
  tags: string[];
  /** Neutron's `updated_at` (UTC, ISO 8601), when Neutron reports it. */
  updatedAt?: string;
}

export interface FixedIp {
  subnetId: string;
  ipAddress: string;
}

export interface AllowedAddressPair {
  ipAddress: string;
  macAddress?: string;
}

export interface Port {
  id: string;
  name: string;
  networkId: string;
  projectId: string;
  macAddress: string;
  adminStateUp: boolean;
  status: string;
  fixedIps: FixedIp[];
  deviceId: string;
  deviceOwner: string;
  /** `binding:host_id`; empty when unbound or hidden from a non-admin caller. */
  hostId: string;
  /** `binding:vif_type`, e.g. `ovs`, `bridge`, `unbound`, `binding_failed`. */
  vifType: string;
  /** `binding:vif_details` as Neutron returns it. */
  vifDetails: Record<string, unknown>;
  /** `binding:vnic_type`, `normal` by default. */
  vnicType: string;
  /** `binding:profile`. */
  bindingProfile: Record<string, unknown>;
  securityGroups: string[];
  portSecurityEnabled: boolean | undefined;
  allowedAddressPairs: AllowedAddressPair[];
  tags: string[];
  /** `revision_number` (standard-attr-revisions); 0 when Neutron does not report it. */
  revisionNumber: number;
  /** Neutron's `updated_at` (UTC, ISO 8601), when Neutron reports it; how long a leftover has been untouched. */
  updatedAt?: string;
  /** `trunk_details` when the port is a trunk parent. */
  trunkDetails: { trunkId: string; subPorts: Array<{ portId: string; segmentationType: string; segmentationId: number; macAddress: string }> } | undefined;
}

export interface SecurityGroupRule {
  id: string;
  securityGroupId: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
  description: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  projectId: string;
  rules: SecurityGroupRule[];
  tags: string[];
}

export interface Extension {
  alias: string;
  name: string;
  description: string;
}

/** Resource collections that carry standard-attr tags (the URL segment in `/v2.0/{kind}/{id}/tags`). */
export type TaggableKind = 'networks' | 'subnets' | 'subnetpools' | 'ports' | 'security-groups';

/** One subport of a trunk: a port and the VLAN id its traffic carries on the parent. */
export interface SubPort {
  portId: string;
  segmentationType: string;
  segmentationId: number;
}

/** A trunk; nested VLAN mode finds it by its parent, the VM port. */
export interface Trunk {
  id: string;
  name: string;
  portId: string;
  projectId: string;
  status: string;
  adminStateUp: boolean;
  subPorts: SubPort[];
  tags: string[];
}
