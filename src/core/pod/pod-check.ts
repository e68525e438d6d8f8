/**
 * CNI CHECK for a pod attachment: the Neutron port must exist and be ACTIVE (nested: it is never
 * bound, so never ACTIVE), and the interface in the netns must carry the port's MAC (ipvlan: the VM
 * NIC's), the expected MTU, every fixed IP and every route ADD set.
 */
import { ConflictError, NotFoundError } from '../../common/errors.js';
import { normalizeCidr } from '../../common/cidr.js';
import type { Network, Port, Subnet } from '../shared/neutron-types.js';
import type { NestedAttachment } from '../nested/attachment.js';
import type { NetnsInspector, PodAddRequest } from './pod-model.js';
import { buildVif } from '../shared/vif.js';

export interface CheckInput {
  port: Port | undefined;
  subnets: Subnet[];
  network: Network | undefined;
  req: PodAddRequest;
  inspector: NetnsInspector;
  networkDeviceMtu: number;
  /** Set when the node is a Nova VM: the port stays DOWN, and an ipvlan device shows the VM NIC's MAC. */
  nested: Pick<NestedAttachment, 'sharedMac'> | undefined;
}

/** Resolves when the attachment matches; throws `NotFoundError` (unknown) or `ConflictError` (differs). */
export async function checkAttachment(input: CheckInput): Promise<void> {
  const { port, req } = input;
  const what = `container ${req.containerId} interface ${req.ifName}`;
  if (!port) throw new NotFoundError(`no Neutron port for ${what} on this node`);
  if (!input.nested && port.status !== 'ACTIVE') throw new ConflictError(`Neutron port ${port.id} of ${what} is ${port.status}, not ACTIVE`);
  const vif = buildVif(port, input.subnets, input.network, port.deviceId);
  const mtu = input.networkDeviceMtu > 0 ? input.networkDeviceMtu : vif.mtu;
  const link = await input.inspector.inspect(req.netns, req.ifName);
  if (!link) throw new ConflictError(`interface ${req.ifName} does not exist in netns ${req.netns}`);
  const mac = input.nested?.sharedMac ?? vif.macAddress;
  if (link.mac.toLowerCase() !== mac) throw new ConflictError(`interface ${req.ifName} has MAC ${link.mac}, expected ${mac} (${input.nested?.sharedMac ? 'the VM NIC' : `port ${port.id}`})`);
  if (link.mtu !== mtu) throw new ConflictError(`interface ${req.ifName} has MTU ${link.mtu}, expected ${mtu}`);
  const have = new Set(link.addresses.map((a) => normalizeAddr(a)));
  for (const a of vif.addresses) {
    const want = normalizeAddr(`${a.address}/${a.prefixLength}`);
    if (!have.has(want)) throw new ConflictError(`interface ${req.ifName} lacks address ${want} of port ${port.id}`);
  }
  for (const r of vif.routes) {
    const dst = normalizeCidr(r.destination);
    const found = link.routes.some((x) => normalizeDst(x.dst) === dst && x.gw === r.nexthop);
    if (!found) throw new ConflictError(`netns ${req.netns} lacks route ${dst} via ${r.nexthop} on ${req.ifName}`);
  }
}

/** `10.0.0.5/24` keeps its host part (unlike `normalizeCidr`); lower-cased for IPv6. */
function normalizeAddr(cidr: string): string {
  return cidr.toLowerCase();
}

/** `ip route` prints `default` for 0.0.0.0/0 and ::/0. */
function normalizeDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  return normalizeCidr(dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`);
}
