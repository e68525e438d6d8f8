/**
 * What nested mode changes in the Docker and pod use cases: the container port is never bound to a
 * host (the VM is no Neutron host, and a tenant may not set `binding:host_id`); before its device is
 * made, the port is let through the VM port (an address pair, or a trunk subport whose VLAN id the
 * device needs); after the device is gone, that is taken back.
 */
import { NotFoundError } from '../../common/errors.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { Port } from '../shared/neutron-types.js';

export interface NestedAttachment {
  /** `macvlan`, `ipvlan` or `vlan`, for logs and errors. */
  readonly mode: string;
  /**
   * The container port becomes a trunk subport: Neutron then owns its `device_owner`/`device_id`
   * (`trunk:subport`, the trunk) and refuses a port that already has a device, so Kuryr sets neither.
   */
  readonly subport: boolean;
  /**
   * The MAC every container device shows when they all share the VM NIC's (ipvlan); undefined when
   * each device carries its own port's MAC (macvlan, VLAN). The pod's interface, its CNI result and
   * CHECK use it.
   */
  readonly sharedMac: string | undefined;
  /** The VM's own port, read at start; its network is the default one of nested Docker networks. */
  readonly vmPort: Port;
  /** Lets the container port through the VM port; `vlanId` when the device must tag its traffic. Idempotent. */
  attach(port: Pick<Port, 'id' | 'fixedIps'>, deviceMac: string): Promise<{ vlanId?: number }>;
  /** Takes it back; idempotent (nothing to take back is success). */
  detach(port: Pick<Port, 'id' | 'fixedIps'>): Promise<void>;
}

/** The VM NIC the containers' devices hang off (`[binding] link_iface`), as the data plane reads it. */
export interface VmNic {
  linkInfo(): Promise<{ name: string; macAddress: string }>;
}

/** Finds the VM's Neutron port by the NIC's MAC, as kuryr does; a bad `link_iface` fails at start. */
export async function findVmPort(neutron: Pick<NeutronApi, 'listPorts'>, nic: VmNic): Promise<Port> {
  const { name, macAddress } = await nic.linkInfo();
  const ports = await neutron.listPorts({ macAddress });
  // Container ports never carry the VM NIC's MAC, but prefer Nova's port if a MAC is reused elsewhere.
  const port = ports.find((p) => p.deviceOwner.startsWith('compute:') && p.deviceOwner !== 'compute:kuryr') ?? ports[0];
  if (port === undefined) throw new NotFoundError(`Cannot find a Neutron port associated to interface name ${name} (MAC ${macAddress})`);
  return port;
}
