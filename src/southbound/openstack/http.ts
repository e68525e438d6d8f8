import { Agent, request, type Dispatcher } from 'undici';
import { TimeoutError, UnavailableError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { currentRequest } from '../../common/request-context.js';
import { telemetry } from '../../common/telemetry.js';

/** One JSON request to an OpenStack REST service. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  /** Serialized as JSON when present. */
  body?: unknown;
  /**
   * Whether the call may be repeated. Defaults to true for GET, HEAD, PUT and DELETE.
   * Action PUTs (`add_router_interface`, `add_subports`) pass `false`: repeating them is not harmless.
   */
  idempotent?: boolean;
}

/** An answer of any status; callers decide what an error status means for their service. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or `undefined` for an empty or non-JSON body. */
  body: unknown;
  /** Raw body text, kept for error messages when the body is not JSON. */
  text: string;
}

export interface RetryOptions {
  /** Total attempts including the first; 1 disables retries. */
  tries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface OpenStackHttpOptions {
  /** Per-request timeout (headers and body idle), in milliseconds. */
  timeoutMs?: number;
  /** PEM CA bundle for TLS endpoints (`[neutron] cafile`). */
  ca?: string | Buffer;
  /** Skip TLS verification (`[neutron] insecure`). */
  insecure?: boolean;
  retry?: Partial<RetryOptions>;
  logger?: Logger;
  /** Injected dispatcher (undici `MockAgent` in tests); the client then owns no agent. */
  dispatcher?: Dispatcher;
}

export const DEFAULT_RETRY: RetryOptions = { tries: 4, baseDelayMs: 200, maxDelayMs: 2000 };
const RETRY_STATUSES = new Set([502, 503, 504]);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
/** undici and libuv codes meaning the request never got an answer; safe to repeat when idempotent. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Host and path of a URL, without query or credentials: safe for messages and logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/** The `code` of an error or of any error in its `cause` chain. */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The resource a URL addresses, for metrics: `/v2.0/ports/<id>/tags/<tag>` → `ports/tags`, `/v3/auth/tokens` →
 * `auth/tokens`. REST paths alternate collection and id, so every second segment (an id or a tag value) is
 * dropped and the label keeps a handful of values.
 */
export function resourceOf(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return 'unknown';
  }
  const segs = path.split('/').filter((s) => s !== '' && !/^v\d+(\.\d+)?$/.test(s));
  if (segs[0] === 'auth') return segs.join('/'); // Keystone's /v3/auth/tokens has no ids
  return segs.filter((_, i) => i % 2 === 0).join('/') || '/';
}

/** Exponential backoff with full jitter. */
export function backoffDelay(attempt: number, retry: RetryOptions): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
  return Math.floor(Math.random() * ceiling);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * JSON over undici with keep-alive pools, per-request timeouts, optional CA/insecure TLS,
 * and bounded retries (connection errors, 502/503/504) for idempotent calls only.
 * It never logs headers or bodies: those carry tokens and passwords.
 */
export class OpenStackHttp {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly logger: Logger;

  constructor(opts: OpenStackHttpOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.logger = opts.logger ?? silentLogger();
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 120_000,
        connections: 64,
        connect: {
          timeout: Math.min(this.timeoutMs, 10_000),
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
          ...(opts.insecure ? { rejectUnauthorized: false } : {}),
        },
      });
      this.ownsDispatcher = true;
    }
  }

  /** Sends one request, retrying when allowed; returns every HTTP answer, throws only when none came. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(req.method);
    const tries = idempotent ? Math.max(1, this.retry.tries) : 1;
    const where = `${req.method} ${safeUrl(req.url)}`;
    let lastError: unknown;
    for (let attempt = 0; attempt < tries; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt, this.retry));
      const started = Date.now();
      try {
        const res = await this.once(req);
        telemetry().openstackCall(req.method, resourceOf(req.url), String(res.status), (Date.now() - started) / 1000);
        this.logger.debug(
          { method: req.method, url: safeUrl(req.url), status: res.status, ms: Date.now() - started, reqId: requestIdOf(res.headers), attempt },
          'openstack http',
        );
        if (RETRY_STATUSES.has(res.status) && attempt + 1 < tries) continue;
        return res;
      } catch (err) {
        const code = errorCode(err);
        telemetry().openstackCall(req.method, resourceOf(req.url), code ?? 'error', (Date.now() - started) / 1000);
        this.logger.debug({ method: req.method, url: safeUrl(req.url), code, ms: Date.now() - started, attempt }, 'openstack http failed');
        if (!code || !CONNECTION_ERROR_CODES.has(code)) throw err;
        lastError = err;
        // No answer within timeoutMs: asking again would wait as long again, past what our callers wait
        // (kubelet gives a whole CNI ADD 2 min); neutron-server stalled on RabbitMQ answers no sooner.
        if (TIMEOUT_CODES.has(code)) break;
      }
    }
    const code = errorCode(lastError);
    if (code && TIMEOUT_CODES.has(code)) {
      throw new TimeoutError(`failed to ${where}: no answer within ${this.timeoutMs} ms`, { cause: lastError });
    }
    const suffix = tries > 1 ? ` after ${tries} attempts` : '';
    throw new UnavailableError(`failed to ${where}: ${code ?? 'connection error'}${suffix}`, { cause: lastError });
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    // Neutron and Keystone log this as the global request id: one grep finds the call on both sides
    const call = currentRequest();
    if (call) headers['x-openstack-request-id'] = call.requestId;
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    const res = await request(req.url, {
      method: req.method,
      headers,
      body,
      dispatcher: this.dispatcher,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    const text = await res.body.text();
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }

  /** Closes the keep-alive pools this client created. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

/** First value of a response header. */
export function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** OpenStack's request id (`x-openstack-request-id`, or Nova/Keystone's `x-compute-request-id`). */
export function requestIdOf(headers: HttpResponse['headers']): string | undefined {
  return header(headers, 'x-openstack-request-id') ?? header(headers, 'x-compute-request-id');
}
