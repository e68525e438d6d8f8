/**
 * Nested VLAN (spec kuryr-libnetwork §6.5, kuryr-kubernetes nested-vlan): the VM port is a trunk
 * parent, each container port a subport with its own VLAN id, carried by a VLAN device on the VM NIC.
 * Neutron is the only record of which ids are taken (the trunk's sub_ports), so a restart loses
 * nothing. Within this daemon, allocations on one trunk run one at a time; against other writers,
 * Neutron refuses an id already on the trunk (409) and the allocation re-reads and picks again.
 */
import { ConflictError, NeutronError, NotFoundError } from '../../common/errors.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import type { Logger } from '../../common/log.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { Port, Trunk } from '../shared/neutron-types.js';
import type { NestedAttachment } from './attachment.js';

export const MIN_VLAN = 1;
export const MAX_VLAN = 4094;
/** Tries of one allocation when other writers keep taking the id we picked. */
const ALLOCATE_ATTEMPTS = 5;

/** A free VLAN id of the trunk, picked at random so that concurrent writers rarely pick the same. */
export function pickFreeVlan(used: ReadonlySet<number>, random: () => number = Math.random): number {
  const free = MAX_VLAN - MIN_VLAN + 1 - [...used].filter((v) => v >= MIN_VLAN && v <= MAX_VLAN).length;
  if (free <= 0) throw new ConflictError('There are no vlan ids available: the trunk holds 4094 subports');
  let skip = Math.floor(random() * free);
  for (let v = MIN_VLAN; v <= MAX_VLAN; v++) {
    if (used.has(v)) continue;
    if (skip-- === 0) return v;
  }
  throw new ConflictError('There are no vlan ids available');
}

export class VmTrunk {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly neutron: NeutronApi,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** The trunk whose parent is the VM port; the operator creates it (Nova boots VMs on the parent). */
  async trunkOf(vmPortId: string): Promise<Trunk> {
    const [trunk] = await this.neutron.listTrunks({ portId: vmPortId });
    if (trunk === undefined) throw new NotFoundError(`VM port ${vmPortId} is not the parent port of a Neutron trunk (nested VLAN needs one)`);
    return trunk;
  }

  /** Adds the port as a subport with a VLAN id no other subport of the trunk has; an existing subport keeps its id. */
  attach(trunkId: string, portId: string): Promise<number> {
    return this.locks.run(trunkId, async () => {
      for (let attempt = 1; ; attempt++) {
        const trunk = await this.trunk(trunkId);
        const mine = trunk.subPorts.find((s) => s.portId === portId);
        if (mine !== undefined) return mine.segmentationId;
        const vlan = pickFreeVlan(new Set(trunk.subPorts.map((s) => s.segmentationId)), this.random);
        try {
          await this.neutron.addSubports(trunkId, [{ portId, segmentationType: 'vlan', segmentationId: vlan }]);
          this.log.debug({ trunkId, portId, vlan, attempt }, 'subport added');
          return vlan;
        } catch (err) {
          // Someone else took the id between our read and our write: read again and pick another.
          if (!(err instanceof NeutronError && err.isConflict && err.type === 'DuplicateSubPort') || attempt >= ALLOCATE_ATTEMPTS) throw err;
          this.log.debug({ trunkId, portId, vlan, attempt }, 'VLAN id taken meanwhile; picking again');
        }
      }
    });
  }

  /** Removes the subport; a port no longer on the trunk (or a trunk gone) is success. */
  detach(trunkId: string, portId: string): Promise<void> {
    return this.locks.run(trunkId, async () => {
      let trunk: Trunk;
      try {
        trunk = await this.trunk(trunkId);
      } catch (err) {
        if (err instanceof NotFoundError) return;
        throw err;
      }
      if (!trunk.subPorts.some((s) => s.portId === portId)) return;
      await this.neutron.removeSubports(trunkId, [portId]);
      this.log.debug({ trunkId, portId }, 'subport removed');
    });
  }

  private async trunk(trunkId: string): Promise<Trunk> {
    const [trunk] = await this.neutron.listTrunks({ id: trunkId });
    if (trunk === undefined) throw new NotFoundError(`trunk ${trunkId} was not found`);
    return trunk;
  }
}

/** Nested VLAN: each container port a subport of the VM port's trunk. */
export class TrunkAttachment implements NestedAttachment {
  readonly mode = 'vlan';
  readonly subport = true;
  readonly sharedMac = undefined;

  constructor(
    private readonly trunks: VmTrunk,
    readonly vmPort: Port,
    private readonly trunkId: string,
  ) {}

  async attach(port: Pick<Port, 'id'>): Promise<{ vlanId?: number }> {
    return { vlanId: await this.trunks.attach(this.trunkId, port.id) };
  }

  detach(port: Pick<Port, 'id'>): Promise<void> {
    return this.trunks.detach(this.trunkId, port.id);
  }
}
