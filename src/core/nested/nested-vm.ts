/**
 * Nested macvlan/ipvlan (spec kuryr-libnetwork §6.4, kuryr-kubernetes nested-macvlan): each
 * container still gets its own Neutron port, for IPAM only; its traffic leaves through the VM's own
 * port, which Neutron's port security lets through only for the addresses in that port's
 * `allowed_address_pairs`.
 */
import type { Logger } from '../../common/log.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { AllowedAddressPair, Port } from '../shared/neutron-types.js';
import { AddressPairWriter } from './address-pairs.js';
import type { NestedAttachment } from './attachment.js';

export interface AddressPairOptions {
  /** `macvlan`: pairs carry the container's MAC; `ipvlan`: containers share the VM NIC's MAC. */
  mode: 'macvlan' | 'ipvlan';
  /** `[pod_vif_nested] rev_update_attempts`: tries of one pair update against other writers. */
  revUpdateAttempts: number;
}

export class AddressPairAttachment implements NestedAttachment {
  readonly mode: 'macvlan' | 'ipvlan';
  readonly subport = false;
  readonly sharedMac: string | undefined;
  private readonly writer: AddressPairWriter;

  constructor(
    neutron: NeutronApi,
    readonly vmPort: Port,
    options: AddressPairOptions,
    log: Logger,
  ) {
    this.mode = options.mode;
    this.sharedMac = options.mode === 'ipvlan' ? vmPort.macAddress.toLowerCase() : undefined;
    this.writer = new AddressPairWriter(neutron, vmPort.id, options.revUpdateAttempts, log);
  }

  /** The pairs a container port needs: each fixed IP with the MAC its device sends from. */
  pairsOf(port: Pick<Port, 'fixedIps'>, deviceMac: string): AllowedAddressPair[] {
    const mac = this.sharedMac ?? deviceMac.toLowerCase();
    return port.fixedIps.map((f) => ({ ipAddress: f.ipAddress, macAddress: mac }));
  }

  async attach(port: Pick<Port, 'fixedIps'>, deviceMac: string): Promise<{ vlanId?: number }> {
    await this.writer.change(this.pairsOf(port, deviceMac), []);
    return {};
  }

  /** Drops the pairs of the container port's IPs, whatever MAC they carry (Docker may have chosen it). */
  async detach(port: Pick<Port, 'fixedIps'>): Promise<void> {
    await this.writer.change([], port.fixedIps.map((f) => ({ ipAddress: f.ipAddress })));
  }
}
