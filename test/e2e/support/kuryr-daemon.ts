import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild, waitFor } from './sh.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_SOCKET = '/run/docker/plugins/kuryr.sock';

export interface DaemonOptions {
  socketPath?: string;
  /** Extra `[group] key = value` lines appended to the generated kuryr.conf. */
  extraConfig?: string;
  /** Run the daemon inside this network namespace (a second host). */
  netns?: string;
  hostId?: string;
  env?: Record<string, string>;
  /** Keystone user of `[neutron]`; default the `kuryr` service user (admin in project `service`). */
  credentials?: { username: string; password: string; projectName: string };
  /** Stop the main job's daemon first even though this one uses another socket. */
  stopsMainJob?: boolean;
  /** `tsx` (default: the sources as they are now) or `compiled` (dist/ from `npm run build`, as installed). */
  runtime?: DaemonRuntime;
}

export type DaemonRuntime = 'tsx' | 'compiled';

/** The argv that runs `kuryr <args>` under the given runtime. */
export function kuryrArgv(runtime: DaemonRuntime, args: string[]): string[] {
  return runtime === 'compiled'
    ? [process.execPath, join(ROOT, 'dist/src/bin/kuryr.js'), ...args]
    : [process.execPath, '--import', 'tsx', join(ROOT, 'src/bin/kuryr.ts'), ...args];
}

/** Builds a kuryr.conf for the e2e stack: the `kuryr` service user of scripts/aio.sh. */
export function e2eConfig(opts: DaemonOptions): string {
  return [
    '[DEFAULT]',
    `socket_path = ${opts.socketPath ?? DEFAULT_SOCKET}`,
    // no garbage collector unless a test asks for one (extraConfig wins): on the shared stack other
    // tests' fixtures and other simulated hosts are not this daemon's leftovers
    'gc_interval = 0',
    ...(opts.hostId ? [`host = ${opts.hostId}`] : []),
    // the main job's daemons hold the default status ports; tests read their own daemons through the socket
    'health_port = 0',
    'metrics_port = 0',
    '[neutron]',
    'auth_type = password',
    'auth_url = http://127.0.0.1:5000/v3',
    `username = ${opts.credentials?.username ?? 'kuryr'}`,
    `password = ${opts.credentials?.password ?? 'kuryr'}`,
    `project_name = ${opts.credentials?.projectName ?? 'service'}`,
    'user_domain_name = Default',
    'project_domain_name = Default',
    'region_name = RegionOne',
    opts.extraConfig ?? '',
  ].join('\n');
}

/** Our Docker plugin daemon as a child process, the way an operator runs it. */
export class KuryrDaemon {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'kuryr-e2e-'));
  readonly confPath = join(this.dir, 'kuryr.conf');
  readonly logPath = join(this.dir, 'kuryr.log');

  constructor(private readonly opts: DaemonOptions = {}) {
    writeFileSync(this.confPath, e2eConfig(opts));
  }

  get socketPath(): string {
    return this.opts.socketPath ?? DEFAULT_SOCKET;
  }

  async start(): Promise<void> {
    if (this.socketPath === DEFAULT_SOCKET || this.opts.stopsMainJob === true) await stopMainJobDaemon();
    // another daemon still serving the socket (an earlier test's, shutting down or left behind) would answer
    // in our child's place and the test would silently exercise that one
    await waitFor(`${this.socketPath} to be free`, async () => !(existsSync(this.socketPath) && (await this.activate())), 15_000, 200).catch(() => {
      throw new Error(`${this.socketPath} is served by another process (ss -xlp | grep ${this.socketPath}); not starting a second daemon behind it`);
    });
    const out = openSync(this.logPath, 'a');
    const cmd = kuryrArgv(this.opts.runtime ?? 'tsx', ['serve', 'docker', '--config-file', this.confPath]);
    const argv = this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns, ...cmd] : cmd;
    this.child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: { ...process.env, KURYR_LOG_LEVEL: 'debug', ...this.opts.env },
    });
    const child = this.child;
    await waitFor('kuryr daemon socket', async () => {
      // our own child must be the one answering: a daemon that died (socket taken, bad config) fails fast
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`kuryr daemon exited (${child.exitCode ?? child.signalCode}): ${tail(this.logPath)}`);
      }
      return existsSync(this.socketPath) && (await this.activate());
    }, 60_000, 100, true);
  }

  /** POSTs Plugin.Activate the way dockerd does; true when it answers. */
  activate(): Promise<boolean> {
    return new Promise((res) => {
      const req = request({ socketPath: this.socketPath, path: '/Plugin.Activate', method: 'POST', headers: { Accept: 'application/vnd.docker.plugins.v1.2+json' } }, (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode === 200));
      });
      req.on('error', () => res(false));
      req.end();
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopChild(this.child, signal);
    this.child = undefined;
  }
}

/**
 * `scripts/aio.sh up` (the main job) runs a Kuryr daemon on the default socket; tests and the
 * benchmark run the code under test there instead, so that one is stopped (`aio.sh up` restarts it).
 */
async function stopMainJobDaemon(): Promise<void> {
  const pidFile = '/run/aio/kuryr-docker.pid';
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  // a pid file can outlive its process (aio.sh drops those it finds): never signal a process that is not ours
  const forget = () => {
    // with its identity file (scripts/lib/pidfile.sh)
    for (const f of [pidFile, `${pidFile}.id`]) rmSync(f, { force: true });
  };
  if (!isKuryrProcess(pid)) {
    forget();
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  forget();
  await waitFor('the main job daemon to exit', async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 15_000, 100);
}

function isKuryrProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kuryr');
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(no log)';
  }
}
