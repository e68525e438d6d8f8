/**
 * The node daemon's API: one method, `POST /Cni.Exec`, on a unix socket (docs/cni.md: configurable,
 * unlike kuryr's hard-coded localhost:5036). Built on the shared method-table server.
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../common/log.js';
import { InvalidInputError } from '../../common/errors.js';
import type { PodNetworkService } from '../../core/pod/pod-network.js';
import type { PodPoolAdmin } from '../../core/pod/pod-pools.js';
import { createMethodServer, type CallDescription, type MethodServer } from '../http/method-server.js';
import { cniError } from './errors.js';
import { createCniHandler, type NetnsExists } from './handlers.js';
import { DAEMON_METHOD } from './protocol.js';
import { NEUTRON_ID_RE } from './wire.js';

export interface CniServerOptions {
  service: PodNetworkService;
  logger: Logger;
  socketPath: string;
  socketMode?: number;
  /** The node's pod pools (`kuryr pool ... --cni`); absent when pools are off. */
  pools?: PodPoolAdmin;
  /** Told about every finished command (the daemon's metrics). */
  onCall?: (command: string, seconds: number, error: boolean) => void;
  /** Whether a CNI_NETNS path can be used. Default `isNetnsPath`. */
  netnsExists?: NetnsExists;
}

/**
 * True when `path` is a namespace handle (a file of the kernel's nsfs, like /proc/self/ns/net or a
 * bind mount under /var/run/netns), not merely an existing path: ADD into `/` would otherwise create
 * a Neutron port before the data plane fails.
 */
export function isNetnsPath(path: string): boolean {
  try {
    return statSync(path).dev === statSync('/proc/self/ns/net').dev;
  } catch {
    return false;
  }
}

/** The command and the pod/container a CNI call is about, read leniently (the call itself validates). */
export function describeCniCall(_method: string, body: unknown): CallDescription {
  const env = (body as { env?: Record<string, unknown> } | undefined)?.env ?? {};
  const str = (k: string) => (typeof env[k] === 'string' && env[k] !== '' ? (env[k] as string) : undefined);
  const args = new Map((str('CNI_ARGS') ?? '').split(';').map((kv) => kv.split('=', 2) as [string, string | undefined]));
  const ns = args.get('K8S_POD_NAMESPACE');
  const pod = args.get('K8S_POD_NAME');
  const ids: Record<string, string> = {};
  if (pod) ids['pod'] = ns ? `${ns}/${pod}` : pod;
  for (const [k, name] of [['CNI_CONTAINERID', 'container'], ['CNI_IFNAME', 'ifname'], ['CNI_NETNS', 'netns']] as const) {
    const v = str(k);
    if (v) ids[name] = v;
  }
  return { name: commandOf(body), ids };
}

/** `Kuryr.PoolShow|PoolFill|PoolDrain`, the Docker daemon's pool methods with the same bodies; no pools: nothing to show. */
function poolRoutes(pools: PodPoolAdmin | undefined): Map<string, (body: unknown) => Promise<unknown>> {
  const field = (body: unknown, name: string): unknown => (body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined);
  const networkId = (body: unknown): string => {
    const v = field(body, 'NetworkID');
    if (typeof v !== 'string' || !NEUTRON_ID_RE.test(v)) throw new InvalidInputError(`NetworkID must be a Neutron network UUID, got ${JSON.stringify(v) ?? 'nothing'}`, 'NetworkID');
    return v;
  };
  const count = (body: unknown): number => {
    const v = field(body, 'Count');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 500) throw new InvalidInputError(`Count must be a whole number from 1 to 500, got ${JSON.stringify(v) ?? 'nothing'}`, 'Count');
    return v;
  };
  const off = (): never => {
    throw new InvalidInputError('port pools are off on this node ([vif_pool] enabled = False)', 'vif_pool');
  };
  return new Map<string, (body: unknown) => Promise<unknown>>([
    ['Kuryr.PoolShow', async () => ({ Pools: pools?.stats() ?? [] })],
    ['Kuryr.PoolFill', async (b: unknown) => ({ Ready: await (pools ?? off()).fill(networkId(b), count(b)) })],
    ['Kuryr.PoolDrain', async (b: unknown) => ({ Deleted: await (pools ?? off()).drain(networkId(b)) })],
  ]);
}

function versionOf(body: unknown): string {
  const v = (body as { config?: { cniVersion?: unknown } } | undefined)?.config?.cniVersion;
  return typeof v === 'string' ? v : '1.1.0';
}

function commandOf(body: unknown): string {
  const c = (body as { env?: { CNI_COMMAND?: unknown } } | undefined)?.env?.CNI_COMMAND;
  return typeof c === 'string' ? c : 'call';
}

/** Starts listening; `close()` stops accepting and waits for running calls. */
export async function startCniServer(opts: CniServerOptions): Promise<MethodServer> {
  const handler = createCniHandler(opts.service, opts.netnsExists ?? isNetnsPath);
  // The method server hands mapError only the throw, so the body's version travels with it.
  const routes = new Map([
    [
      DAEMON_METHOD,
      async (body: unknown) => {
        try {
          return await handler(body);
        } catch (err) {
          throw new CallError(err, versionOf(body), commandOf(body));
        }
      },
    ],
  ]);
  for (const [name, route] of poolRoutes(opts.pools)) routes.set(name, route);
  const server = createMethodServer({
    routes,
    contentType: 'application/json',
    logger: opts.logger,
    describe: describeCniCall,
    ...(opts.onCall ? { onFinished: (name: string, seconds: number, status: number) => opts.onCall!(name, seconds, status >= 400) } : {}),
    mapError: (err) => {
      const e = err instanceof CallError ? err : new CallError(err, '1.1.0', 'call');
      return { status: 500, body: cniError(e.inner, e.cniVersion, e.command) };
    },
  });
  await mkdir(dirname(opts.socketPath), { recursive: true });
  await server.listenUnix(opts.socketPath, opts.socketMode ?? 0o600);
  return server;
}

class CallError extends Error {
  constructor(readonly inner: unknown, readonly cniVersion: string, readonly command: string) {
    super(inner instanceof Error ? inner.message : String(inner));
  }
}
