/**
 * What both daemons' garbage collectors share (docs/ownership.md, rule 8): a finding and how it is
 * acted on and logged, the grace period, and the plugs whose Neutron port is gone.
 */
import { errorMessage, isNotFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Binder, PluggedVif } from './binder.js';
import { containerIfName } from './device-names.js';
import type { NeutronApi } from './neutron-api.js';

export interface GcFinding<K extends string = string> {
  kind: K;
  /** Neutron port/network ID, or the host interface for a plug. */
  id: string;
  why: string;
  outcome: 'would remove' | 'removed' | 'failed' | 'skipped';
  error?: string;
}

export interface GcOptions {
  apply: boolean;
  /** A leftover untouched (Neutron's `updated_at`) for less than this is left for the next round. */
  graceMs: number;
  /** When the daemon first saw each candidate without a Neutron timestamp; kept between rounds. */
  firstSeen?: Map<string, number>;
  /** Told about each finding as it is made (`kuryr gc` prints it at once: a long collection shows its progress). */
  onFinding?: (f: GcFinding) => void;
}

export type Act<K extends string> = (f: Omit<GcFinding<K>, 'outcome'>, remove: () => Promise<void>) => Promise<void>;

/** Removes (when `apply`) and records each finding; one log line per action naming what and why. */
export function gcActor<K extends string>(log: Logger, opts: Pick<GcOptions, 'apply' | 'onFinding'>, findings: Array<GcFinding<K>>): Act<K> {
  const record = (f: GcFinding<K>): void => {
    findings.push(f);
    opts.onFinding?.(f);
  };
  return async (f, remove) => {
    if (!opts.apply) return record({ ...f, outcome: 'would remove' });
    try {
      await remove();
      record({ ...f, outcome: 'removed' });
      log.info({ kind: f.kind, id: f.id, why: f.why }, 'gc removed');
    } catch (err) {
      record({ ...f, outcome: 'failed', error: errorMessage(err) });
      log.warn({ kind: f.kind, id: f.id, why: f.why, err: errorMessage(err) }, 'gc could not remove');
    }
  };
}

/**
 * The grace check of one round: `old(key, updatedAt)` is true once the candidate has been untouched
 * for `graceMs` (by Neutron's timestamp, else since the daemon first saw it). `forget()` drops the
 * first-seen times of candidates this round did not look at (removed, or in use again).
 */
export function graceClock(now: () => number, opts: GcOptions): { old: (key: string, updatedAt: string | undefined) => boolean; forget: () => void } {
  const looked = new Set<string>();
  return {
    old(key, updatedAt) {
      looked.add(key);
      const t = now();
      let since = updatedAt !== undefined ? Date.parse(updatedAt) : Number.NaN;
      if (Number.isNaN(since)) {
        const seen = opts.firstSeen?.get(key);
        if (seen === undefined) opts.firstSeen?.set(key, t);
        since = seen ?? (opts.firstSeen === undefined ? 0 : t);
      }
      return t - since >= opts.graceMs;
    },
    forget() {
      for (const key of opts.firstSeen?.keys() ?? []) if (!looked.has(key)) opts.firstSeen?.delete(key);
    },
  };
}

/**
 * Plugs (OVS ports with owner=kuryr, tap veths) whose Neutron port is gone or bound to another host.
 * They need no grace: every request binds the port before it plugs and unplugs before it deletes it.
 */
export async function collectOrphanPlugs(
  deps: { neutron: Pick<NeutronApi, 'getPort'>; binder: Pick<Binder, 'listPlugged' | 'unplug'>; hostId: string },
  busy: (plug: PluggedVif) => boolean,
  act: Act<'plug'>,
): Promise<void> {
  for (const plug of await deps.binder.listPlugged()) {
    if (busy(plug)) continue;
    let why: string | undefined;
    try {
      const port = await deps.neutron.getPort(plug.portId);
      if (port.hostId !== '' && port.hostId !== deps.hostId) why = `its Neutron port ${plug.portId} is bound to ${port.hostId}`;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      why = `its Neutron port ${plug.portId} no longer exists`;
    }
    if (why === undefined) continue;
    await act({ kind: 'plug', id: plug.hostIfName, why }, () =>
      deps.binder.unplug(
        { portId: plug.portId, hostIfName: plug.hostIfName, containerIfName: containerIfName(plug.portId), vifType: plug.kind === 'ovs' ? 'ovs' : 'tap', vifDetails: {}, networkId: '' },
        null,
      ),
    );
  }
}
