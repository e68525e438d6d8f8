import type {
  AllowedAddressPair,
  Extension,
  FixedIp,
  HostRoute,
  Network,
  Port,
  SecurityGroup,
  SecurityGroupRule,
  SubPort,
  Subnet,
  SubnetPool,
  TaggableKind,
  Trunk,
} from './neutron-types.js';

/**
 * Query filters for list calls. Scalars become `key=value`; arrays of
 * `fixedIps` become repeated `fixed_ips=subnet_id=...` / `fixed_ips=ip_address=...`.
 * `tags` means "has all of these", `tagsAny` "has at least one", as in Neutron.
 */
export interface ListFilter {
  id?: string;
  name?: string;
  projectId?: string;
  networkId?: string;
  cidr?: string;
  subnetpoolId?: string;
  ipVersion?: 4 | 6;
  macAddress?: string;
  deviceId?: string;
  deviceOwner?: string;
  hostId?: string;
  portId?: string;
  securityGroupId?: string;
  shared?: boolean;
  fixedIps?: Array<{ subnetId?: string; ipAddress?: string }>;
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  notTagsAny?: string[];
}

export interface NetworkCreate {
  name: string;
  adminStateUp?: boolean;
  shared?: boolean;
  projectId?: string;
  mtu?: number;
  portSecurityEnabled?: boolean;
  external?: boolean;
  providerNetworkType?: string;
  providerPhysicalNetwork?: string;
}

export interface SubnetCreate {
  networkId: string;
  ipVersion: 4 | 6;
  name?: string;
  cidr?: string;
  subnetpoolId?: string;
  prefixlen?: number;
  /** `null` asks Neutron for no gateway; absent lets Neutron pick the first host. */
  gatewayIp?: string | null;
  /** kuryr.conf's `[neutron] enable_dhcp` is a string option sent verbatim; the client normalizes it. */
  enableDhcp?: boolean;
  hostRoutes?: HostRoute[];
  dnsNameservers?: string[];
  allocationPools?: Array<{ start: string; end: string }>;
  ipv6AddressMode?: string;
  ipv6RaMode?: string;
  projectId?: string;
}

export interface SubnetPoolCreate {
  name: string;
  prefixes: string[];
  defaultPrefixlen?: number;
  minPrefixlen?: number;
  maxPrefixlen?: number;
  shared?: boolean;
  isDefault?: boolean;
  projectId?: string;
}

export interface PortCreate {
  networkId: string;
  name?: string;
  adminStateUp?: boolean;
  macAddress?: string;
  fixedIps?: Array<{ subnetId?: string; ipAddress?: string }>;
  deviceId?: string;
  deviceOwner?: string;
  hostId?: string;
  vnicType?: string;
  bindingProfile?: Record<string, unknown>;
  securityGroups?: string[];
  portSecurityEnabled?: boolean;
  allowedAddressPairs?: AllowedAddressPair[];
  projectId?: string;
  /** Tags set in the same POST (Neutron's `tag-ports-during-bulk-creation`); one call instead of a PUT per port. */
  tags?: string[];
}

/** Fields a port update may change; only the keys present are sent. */
export type PortUpdate = Partial<
  Pick<
    PortCreate,
    'name' | 'adminStateUp' | 'macAddress' | 'fixedIps' | 'deviceId' | 'deviceOwner' | 'hostId' | 'securityGroups' | 'portSecurityEnabled' | 'allowedAddressPairs' | 'bindingProfile'
  >
>;

export interface SecurityGroupCreate {
  name: string;
  description?: string;
  projectId?: string;
}

export interface SecurityGroupRuleCreate {
  securityGroupId: string;
  direction: 'ingress' | 'egress';
  ethertype?: 'IPv4' | 'IPv6';
  protocol?: string | null;
  portRangeMin?: number | null;
  portRangeMax?: number | null;
  remoteIpPrefix?: string | null;
  remoteGroupId?: string | null;
  description?: string;
}

