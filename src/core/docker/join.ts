/**
 * NetworkDriver.Join / Leave / EndpointOperInfo. No Neutron writes.
 */
import { NotFoundError } from '../../common/errors.js';
import { cidrFamily } from '../../common/cidr.js';
import type { EndpointRef, JoinRequest, JoinResult, SandboxUseCases, StaticRoute } from './libnetwork.js';
import { findPortByEid, requireNetworkByDid, resolveNetwork } from './lookups.js';
import { containerIfName } from '../shared/device-names.js';
import type { Port, Subnet } from '../shared/neutron-types.js';
import type { CoreContext } from './service-context.js';
import { started } from '../../common/promises.js';

export class Sandboxes implements SandboxUseCases {
  constructor(private readonly ctx: CoreContext) {}

  /** Nothing to do: the interface stays until DeleteEndpoint, as in the Python driver. */
  async leave(_ref: EndpointRef): Promise<void> {}

  /**
   * Neutron calls (warm cache): `GET /ports` by EID tags and `GET /subnets` of the network, concurrently.
   * Subnets are read fresh (gateway and host routes may be edited in Neutron); the cache only gives the network ID.
   */
  async join(req: JoinRequest): Promise<JoinResult> {
    const ctx = this.ctx;
    // A pool port: everything is known here, no Neutron call (attaches keep working while Neutron is down).
    const pooled = await ctx.pools?.handOver(req.endpointId);
    if (pooled !== undefined) return joinResult(ctx, pooled.port, pooled.subnets);
    const remember = ctx.cache.networks.rememberLater(req.networkId);
    const resolving = resolveNetwork(ctx, req.networkId);
    const network = started(resolving);
    const port$ = started(findPortByEid(ctx, req.endpointId));
    const subnets$ = started(resolving.then(({ entry, cached }) => (cached ? ctx.neutron.listSubnets({ networkId: entry.network.id }) : entry.subnets)));
    const { entry, cached } = await network();
    const port = await port$();
    if (port === null) {
      if (cached) {
        // The cached network may be gone (global scope): answer as an uncached look-up would.
        ctx.cache.forgetNetwork(req.networkId);
        await requireNetworkByDid(ctx, req.networkId);
      }
      throw new NotFoundError(`no Neutron port found for endpoint ${req.endpointId} of Docker network ${req.networkId}`);
    }
    let all = await subnets$();
    if (port.networkId !== entry.network.id) {
      if (cached) ctx.cache.forgetNetwork(req.networkId);
      all = await ctx.neutron.listSubnets({ networkId: port.networkId });
    } else if (cached) remember({ network: entry.network, subnets: all });
    return joinResult(ctx, port, all);
  }

  async endpointOperInfo(ref: EndpointRef): Promise<Record<string, unknown>> {
    const ctx = this.ctx;
    // A claimed pool port was ACTIVE when it was offered.
    if (ctx.pools?.isClaimed(ref.endpointId) === true) return { status: 'ACTIVE' };
    const port = await findPortByEid(ctx, ref.endpointId);
    return port === null ? {} : { status: port.status };
  }
}

/** The interface to move (the container end of the port's veth) with the gateways and host routes of the port's own subnets. */
function joinResult(ctx: CoreContext, port: Port, all: Subnet[]): JoinResult {
    const mine = new Set(port.fixedIps.map((f) => f.subnetId));
    const subnets = all.filter((s) => mine.has(s.id));
    const result: JoinResult = {
      srcName: containerIfName(port.id),
      dstPrefix: ctx.options.vethDstPrefix,
      staticRoutes: [],
      disableGatewayService: true,
    };
    const routes: StaticRoute[] = [];
    for (const s of subnets) {
      if (cidrFamily(s.cidr) === 6) result.gatewayIpv6 = s.gatewayIp;
      else result.gateway = s.gatewayIp;
      // Only the port's own subnets (Python added the routes of every subnet of the network).
      for (const r of s.hostRoutes) routes.push({ destination: r.destination, routeType: 0, nextHop: r.nexthop });
    }
    result.staticRoutes = routes;
    return result;
}
