/**
 * Kuryr inside a Nova VM (spec kuryr-libnetwork §6.4, kuryr-kubernetes nested-macvlan): each
 * container still gets its own Neutron port, for IPAM only (never bound: the VM is no Neutron host);
 * its traffic leaves through the VM's own port, which Neutron's port security only lets through
 * for the addresses in that port's `allowed_address_pairs`.
 */
import { NotFoundError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { NeutronApi } from '../neutron-api.js';
import type { AllowedAddressPair, Port } from '../neutron-types.js';
import { AddressPairWriter } from './address-pairs.js';

/** The VM NIC the containers' devices hang off (`[binding] link_iface`), as the data plane reads it. */
export interface VmNic {
  linkInfo(): Promise<{ name: string; macAddress: string }>;
}

export interface NestedVmOptions {
  /** `macvlan`: pairs carry the container's MAC; `ipvlan`: containers share the VM NIC's MAC. */
  mode: 'macvlan' | 'ipvlan';
  /** `[pod_vif_nested] rev_update_attempts`: tries of one pair update against other writers. */
  revUpdateAttempts: number;
}

export class NestedVm {
  private found: { port: Port; writer: AddressPairWriter } | undefined;

  constructor(
    private readonly neutron: NeutronApi,
    private readonly nic: VmNic,
    private readonly options: NestedVmOptions,
    private readonly log: Logger,
  ) {}

  /** Finds the VM's Neutron port by the NIC's MAC (kuryr's way); called at start, so a bad link_iface fails early. */
  async init(): Promise<Port> {
    const { name, macAddress } = await this.nic.linkInfo();
    const ports = await this.neutron.listPorts({ macAddress });
    // Container ports never carry the VM NIC's MAC, but prefer Nova's port if a MAC is reused elsewhere.
    const port = ports.find((p) => p.deviceOwner.startsWith('compute:') && p.deviceOwner !== 'compute:kuryr') ?? ports[0];
    if (port === undefined) throw new NotFoundError(`Cannot find a Neutron port associated to interface name ${name} (MAC ${macAddress})`);
    this.found = { port, writer: new AddressPairWriter(this.neutron, port.id, this.options.revUpdateAttempts, this.log) };
    this.log.info({ linkIface: name, vmPortId: port.id, networkId: port.networkId, mode: this.options.mode }, 'nested mode: VM port found');
    return port;
  }

  /** The VM port as read at start (its network is the default network of nested Docker networks). */
  get vmPort(): Port {
    if (!this.found) throw new Error('NestedVm.init() was not called');
    return this.found.port;
  }

  /** The pairs a container port needs: each fixed IP with the MAC its device sends from. */
  pairsOf(port: Pick<Port, 'fixedIps'>, deviceMac: string): AllowedAddressPair[] {
    const mac = this.options.mode === 'macvlan' ? deviceMac.toLowerCase() : this.vmPort.macAddress.toLowerCase();
    return port.fixedIps.map((f) => ({ ipAddress: f.ipAddress, macAddress: mac }));
  }

  /** Lets the container's addresses through the VM port. */
  async allow(port: Pick<Port, 'id' | 'fixedIps'>, deviceMac: string): Promise<void> {
    await this.writer().change(this.pairsOf(port, deviceMac), []);
  }

  /** Drops the pairs of the container port's IPs (whatever MAC they carry: Docker may have chosen it). */
  async revoke(port: Pick<Port, 'fixedIps'>): Promise<void> {
    await this.writer().change([], port.fixedIps.map((f) => ({ ipAddress: f.ipAddress })));
  }

  private writer(): AddressPairWriter {
    if (!this.found) throw new Error('NestedVm.init() was not called');
    return this.found.writer;
  }
}
