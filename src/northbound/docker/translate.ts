/**
 * Wire ⇄ domain translation for every Docker verb: `<verb>ToDomain` takes a validated wire request
 * (api.ts) and returns the camelCase request of core/libnetwork.ts; `<verb>ToWire` encodes the result.
 * Answers match the Python driver's shapes, see docs/docker-api.md.
 */
import { boolFromString } from '../../common/bool-from-string.js';
import type * as core from '../../core/docker/libnetwork.js';
import type * as wire from './api.js';

/** The Docker option keys kuryr reads (`-o`, `--ipam-opt`, endpoint options), as the Python driver names them. */
export const OPT = {
  netUuid: 'neutron.net.uuid',
  netName: 'neutron.net.name',
  netShared: 'neutron.net.shared',
  subnetUuid: 'neutron.subnet.uuid',
  subnetName: 'neutron.subnet.name',
  subnetV6Uuid: 'neutron.subnet.v6.uuid',
  subnetV6Name: 'neutron.subnet.v6.name',
  poolUuid: 'neutron.pool.uuid',
  poolName: 'neutron.pool.name',
  poolV6Uuid: 'neutron.pool.v6.uuid',
  poolV6Name: 'neutron.pool.v6.name',
  requestAddressType: 'RequestAddressType',
  gatewayType: 'com.docker.network.gateway',
  macAddress: 'com.docker.network.endpoint.macaddress',
} as const;

