/**
 * Neutron v2.0 wire shapes (snake_case, as in https://docs.openstack.org/api-ref/network/v2/)
 * and the only place they are translated to and from the camelCase domain types.
 */
import type { ListFilter, NetworkCreate, PortCreate, PortUpdate, SecurityGroupCreate, SecurityGroupRuleCreate, SubnetCreate, SubnetPoolCreate } from '../../core/shared/neutron-api.js';
import type { Extension, Network, Port, SecurityGroup, SecurityGroupRule, Subnet, SubnetPool } from '../../core/shared/neutron-types.js';
import type { Router, RouterCreate, SubPort, Trunk, TrunkCreate } from './neutron-admin-types.js';

/** `GET /v2.0/networks/{id}` → `network`. */
export interface NetworkWire {
  id: string;
  updated_at?: string;
  name?: string;
  project_id?: string;
  tenant_id?: string;
  admin_state_up?: boolean;
  shared?: boolean;
  status?: string;
  mtu?: number;
  subnets?: string[];
  tags?: string[];
  'provider:network_type'?: string;
  'router:external'?: boolean;
  port_security_enabled?: boolean;
}

/** `GET /v2.0/subnets/{id}` → `subnet`. */
export interface SubnetWire {
  id: string;
  name?: string;
  network_id: string;
  project_id?: string;
  tenant_id?: string;
  ip_version: number;
  cidr: string;
  gateway_ip?: string | null;
  subnetpool_id?: string | null;
  enable_dhcp?: boolean;
  host_routes?: Array<{ destination: string; nexthop: string }>;
  dns_nameservers?: string[];
  allocation_pools?: Array<{ start: string; end: string }>;
  ipv6_address_mode?: string | null;
  ipv6_ra_mode?: string | null;
  tags?: string[];
}

/** `GET /v2.0/subnetpools/{id}` → `subnetpool`. Older releases send the prefix lengths as strings. */
export interface SubnetPoolWire {
  id: string;
  updated_at?: string;
  name?: string;
  project_id?: string;
  tenant_id?: string;
  prefixes?: string[];
  default_prefixlen?: number | string;
  min_prefixlen?: number | string;
  max_prefixlen?: number | string;
  ip_version?: number;
  shared?: boolean;
  is_default?: boolean;
  tags?: string[];
}

/** `GET /v2.0/ports/{id}` → `port`. */
export interface PortWire {
  id: string;
  updated_at?: string;
  name?: string;
  network_id: string;
  project_id?: string;
  tenant_id?: string;
  mac_address?: string;
  admin_state_up?: boolean;
  status?: string;
  fixed_ips?: Array<{ subnet_id: string; ip_address: string }>;
  device_id?: string;
  device_owner?: string;
  'binding:host_id'?: string;
  'binding:vif_type'?: string;
  'binding:vif_details'?: Record<string, unknown>;
  'binding:vnic_type'?: string;
  'binding:profile'?: Record<string, unknown>;
  security_groups?: string[];
  port_security_enabled?: boolean;
  allowed_address_pairs?: Array<{ ip_address: string; mac_address?: string }>;
  tags?: string[];
  revision_number?: number;
  trunk_details?: {
    trunk_id: string;
    sub_ports?: Array<{ port_id: string; segmentation_type: string; segmentation_id: number; mac_address: string }>;
  };
}

/** `security_group_rule`. */
export interface SecurityGroupRuleWire {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype?: 'IPv4' | 'IPv6';
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
  description?: string | null;
}

/** `security_group`. */
export interface SecurityGroupWire {
  id: string;
  name?: string;
  description?: string | null;
  project_id?: string;
  tenant_id?: string;
  security_group_rules?: SecurityGroupRuleWire[];
  tags?: string[];
}

/** `router`. */
export interface RouterWire {
  id: string;
  name?: string;
  project_id?: string;
  tenant_id?: string;
  status?: string;
  admin_state_up?: boolean;
  external_gateway_info?: { network_id: string; enable_snat?: boolean } | null;
  tags?: string[];
}

/** `sub_ports[]` entry of a trunk. */
export interface SubPortWire {
  port_id: string;
  segmentation_type: string;
  segmentation_id: number;
}

/** `trunk`. */
export interface TrunkWire {
  id: string;
  name?: string;
  port_id: string;
  project_id?: string;
  tenant_id?: string;
  status?: string;
  admin_state_up?: boolean;
  sub_ports?: SubPortWire[];
  tags?: string[];
}

