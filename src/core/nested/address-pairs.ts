/**
 * The VM port's `allowed_address_pairs`, shared by every container of the VM. Neutron only
 * replaces the whole list, so each change is a read-modify-write; two writers must not lose each
 * other's pairs. Within this daemon, changes queue and one writer applies all that are queued in
 * one read + one `PUT` (ten containers starting at once cost a few writes, not ten); if Neutron refuses
 * such a batch (e.g. more pairs than its `max_allowed_address_pair`), the changes are retried one by
 * one so that only those that do not fit fail. Against other
 * writers (another daemon, an operator, Nova), the `PUT` carries `If-Match: revision_number=N`:
 * a 412 means someone wrote in between, so the port is read again and the change re-applied.
 * Neutron checks If-Match against the revision its transaction read, not atomically with the write:
 * two `PUT`s against one revision can both succeed, the later one writing back a list read before the
 * earlier one (a pair the other just removed comes back). So a write counts only once a fresh read
 * shows all of its changes; otherwise they are applied again.
 */
import { ConflictError, NeutronError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { sameIp } from '../../common/cidr.js';
import type { NeutronApi } from '../shared/neutron-api.js';
import type { AllowedAddressPair, Port } from '../shared/neutron-types.js';

/** One queued change and the caller waiting for it. */
interface Pending {
  add: AllowedAddressPair[];
  /** Pairs to drop: by IP, and by MAC too when one is given. */
  remove: AllowedAddressPair[];
  done: (err?: unknown) => void;
}

/** A pair's IP without a host prefix (`10.0.0.5/32` and `10.0.0.5` are one pair to Neutron). */
function pairIp(p: AllowedAddressPair): string {
  return p.ipAddress.replace(/\/(32|128)$/, '');
}

function samePair(a: AllowedAddressPair, b: AllowedAddressPair): boolean {
  if (!sameIp(pairIp(a), pairIp(b))) return false;
  return a.macAddress === undefined || b.macAddress === undefined || a.macAddress.toLowerCase() === b.macAddress.toLowerCase();
}

/** The list after the changes, in order; unchanged pairs keep their place. */
export function applyPairChanges(current: AllowedAddressPair[], add: AllowedAddressPair[], remove: AllowedAddressPair[]): AllowedAddressPair[] {
  let next = current.filter((p) => !remove.some((r) => samePair(p, r)));
  for (const a of add) {
    // Same IP with another MAC (a container re-created with a new MAC) replaces the old pair.
    next = next.filter((p) => !sameIp(pairIp(p), pairIp(a)) || samePair(p, a));
    if (!next.some((p) => samePair(p, a))) next.push(a);
  }
  return next;
}

export class AddressPairWriter {
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    private readonly neutron: NeutronApi,
    readonly portId: string,
    private readonly attempts: number,
    private readonly log: Logger,
  ) {}

  /** Adds `add` and drops `remove` on the VM port; resolves once Neutron holds the result. */
  change(add: AllowedAddressPair[], remove: AllowedAddressPair[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ add, remove, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.writing ??= this.drain().finally(() => (this.writing = undefined));
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.write(batch);
        for (const p of batch) p.done();
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.done(err);
          continue;
        }
        // One change may make the whole list invalid (Neutron's max_allowed_address_pair reached):
        // apply them one by one, so that every change that fits still lands and only the rest fail.
        this.log.debug({ vmPortId: this.portId, changes: batch.length }, 'batched pair update refused; applying changes one by one');
        for (const p of batch) await this.write([p]).then(() => p.done(), (e: unknown) => p.done(e));
      }
    }
  }

  /** Read-modify-write of the batch until a read shows it applied; up to `attempts` writes (412 or overwritten). */
  private async write(batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const port: Port = await this.neutron.getPort(this.portId);
      let next = port.allowedAddressPairs;
      for (const p of batch) next = applyPairChanges(next, p.add, p.remove);
      // Also the check after our own write: done only when Neutron shows every change.
      if (sameList(next, port.allowedAddressPairs)) return;
      if (attempt > this.attempts) {
        throw new ConflictError(`the allowed_address_pairs of VM port ${this.portId} were overwritten by other writers ${this.attempts} times ([pod_vif_nested] rev_update_attempts)`);
      }
      if (attempt > 1) this.log.debug({ vmPortId: this.portId, attempt }, 'VM port address pairs changed by another writer; applying the changes again');
      try {
        await this.neutron.updatePort(this.portId, { allowedAddressPairs: next }, { ifRevision: port.revisionNumber });
        this.log.debug({ vmPortId: this.portId, pairs: next.length, changes: batch.length, attempt }, 'VM port address pairs written');
      } catch (err) {
        if (!(err instanceof NeutronError && err.isPreconditionFailed) || attempt >= this.attempts) throw err;
        this.log.debug({ vmPortId: this.portId, attempt }, 'VM port changed under us (412); reading it again');
      }
    }
  }
}

function sameList(a: AllowedAddressPair[], b: AllowedAddressPair[]): boolean {
  return a.length === b.length && a.every((p, i) => p.ipAddress === b[i]!.ipAddress && p.macAddress === b[i]!.macAddress);
}
