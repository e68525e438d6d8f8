/**
 * The `kuryr-cni` executable's logic: read the CNI environment and stdin, answer VERSION locally
 * (podman asks it in nearly every command), forward everything else to the node daemon over its
 * unix socket, print the answer. Only `node:http`: this file is bundled alone into one small file.
 * cni/kuryr-cni (Go) is its compiled twin and must print the same bytes: change both together
 * (test/unit/cni-shim-go.test.ts compares them).
 */
import http from 'node:http';
import {
  CNI_CODES, CNI_ENV_KEYS, DAEMON_METHOD, DEFAULT_DAEMON_SOCKET, DEFAULT_TIMEOUT_S, SOCKET_CONFIG_KEY, TIMEOUT_CONFIG_KEY, versionReply,
  type CniErrorBody, type DaemonRequest,
} from './protocol.js';

export interface ShimOutcome {
  stdout: string;
  exitCode: 0 | 1;
}

/** Runs one CNI call. Never throws: every failure becomes a CNI error on stdout and exit code 1. */
export async function runShim(env: NodeJS.ProcessEnv, stdin: string): Promise<ShimOutcome> {
  let config: Record<string, unknown> = {};
  let cniVersion = '1.1.0';
  const fail = (code: number, msg: string, details?: string): ShimOutcome => ({
    stdout: `${JSON.stringify({ cniVersion, code, msg, ...(details ? { details } : {}) } satisfies CniErrorBody)}\n`,
    exitCode: 1,
  });
  if (stdin.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(stdin);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail(CNI_CODES.decodeFailure, 'network configuration on stdin is not a JSON object');
      config = parsed as Record<string, unknown>;
    } catch (err) {
      return fail(CNI_CODES.decodeFailure, `failed to decode network configuration on stdin: ${(err as Error).message}`);
    }
  }
  if (typeof config.cniVersion === 'string') cniVersion = config.cniVersion;
  const command = env.CNI_COMMAND;
  if (!command) return fail(CNI_CODES.invalidEnv, 'CNI_COMMAND is not set');
  if (command === 'VERSION') return { stdout: `${JSON.stringify(versionReply(cniVersion))}\n`, exitCode: 0 };
  // Every other command needs the network configuration; saying so here keeps the answer the same whether
  // or not the daemon is up.
  if (stdin.trim() === '') return fail(CNI_CODES.decodeFailure, `network configuration on stdin is empty; ${command} needs it`);

  // Only an absolute path is a unix socket to node:http: an empty string would mean TCP to localhost:80.
  const configured = config[SOCKET_CONFIG_KEY] ?? undefined;
  if (configured !== undefined && (typeof configured !== 'string' || !configured.startsWith('/'))) {
    return fail(CNI_CODES.invalidConfig, `${SOCKET_CONFIG_KEY} must be the absolute path of the kuryr-daemon socket, not ${jsonPrefix(configured, 200)}`);
  }
  const socketPath = configured ?? DEFAULT_DAEMON_SOCKET;
  const timeout = config[TIMEOUT_CONFIG_KEY] ?? DEFAULT_TIMEOUT_S;
  if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= 3600)) {
    return fail(CNI_CODES.invalidConfig, `${TIMEOUT_CONFIG_KEY} must be a number of seconds above 0 and at most 3600, not ${jsonPrefix(timeout, 200)}`);
  }
  const forwarded: DaemonRequest['env'] = {};
  for (const key of CNI_ENV_KEYS) if (env[key] !== undefined) forwarded[key] = env[key];
  // The configuration goes on as the runtime wrote it (a DaemonRequest in JSON): serialising the parsed
  // value again would overflow the stack on deeply nested input and could change numbers.
  const payload = `{"env":${JSON.stringify(forwarded)},"config":${stdin}}`;
  let reply: { status: number; body: string };
  try {
    reply = await post(socketPath, payload, timeout);
  } catch (err) {
    if (err instanceof ShimTimeout) return fail(CNI_CODES.tryAgainLater, `kuryr-daemon at ${socketPath} did not answer within ${timeout} s (${TIMEOUT_CONFIG_KEY})`);
    const from = configured === undefined ? `the default socket: ${SOCKET_CONFIG_KEY} is not set in the network configuration` : SOCKET_CONFIG_KEY;
    return fail(CNI_CODES.tryAgainLater, `kuryr-daemon is not reachable at ${socketPath} (${from}): ${(err as Error).message}`);
  }
  let body: unknown;
  try {
    body = reply.body.trim() === '' ? {} : JSON.parse(reply.body);
  } catch {
    return fail(CNI_CODES.internal, `kuryr-daemon answered ${reply.status} with a non-JSON body`, reply.body.slice(0, 500));
  }
  if (reply.status === 200) {
    const empty = typeof body === 'object' && body !== null && Object.keys(body).length === 0;
    return { stdout: empty ? '' : `${JSON.stringify(body)}\n`, exitCode: 0 };
  }
  // a JSON null has no fields either (reading one off it would throw)
  const e = (typeof body === 'object' && body !== null ? body : {}) as Partial<CniErrorBody> & { Err?: string };
  if (typeof e.code === 'number' && typeof e.msg === 'string') return { stdout: `${JSON.stringify({ ...e, cniVersion })}\n`, exitCode: 1 };
  if (reply.status === 413) return fail(CNI_CODES.invalidConfig, `network configuration on stdin is too large for kuryr-daemon: ${e.Err ?? reply.status}`);
  return fail(CNI_CODES.internal, `kuryr-daemon answered ${reply.status}: ${e.Err ?? reply.body.slice(0, 500)}`);
}

/**
 * `JSON.stringify(value).slice(0, max)` for a parsed JSON value, walking only what is shown: a deeply nested
 * value would overflow JSON.stringify's stack.
 */
function jsonPrefix(value: unknown, max: number): string {
  let out = '';
  const walk = (v: unknown): void => {
    if (out.length > max) return;
    if (typeof v !== 'object' || v === null) {
      out += JSON.stringify(v);
      return;
    }
    const array = Array.isArray(v);
    out += array ? '[' : '{';
    for (const [i, [k, item]] of Object.entries(v).entries()) {
      if (out.length > max) return;
      out += `${i > 0 ? ',' : ''}${array ? '' : `${JSON.stringify(k)}:`}`;
      walk(item);
    }
    out += array ? ']' : '}';
  };
  walk(value);
  return out.slice(0, max);
}

class ShimTimeout extends Error {}

function post(socketPath: string, payload: string, timeoutS: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: `/${DAEMON_METHOD}`, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          req.destroy(); // an early answer (413) may come while the upload is still being written
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // idle time on the connection: the daemon sends nothing until its answer is ready
    req.setTimeout(timeoutS * 1000, () => req.destroy(new ShimTimeout()));
    req.end(payload);
  });
}
