/**
 * The loopback HTTP server of a daemon's operator endpoints: `GET /alive`, `GET /ready` (health port) and
 * `GET /metrics` (metrics port). One server per port; when both ports are equal, one server answers all three.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/log.js';

export interface StatusReply {
  status: number;
  contentType: string;
  body: string;
}

export type StatusRoute = () => Promise<StatusReply>;

export interface StatusServerOptions {
  host: string;
  /** `/alive` and `/ready`; 0 turns them off. */
  healthPort: number;
  /** `/metrics`; 0 turns it off. */
  metricsPort: number;
  alive: StatusRoute;
  ready: StatusRoute;
  metrics: StatusRoute;
  logger: Logger;
}

export interface StatusServers {
  /** Bound ports by path group (useful with port 0 in tests: not here, 0 means off). */
  readonly ports: { health?: number; metrics?: number };
  close(): Promise<void>;
}

export const jsonReply = (status: number, body: unknown): StatusReply => ({
  status,
  contentType: 'application/json',
  body: `${JSON.stringify(body)}\n`,
});

/** Starts the servers; a port that cannot be bound is a start-up error naming the port and its option. */
export async function startStatusServers(opts: StatusServerOptions): Promise<StatusServers> {
  const groups = new Map<number, Map<string, StatusRoute>>();
  const add = (port: number, path: string, route: StatusRoute) => {
    if (port === 0) return;
    if (!groups.has(port)) groups.set(port, new Map());
    groups.get(port)!.set(path, route);
  };
  add(opts.healthPort, '/alive', opts.alive);
  add(opts.healthPort, '/ready', opts.ready);
  add(opts.metricsPort, '/metrics', opts.metrics);
  const servers: http.Server[] = [];
  const ports: { health?: number; metrics?: number } = {};
  try {
    for (const [port, routes] of groups) {
      const server = http.createServer((req, res) => void answer(routes, req, res, opts.logger));
      server.keepAliveTimeout = 5_000;
      servers.push(server);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, opts.host, resolve));
      const bound = (server.address() as AddressInfo).port;
      if (routes.has('/ready')) ports.health = bound;
      if (routes.has('/metrics')) ports.metrics = bound;
      opts.logger.info({ address: `http://${opts.host}:${bound}`, paths: [...routes.keys()] }, 'status endpoints listening');
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw err;
  }
  return {
    ports,
    close: () => Promise.all(servers.map((s) => new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    }))).then(() => undefined),
  };
}

async function answer(routes: Map<string, StatusRoute>, req: http.IncomingMessage, res: http.ServerResponse, logger: Logger): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const route = routes.get(path);
  let reply: StatusReply;
  if (!route) reply = jsonReply(404, { error: `no ${path} here; try ${[...routes.keys()].join(', ')}` });
  else if (req.method !== 'GET' && req.method !== 'HEAD') reply = jsonReply(405, { error: 'use GET' });
  else {
    try {
      reply = await route();
    } catch (err) {
      logger.error({ err, path }, 'status endpoint failed');
      reply = jsonReply(500, { error: err instanceof Error ? err.message : String(err) });
    }
  }
  res.writeHead(reply.status, { 'Content-Type': reply.contentType, 'Content-Length': Buffer.byteLength(reply.body) });
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}
