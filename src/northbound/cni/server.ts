/**
 * The node daemon's API: one method, `POST /Cni.Exec`, on a unix socket (docs/cni.md: configurable,
 * unlike kuryr's hard-coded localhost:5036). Built on the shared method-table server.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../common/log.js';
import type { PodNetworkService } from '../../core/pod/pod-network.js';
import { createMethodServer, type MethodServer } from '../http/method-server.js';
import { cniError } from './errors.js';
import { createCniHandler } from './handlers.js';
import { DAEMON_METHOD } from './protocol.js';

export interface CniServerOptions {
  service: PodNetworkService;
  logger: Logger;
  socketPath: string;
  socketMode?: number;
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
  const handler = createCniHandler(opts.service, existsSync);
  // The method server hands mapError only the throw, so the body's version travels with it.
  const routes = new Map([
    [
      DAEMON_METHOD,
      async (body: unknown) => {
        const started = performance.now();
        try {
          const out = await handler(body);
          opts.logger.debug({ command: commandOf(body), ms: Math.round(performance.now() - started) }, 'cni call');
          return out;
        } catch (err) {
          throw new CallError(err, versionOf(body), commandOf(body));
        }
      },
    ],
  ]);
  const server = createMethodServer({
    routes,
    contentType: 'application/json',
    logger: opts.logger,
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
