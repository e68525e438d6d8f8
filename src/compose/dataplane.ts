/**
 * The data plane and nested attachment for the deployment model kuryr.conf selects: veth on a host
 * with a Neutron L2 agent, or a macvlan/ipvlan/VLAN device on the VM NIC when Kuryr runs in a VM.
 */
import type { Logger } from '../common/log.js';
import type { Deployment } from '../config/deployment.js';
import { findVmPort, type NestedAttachment } from '../core/nested/attachment.js';
import { AddressPairAttachment } from '../core/nested/nested-vm.js';
import { TrunkAttachment, VmTrunk } from '../core/nested/trunk.js';
import type { Binder } from '../core/shared/binder.js';
import type { NeutronApi } from '../core/shared/neutron-api.js';
import { VethBinder, type VethBinderOptions } from '../southbound/dataplane/binder.js';
import { NestedBinder } from '../southbound/dataplane/nested.js';

export interface Dataplane {
  binder: Binder;
  nested?: NestedAttachment;
}

/** Builds the binder; nested, also finds the VM port (by the NIC's MAC) and, for VLAN, its trunk: a wrong setup fails at start. */
export async function dataplaneFor(deployment: Deployment, neutron: NeutronApi, logger: Logger, veth: VethBinderOptions = {}): Promise<Dataplane> {
  const log = logger.child({ component: 'binder' });
  if (deployment.kind === 'veth') return { binder: new VethBinder({ logger: log, ...veth }) };
  const mode = deployment.kind === 'vlan' ? 'vlan' : deployment.mode;
  const binder = new NestedBinder({ mode, linkIface: deployment.linkIface, logger: log, ...(veth.exec ? { exec: veth.exec } : {}) });
  const vmPort = await findVmPort(neutron, binder);
  const nestedLog = logger.child({ component: 'nested' });
  let nested: NestedAttachment;
  if (deployment.kind === 'vlan') {
    const trunks = new VmTrunk(neutron, nestedLog);
    nested = new TrunkAttachment(trunks, vmPort, (await trunks.trunkOf(vmPort.id)).id);
  } else {
    nested = new AddressPairAttachment(neutron, vmPort, { mode: deployment.mode, revUpdateAttempts: deployment.revUpdateAttempts }, nestedLog);
  }
  nestedLog.info({ mode, linkIface: (await binder.linkInfo()).name, vmPortId: vmPort.id, networkId: vmPort.networkId }, 'nested mode');
  return { binder, nested };
}
