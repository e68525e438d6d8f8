/**
 * Builds the Binder's `Vif` from a Neutron port, as kuryr-lib's binding drivers read it (docs/binding.md).
 */
import { BindingError } from '../../common/errors.js';
import type { Binder, Vif, VifRoute } from './binder.js';
import { cidrFamily, prefixLength } from '../../common/cidr.js';
import { containerIfName, hostIfName } from './device-names.js';
import type { Network, Port, Subnet } from './neutron-types.js';

export const DEFAULT_MTU = 1500;

/** The port's addresses with their subnet prefix lengths; MTU from the network or 1500; `deviceId` = the Docker EID. */
export function buildVif(port: Port, subnets: Subnet[], network: Pick<Network, 'mtu'> | undefined, deviceId = port.deviceId): Vif {
  const byId = new Map(subnets.map((s) => [s.id, s]));
  const addresses = port.fixedIps.map((f) => {
    const subnet = byId.get(f.subnetId);
    if (subnet === undefined) throw new BindingError(`subnet ${f.subnetId} of port ${port.id} (address ${f.ipAddress}) was not found`);
    return { address: f.ipAddress, prefixLength: prefixLength(subnet.cidr), family: cidrFamily(subnet.cidr) };
  });
  const routes: VifRoute[] = [];
  for (const f of port.fixedIps) {
    const s = byId.get(f.subnetId);
    if (s === undefined) continue;
    if (s.gatewayIp !== null) routes.push({ destination: cidrFamily(s.cidr) === 6 ? '::/0' : '0.0.0.0/0', nexthop: s.gatewayIp });
    for (const r of s.hostRoutes) routes.push({ destination: r.destination, nexthop: r.nexthop });
  }
  return {
    portId: port.id,
    networkId: port.networkId,
    projectId: port.projectId,
    deviceId,
    macAddress: port.macAddress.toLowerCase(),
    mtu: network?.mtu ?? DEFAULT_MTU,
    vifType: port.vifType !== '' ? port.vifType : 'unbound',
    vifDetails: port.vifDetails,
    addresses,
    routes,
    hostIfName: hostIfName(port.id),
    containerIfName: containerIfName(port.id),
  };
}

/** What `Binder.unplug` needs, from the port alone (no subnet look-ups, so it works when Neutron is flaky). */
export function unplugRef(port: Pick<Port, 'id' | 'vifType' | 'vifDetails' | 'networkId'>): Parameters<Binder['unplug']>[0] {
  return {
    portId: port.id,
    hostIfName: hostIfName(port.id),
    containerIfName: containerIfName(port.id),
    vifType: port.vifType !== '' ? port.vifType : 'unbound',
    vifDetails: port.vifDetails,
    networkId: port.networkId,
  };
}

/** Fails with a clear `BindingError` when ML2 could not bind the port on this host (the Python driver failed with an unexplained ProcessExecutionError). */
export function assertBound(port: Port, hostId: string): void {
  if (port.vifType === 'unbound' || port.vifType === 'binding_failed' || port.vifType === '') {
    throw new BindingError(
      `Neutron could not bind port ${port.id} on host ${hostId}: vif_type=${port.vifType || 'unbound'}; is an L2 agent running on ${hostId}?`,
    );
  }
}
