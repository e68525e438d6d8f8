/**
 * Every host device name kuryr uses, derived from a Neutron ID exactly as kuryr and Neutron spell
 * it: a 3-letter prefix + the first 11 characters of the ID (14 characters, kuryr-lib's
 * `NIC_NAME_LEN`). Neutron's linuxbridge agent finds ports by the `tap<port[:11]>` name and
 * bridges by `brq<net[:11]>`, so these must not change. Pure; core builds the names into the `Vif`
 * and the data plane derives the same names for what it finds on the host.
 */
import { InvalidInputError } from '../../common/errors.js';

/** `device_owner` of ports bound by kuryr (Docker endpoints and pods; also the owned-port tag). */
export const DEVICE_OWNER = 'compute:kuryr';

export const NIC_ID_CHARS = 11;
/** Linux IFNAMSIZ is 16 including the NUL. */
export const MAX_IFNAME_BYTES = 15;

/** Kernel `dev_valid_name`: no `/`, `:` or whitespace; ASCII keeps bytes == chars. */
const ID_RE = /^[!-~]+$/;

function idPrefix(id: string, what: string): string {
  if (!ID_RE.test(id) || /[/:]/.test(id)) {
    throw new InvalidInputError(`invalid ${what} for a device name: ${JSON.stringify(id.slice(0, 64))}`, what);
  }
  return id.slice(0, NIC_ID_CHARS);
}

/** Host end of the veth pair: `tap` + port ID[:11]. */
export function hostIfName(portId: string): string {
  return `tap${idPrefix(portId, 'portId')}`;
}

/** Container end while it is in the host netns: `t_c` + port ID[:11]. */
export function containerIfName(portId: string): string {
  return `t_c${idPrefix(portId, 'portId')}`;
}

/** Names of the OVS hybrid plug (os-vif/kuryr): Linux bridge `qbr`, its veth end `qvb`, the OVS end `qvo`. */
export function hybridNames(portId: string): { qbr: string; qvb: string; qvo: string } {
  const id = idPrefix(portId, 'portId');
  return { qbr: `qbr${id}`, qvb: `qvb${id}`, qvo: `qvo${id}` };
}

/** Neutron linuxbridge agent bridge of a network: `brq` + network ID[:11]. */
export function linuxBridgeName(networkId: string): string {
  return `brq${idPrefix(networkId, 'networkId')}`;
}

/** The host end name behind an OVS interface name (`qvo…` of a hybrid plug maps back to `tap…`). */
export function hostIfNameOfOvsInterface(ovsName: string): string {
  return ovsName.startsWith('qvo') ? `tap${ovsName.slice(3)}` : ovsName;
}
