/**
 * NetworkDriver.Join / Leave / EndpointOperInfo (spec §4.8, §4.10, §4.11). No Neutron writes.
 */
import { NotFoundError } from '../common/errors.js';
import { cidrFamily } from './cidr.js';
import type { EndpointRef, JoinRequest, JoinResult, StaticRoute } from './libnetwork.js';
import { findPortByEid, requireNetworkByDid } from './lookups.js';
import { containerIfName } from './naming.js';
import type { CoreContext } from './service-context.js';

export async function join(ctx: CoreContext, req: JoinRequest): Promise<JoinResult> {
  const [, port] = await Promise.all([requireNetworkByDid(ctx, req.networkId), findPortByEid(ctx, req.endpointId)]);
  if (port === null) {
    throw new NotFoundError(`no Neutron port found for endpoint ${req.endpointId} of Docker network ${req.networkId}`);
  }
  const mine = new Set(port.fixedIps.map((f) => f.subnetId));
  const subnets = (await ctx.neutron.listSubnets({ networkId: port.networkId })).filter((s) => mine.has(s.id));
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
    // Only the port's own subnets (fixes Q27).
    for (const r of s.hostRoutes) routes.push({ destination: r.destination, routeType: 0, nextHop: r.nexthop });
  }
  result.staticRoutes = routes;
  return result;
}

export async function endpointOperInfo(ctx: CoreContext, ref: EndpointRef): Promise<Record<string, unknown>> {
  const port = await findPortByEid(ctx, ref.endpointId);
  return port === null ? {} : { status: port.status };
}
