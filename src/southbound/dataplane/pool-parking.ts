/**
 * The data plane of port pools: a pool port is plugged by the ordinary binder (host end in OVS or
 * the Linux bridge, with what the agent expects) while its container end is created straight in a
 * parking namespace of ours, where it waits down and without addresses. Taking a port moves that
 * end to the host namespace (Docker moves it on into the sandbox) or into a pod's namespace.
 */
import { existsSync } from 'node:fs';
import { BindingError, errorMessage } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import type { Binder, Vif, VifTarget } from '../../core/shared/binder.js';
import type { ParkingDataplane } from '../../core/port-pool/pool-model.js';
import type { Exec } from './exec.js';
import { ipBatch, ipLine, listLinks, netnsFile, type IpLink } from './ip.js';
import { containerNetnsLines, kuryrAlias, parseKuryrAlias } from './veth.js';

export interface PoolParkingOptions {
  binder: Binder;
  exec: Exec;
  /** Name of the parking namespace (`ip netns` name). */
  netns: string;
  logger?: Logger;
  /** Plugs run this many at a time (each is a handful of processes; the host has few cores). */
  concurrency?: number;
}

export class PoolParking implements ParkingDataplane {
  private readonly log: Logger;
  private ready: Promise<void> | undefined;
  /** The namespace this process (and the dockerd it serves) lives in. */
  private readonly ownNetns = `/proc/${process.pid}/ns/net`;

  constructor(private readonly opts: PoolParkingOptions) {
    this.log = opts.logger ?? silentLogger();
  }

  get netnsPath(): string {
    return netnsFile(this.opts.netns);
  }

  async park(vifs: Vif[]): Promise<Array<{ portId: string; error: unknown }>> {
    if (vifs.length === 0) return [];
    await this.ensureNetns();
    const failures: Array<{ portId: string; error: unknown }> = [];
    const parked: Vif[] = [];
    const queue = [...vifs];
    const worker = async () => {
      for (let vif = queue.shift(); vif !== undefined; vif = queue.shift()) {
        try {
          await this.opts.binder.plug({ ...vif, addresses: [], routes: [] }, { netnsPath: this.opts.netns, ifName: vif.containerIfName });
          parked.push(vif);
        } catch (error) {
          failures.push({ portId: vif.portId, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency ?? 3) }, worker));
    // The binder brings the container end up; a parked end waits down (no link-local address, no traffic).
    if (parked.length > 0) {
      try {
        await ipBatch(this.opts.exec, parked.map((v) => ipLine('link', 'set', 'dev', v.containerIfName, 'down')), this.opts.netns);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'could not set parked links down');
      }
    }
    return failures;
  }

  async parkedLinks(): Promise<Set<string>> {
    if (!existsSync(this.netnsPath)) return new Set();
    const { stdout } = await this.opts.exec(['nsenter', `--net=${this.netnsPath}`, 'ip', '-json', 'link', 'show']);
    const links = stdout.trim() === '' ? [] : (JSON.parse(stdout) as IpLink[]);
    return new Set(links.map((l) => l.ifname).filter((n) => n !== 'lo'));
  }

  async hostEnds(): Promise<Map<string, { portId: string; user: string }>> {
    const ends = new Map<string, { portId: string; user: string }>();
    for (const l of await listLinks(this.opts.exec, 'veth')) {
      if (!l.ifname.startsWith('tap')) continue;
      const alias = parseKuryrAlias(l.ifalias);
      ends.set(l.ifname, { portId: alias?.portId ?? '', user: alias?.deviceId ?? '' });
    }
    return ends;
  }

  async label(vif: Vif, user: string): Promise<void> {
    await ipBatch(this.opts.exec, [ipLine('link', 'set', 'dev', vif.hostIfName, 'alias', kuryrAlias({ portId: vif.portId, deviceId: user }))]);
  }

  async toHost(vif: Vif): Promise<void> {
    await ipBatch(this.opts.exec, [ipLine('link', 'set', 'dev', vif.containerIfName, 'netns', this.ownNetns)], this.opts.netns);
  }

  async into(vif: Vif, target: VifTarget): Promise<void> {
    // One request moves, renames and sizes the link: the kernel names it on arrival, so it never
    // shows up in the pod under its parking name.
    await ipBatch(this.opts.exec, [ipLine('link', 'set', 'dev', vif.containerIfName, 'netns', netnsFile(target.netnsPath), 'name', target.ifName, 'mtu', vif.mtu)], this.opts.netns);
    await ipBatch(this.opts.exec, containerNetnsLines(vif, target.ifName), target.netnsPath);
  }

  async back(vif: Vif, from: VifTarget | null): Promise<boolean> {
    await this.ensureNetns();
    const dev = from === null ? vif.containerIfName : from.ifName;
    const lines = [ipLine('link', 'set', 'dev', dev, 'down')];
    if (from !== null) lines.push(ipLine('link', 'set', 'dev', dev, 'name', vif.containerIfName));
    lines.push(ipLine('link', 'set', 'dev', vif.containerIfName, 'netns', this.netnsPath));
    // The host end no longer belongs to anyone (it is in the host netns only on the Docker side).
    if (from === null) lines.push(ipLine('link', 'set', 'dev', vif.hostIfName, 'alias', kuryrAlias({ portId: vif.portId, deviceId: '' })));
    try {
      await ipBatch(this.opts.exec, lines, from?.netnsPath);
      return true;
    } catch (err) {
      // Already parked (a retried call) counts as done; gone means the namespace took the veth with it.
      if ((await this.parkedLinks()).has(vif.containerIfName)) return true;
      this.log.info({ portId: vif.portId, err: errorMessage(err) }, 'container end of pool port is gone');
      return false;
    }
  }

  async unplug(vif: Vif): Promise<void> {
    await this.opts.binder.unplug(vif, null);
  }

  async removeParked(names: string[]): Promise<void> {
    const plugged = await this.opts.binder.listPlugged();
    for (const name of names) {
      const suffix = name.slice('t_c'.length);
      const ovs = plugged.find((p) => p.kind === 'ovs' && p.hostIfName === `tap${suffix}`);
      if (ovs !== undefined) {
        await this.opts.binder.unplug({ portId: ovs.portId, hostIfName: ovs.hostIfName, containerIfName: name, vifType: 'ovs', vifDetails: {}, networkId: '' }, null);
      }
      // Deleting the parked end takes its host end with it.
      await ipBatch(this.opts.exec, [ipLine('link', 'del', 'dev', name)], this.opts.netns).catch(() => undefined);
      this.log.info({ link: name }, 'removed a parked link of no pool port');
    }
  }

  /** `ip netns add` once per process; an existing namespace is fine. */
  private ensureNetns(): Promise<void> {
    this.ready ??= (async () => {
      if (existsSync(this.netnsPath)) return;
      try {
        await this.opts.exec(['ip', 'netns', 'add', this.opts.netns]);
      } catch (err) {
        if (!existsSync(this.netnsPath)) throw new BindingError(`could not create the pool parking namespace ${this.opts.netns}: ${errorMessage(err)}`);
      }
      await ipBatch(this.opts.exec, [ipLine('link', 'set', 'dev', 'lo', 'up')], this.opts.netns);
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}
