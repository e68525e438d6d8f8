/**
 * A daemon's operator endpoints: `/alive`, `/ready` (each check bounded, run in parallel) and `/metrics`.
 * Readiness means a call would work now: Keystone issues a token, Neutron answers, the bridge exists and the
 * daemon's own API socket accepts connections.
 */
import net from 'node:net';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { DaemonMetrics } from '../common/metrics.js';
import type { ControlPlaneProbe } from '../core/pod/pod-model.js';
import { jsonReply, startStatusServers, type StatusServers } from '../northbound/http/status-server.js';

/** Loopback only: health and metrics say a lot about the host and need no authentication. */
export const STATUS_HOST = '127.0.0.1';
const CHECK_TIMEOUT_MS = 5_000;

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

/** Runs every check at once, each bounded to 5 s. */
export async function runChecks(checks: ReadinessChecks): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([check(), timeout]);
      return [name, { ok: true, ms: Math.round(performance.now() - started) }] as const;
    } catch (err) {
      return [name, { ok: false, ms: Math.round(performance.now() - started), error: errorMessage(err) }] as const;
    } finally {
      clearTimeout(timer);
    }
  }));
  return Object.fromEntries(entries);
}

/** The probe's three questions as readiness checks: `keystone`, `neutron`, `bridge`. */
export function controlPlaneChecks(probe: ControlPlaneProbe): ReadinessChecks {
  return { keystone: () => probe.keystone(), neutron: () => probe.neutron(), bridge: () => probe.dataplane() };
}

/** Connects to a unix socket and hangs up: proves the daemon's API is accepting calls. */
export function socketAccepts(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    c.once('connect', () => (c.destroy(), resolve()));
    c.once('error', (err) => reject(new Error(`socket ${path}: ${err.message}`)));
  });
}

export interface DaemonStatusOptions {
  daemon: string;
  healthPort: number;
  metricsPort: number;
  metrics: DaemonMetrics;
  checks: ReadinessChecks;
  logger: Logger;
}

export function startDaemonStatus(opts: DaemonStatusOptions): Promise<StatusServers> {
  const started = new Date().toISOString();
  return startStatusServers({
    host: STATUS_HOST,
    healthPort: opts.healthPort,
    metricsPort: opts.metricsPort,
    logger: opts.logger,
    alive: async () => jsonReply(200, { alive: true, daemon: opts.daemon, pid: process.pid, started }),
    ready: async () => {
      const checks = await runChecks(opts.checks);
      const ready = Object.values(checks).every((c) => c.ok);
      return jsonReply(ready ? 200 : 503, { ready, daemon: opts.daemon, checks });
    },
    metrics: async () => ({ status: 200, contentType: opts.metrics.contentType, body: await opts.metrics.render() }),
  });
}
