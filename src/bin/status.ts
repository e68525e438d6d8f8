/**
 * `kuryr status [--json]`: is this host healthy? Checks Keystone, Neutron and the bridge from here, then asks
 * each daemon's `/ready`. Exit codes as kuryr-k8s-status (oslo upgradecheck): 0 healthy, 1 warning (one daemon
 * is not running), 2 failure (a check failed, a running daemon is not ready, or no daemon runs).
 */
import { request } from 'node:http';
import { createLogger } from '../common/log.js';
import { readConfig, type ConfigSelection } from '../compose/config.js';
import { openStackFromConfig } from '../compose/openstack.js';
import { controlPlaneChecks, runChecks, STATUS_HOST, type CheckResult } from '../compose/status.js';
import { NodeControlPlaneProbe } from '../southbound/control-plane-probe.js';
import { createExec } from '../southbound/dataplane/exec.js';
import type { ParsedValues } from './cli.js';

interface DaemonState {
  port: number;
  state: 'ready' | 'not ready' | 'not running' | 'disabled';
  checks?: Record<string, CheckResult>;
  error?: string;
}

export interface StatusReport {
  host: string;
  result: 'healthy' | 'warning' | 'failure';
  checks: Record<string, CheckResult>;
  daemons: Record<'docker' | 'cni', DaemonState>;
}

/** GET http://127.0.0.1:<port>/ready: the daemon's own view. */
function askReady(port: number): Promise<DaemonState> {
  if (port === 0) return Promise.resolve({ port, state: 'disabled' });
  return new Promise((resolve) => {
    const req = request({ host: STATUS_HOST, port, path: '/ready', timeout: 8_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        let checks: Record<string, CheckResult> | undefined;
        try {
          checks = (JSON.parse(text) as { checks?: Record<string, CheckResult> }).checks;
        } catch {
          // not our daemon's answer: reported as not ready below
        }
        resolve({ port, state: res.statusCode === 200 ? 'ready' : 'not ready', ...(checks ? { checks } : { error: `HTTP ${res.statusCode}` }) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 8 s')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' ? { port, state: 'not running' } : { port, state: 'not ready', error: err.message }));
    req.end();
  });
}

export async function hostStatus(selection: ConfigSelection): Promise<StatusReport> {
  const config = readConfig(selection);
  const logger = createLogger({ level: process.env.KURYR_LOG_LEVEL ?? 'silent' });
  const openstack = openStackFromConfig(config, logger);
  try {
    const probe = new NodeControlPlaneProbe(openstack, config.neutron.auth_url ?? '', createExec(logger), config.neutron_defaults.ovs_bridge ?? 'br-int');
    const [checks, docker, cni] = await Promise.all([
      runChecks(controlPlaneChecks(probe)),
      askReady(config.DEFAULT.health_port),
      askReady(config.cni_health_server.port),
    ]);
    const daemons = { docker, cni };
    const states = Object.values(daemons).map((d) => d.state);
    const failure = Object.values(checks).some((c) => !c.ok) || states.includes('not ready') || !states.includes('ready');
    const result = failure ? 'failure' : states.every((s) => s === 'ready') ? 'healthy' : 'warning';
    return { host: config.DEFAULT.host, result, checks, daemons };
  } finally {
    await openstack.close();
  }
}

export function formatStatus(r: StatusReport): string {
  const lines = [`kuryr status on ${r.host}: ${r.result.toUpperCase()}`];
  const check = (name: string, c: CheckResult) => `  ${name.padEnd(9)} ${c.ok ? 'ok' : 'FAILED'}  ${c.ms} ms${c.error ? `  ${c.error}` : ''}`;
  for (const [name, c] of Object.entries(r.checks)) lines.push(check(name, c));
  for (const [name, d] of Object.entries(r.daemons)) {
    lines.push(`  ${`${name} daemon`.padEnd(13)} ${d.state}${d.port ? ` (127.0.0.1:${d.port})` : ''}${d.error ? `  ${d.error}` : ''}`);
    for (const [cn, c] of Object.entries(d.checks ?? {})) if (!c.ok) lines.push(`  ${''.padEnd(4)}${check(cn, c)}`);
  }
  return `${lines.join('\n')}\n`;
}

export const EXIT_CODES = { healthy: 0, warning: 1, failure: 2 } as const;

export async function statusCommand(values: ParsedValues, selection: ConfigSelection): Promise<void> {
  const report = await hostStatus(selection);
  process.stdout.write(values['json'] ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
  process.exitCode = EXIT_CODES[report.result];
}
