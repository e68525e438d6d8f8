/**
 * Northbound test doubles: `FakeLibnetwork`, an in-memory LibnetworkService that records every call
 * with its domain argument, answers canned results and can be told to throw or hang; and
 * `FakeDockerEngine`, a client that talks to the plugin socket exactly like dockerd.
 */
import net from 'node:net';
import type {
  CreateEndpointResult,
  DriverCapabilities,
  JoinResult,
  LibnetworkService,
  RequestPoolResult,
} from '../../src/core/docker/libnetwork.js';

export interface RecordedCall {
  method: ServiceMethod;
  arg: unknown;
}

/** Canned answers; tests overwrite fields directly. */
export interface FakeResults {
  capabilities: DriverCapabilities;
  defaultAddressSpaces: { local: string; global: string };
  ipamCapabilities: { requiresMacAddress: boolean; requiresRequestReplay: boolean };
  createEndpoint: CreateEndpointResult;
  endpointOperInfo: Record<string, unknown>;
  join: JoinResult;
  requestPool: RequestPoolResult;
  requestAddress: string;
}

/** Every use-case method of the driver, flat: the fake answers all of them itself. */
type FlatDriver = Pick<LibnetworkService, 'capabilities' | 'defaultAddressSpaces' | 'ipamCapabilities'> &
  LibnetworkService['networks'] & LibnetworkService['endpoints'] & LibnetworkService['sandboxes'] &
  LibnetworkService['connectivity'] & LibnetworkService['pools'] & LibnetworkService['addresses'] & LibnetworkService['portPools'];

export type ServiceMethod = keyof FlatDriver;

/** One object plays every concern, so calls of all verbs land in one ordered record. */
export class FakeLibnetwork implements LibnetworkService, FlatDriver {
  readonly networks = this;
  readonly endpoints = this;
  readonly sandboxes = this;
  readonly connectivity = this;
  readonly pools = this;
  readonly addresses = this;
  readonly portPools = this;
  readonly calls: RecordedCall[] = [];
  readonly results: FakeResults = {
    capabilities: { scope: 'local', connectivityScope: 'global' },
    defaultAddressSpaces: { local: 'no_address_space', global: 'no_address_space' },
    ipamCapabilities: { requiresMacAddress: true, requiresRequestReplay: false },
    createEndpoint: {},
    endpointOperInfo: { status: 'ACTIVE' },
    join: { srcName: 't_c0123456789', dstPrefix: 'eth', gateway: '10.0.0.1', staticRoutes: [], disableGatewayService: true },
    requestPool: { poolId: '7064673a-9778-4f6f-a324-e4e6598c6881', pool: '10.0.0.0/24', data: {} },
    requestAddress: '10.0.0.2/24',
  };
  private readonly failures = new Map<ServiceMethod, unknown>();
  private readonly hangs = new Set<ServiceMethod>();

