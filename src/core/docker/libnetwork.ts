/**
 * The Docker libnetwork use cases (NetworkDriver + IpamDriver), in domain terms.
 * `northbound/docker` decodes the wire JSON into these requests and encodes the
 * results; `core/docker/driver.ts` implements them over Neutron and a Binder, one class per concern.
 * Behaviour reference: the Python kuryr-libnetwork driver.
 */
import type { PoolStats } from '../port-pool/pool-model.js';

/** One element of Docker's `IPv4Data` / `IPv6Data`. */
export interface PoolData {
  addressSpace: string;
  /** CIDR as Docker sent it (whatever RequestPool answered). */
  pool: string;
  /** `a.b.c.d/len` as Docker sends it, or absent. */
  gateway?: string;
  auxAddresses: Record<string, string>;
}

/**
 * A Neutron resource the user picked: by UUID (wins) or by name. The names of the options that carry
 * them travel along so an error can name what the user typed.
 */
export interface NeutronPick {
  uuid?: string;
  name?: string;
  uuidOption: string;
  nameOption: string;
}

/** The user's subnet and subnetpool of one address family. */
export interface FamilyPicks {
  subnet: NeutronPick;
  pool: NeutronPick;
}

/** What the user chose in Neutron terms (translated from Docker's `-o` / `--ipam-opt` maps). */
export interface NeutronChoices {
  network: NeutronPick;
  /** Neutron `shared` of a network made here, or required of a user network/pool. */
  shared: boolean;
  sharedOption: string;
  v4: FamilyPicks;
  v6: FamilyPicks;
}

export interface CreateNetworkRequest {
  networkId: string;
  ipv4Data: PoolData[];
  ipv6Data: PoolData[];
  neutron: NeutronChoices;
  enableIpv6: boolean;
}

export interface CreateEndpointRequest {
  networkId: string;
  endpointId: string;
  /** CIDR form, e.g. `10.0.0.5/24`; empty/absent when none. */
  address?: string;
  addressIpv6?: string;
  macAddress?: string;
}

/** What CreateEndpoint answers inside `Interface`; only the fields Docker did not send. */
export interface CreateEndpointResult {
  macAddress?: string;
  address?: string;
  addressIpv6?: string;
}

export interface EndpointRef {
  networkId: string;
  endpointId: string;
}

export interface JoinRequest extends EndpointRef {
  sandboxKey: string;
}

export interface StaticRoute {
  destination: string;
  /** 0 = next hop, 1 = connected (libnetwork's types.NEXTHOP / CONNECTED). */
  routeType: 0 | 1;
  nextHop?: string;
}

export interface JoinResult {
  srcName: string;
  dstPrefix: string;
  /** Absent when the port has no address of that family; `null` when its subnet has no gateway. */
  gateway?: string | null;
  gatewayIpv6?: string | null;
  staticRoutes: StaticRoute[];
  disableGatewayService: boolean;
}

export interface ExposedPort {
  proto: number;
  port: number;
}

export interface ExternalConnectivityRequest extends EndpointRef {
  exposedPorts: ExposedPort[];
}

export interface RequestPoolRequest {
  addressSpace: string;
  pool: string;
  subPool: string;
  /** From the `--ipam-opt` map. */
  neutron: NeutronChoices;
  v6: boolean;
}

export interface RequestPoolResult {
  poolId: string;
  pool: string;
  data: Record<string, string>;
}

export interface RequestAddressRequest {
  poolId: string;
  /** Plain IP or empty. */
  address: string;
  /** Docker asks for the network's gateway address (`RequestAddressType` = gateway). */
  gateway: boolean;
  /** The endpoint's MAC when Docker sent one; kuryr IPAM creates the port with it. */
  macAddress?: string;
}

export interface ReleaseAddressRequest {
  poolId: string;
  /** Plain IP (Docker sends no prefix here). */
  address: string;
}

export interface DriverCapabilities {
  scope: 'local' | 'global';
  connectivityScope: 'local' | 'global';
}

/** NetworkDriver.CreateNetwork / DeleteNetwork. */
export interface NetworkUseCases {
  createNetwork(req: CreateNetworkRequest): Promise<void>;
  /** Idempotent: an unknown network is success. */
  deleteNetwork(networkId: string): Promise<void>;
}

/** NetworkDriver.CreateEndpoint / DeleteEndpoint. */
export interface EndpointUseCases {
  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResult>;
  /** Idempotent, and safe right after a half-finished CreateEndpoint (Docker's rollback). */
  deleteEndpoint(ref: EndpointRef): Promise<void>;
}

/** NetworkDriver.Join / Leave / EndpointOperInfo: what the container's sandbox gets. */
export interface SandboxUseCases {
  endpointOperInfo(ref: EndpointRef): Promise<Record<string, unknown>>;
  join(req: JoinRequest): Promise<JoinResult>;
  leave(ref: EndpointRef): Promise<void>;
}

/** NetworkDriver.ProgramExternalConnectivity / RevokeExternalConnectivity (`--expose`). */
export interface ExternalConnectivityUseCases {
  programExternalConnectivity(req: ExternalConnectivityRequest): Promise<void>;
  revokeExternalConnectivity(ref: EndpointRef): Promise<void>;
}

/** IpamDriver.RequestPool / ReleasePool. */
export interface PoolUseCases {
  requestPool(req: RequestPoolRequest): Promise<RequestPoolResult>;
  /** Idempotent. */
  releasePool(poolId: string): Promise<void>;
}

/** IpamDriver.RequestAddress / ReleaseAddress. */
export interface AddressUseCases {
  /** Answers `ip/prefixlen`. */
  requestAddress(req: RequestAddressRequest): Promise<string>;
  /** Idempotent. */
  releaseAddress(req: ReleaseAddressRequest): Promise<void>;
}

/** Kuryr's own verbs for `kuryr pool`: this host's port pools. */
export interface PortPoolUseCases {
  /** `kuryr pool show`: this host's port pools (empty when pools are off). */
  poolStats(): PoolStats[];
  /** `kuryr pool fill`: creates `count` ready ports in the pool of a Neutron network now; answers how many became ready. */
  poolFill(networkId: string, count: number): Promise<number>;
  /** `kuryr pool drain`: deletes the free ports of a Neutron network's pool; answers how many. */
  poolDrain(networkId: string): Promise<number>;
}

/**
 * The whole Docker remote driver (NetworkDriver + IpamDriver), one use-case object per concern; the
 * northbound routes each verb to the object of its concern. The method names are Docker's verbs.
 */
export interface LibnetworkService {
  capabilities(): DriverCapabilities;
  defaultAddressSpaces(): { local: string; global: string };
  ipamCapabilities(): { requiresMacAddress: boolean; requiresRequestReplay: boolean };
  readonly networks: NetworkUseCases;
  readonly endpoints: EndpointUseCases;
  readonly sandboxes: SandboxUseCases;
  readonly connectivity: ExternalConnectivityUseCases;
  readonly pools: PoolUseCases;
  readonly addresses: AddressUseCases;
  readonly portPools: PortPoolUseCases;
}