/**
 * What core calls on Neutron v2.0, and nothing more (routers, trunks and the like are only on the
 * southbound client, for the tests that build topologies). Implemented by `southbound/openstack`, faked in tests.
 * Every method throws `NeutronError` (status, type, request id) on an error answer,
 * `UnavailableError` when Neutron cannot be reached and `AuthError` when Keystone refuses.
 * Deletes throw a 404 `NeutronError` for a missing resource; callers that want idempotence
 * use `isNotFound()`.
 */
export interface NeutronApi {
  /** `null` when the extension alias is not loaded (404). */
  getExtension(alias: string): Promise<Extension | null>;

  listNetworks(filter?: ListFilter): Promise<Network[]>;
  getNetwork(id: string): Promise<Network>;
  createNetwork(body: NetworkCreate): Promise<Network>;
  updateNetwork(id: string, body: Partial<NetworkCreate>): Promise<Network>;
  deleteNetwork(id: string): Promise<void>;

  listSubnets(filter?: ListFilter): Promise<Subnet[]>;
  getSubnet(id: string): Promise<Subnet>;
  /** Bulk create in one POST (`{"subnets": [...]}`); all or nothing on Neutron's side. */
  createSubnets(bodies: SubnetCreate[]): Promise<Subnet[]>;
  deleteSubnet(id: string): Promise<void>;

  listSubnetPools(filter?: ListFilter): Promise<SubnetPool[]>;
  getSubnetPool(id: string): Promise<SubnetPool>;
  createSubnetPool(body: SubnetPoolCreate): Promise<SubnetPool>;
  deleteSubnetPool(id: string): Promise<void>;

  listPorts(filter?: ListFilter): Promise<Port[]>;
  getPort(id: string): Promise<Port>;
  createPort(body: PortCreate): Promise<Port>;
  /** Bulk create in one POST (`{"ports": [...]}`): a pool's batch. */
  createPorts(bodies: PortCreate[]): Promise<Port[]>;
  /**
   * With `ifRevision`, sent as `If-Match: revision_number=N`: Neutron applies the update only if the
   * port is still at that revision, else answers 412 (`isPreconditionFailed`), so read-modify-write
   * of a list (allowed_address_pairs) cannot lose a concurrent writer's change.
   */
  updatePort(id: string, body: PortUpdate, opts?: { ifRevision?: number }): Promise<Port>;
  deletePort(id: string): Promise<void>;

  listSecurityGroups(filter?: ListFilter): Promise<SecurityGroup[]>;
  createSecurityGroup(body: SecurityGroupCreate): Promise<SecurityGroup>;
  deleteSecurityGroup(id: string): Promise<void>;
  createSecurityGroupRule(body: SecurityGroupRuleCreate): Promise<SecurityGroupRule>;
  deleteSecurityGroupRule(id: string): Promise<void>;

  /** Namespace networks: their subnets are attached to `[namespace_subnet] pod_router` and detached again. */
  addRouterInterface(routerId: string, ref: { subnetId?: string; portId?: string }): Promise<{ portId: string; subnetId: string }>;
  removeRouterInterface(routerId: string, ref: { subnetId?: string; portId?: string }): Promise<void>;

  /** Trunks filtered by `id` or by parent `portId` (nested VLAN mode). */
  listTrunks(filter?: ListFilter): Promise<Trunk[]>;
  /** `PUT /v2.0/trunks/{id}/add_subports`; 409 `DuplicateSubPort` when a VLAN id or port is already on the trunk. */
  addSubports(trunkId: string, subPorts: SubPort[]): Promise<Trunk>;
  removeSubports(trunkId: string, portIds: string[]): Promise<Trunk>;

  /** `PUT /v2.0/{kind}/{id}/tags/{tag}`; idempotent on Neutron's side. */
  addTag(kind: TaggableKind, id: string, tag: string): Promise<void>;
  /** `DELETE /v2.0/{kind}/{id}/tags/{tag}`; a missing tag is not an error. */
  removeTag(kind: TaggableKind, id: string, tag: string): Promise<void>;
  /** `PUT /v2.0/{kind}/{id}/tags` replacing the whole list. */
  setTags(kind: TaggableKind, id: string, tags: string[]): Promise<string[]>;
}

export type { FixedIp, HostRoute };