/** A non-empty string option, else `undefined` (Docker sends `""` for "not given"). */
function given(options: Record<string, unknown>, key: string): string | undefined {
  const v = options[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function pick(options: Record<string, unknown>, uuidOption: string, nameOption: string): core.NeutronPick {
  const uuid = given(options, uuidOption);
  const name = given(options, nameOption);
  return { ...(uuid !== undefined ? { uuid } : {}), ...(name !== undefined ? { name } : {}), uuidOption, nameOption };
}

/** The `neutron.*` options of a `-o` or `--ipam-opt` map as typed choices. */
export function neutronChoicesToDomain(options: Record<string, unknown>): core.NeutronChoices {
  return {
    network: pick(options, OPT.netUuid, OPT.netName),
    shared: boolFromString(options[OPT.netShared]),
    sharedOption: OPT.netShared,
    v4: { subnet: pick(options, OPT.subnetUuid, OPT.subnetName), pool: pick(options, OPT.poolUuid, OPT.poolName) },
    v6: { subnet: pick(options, OPT.subnetV6Uuid, OPT.subnetV6Name), pool: pick(options, OPT.poolV6Uuid, OPT.poolV6Name) },
  };
}

/** The answer to `Plugin.Activate`: Kuryr is both a network and an IPAM driver. */
export const ACTIVATE_RESPONSE: wire.ActivateResponse = Object.freeze({
  Implements: ['NetworkDriver', 'IpamDriver'],
}) as wire.ActivateResponse;

type WireIpamData = NonNullable<wire.CreateNetworkRequest['IPv4Data']>[number];

function poolDataToDomain(d: WireIpamData): core.PoolData {
  return {
    addressSpace: d.AddressSpace,
    pool: d.Pool,
    ...(d.Gateway ? { gateway: d.Gateway } : {}),
    auxAddresses: d.AuxAddresses ?? {},
  };
}

/** Docker sends the `-o` map inside `Options["com.docker.network.generic"]`. */
export function createNetworkToDomain(w: wire.CreateNetworkRequest): core.CreateNetworkRequest {
  const ipv6 = w.Options?.['com.docker.network.enable_ipv6'];
  return {
    networkId: w.NetworkID,
    ipv4Data: (w.IPv4Data ?? []).map(poolDataToDomain),
    ipv6Data: (w.IPv6Data ?? []).map(poolDataToDomain),
    neutron: neutronChoicesToDomain(w.Options?.['com.docker.network.generic'] ?? {}),
    enableIpv6: ipv6 === true || ipv6 === 'true',
  };
}

/** AllocateNetwork (swarm manager) echoes the request's Options, as the Python driver does. */
export function allocateNetworkToWire(w: wire.AllocateNetworkRequest): wire.AllocateNetworkResponse {
  return { Options: w.Options ?? null };
}

/** Empty strings in `Interface` mean "not given" and are dropped. */
export function createEndpointToDomain(w: wire.CreateEndpointRequest): core.CreateEndpointRequest {
  const i = w.Interface;
  return {
    networkId: w.NetworkID,
    endpointId: w.EndpointID,
    ...(i?.Address ? { address: i.Address } : {}),
    ...(i?.AddressIPv6 ? { addressIpv6: i.AddressIPv6 } : {}),
    ...(i?.MacAddress ? { macAddress: i.MacAddress } : {}),
  };
}

/** Only fields the driver filled in; normally `{"Interface":{}}`. */
export function createEndpointToWire(r: core.CreateEndpointResult): wire.CreateEndpointResponse {
  return {
    Interface: {
      ...(r.address ? { Address: r.address } : {}),
      ...(r.addressIpv6 ? { AddressIPv6: r.addressIpv6 } : {}),
      ...(r.macAddress ? { MacAddress: r.macAddress } : {}),
    },
  };
}

/** DeleteNetwork / FreeNetwork carry only the network ID. */
export function networkIdToDomain(w: { NetworkID: string }): string {
  return w.NetworkID;
}

/** EndpointOperInfo, DeleteEndpoint, Leave, RevokeExternalConnectivity. */
export function endpointRefToDomain(w: wire.EndpointInfoRequest): core.EndpointRef {
  return { networkId: w.NetworkID, endpointId: w.EndpointID };
}

export function endpointOperInfoToWire(value: Record<string, unknown>): wire.EndpointInfoResponse {
  return { Value: value };
}

export function joinToDomain(w: wire.JoinRequest): core.JoinRequest {
  return { networkId: w.NetworkID, endpointId: w.EndpointID, sandboxKey: w.SandboxKey };
}

/** Gateway keys are omitted when absent, and `null` (subnet without gateway) is passed through as Python does. */
export function joinToWire(r: core.JoinResult): wire.JoinResponse {
  return {
    InterfaceName: { SrcName: r.srcName, DstPrefix: r.dstPrefix },
    ...(r.gateway !== undefined ? { Gateway: r.gateway } : {}),
    ...(r.gatewayIpv6 !== undefined ? { GatewayIPv6: r.gatewayIpv6 } : {}),
    StaticRoutes: r.staticRoutes.map((s) => ({
      Destination: s.destination,
      RouteType: s.routeType,
      NextHop: s.nextHop ?? '',
    })),
    DisableGatewayService: r.disableGatewayService,
  };
}

export function programExternalConnectivityToDomain(
  w: wire.ProgramExternalConnectivityRequest,
): core.ExternalConnectivityRequest {
  const ports = w.Options?.['com.docker.network.endpoint.exposedports'] ?? [];
  return {
    networkId: w.NetworkID,
    endpointId: w.EndpointID,
    exposedPorts: ports.map((p) => ({ proto: p.Proto, port: p.Port })),
  };
}

export function capabilitiesToWire(c: core.DriverCapabilities): wire.GetCapabilityResponse {
  return { Scope: c.scope, ConnectivityScope: c.connectivityScope };
}

export function ipamCapabilitiesToWire(c: {
  requiresMacAddress: boolean;
  requiresRequestReplay: boolean;
}): wire.IpamCapabilityResponse {
  return { RequiresMACAddress: c.requiresMacAddress, RequiresRequestReplay: c.requiresRequestReplay };
}

export function addressSpacesToWire(a: { local: string; global: string }): wire.GetAddressSpacesResponse {
  return { LocalDefaultAddressSpace: a.local, GlobalDefaultAddressSpace: a.global };
}

export function requestPoolToDomain(w: wire.RequestPoolRequest): core.RequestPoolRequest {
  return { addressSpace: w.AddressSpace, pool: w.Pool, subPool: w.SubPool, neutron: neutronChoicesToDomain(w.Options), v6: w.V6 };
}

export function requestPoolToWire(r: core.RequestPoolResult): wire.RequestPoolResponse {
  return { PoolID: r.poolId, Pool: r.pool, Data: r.data };
}

export function releasePoolToDomain(w: wire.ReleasePoolRequest): string {
  return w.PoolID;
}

/** A gateway request names itself in `RequestAddressType`; the endpoint's MAC comes as an option. */
export function requestAddressToDomain(w: wire.RequestAddressRequest): core.RequestAddressRequest {
  const mac = given(w.Options, OPT.macAddress);
  return { poolId: w.PoolID, address: w.Address, gateway: w.Options[OPT.requestAddressType] === OPT.gatewayType, ...(mac !== undefined ? { macAddress: mac } : {}) };
}

/** The service answers `ip/prefixlen`. */
export function requestAddressToWire(address: string): wire.RequestAddressResponse {
  return { Address: address, Data: {} };
}

export function releaseAddressToDomain(w: wire.ReleaseAddressRequest): core.ReleaseAddressRequest {
  return { poolId: w.PoolID, address: w.Address };
}