/** `extension`. */
export interface ExtensionWire {
  alias: string;
  name?: string;
  description?: string;
}

/** `{"NeutronError": {...}}`, the body of every Neutron error answer. */
export interface NeutronErrorWire {
  NeutronError?: { type?: string; message?: string; detail?: string };
}

const project = (w: { project_id?: string; tenant_id?: string }): string => w.project_id ?? w.tenant_id ?? '';

export function networkToDomain(w: NetworkWire): Network {
  return {
    id: w.id,
    name: w.name ?? '',
    projectId: project(w),
    adminStateUp: w.admin_state_up ?? true,
    shared: w.shared ?? false,
    status: w.status ?? '',
    mtu: w.mtu,
    subnetIds: w.subnets ?? [],
    tags: w.tags ?? [],
    ...(w.updated_at !== undefined ? { updatedAt: w.updated_at } : {}),
    networkType: w['provider:network_type'] ?? undefined,
    external: w['router:external'] ?? false,
  };
}

export function subnetToDomain(w: SubnetWire): Subnet {
  return {
    id: w.id,
    name: w.name ?? '',
    networkId: w.network_id,
    projectId: project(w),
    ipVersion: w.ip_version === 6 ? 6 : 4,
    cidr: w.cidr,
    gatewayIp: w.gateway_ip ?? null,
    subnetpoolId: w.subnetpool_id ?? null,
    enableDhcp: w.enable_dhcp ?? false,
    hostRoutes: w.host_routes ?? [],
    dnsNameservers: w.dns_nameservers ?? [],
    allocationPools: w.allocation_pools ?? [],
    ipv6AddressMode: w.ipv6_address_mode ?? null,
    ipv6RaMode: w.ipv6_ra_mode ?? null,
    tags: w.tags ?? [],
  };
}

export function subnetPoolToDomain(w: SubnetPoolWire): SubnetPool {
  return {
    id: w.id,
    name: w.name ?? '',
    projectId: project(w),
    prefixes: w.prefixes ?? [],
    defaultPrefixlen: Number(w.default_prefixlen ?? 0),
    minPrefixlen: Number(w.min_prefixlen ?? 0),
    maxPrefixlen: Number(w.max_prefixlen ?? 0),
    ipVersion: w.ip_version === 6 ? 6 : 4,
    shared: w.shared ?? false,
    isDefault: w.is_default ?? false,
    tags: w.tags ?? [],
    ...(w.updated_at !== undefined ? { updatedAt: w.updated_at } : {}),
  };
}

export function portToDomain(w: PortWire): Port {
  return {
    id: w.id,
    name: w.name ?? '',
    networkId: w.network_id,
    projectId: project(w),
    macAddress: w.mac_address ?? '',
    adminStateUp: w.admin_state_up ?? true,
    status: w.status ?? '',
    fixedIps: (w.fixed_ips ?? []).map((ip) => ({ subnetId: ip.subnet_id, ipAddress: ip.ip_address })),
    deviceId: w.device_id ?? '',
    deviceOwner: w.device_owner ?? '',
    hostId: w['binding:host_id'] ?? '',
    vifType: w['binding:vif_type'] ?? '',
    vifDetails: w['binding:vif_details'] ?? {},
    vnicType: w['binding:vnic_type'] ?? 'normal',
    bindingProfile: w['binding:profile'] ?? {},
    securityGroups: w.security_groups ?? [],
    portSecurityEnabled: w.port_security_enabled,
    allowedAddressPairs: (w.allowed_address_pairs ?? []).map((p) =>
      p.mac_address === undefined ? { ipAddress: p.ip_address } : { ipAddress: p.ip_address, macAddress: p.mac_address },
    ),
    tags: w.tags ?? [],
    revisionNumber: w.revision_number ?? 0,
    ...(w.updated_at !== undefined ? { updatedAt: w.updated_at } : {}),
    trunkDetails: w.trunk_details
      ? {
          trunkId: w.trunk_details.trunk_id,
          subPorts: (w.trunk_details.sub_ports ?? []).map((s) => ({
            portId: s.port_id,
            segmentationType: s.segmentation_type,
            segmentationId: s.segmentation_id,
            macAddress: s.mac_address,
          })),
        }
      : undefined,
  };
}

