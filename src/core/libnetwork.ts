/**
 * The Docker libnetwork use cases (NetworkDriver + IpamDriver), in domain terms.
 * `northbound/docker` decodes the wire JSON into these requests and encodes the
 * results; `core/libnetwork-service.ts` implements them over Neutron and a Binder.
 * Behaviour reference: ../shared/specs/kuryr-libnetwork.md §4.
 */
import type { PoolStats } from './port-pool/pool-model.js';

/** One element of Docker's `IPv4Data` / `IPv6Data`. */
export interface PoolData {
  addressSpace: string;
  /** CIDR as Docker sent it (whatever RequestPool answered). */
  pool: string;
  /** `a.b.c.d/len` as Docker sends it, or absent. */
  gateway?: string;
  auxAddresses: Record<string, string>;
}

export interface CreateNetworkRequest {
  networkId: string;
  ipv4Data: PoolData[];
  ipv6Data: PoolData[];
  /** The `-o` map (`Options["com.docker.network.generic"]`), values as strings. */
  genericOptions: Record<string, string>;
  enableIpv6: boolean;
}

export interface CreateEndpointRequest {
  networkId: string;
  endpointId: string;
  /** CIDR form, e.g. `10.0.0.5/24`; empty/absent when none. */
  address?: string;
  addressIpv6?: string;
  macAddress?: string;
  options: Record<string, unknown>;
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
  options: Record<string, unknown>;
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
  /** The `--ipam-opt` map. */
  options: Record<string, string>;
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
  options: Record<string, string>;
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

export interface LibnetworkService {
  capabilities(): DriverCapabilities;
  defaultAddressSpaces(): { local: string; global: string };
  ipamCapabilities(): { requiresMacAddress: boolean; requiresRequestReplay: boolean };

  createNetwork(req: CreateNetworkRequest): Promise<void>;
  /** Idempotent: an unknown network is success. */
  deleteNetwork(networkId: string): Promise<void>;
  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResult>;
  endpointOperInfo(ref: EndpointRef): Promise<Record<string, unknown>>;
  /** Idempotent, and safe right after a half-finished CreateEndpoint (Docker's rollback). */
  deleteEndpoint(ref: EndpointRef): Promise<void>;
  join(req: JoinRequest): Promise<JoinResult>;
  leave(ref: EndpointRef): Promise<void>;
  programExternalConnectivity(req: ExternalConnectivityRequest): Promise<void>;
  revokeExternalConnectivity(ref: EndpointRef): Promise<void>;

  requestPool(req: RequestPoolRequest): Promise<RequestPoolResult>;
  /** Idempotent. */
  releasePool(poolId: string): Promise<void>;
  /** Answers `ip/prefixlen`. */
  requestAddress(req: RequestAddressRequest): Promise<string>;
  /** Idempotent. */
  releaseAddress(req: ReleaseAddressRequest): Promise<void>;

  /** `kuryr pool show`: this host's port pools (empty when pools are off). */
  poolStats(): PoolStats[];
  /** `kuryr pool fill`: creates `count` ready ports in the pool of a Neutron network now; answers how many became ready. */
  poolFill(networkId: string, count: number): Promise<number>;
  /** `kuryr pool drain`: deletes the free ports of a Neutron network's pool; answers how many. */
  poolDrain(networkId: string): Promise<number>;
}
