/**
 * A small method-table JSON-RPC server over node:http: `POST /<Kind>.<Method>` with a JSON body,
 * answered with JSON. Handlers return a value or throw; only this module writes responses.
 * Built for Docker's plugin client (no Content-Type, empty bodies, empty Host, keep-alive reuse).
 */
import { lstat, chmod, unlink } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Logger } from '../../common/log.js';
import { withDeadline } from '../../common/promises.js';
import { runInRequest } from '../../common/request-context.js';

/** One RPC method: gets the parsed JSON body (`EMPTY_BODY` when empty), resolves to the JSON answer. */
export type MethodHandler = (body: unknown) => Promise<unknown>;

/** What a call is about: its name for metrics (the method, or e.g. the CNI command) and the ids it names. */
export interface CallDescription {
  name: string;
  ids: Record<string, string>;
}

/** Status and JSON body sent for a handler's throw. */
export interface ErrorReply {
  status: number;
  body: unknown;
}

export interface MethodServerOptions {
  /** Keys are method names without the leading slash, e.g. `NetworkDriver.Join`. */
  routes: ReadonlyMap<string, MethodHandler>;
  /** Maps a handler's throw to the reply; `method` is the route key. */
  mapError: (err: unknown, method: string) => ErrorReply;
  logger: Logger;
  /** Request body cap; a larger body is answered 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Content-Type of every answer. Default Docker's plugin media type. */
  contentType?: string;
  /** A handler still running after this long is answered 500 (the work itself is not cancelled). Default 300 s. */
  handlerTimeoutMs?: number;
  /** Reads the call's name and ids from the parsed body, for its log line and metrics. Default: the method, no ids. */
  describe?: (method: string, body: unknown) => CallDescription;
  /** Called once per finished call (metrics). */
  onFinished?: (name: string, seconds: number, status: number) => void;
}

export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface MethodServer {
  /** Listens on a unix socket, replacing a stale socket file, and sets its file mode (e.g. 0o660). */
  listenUnix(path: string, mode?: number): Promise<void>;
  /** Listens on TCP (HTTPS when `tls` is given); resolves to the bound port (useful with port 0). */
  listenTcp(host: string, port: number, tls?: TlsFiles): Promise<number>;
  /** Stops accepting, closes idle keep-alive connections, waits for in-flight requests. */
  close(): Promise<void>;
}

export const DOCKER_PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';
const DEFAULT_MAX_BODY = 1024 * 1024;

class HttpReply extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Creates the server; nothing listens until `listenUnix`/`listenTcp`. */
export function createMethodServer(opts: MethodServerOptions): MethodServer {
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const contentType = opts.contentType ?? DOCKER_PLUGIN_CONTENT_TYPE;
  const handlerTimeoutMs = opts.handlerTimeoutMs ?? 300_000;
  const servers: http.Server[] = [];

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = `${JSON.stringify(body ?? {})}\n`;
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  // Every call runs with its own request id (sent on to Neutron) and ends in exactly one log line.
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => runInRequest({}, async (ctx) => {
    const started = performance.now();
    const method = (req.url ?? '/').split('?')[0]!.replace(/^\//, '');
    let name = method;
    let status = 200;
    let failure: unknown;
    try {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        throw new HttpReply(405, `method ${req.method} not allowed: use POST`);
      }
      const handler = opts.routes.get(method);
      if (!handler) throw new HttpReply(404, `unknown method ${method}`);
      const body = parseBody(await readBody(req, maxBody));
      if (opts.describe) {
        const d = opts.describe(method, body);
        name = d.name;
        Object.assign(ctx.ids, d.ids);
      }
      send(res, 200, await withDeadline(handler(body), handlerTimeoutMs, () => new HttpReply(500, `${method} timed out after ${handlerTimeoutMs} ms`)));
    } catch (err) {
      const reply = err instanceof HttpReply ? { status: err.status, body: { Err: err.message } } : opts.mapError(err, method);
      status = reply.status;
      failure = err;
      if (!res.headersSent) send(res, reply.status, reply.body);
    } finally {
      const seconds = (performance.now() - started) / 1000;
      opts.onFinished?.(name, seconds, status);
      const line = { reqId: ctx.requestId, method, ...(name !== method ? { call: name } : {}), status, ms: Math.round(seconds * 1e6) / 1000, ...ctx.ids };
      if (failure === undefined) opts.logger.info(line, 'call finished');
      else if (status >= 500) opts.logger.error({ ...line, err: failure }, 'call failed');
      else opts.logger.warn({ ...line, err: (failure as Error).message }, 'call refused');
    }
  });

  const configure = (server: http.Server): http.Server => {
    server.keepAliveTimeout = 120_000; // Docker's Go client keeps idle plugin connections open
    server.headersTimeout = 60_000;
    server.requestTimeout = 120_000; // bounds receiving a request, so a stalled client cannot hang a socket
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // Unparseable HTTP or a request that took too long to arrive: answer in the same {"Err"} shape.
      opts.logger.debug({ err: err.message, code: err.code }, 'client error');
      if (!socket.writable) return void socket.destroy();
      const [status, reason] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
      const text = JSON.stringify({ Err: `bad request: ${err.code ?? err.message}` });
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    });
    servers.push(server);
    return server;
  };
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => void onRequest(req, res);

  return {
    async listenUnix(path, mode = 0o660) {
      await removeStaleSocket(path);
      const server = configure(http.createServer(listener));
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
      await chmod(path, mode);
    },
    async listenTcp(host, port, tls) {
      const server = configure(tls ? https.createServer({ cert: tls.cert, key: tls.key }, listener) : http.createServer(listener));
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
      return (server.address() as net.AddressInfo).port;
    },
    async close() {
      await Promise.all(
        servers.splice(0).map(
          (s) => new Promise<void>((resolve) => {
            // A keep-alive connection whose call finishes during the drain turns idle later: close those too.
            const sweep = setInterval(() => s.closeIdleConnections(), 100);
            s.close(() => {
              clearInterval(sweep);
              resolve();
            });
            s.closeIdleConnections();
          }),
        ),
      );
    },
  };
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > 16 * max) req.destroy(); // draining to keep the connection usable has limits
    });
    req.on('end', () => (size > max ? reject(new HttpReply(413, `request body exceeds ${max} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
    req.on('close', () => reject(new HttpReply(400, 'request aborted'))); // no-op once settled
  });
}

/** What a handler gets for an empty body: an empty object, recognisable as "nothing was sent". */
export const EMPTY_BODY: Readonly<Record<string, never>> = Object.freeze({});

/** Docker sends no Content-Type, and an empty body for Activate/GetCapabilities: both are fine. */
function parseBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') return EMPTY_BODY;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpReply(400, `malformed JSON body: ${(err as Error).message}`);
  }
}

/** Removes a socket file left by a dead process; refuses to touch a live socket or a non-socket file. */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw new Error(`refusing to replace ${path}: not a unix socket`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`socket ${path} is in use by another process`);
  await unlink(path);
}