export function securityGroupRuleToDomain(w: SecurityGroupRuleWire): SecurityGroupRule {
  return {
    id: w.id,
    securityGroupId: w.security_group_id,
    direction: w.direction,
    ethertype: w.ethertype ?? 'IPv4',
    protocol: w.protocol ?? null,
    portRangeMin: w.port_range_min ?? null,
    portRangeMax: w.port_range_max ?? null,
    remoteIpPrefix: w.remote_ip_prefix ?? null,
    remoteGroupId: w.remote_group_id ?? null,
    description: w.description ?? '',
  };
}

export function securityGroupToDomain(w: SecurityGroupWire): SecurityGroup {
  return {
    id: w.id,
    name: w.name ?? '',
    description: w.description ?? '',
    projectId: project(w),
    rules: (w.security_group_rules ?? []).map(securityGroupRuleToDomain),
    tags: w.tags ?? [],
  };
}

export function routerToDomain(w: RouterWire): Router {
  const gw = w.external_gateway_info;
  return {
    id: w.id,
    name: w.name ?? '',
    projectId: project(w),
    status: w.status ?? '',
    adminStateUp: w.admin_state_up ?? true,
    externalGatewayInfo: gw
      ? gw.enable_snat === undefined
        ? { networkId: gw.network_id }
        : { networkId: gw.network_id, enableSnat: gw.enable_snat }
      : null,
    tags: w.tags ?? [],
  };
}

export function subPortToDomain(w: SubPortWire): SubPort {
  return { portId: w.port_id, segmentationType: w.segmentation_type, segmentationId: w.segmentation_id };
}

export function subPortToWire(s: SubPort): SubPortWire {
  return { port_id: s.portId, segmentation_type: s.segmentationType, segmentation_id: s.segmentationId };
}

export function trunkToDomain(w: TrunkWire): Trunk {
  return {
    id: w.id,
    name: w.name ?? '',
    portId: w.port_id,
    projectId: project(w),
    status: w.status ?? '',
    adminStateUp: w.admin_state_up ?? true,
    subPorts: (w.sub_ports ?? []).map(subPortToDomain),
    tags: w.tags ?? [],
  };
}

export function extensionToDomain(w: ExtensionWire): Extension {
  return { alias: w.alias, name: w.name ?? '', description: w.description ?? '' };
}

/** Copies defined values under their wire names; `null` is kept (it means "clear" to Neutron). */
function pick(src: object, names: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [domainKey, wireKey] of Object.entries(names)) {
    const v = (src as Record<string, unknown>)[domainKey];
    if (v !== undefined) out[wireKey] = v;
  }
  return out;
}

/**
 * kuryr.conf's `enable_dhcp` arrives as a string (`True`, `false`, `1`) from older configs;
 * Neutron wants a JSON boolean.
 */
export function normalizeBool(v: unknown): boolean {
  if (typeof v === 'string') return ['true', '1', 'yes', 'on'].includes(v.trim().toLowerCase());
  return Boolean(v);
}

export function networkCreateToWire(b: Partial<NetworkCreate>): Record<string, unknown> {
  return pick(b, {
    name: 'name',
    adminStateUp: 'admin_state_up',
    shared: 'shared',
    projectId: 'project_id',
    mtu: 'mtu',
    portSecurityEnabled: 'port_security_enabled',
    external: 'router:external',
    providerNetworkType: 'provider:network_type',
    providerPhysicalNetwork: 'provider:physical_network',
  });
}

export function subnetCreateToWire(b: Partial<SubnetCreate>): Record<string, unknown> {
  const out = pick(b, {
    networkId: 'network_id',
    ipVersion: 'ip_version',
    name: 'name',
    cidr: 'cidr',
    subnetpoolId: 'subnetpool_id',
    prefixlen: 'prefixlen',
    gatewayIp: 'gateway_ip',
    dnsNameservers: 'dns_nameservers',
    allocationPools: 'allocation_pools',
    ipv6AddressMode: 'ipv6_address_mode',
    ipv6RaMode: 'ipv6_ra_mode',
    projectId: 'project_id',
  });
  if (b.enableDhcp !== undefined) out.enable_dhcp = normalizeBool(b.enableDhcp);
  if (b.hostRoutes !== undefined) out.host_routes = b.hostRoutes.map((r) => ({ destination: r.destination, nexthop: r.nexthop }));
  return out;
}

export function subnetPoolCreateToWire(b: SubnetPoolCreate): Record<string, unknown> {
  return pick(b, {
    name: 'name',
    prefixes: 'prefixes',
    defaultPrefixlen: 'default_prefixlen',
    minPrefixlen: 'min_prefixlen',
    maxPrefixlen: 'max_prefixlen',
    shared: 'shared',
    isDefault: 'is_default',
    projectId: 'project_id',
  });
}

