/**
 * The CNI e2e fixtures: our node daemon (`kuryr serve cni`) as a child process, conflists, and direct
 * plugin calls the way libcni makes them (env + stdin → /opt/cni/bin/kuryr-cni).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { e2eConfig, kuryrArgv, type DaemonOptions, type DaemonRuntime } from './kuryr-daemon.js';
import { sh, stopChild, waitFor } from './sh.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const KURYR_CNI = '/opt/cni/bin/kuryr-cni';

/** Paths of scripts/cni-runtimes.sh (`env`). */
export const RT = {
  criSock: '/run/kuryr-cni-e2e/containerd.sock',
  criConfDir: '/etc/kuryr-cni-e2e/containerd.d',
  podmanConf: '/etc/kuryr-cni-e2e/podman/containers.conf',
  podmanStorage: '/etc/kuryr-cni-e2e/podman/storage.conf',
  podmanConfDir: '/etc/kuryr-cni-e2e/podman.d',
  cnitool: '/var/lib/kuryr-cni-e2e/cnitool-lite',
  busybox: 'localhost/cni-e2e-busybox:latest',
};

export interface CniDaemonOptions {
  socketPath: string;
  podSubnet: string;
  securityGroups?: string[];
  project?: string;
  extraConfig?: string;
  /** Run the daemon inside this network namespace (a VM, for nested mode). */
  netns?: string;
  credentials?: DaemonOptions['credentials'];
  runtime?: DaemonRuntime;
  /** `KURYR_LOG_LEVEL`; default debug (tests read the log). The benchmark runs at the production default. */
  logLevel?: 'debug' | 'info';
}

export class CniDaemon {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'cni-e2e-'));
  readonly confPath = join(this.dir, 'kuryr.conf');
  readonly logPath = join(this.dir, 'kuryr-cni-daemon.log');

  constructor(readonly opts: CniDaemonOptions) {
    const lines = [
      '[neutron_defaults]',
      `pod_subnet = ${opts.podSubnet}`,
      ...(opts.securityGroups ? [`pod_security_groups = ${opts.securityGroups.join(',')}`] : []),
      ...(opts.project ? [`project = ${opts.project}`] : []),
      'ovs_bridge = br-int',
      '[cni_daemon]',
      `socket_path = ${opts.socketPath}`,
      'vif_annotation_timeout = 60',
      '[cni_health_server]',
      'port = 0',
      '[prometheus_exporter]',
      'cni_exporter_port = 0',
      opts.extraConfig ?? '',
    ];
    writeFileSync(this.confPath, e2eConfig({ socketPath: '/run/kuryr-cni-e2e/unused-docker.sock', extraConfig: lines.join('\n'), ...(opts.credentials ? { credentials: opts.credentials } : {}) }));
  }

  async start(): Promise<void> {
    const out = openSync(this.logPath, 'a');
    const cmd = kuryrArgv(this.opts.runtime ?? 'tsx', ['serve', 'cni', '--config-file', this.confPath]);
    const argv = this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns, ...cmd] : cmd;
    this.child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: { ...process.env, KURYR_LOG_LEVEL: this.opts.logLevel ?? 'debug' },
    });
    const child = this.child;
    await waitFor('kuryr CNI daemon socket', async () => {
      if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}; log ${this.logPath}`);
      return existsSync(this.opts.socketPath) && (await this.call('STATUS', {}, this.conflist('cni-e2e-probe', '1.1.0'))).out.code !== 11;
    }, 60_000, 100);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopChild(this.child, signal);
    this.child = undefined;
  }

  /** The plugin configuration a runtime derives from our conflist (one plugin, name + cniVersion injected). */
  conflist(name: string, cniVersion: string): Record<string, unknown> {
    return { cniVersion, name, type: 'kuryr-cni', kuryr_socket: this.opts.socketPath };
  }

  /** Writes `<dir>/<file>` as a conflist for this daemon. */
  writeConflist(dir: string, file: string, name: string, cniVersion: string): string {
    const path = join(dir, file);
    const plugin = { type: 'kuryr-cni', kuryr_socket: this.opts.socketPath, capabilities: { 'io.kubernetes.cri.pod-annotations': true } };
    writeFileSync(path, `${JSON.stringify({ cniVersion, name, plugins: [plugin] }, null, 2)}\n`);
    return path;
  }

  /** Executes /opt/cni/bin/kuryr-cni as a runtime would; returns exit code, parsed stdout and wall time. */
  async call(command: string, env: Record<string, string>, config: Record<string, unknown>): Promise<CniCallResult> {
    return execPlugin(KURYR_CNI, command, env, config);
  }
}

export interface CniCallResult {
  rc: number;
  out: Record<string, unknown> & { code?: number; msg?: string };
  ms: number;
}

/** Runs a CNI plugin binary with `CNI_COMMAND` + env and the config on stdin. */
export async function execPlugin(bin: string, command: string, env: Record<string, string>, config: Record<string, unknown>): Promise<CniCallResult> {
  const started = performance.now();
  const vars = Object.entries({ CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin', ...env }).map(([k, v]) => `${k}=${v}`);
  const r = await sh(['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...vars, bin], { input: JSON.stringify(config) });
  const ms = performance.now() - started;
  let out: CniCallResult['out'] = {};
  try {
    out = r.stdout.trim() ? (JSON.parse(r.stdout) as CniCallResult['out']) : {};
  } catch {
    out = { msg: `unparsable stdout: ${r.stdout} ${r.stderr}` };
  }
  return { rc: r.code, out, ms };
}
