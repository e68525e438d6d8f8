/**
 * The Docker method table: `/Plugin.Activate`, 14 `/NetworkDriver.*` and 6 `/IpamDriver.*` verbs.
 * Each handler is decode → one LibnetworkService call → encode; errors are thrown, never written.
 */
import type { LibnetworkService } from '../../core/docker/libnetwork.js';
import type { MethodHandler } from '../http/method-server.js';
import * as api from './api.js';
import * as t from './translate.js';

const EMPTY = (): api.EmptyResponse => ({});

/** Builds the route map for the method server; keys are `<Kind>.<Method>` without the leading slash. */
export function dockerRoutes(service: LibnetworkService): Map<string, MethodHandler> {
  const routes = new Map<string, MethodHandler>();
  const route = (name: string, h: (body: unknown, method: string) => Promise<unknown> | unknown): void => {
    routes.set(name, async (body) => h(body, name));
  };

  route('Plugin.Activate', () => t.ACTIVATE_RESPONSE);

  // ---- NetworkDriver
  route('NetworkDriver.GetCapabilities', () => t.capabilitiesToWire(service.capabilities()));
  route('NetworkDriver.CreateNetwork', async (b, m) => {
    await service.networks.createNetwork(t.createNetworkToDomain(api.decode(api.CreateNetworkRequestSchema, b, m)));
    return EMPTY();
  });
  route('NetworkDriver.DeleteNetwork', async (b, m) => {
    await service.networks.deleteNetwork(t.networkIdToDomain(api.decode(api.DeleteNetworkRequestSchema, b, m)));
    return EMPTY();
  });
  // Swarm-manager verbs: no Neutron work, as in the Python driver.
  route('NetworkDriver.AllocateNetwork', (b, m) =>
    t.allocateNetworkToWire(api.decode(api.AllocateNetworkRequestSchema, b, m)),
  );
  route('NetworkDriver.FreeNetwork', (b, m) => (api.decode(api.FreeNetworkRequestSchema, b, m), EMPTY()));
  route('NetworkDriver.CreateEndpoint', async (b, m) => {
    const req = t.createEndpointToDomain(api.decode(api.CreateEndpointRequestSchema, b, m));
    return t.createEndpointToWire(await service.endpoints.createEndpoint(req));
  });
  route('NetworkDriver.EndpointOperInfo', async (b, m) => {
    const ref = t.endpointRefToDomain(api.decode(api.EndpointInfoRequestSchema, b, m));
    return t.endpointOperInfoToWire(await service.sandboxes.endpointOperInfo(ref));
  });
  route('NetworkDriver.DeleteEndpoint', async (b, m) => {
    await service.endpoints.deleteEndpoint(t.endpointRefToDomain(api.decode(api.DeleteEndpointRequestSchema, b, m)));
    return EMPTY();
  });
  route('NetworkDriver.Join', async (b, m) => {
    const req = t.joinToDomain(api.decode(api.JoinRequestSchema, b, m));
    return t.joinToWire(await service.sandboxes.join(req));
  });
  route('NetworkDriver.Leave', async (b, m) => {
    await service.sandboxes.leave(t.endpointRefToDomain(api.decode(api.LeaveRequestSchema, b, m)));
    return EMPTY();
  });
  // Discovery notifications carry nothing Kuryr uses (Neutron is the shared state); validated, then ignored.
  route('NetworkDriver.DiscoverNew', (b, m) => (api.decode(api.DiscoveryNotificationSchema, b, m), EMPTY()));
  route('NetworkDriver.DiscoverDelete', (b, m) => (api.decode(api.DiscoveryNotificationSchema, b, m), EMPTY()));
  route('NetworkDriver.ProgramExternalConnectivity', async (b, m) => {
    const req = api.decode(api.ProgramExternalConnectivityRequestSchema, b, m);
    await service.connectivity.programExternalConnectivity(t.programExternalConnectivityToDomain(req));
    return EMPTY();
  });
  route('NetworkDriver.RevokeExternalConnectivity', async (b, m) => {
    const req = api.decode(api.RevokeExternalConnectivityRequestSchema, b, m);
    await service.connectivity.revokeExternalConnectivity(t.endpointRefToDomain(req));
    return EMPTY();
  });

  // ---- IpamDriver
  route('IpamDriver.GetCapabilities', () => t.ipamCapabilitiesToWire(service.ipamCapabilities()));
  route('IpamDriver.GetDefaultAddressSpaces', () => t.addressSpacesToWire(service.defaultAddressSpaces()));
  route('IpamDriver.RequestPool', async (b, m) => {
    const req = t.requestPoolToDomain(api.decode(api.RequestPoolRequestSchema, b, m));
    return t.requestPoolToWire(await service.pools.requestPool(req));
  });
  route('IpamDriver.ReleasePool', async (b, m) => {
    await service.pools.releasePool(t.releasePoolToDomain(api.decode(api.ReleasePoolRequestSchema, b, m)));
    return EMPTY();
  });
  route('IpamDriver.RequestAddress', async (b, m) => {
    const req = t.requestAddressToDomain(api.decode(api.RequestAddressRequestSchema, b, m));
    return t.requestAddressToWire(await service.addresses.requestAddress(req));
  });
  route('IpamDriver.ReleaseAddress', async (b, m) => {
    await service.addresses.releaseAddress(t.releaseAddressToDomain(api.decode(api.ReleaseAddressRequestSchema, b, m)));
    return EMPTY();
  });
  return routes;
}

/** Kuryr's own verbs on the same socket, for `kuryr pool` (Docker never sends them). */
export function poolAdminRoutes(service: LibnetworkService): Map<string, MethodHandler> {
  return new Map<string, MethodHandler>([
    ['Kuryr.PoolShow', async () => ({ Pools: service.portPools.poolStats() })],
    ['Kuryr.PoolFill', async (b) => {
      const req = api.decode(api.PoolFillRequestSchema, b, 'Kuryr.PoolFill');
      return { Ready: await service.portPools.poolFill(req.NetworkID, req.Count) };
    }],
    ['Kuryr.PoolDrain', async (b) => ({ Deleted: await service.portPools.poolDrain(api.decode(api.PoolDrainRequestSchema, b, 'Kuryr.PoolDrain').NetworkID) })],
  ]);
}