export function portCreateToWire(b: Partial<PortCreate> | PortUpdate): Record<string, unknown> {
  const out = pick(b, {
    networkId: 'network_id',
    name: 'name',
    adminStateUp: 'admin_state_up',
    macAddress: 'mac_address',
    deviceId: 'device_id',
    deviceOwner: 'device_owner',
    hostId: 'binding:host_id',
    vnicType: 'binding:vnic_type',
    bindingProfile: 'binding:profile',
    securityGroups: 'security_groups',
    portSecurityEnabled: 'port_security_enabled',
    projectId: 'project_id',
  });
  if (b.fixedIps !== undefined) out.fixed_ips = b.fixedIps.map((ip) => pick(ip, { subnetId: 'subnet_id', ipAddress: 'ip_address' }));
  if ('tags' in b && b.tags !== undefined) out.tags = [...b.tags];
  if (b.allowedAddressPairs !== undefined) {
    out.allowed_address_pairs = b.allowedAddressPairs.map((p) => pick(p, { ipAddress: 'ip_address', macAddress: 'mac_address' }));
  }
  return out;
}

export function securityGroupCreateToWire(b: SecurityGroupCreate): Record<string, unknown> {
  return pick(b, { name: 'name', description: 'description', projectId: 'project_id' });
}

export function securityGroupRuleCreateToWire(b: SecurityGroupRuleCreate): Record<string, unknown> {
  return pick(b, {
    securityGroupId: 'security_group_id',
    direction: 'direction',
    ethertype: 'ethertype',
    protocol: 'protocol',
    portRangeMin: 'port_range_min',
    portRangeMax: 'port_range_max',
    remoteIpPrefix: 'remote_ip_prefix',
    remoteGroupId: 'remote_group_id',
    description: 'description',
  });
}

export function routerCreateToWire(b: RouterCreate): Record<string, unknown> {
  const out = pick(b, { name: 'name', adminStateUp: 'admin_state_up', projectId: 'project_id' });
  if (b.externalNetworkId) out.external_gateway_info = { network_id: b.externalNetworkId };
  return out;
}

export function trunkCreateToWire(b: TrunkCreate): Record<string, unknown> {
  const out = pick(b, { portId: 'port_id', name: 'name', adminStateUp: 'admin_state_up', projectId: 'project_id' });
  if (b.subPorts !== undefined) out.sub_ports = b.subPorts.map(subPortToWire);
  return out;
}

/** Scalar filters and their Neutron query names. */
const FILTER_KEYS: Record<string, string> = {
  id: 'id',
  name: 'name',
  projectId: 'project_id',
  networkId: 'network_id',
  cidr: 'cidr',
  subnetpoolId: 'subnetpool_id',
  ipVersion: 'ip_version',
  macAddress: 'mac_address',
  deviceId: 'device_id',
  deviceOwner: 'device_owner',
  hostId: 'binding:host_id',
  portId: 'port_id',
  securityGroupId: 'security_group_id',
  shared: 'shared',
};

/**
 * Neutron query parameters for a filter: scalars as `key=value`, `fixed_ips` repeated
 * (`fixed_ips=subnet_id=X&fixed_ips=ip_address=Y`), tag filters comma-joined.
 */
export function filterToQuery(filter: ListFilter = {}): URLSearchParams {
  const q = new URLSearchParams();
  for (const [domainKey, wireKey] of Object.entries(FILTER_KEYS)) {
    const v = (filter as Record<string, unknown>)[domainKey];
    if (v !== undefined && v !== null) q.append(wireKey, String(v));
  }
  for (const ip of filter.fixedIps ?? []) {
    if (ip.subnetId !== undefined) q.append('fixed_ips', `subnet_id=${ip.subnetId}`);
    if (ip.ipAddress !== undefined) q.append('fixed_ips', `ip_address=${ip.ipAddress}`);
  }
  const tagFilters: Array<[string[] | undefined, string]> = [
    [filter.tags, 'tags'],
    [filter.tagsAny, 'tags-any'],
    [filter.notTags, 'not-tags'],
    [filter.notTagsAny, 'not-tags-any'],
  ];
  for (const [tags, key] of tagFilters) if (tags && tags.length > 0) q.append(key, tags.join(','));
  return q;
}
