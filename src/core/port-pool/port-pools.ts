/**
 * The pools of one side (Docker or pods) on this host: ready ports per pool key, refilled in the
 * background in bulk, never waited for by an attach (an empty pool answers `undefined` and the
 * caller takes the ordinary path). Ports go out with `take`, come back with `recycle` (after
 * `reset` when their Neutron state was changed) or are deleted with `discard`.
 */
import { errorMessage, isNotFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { DEVICE_OWNER, containerIfName, hostIfName } from '../shared/device-names.js';
import type { NeutronApi, PortCreate } from '../shared/neutron-api.js';
import type { Port } from '../shared/neutron-types.js';
import { buildVif } from '../shared/vif.js';
import type { ParkingDataplane, PoolOwner, PoolSizing, PoolSpec, PoolStats, PooledPort } from './pool-model.js';
import { poolTag } from './pool-tags.js';

export interface PortPoolsDeps {
  neutron: NeutronApi;
  dataplane: ParkingDataplane;
  hostId: string;
  owner: PoolOwner;
  sizing: PoolSizing;
  /** How long a new or returned port may take to become ACTIVE before it is deleted. */
  activeTimeoutMs: number;
  log: Logger;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Default `REFILL_QUIET_MS`. */
  refillQuietMs?: number;
}

interface Pool {
  spec: PoolSpec;
  ready: PooledPort[];
  /** Ports being created, plugged or checked for ACTIVE. */
  preparing: number;
  /** IDs of ports taken and not yet returned. */
  out: Set<string>;
  closed: boolean;
  filling: Promise<void> | undefined;
  /** A failed refill is not retried before this time. */
  retryAt: number;
  /** When a port was last taken (0: never). */
  lastTakeAt: number;
  /** A refill put off until the takes pause. */
  deferred: NodeJS.Timeout | undefined;
}

/** What a restart found. */
export interface AdoptReport {
  ready: number;
  replugged: number;
  /** Free pool ports (known by name) whose pool tag was missing: tagged now. */
  retagged: number;
  /** Parked ports whose return to the pool had not reached Neutron: reset now. */
  reset: number;
  deleted: number;
  removedLinks: number;
  /** Pool-tagged ports whose link is neither parked nor gone: some user took them before the restart (`user` from Neutron or the host end's label). */
  taken: Array<{ port: Port; user: string }>;
}

/**
 * While ports are being taken, a refill waits until the takes pause this long: a batch takes Neutron
 * and its agents many seconds of CPU, which the attaches of a burst need now, and its ports would be
 * ready only after the burst anyway. A pool down to a quarter of `min` refills at once (a long burst).
 */
export const REFILL_QUIET_MS = 1_000;
const ACTIVE_POLL_FIRST_MS = 200;
const ACTIVE_POLL_MAX_MS = 1_000;

export class PortPools {
  readonly tag: string;
  private readonly pools = new Map<string, Pool>();
  private readonly background = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly deps: PortPoolsDeps) {
    this.tag = poolTag(deps.owner, deps.hostId);
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = deps.now ?? Date.now;
  }

  get neutron(): NeutronApi {
    return this.deps.neutron;
  }

  get dataplane(): ParkingDataplane {
    return this.deps.dataplane;
  }

  get sizing(): PoolSizing {
    return this.deps.sizing;
  }

  /** Starts the periodic refill of pools below `ports_pool_min`. */
  start(): void {
    if (this.timer !== undefined || this.deps.sizing.updateFrequencyMs <= 0) return;
    this.timer = setInterval(() => {
      for (const pool of this.pools.values()) this.refill(pool);
    }, this.deps.sizing.updateFrequencyMs);
    this.timer.unref();
  }

  /** Stops the refills and waits for the background work in flight. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const pool of this.pools.values()) {
      pool.closed = true;
      clearTimeout(pool.deferred);
    }
    await Promise.allSettled([...this.background]);
  }

  /** Waits for the background work in flight (tests, `kuryr pool fill`). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  has(key: string): boolean {
    const pool = this.pools.get(key);
    return pool !== undefined && !pool.closed;
  }

  spec(key: string): PoolSpec | undefined {
    return this.pools.get(key)?.spec;
  }

  /** Registers a pool (idempotent; a drained one reopens) and fills it in the background. */
  ensure(spec: PoolSpec): void {
    const pool = this.register(spec);
    pool.closed = false;
    this.refill(pool);
  }

  /** A ready port, or `undefined` at once when there is none. Starts a refill when the pool runs low. */
  take(key: string, ip?: string): PooledPort | undefined {
    const pool = this.pools.get(key);
    if (pool === undefined || pool.closed) return undefined;
    const i = ip === undefined ? 0 : pool.ready.findIndex((p) => p.port.fixedIps.some((f) => f.ipAddress === ip));
    const taken = i < 0 ? undefined : pool.ready.splice(i, 1)[0];
    if (taken !== undefined) pool.out.add(taken.port.id);
    pool.lastTakeAt = this.now();
    this.refill(pool);
    return taken;
  }

  /**
   * Resets the Neutron state of a port that was used (name, device_id, security groups, addresses,
   * tags back to the pool's), so it is a free pool port again in Neutron; the name goes with device_id. `device_id` goes first: a
   * crash in between leaves a port that is still its user's, never a pool port with a user.
   */
  async reset(pp: PooledPort): Promise<void> {
    const original = pp.port;
    await this.deps.neutron.updatePort(original.id, {
      name: this.tag,
      deviceId: '',
      securityGroups: original.securityGroups,
      fixedIps: original.fixedIps.map((f) => ({ subnetId: f.subnetId, ipAddress: f.ipAddress })),
    });
    await this.deps.neutron.setTags('ports', original.id, [this.tag]);
  }

  /**
   * Offers a returned port again once it is ACTIVE (checked in the background), or deletes it when
   * the pool is closed or already holds `ports_pool_max` ports. `relinked` re-plugs first: the
   * container end vanished with its namespace while the port stayed bound.
   */
  recycle(pp: PooledPort, opts: { replug?: boolean; unchanged?: boolean } = {}): void {
    const pool = this.pools.get(pp.key);
    pool?.out.delete(pp.port.id);
    const max = this.deps.sizing.max;
    if (pool === undefined || pool.closed || (max > 0 && pool.ready.length + pool.preparing >= max)) {
      this.track(this.discard(pp));
      return;
    }
    // Neither its Neutron state nor its plug changed while it was out: it is as ready as when it was taken.
    if (opts.unchanged === true && opts.replug !== true) {
      pool.ready.push(pp);
      return;
    }
    pool.preparing++;
    this.track(
      (async () => {
        try {
          if (opts.replug === true) {
            await this.deps.dataplane.unplug(pp.vif);
            const [failure] = await this.deps.dataplane.park([pp.vif]);
            if (failure !== undefined) throw failure.error;
          }
          const active = await this.waitActive([pp.port.id], pp.port.networkId);
          if (!active.has(pp.port.id) || pool.closed) throw new Error(pool.closed ? 'pool closed' : 'not ACTIVE');
          pool.ready.push(pp);
        } catch (err) {
          this.deps.log.warn({ portId: pp.port.id, err: errorMessage(err) }, 'returned pool port is not usable; deleting it');
          await this.discard(pp);
        } finally {
          pool.preparing--;
        }
      })(),
    );
  }

  /** Forgets a taken port that leaves the pool for good (its user keeps or deletes it). */
  forget(pp: PooledPort): void {
    this.pools.get(pp.key)?.out.delete(pp.port.id);
  }

  /** Deletes a port and its plug; what is already gone counts as deleted. */
  async discard(pp: Pick<PooledPort, 'port' | 'vif'> & { key?: string }): Promise<void> {
    if (pp.key !== undefined) this.pools.get(pp.key)?.out.delete(pp.port.id);
    await this.deps.dataplane.unplug(pp.vif);
    await this.deletePort(pp.port.id);
  }

  /**
   * Closes the pool and deletes its ready and preparing ports, and any other port of the network
   * with this side's pool tag (a pool this process did not know yet). Ports in use stay; they are
   * deleted when they come back. Returns the number of ports deleted.
   */
  async drain(key: string, networkId = this.pools.get(key)?.spec.networkId): Promise<number> {
    const pool = this.pools.get(key);
    let deleted = 0;
    if (pool !== undefined) {
      pool.closed = true;
      await pool.filling;
      // every batch is background work: when it is done, nothing is preparing any more
      while (pool.preparing > 0 && this.background.size > 0) await Promise.allSettled([...this.background]);
      for (const pp of pool.ready.splice(0)) {
        await this.discard(pp);
        deleted++;
      }
    }
    if (networkId !== undefined) {
      const out = pool?.out ?? new Set<string>();
      for (const port of await this.freePorts({ networkId })) {
        if (out.has(port.id)) continue;
        // A port this pool does not hold (its batch was cut short, another process made it): unplugging
        // needs only its devices, and its subnets may be unknown here, so its addresses are left out.
        await this.discard({ port, vif: buildVif({ ...port, fixedIps: [] }, [], undefined, '') });
        deleted++;
      }
    }
    if (pool !== undefined && pool.out.size === 0) this.pools.delete(key);
    if (deleted > 0) this.deps.log.info({ key, deleted }, 'pool drained');
    return deleted;
  }

  /** Creates `count` ports now (in batches) and waits until they are ready; returns how many became ready. */
  async fill(key: string, count: number): Promise<number> {
    const pool = this.pools.get(key);
    if (pool === undefined || pool.closed) return 0;
    await pool.filling;
    const before = pool.ready.length;
    let left = count;
    while (left > 0) {
      const n = Math.min(left, Math.max(1, this.deps.sizing.batch));
      // tracked, so a drain meanwhile waits for this batch too
      await this.track(this.grow(pool, n));
      left -= n;
    }
    return pool.ready.length - before;
  }

  stats(): PoolStats[] {
    return [...this.pools.values()].map((p) => ({
      key: p.spec.key,
      networkId: p.spec.networkId,
      ready: p.ready.length,
      preparing: p.preparing,
      inUse: p.out.size,
      closed: p.closed,
    }));
  }

  /**
   * Re-adopts this side's pool after a restart from Neutron (ports with the pool tag) and the
   * parking namespace: parked ports are offered again once ACTIVE, ports whose devices are all
   * gone are re-plugged, parked links without a pool port are removed. `specOf` gives the pool of
   * a port (`undefined`: the port no longer belongs to any pool and is deleted). Ports whose host
   * end exists while their link is not parked were taken before the restart: they are reported,
   * not touched.
   */
  async adopt(specOf: (port: Port) => Promise<PoolSpec | undefined>): Promise<AdoptReport> {
    const [ports, parked, hostEnds] = await Promise.all([
      this.freePorts({}),
      this.deps.dataplane.parkedLinks(),
      this.deps.dataplane.hostEnds(),
    ]);
    const report: AdoptReport = { ready: 0, replugged: 0, retagged: 0, reset: 0, deleted: 0, removedLinks: 0, taken: [] };
    const known = new Set<string>();
    const checks: Array<{ pool: Pool; pp: PooledPort; replug: boolean }> = [];
    for (const port of ports) {
      known.add(containerIfName(port.id));
      const spec = await specOf(port);
      if (spec === undefined) {
        await this.discard({ port, vif: buildVif(port, [], undefined, '') }).catch((err: unknown) =>
          this.deps.log.warn({ portId: port.id, err: errorMessage(err) }, 'could not delete a pool port of no pool'),
        );
        report.deleted++;
        continue;
      }
      const pool = this.register(spec);
      const pp: PooledPort = { key: spec.key, port, vif: buildVif(port, spec.subnets, { mtu: spec.mtu }, '') };
      const hostEnd = hostEnds.get(hostIfName(port.id));
      if (port.deviceId !== '' || (!parked.has(containerIfName(port.id)) && hostEnd !== undefined)) {
        pool.out.add(port.id);
        report.taken.push({ port, user: port.deviceId !== '' ? port.deviceId : hostEnd?.user ?? '' });
        continue;
      }
      // Free by its name but without (only) the pool tag: its tag write never landed (a crash right after the POST or a reset).
      if (port.tags.length !== 1 || port.tags[0] !== this.tag) {
        await this.deps.neutron.setTags('ports', port.id, [this.tag]);
        report.retagged++;
      }
      const replug = !parked.has(containerIfName(port.id));
      if (replug) report.replugged++;
      pool.preparing++;
      checks.push({ pool, pp, replug });
    }
    const strays: string[] = [];
    for (const name of [...parked].filter((n) => n.startsWith('t_c') && !known.has(n))) {
      // A parked link is a pool port's: one whose reset had not reached Neutron when the process died is reset now.
      const returning = await this.returningPort(hostEnds.get(`tap${name.slice(3)}`)?.portId ?? '', specOf);
      if (returning === undefined) {
        strays.push(name);
        continue;
      }
      report.reset++;
      const pool = this.register(returning.spec);
      pool.preparing++;
      checks.push({ pool, pp: returning.pp, replug: false });
    }
    if (strays.length > 0) {
      await this.deps.dataplane.removeParked(strays);
      report.removedLinks = strays.length;
    }
    for (const c of checks) c.pool.preparing--;
    for (const c of checks) {
      c.pool.out.add(c.pp.port.id);
      this.recycle(c.pp, { replug: c.replug });
    }
    await this.idle();
    report.ready = [...this.pools.values()].reduce((n, p) => n + p.ready.length, 0);
    this.deps.log.info({ ...report, taken: report.taken.map((t) => t.port.id) }, 'pools adopted');
    for (const pool of this.pools.values()) this.refill(pool);
    return report;
  }

  /** The port behind a parked link that is not (yet again) a pool port in Neutron, reset to one; `undefined` when there is none to reset. */
  private async returningPort(portId: string, specOf: (port: Port) => Promise<PoolSpec | undefined>): Promise<{ spec: PoolSpec; pp: PooledPort } | undefined> {
    if (portId === '') return undefined;
    let port: Port;
    try {
      port = await this.deps.neutron.getPort(portId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (port.hostId !== this.deps.hostId || port.deviceOwner !== DEVICE_OWNER) return undefined;
    const spec = await specOf(port);
    if (spec === undefined) return undefined;
    const pp: PooledPort = { key: spec.key, port, vif: buildVif(port, spec.subnets, { mtu: spec.mtu }, '') };
    await this.reset(pp);
    return { spec, pp: { ...pp, port: { ...port, deviceId: '', tags: [this.tag] } } };
  }

  private register(spec: PoolSpec): Pool {
    let pool = this.pools.get(spec.key);
    if (pool === undefined) {
      pool = { spec, ready: [], preparing: 0, out: new Set(), closed: false, filling: undefined, retryAt: 0, lastTakeAt: 0, deferred: undefined };
      this.pools.set(spec.key, pool);
    } else pool.spec = spec;
    return pool;
  }

  /** Starts one background batch when the pool is below `min` (never two at once, none while backing off). */
  private refill(pool: Pool): void {
    const { min, max, batch } = this.deps.sizing;
    if (pool.closed || pool.filling !== undefined || this.now() < pool.retryAt) return;
    const have = pool.ready.length + pool.preparing;
    if (have >= min) return;
    const busyFor = (this.deps.refillQuietMs ?? REFILL_QUIET_MS) - (this.now() - pool.lastTakeAt);
    if (busyFor > 0 && pool.ready.length > Math.floor(min / 4)) {
      pool.deferred ??= setTimeout(() => {
        pool.deferred = undefined;
        this.refill(pool);
      }, busyFor).unref();
      return;
    }
    // One batch at a time: the first ports are offered as soon as their batch is ACTIVE.
    let n = Math.max(1, batch);
    if (max > 0) n = Math.min(n, max - have);
    if (n <= 0) return;
    pool.filling = this.track(this.grow(pool, n)).finally(() => {
      pool.filling = undefined;
      if (this.now() >= pool.retryAt) this.refill(pool);
    });
  }

  /** One bulk POST of `n` ports, the plugs, the ACTIVE wait; failures are deleted and back off the pool. */
  private async grow(pool: Pool, n: number): Promise<void> {
    const spec = pool.spec;
    const started = this.now();
    pool.preparing += n;
    let made: Port[] = [];
    try {
      made = await this.deps.neutron.createPorts(Array.from({ length: n }, () => this.body(spec)));
    } catch (err) {
      pool.preparing -= n;
      pool.retryAt = this.now() + Math.max(1_000, this.deps.sizing.updateFrequencyMs);
      this.deps.log.warn({ key: spec.key, count: n, err: errorMessage(err) }, 'could not create pool ports; retrying later');
      return;
    }
    pool.preparing -= n - made.length;
    const pps = made.map((port) => ({ key: spec.key, port, vif: buildVif(port, spec.subnets, { mtu: spec.mtu }, '') }));
    const dropped = new Set<string>();
    const drop = async (pp: PooledPort, why: string, err?: unknown) => {
      if (dropped.has(pp.port.id)) return;
      dropped.add(pp.port.id);
      pool.preparing--;
      this.deps.log.warn({ portId: pp.port.id, why, err: err === undefined ? undefined : errorMessage(err) }, 'deleting a pool port that did not get ready');
      await this.discard(pp).catch((e: unknown) => this.deps.log.error({ portId: pp.port.id, err: errorMessage(e) }, 'could not delete pool port'));
    };
    try {
      // Neutron without `tag-ports-during-bulk-creation` drops the tags of the POST: write them per port.
      await Promise.all(pps.filter((pp) => !pp.port.tags.includes(this.tag)).map((pp) => this.deps.neutron.setTags('ports', pp.port.id, [this.tag])));
      for (const f of await this.deps.dataplane.park(pps.map((pp) => pp.vif))) {
        const pp = pps.find((p) => p.port.id === f.portId);
        if (pp !== undefined) await drop(pp, 'plug failed', f.error);
      }
      const live = pps.filter((pp) => !dropped.has(pp.port.id));
      const active = await this.waitActive(live.map((pp) => pp.port.id), spec.networkId);
      for (const pp of live) {
        if (!active.has(pp.port.id)) await drop(pp, 'not ACTIVE in time');
        else if (pool.closed) await drop(pp, 'pool closed');
        else {
          pool.preparing--;
          dropped.add(pp.port.id);
          pool.ready.push(pp);
        }
      }
      const failed = made.length - live.filter((pp) => pool.ready.includes(pp)).length;
      // Ports that did not get ready (agent down, plug errors): do not hammer Neutron with new ones.
      if (failed > 0) pool.retryAt = this.now() + Math.max(1_000, this.deps.sizing.updateFrequencyMs);
      this.deps.log.info({ key: spec.key, ready: pool.ready.length, made: made.length, failed, ms: this.now() - started }, 'pool batch done');
    } catch (err) {
      for (const pp of pps) await drop(pp, 'batch failed', err);
      pool.retryAt = this.now() + Math.max(1_000, this.deps.sizing.updateFrequencyMs);
    }
  }

  private body(spec: PoolSpec): PortCreate {
    return {
      networkId: spec.networkId,
      // The name marks a pool port from the POST on; the tag follows in a second call on this Neutron.
      name: this.tag,
      adminStateUp: true,
      deviceOwner: DEVICE_OWNER,
      hostId: this.deps.hostId,
      fixedIps: spec.subnets.map((s) => ({ subnetId: s.id })),
      tags: [this.tag],
      ...(spec.securityGroups !== undefined ? { securityGroups: spec.securityGroups } : {}),
      ...(spec.projectId !== undefined ? { projectId: spec.projectId } : {}),
    };
  }

  /** Polls the pool's free ports of the network (by name) with one `GET /ports` per round until all are ACTIVE or the time is up. */
  private async waitActive(ids: string[], networkId: string): Promise<Set<string>> {
    const active = new Set<string>();
    if (ids.length === 0) return active;
    const deadline = this.now() + this.deps.activeTimeoutMs;
    let interval = ACTIVE_POLL_FIRST_MS;
    for (;;) {
      const ports = await this.deps.neutron.listPorts({ networkId, name: this.tag });
      for (const p of ports) if (p.status === 'ACTIVE' && ids.includes(p.id)) active.add(p.id);
      if (active.size === ids.length || this.now() >= deadline) return active;
      await this.sleep(interval);
      interval = Math.min(ACTIVE_POLL_MAX_MS, Math.round(interval * 1.5));
    }
  }

  /**
   * This side's free pool ports: by name (set in the POST, so a crash before the tag write cannot
   * hide a port) and by tag (a reset whose name write had not landed).
   */
  private async freePorts(filter: { networkId?: string }): Promise<Port[]> {
    const [named, tagged] = await Promise.all([this.deps.neutron.listPorts({ ...filter, name: this.tag }), this.deps.neutron.listPorts({ ...filter, tags: [this.tag] })]);
    const byId = new Map(named.map((p) => [p.id, p]));
    for (const p of tagged) byId.set(p.id, p);
    return [...byId.values()];
  }

  private async deletePort(id: string): Promise<void> {
    try {
      await this.deps.neutron.deletePort(id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Keeps a background task for `idle`/`close`; its failure is logged, never thrown. */
  private track(p: Promise<unknown>): Promise<void> {
    const tracked = p.then(
      () => undefined,
      (err: unknown) => this.deps.log.error({ err: errorMessage(err) }, 'pool background work failed'),
    );
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
    return tracked;
  }
}