  /** Makes the next calls of `method` throw `err` (until `clearFailures`). */
  failWith(method: ServiceMethod, err: unknown): void {
    this.failures.set(method, err);
  }
  /** Makes calls of `method` never settle. */
  hang(method: ServiceMethod): void {
    this.hangs.add(method);
  }
  clearFailures(): void {
    this.failures.clear();
    this.hangs.clear();
  }
  /** The arguments of every recorded call of `method`. */
  argsOf(method: ServiceMethod): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.arg);
  }

  private record(method: ServiceMethod, arg: unknown): void {
    this.calls.push({ method, arg });
    if (this.failures.has(method)) throw this.failures.get(method);
  }
  private async run<T>(method: ServiceMethod, arg: unknown, result: T): Promise<T> {
    this.record(method, arg);
    if (this.hangs.has(method)) await new Promise(() => {});
    return structuredClone(result);
  }

  capabilities(): DriverCapabilities {
    this.record('capabilities', undefined);
    return { ...this.results.capabilities };
  }
  defaultAddressSpaces(): { local: string; global: string } {
    this.record('defaultAddressSpaces', undefined);
    return { ...this.results.defaultAddressSpaces };
  }
  ipamCapabilities(): { requiresMacAddress: boolean; requiresRequestReplay: boolean } {
    this.record('ipamCapabilities', undefined);
    return { ...this.results.ipamCapabilities };
  }
  createNetwork(req: Parameters<FlatDriver['createNetwork']>[0]): Promise<void> {
    return this.run('createNetwork', req, undefined);
  }
  deleteNetwork(networkId: string): Promise<void> {
    return this.run('deleteNetwork', networkId, undefined);
  }
  createEndpoint(req: Parameters<FlatDriver['createEndpoint']>[0]): Promise<CreateEndpointResult> {
    return this.run('createEndpoint', req, this.results.createEndpoint);
  }
  endpointOperInfo(ref: Parameters<FlatDriver['endpointOperInfo']>[0]): Promise<Record<string, unknown>> {
    return this.run('endpointOperInfo', ref, this.results.endpointOperInfo);
  }
  deleteEndpoint(ref: Parameters<FlatDriver['deleteEndpoint']>[0]): Promise<void> {
    return this.run('deleteEndpoint', ref, undefined);
  }
  join(req: Parameters<FlatDriver['join']>[0]): Promise<JoinResult> {
    return this.run('join', req, this.results.join);
  }
  leave(ref: Parameters<FlatDriver['leave']>[0]): Promise<void> {
    return this.run('leave', ref, undefined);
  }
  programExternalConnectivity(req: Parameters<FlatDriver['programExternalConnectivity']>[0]): Promise<void> {
    return this.run('programExternalConnectivity', req, undefined);
  }
  revokeExternalConnectivity(ref: Parameters<FlatDriver['revokeExternalConnectivity']>[0]): Promise<void> {
    return this.run('revokeExternalConnectivity', ref, undefined);
  }
  requestPool(req: Parameters<FlatDriver['requestPool']>[0]): Promise<RequestPoolResult> {
    return this.run('requestPool', req, this.results.requestPool);
  }
  releasePool(poolId: string): Promise<void> {
    return this.run('releasePool', poolId, undefined);
  }
  requestAddress(req: Parameters<FlatDriver['requestAddress']>[0]): Promise<string> {
    return this.run('requestAddress', req, this.results.requestAddress);
  }
  releaseAddress(req: Parameters<FlatDriver['releaseAddress']>[0]): Promise<void> {
    return this.run('releaseAddress', req, undefined);
  }

  poolStats(): ReturnType<LibnetworkService['portPools']['poolStats']> {
    return [];
  }

  poolFill(networkId: string, count: number): Promise<number> {
    return this.run('poolFill', { networkId, count }, count);
  }

  poolDrain(networkId: string): Promise<number> {
    return this.run('poolDrain', { networkId }, 0);
  }
}

// ---------------------------------------------------------------- fake Docker engine (client side)


/** One HTTP answer as the fake engine saw it. */
export interface EngineReply {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed body, or `undefined` when it is not JSON. */
  json: unknown;
}

/**
 * Speaks to the plugin socket byte-for-byte like dockerd's Go plugin client: POST, empty `Host`,
 * no Content-Type, `Accept: application/vnd.docker.plugins.v1.2+json`, one reused keep-alive connection.
 * (Lives here because test-helper files outside test/fakes/fake-libnetwork.ts were out of scope.)
 */
export class FakeDockerEngine {
  /** Number of TCP/unix connections opened so far (1 means keep-alive reuse worked). */
  connections = 0;
  private socket: net.Socket | undefined;
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closed = true;

  constructor(private readonly socketPath: string, private readonly timeoutMs = 5000) {}

  /** Sends one request; `body` is sent verbatim (a string, or raw bytes). */
  async call(path: string, body: string | Buffer = '', httpMethod = 'POST'): Promise<EngineReply> {
    const sock = await this.connect();
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    const head =
      `${httpMethod} ${path} HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\n` +
      `Content-Length: ${payload.length}\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n` +
      `Accept-Encoding: gzip\r\n\r\n`;
    sock.write(Buffer.concat([Buffer.from(head), payload]));
    return this.readReply();
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): Promise<net.Socket> {
    if (this.socket && !this.closed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const s = net.connect(this.socketPath);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        this.connections++;
        this.closed = false;
        this.buf = Buffer.alloc(0);
        this.socket = s;
        s.on('data', (d: Buffer) => {
          this.buf = Buffer.concat([this.buf, d]);
          this.waiter?.();
        });
        s.on('error', () => {});
        s.on('close', () => {
          this.closed = true;
          this.waiter?.();
        });
        resolve(s);
      });
    });
  }

  private async readReply(): Promise<EngineReply> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const reply = this.tryParse();
      if (reply) return reply;
      if (this.closed) throw new Error('connection closed before a full reply');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => (clearTimeout(t), resolve());
      });
      this.waiter = undefined;
    }
  }

  private tryParse(): EngineReply | undefined {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] ?? NaN);
    if (!Number.isFinite(len)) throw new Error(`reply without Content-Length: ${statusLine}`);
    if (this.buf.length < end + 4 + len) return undefined;
    const text = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
    this.buf = this.buf.subarray(end + 4 + len);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: Number(statusLine!.split(' ')[1]), headers, text, json };
  }
}
