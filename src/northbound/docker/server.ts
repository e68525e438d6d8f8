/**
 * Starts the Docker remote plugin: the method server with the Docker routes on a unix socket
 * (`/run/docker/plugins/kuryr.sock`, found by Docker without a spec file) or on TCP with a
 * `kuryr.spec` discovery file (docs/docker-api.md).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import type { Logger } from '../../common/log.js';
import type { LibnetworkService } from '../../core/docker/libnetwork.js';
import { createMethodServer, type CallDescription, type TlsFiles } from '../http/method-server.js';
import { mapDockerError } from './errors.js';
import { dockerRoutes, poolAdminRoutes } from './routes.js';

export const DEFAULT_SOCKET_PATH = '/run/docker/plugins/kuryr.sock';
export const DEFAULT_SPEC_FILE = '/usr/lib/docker/plugins/kuryr/kuryr.spec';

export interface DockerPluginOptions {
  service: LibnetworkService;
  logger: Logger;
  /** Unix socket path (used when `tcp` is absent). Default `/run/docker/plugins/kuryr.sock`. */
  socketPath?: string;
  /** File mode of the socket. Default 0o660. */
  socketMode?: number;
  /** Listen on TCP instead (e.g. `{host: '127.0.0.1', port: 23750}`), HTTPS when `tls` is given. */
  tcp?: { host: string; port: number; tls?: TlsFiles };
  /** Spec file written in TCP mode. Default `/usr/lib/docker/plugins/kuryr/kuryr.spec`. */
  specFile?: string;
  /** Request body cap in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Told about every finished call (the daemon's metrics). */
  onCall?: (method: string, seconds: number, error: boolean) => void;
}

/** Body fields naming what a call works on, and the name each gets in the call's log line. */
const ID_FIELDS: ReadonlyArray<[string, string]> = [['NetworkID', 'network'], ['EndpointID', 'endpoint'], ['PoolID', 'pool'], ['Address', 'address']];

/** The ids of a Docker call; `sandbox` is the container's network namespace (its id is the SandboxKey's file name). */
export function describeDockerCall(method: string, body: unknown): CallDescription {
  const ids: Record<string, string> = {};
  const b = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  for (const [field, name] of ID_FIELDS) if (typeof b[field] === 'string' && b[field] !== '') ids[name] = b[field] as string;
  if (typeof b['SandboxKey'] === 'string') ids['sandbox'] = (b['SandboxKey'] as string).split('/').pop() ?? '';
  return { name: method, ids };
}

export interface DockerPlugin {
  /** `unix:///path` or the URL written to the spec file. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts serving Docker's NetworkDriver + IpamDriver calls; resolves once listening. */
export async function startDockerPlugin(opts: DockerPluginOptions): Promise<DockerPlugin> {
  const logger = opts.logger;
  const onCall = opts.onCall;
  const server = createMethodServer({
    routes: new Map([...dockerRoutes(opts.service), ...poolAdminRoutes(opts.service)]),
    mapError: mapDockerError,
    logger,
    describe: describeDockerCall,
    ...(onCall ? { onFinished: (name: string, seconds: number, status: number) => onCall(name, seconds, status >= 400) } : {}),
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  });
  let address: string;
  try {
    if (opts.tcp) {
      const { host, tls } = opts.tcp;
      const port = await server.listenTcp(host, opts.tcp.port, tls);
      address = `${tls ? 'https' : 'http'}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
      const specFile = opts.specFile ?? DEFAULT_SPEC_FILE;
      await mkdir(dirname(specFile), { recursive: true });
      await writeFile(specFile, `${address}\n`, { mode: 0o644 });
      logger.info({ address, specFile }, 'docker plugin listening on TCP');
    } else {
      const path = opts.socketPath ?? DEFAULT_SOCKET_PATH;
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await server.listenUnix(path, opts.socketMode ?? 0o660);
      address = `unix://${path}`;
      logger.info({ address }, 'docker plugin listening');
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  return { address, close: () => server.close() };
}
