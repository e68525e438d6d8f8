/**
 * Names kuryr-libnetwork gives Neutron resources (networks, subnets, pools, ports, security groups);
 * host device names are in `core/shared/device-names.ts`.
 * Pure functions; every string must match the Python driver byte for byte.
 */
import { normalizeCidr } from '../../common/cidr.js';

export const NETWORK_NAME_PREFIX = 'kuryr-net-';
export const SUBNET_NAME_PREFIX = 'kuryr-subnet-';
/** Name of ports created by RequestAddress. */
export const UNBOUND_PORT_NAME = 'kuryr-unbound-port';
export const PORT_NAME_SUFFIX = '-port';
export const SG_NAME_SUFFIX = '-exposed_ports';
export const SG_DESCRIPTION = 'Docker exposed ports created by Kuryr.';

/** Network name in tags mode: `kuryr-net-` + DID[0:8]. (No-tag mode uses the full DID.) */
export function networkName(networkId: string, tagMode = true): string {
  return tagMode ? NETWORK_NAME_PREFIX + networkId.slice(0, 8) : networkId;
}

/** Subnet name: `kuryr-subnet-` + the pool CIDR exactly as Docker sent it. */
export function subnetName(pool: string): string {
  return SUBNET_NAME_PREFIX + pool;
}

export function isKuryrSubnetName(name: string): boolean {
  return name.startsWith(SUBNET_NAME_PREFIX);
}

/** Kuryr subnetpool name: `<prefix>-<normalised cidr>`, e.g. `kuryrPool-10.0.0.0/24`. */
export function subnetpoolName(prefix: string, cidr: string): string {
  return `${prefix}-${normalizeCidr(cidr)}`;
}

/** Endpoint port name: `<EID>-port`. */
export function endpointPortName(endpointId: string): string {
  return endpointId + PORT_NAME_SUFFIX;
}

/** Security group of `--expose`: `<port id>-exposed_ports`. */
export function exposedPortsSgName(portId: string): string {
  return portId + SG_NAME_SUFFIX;
}
