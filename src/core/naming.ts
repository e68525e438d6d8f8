/**
 * Names kuryr-libnetwork gives Neutron resources and host devices (spec §2.1).
 * Pure functions; every string must match the Python driver byte for byte.
 */
import { normalizeCidr } from './cidr.js';

/** `device_owner` of ports bound by kuryr (also used as the owned-port tag). */
export const DEVICE_OWNER = 'compute:kuryr';
export const NETWORK_NAME_PREFIX = 'kuryr-net-';
export const SUBNET_NAME_PREFIX = 'kuryr-subnet-';
/** Name of ports created by RequestAddress. */
export const UNBOUND_PORT_NAME = 'kuryr-unbound-port';
export const PORT_NAME_SUFFIX = '-port';
export const SG_NAME_SUFFIX = '-exposed_ports';
export const SG_DESCRIPTION = 'Docker exposed ports created by Kuryr.';
export const HOST_IF_PREFIX = 'tap';
export const CONTAINER_IF_PREFIX = 't_c';
/** Linux `IFNAMSIZ - 1` as kuryr-lib caps it (`NIC_NAME_LEN`). */
export const NIC_NAME_LEN = 14;

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

/** Host end of the veth: `tap` + port[:11]. */
export function hostIfName(portId: string): string {
  return (HOST_IF_PREFIX + portId).slice(0, NIC_NAME_LEN);
}

/** Container end of the veth: `t_c` + port[:11]. */
export function containerIfName(portId: string): string {
  return (CONTAINER_IF_PREFIX + portId).slice(0, NIC_NAME_LEN);
}
