import { pino, type DestinationStream, type Logger } from 'pino';
import { currentRequest } from './request-context.js';

export type { Logger };

/** Paths pino blanks out everywhere: credentials never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'headers["x-auth-token"]',
  'headers["X-Auth-Token"]',
  '*.headers["x-auth-token"]',
  'application_credential_secret',
  '*.application_credential_secret',
];

export interface LogOptions {
  level?: string;
  /** A file (created with its directory); stderr when absent. */
  destination?: string;
  name?: string;
  /** JSON lines (`[DEFAULT] use_json = True`); otherwise one readable line per record. Default true. */
  json?: boolean;
}

/** A daemon's logger plus `reopen()` for SIGHUP: logrotate moves the file, the daemon starts a new one. */
export interface DaemonLog {
  logger: Logger;
  reopen(): void;
}

export function createDaemonLog(opts: LogOptions = {}): DaemonLog {
  const level = opts.level ?? process.env.KURYR_LOG_LEVEL ?? 'info';
  // every line written during a call carries that call's request id, whichever layer writes it
  const mixin = () => {
    const call = currentRequest();
    return call ? { reqId: call.requestId } : {};
  };
  const options = { name: opts.name ?? 'kuryr', level, redact: { paths: REDACT_PATHS, censor: '***' }, mixin };
  const file = pino.destination(opts.destination ? { dest: opts.destination, mkdir: true, sync: false } : { dest: 2, sync: true });
  const stream: DestinationStream = opts.json === false ? { write: (line: string) => void file.write(textLine(line)) } : file;
  return { logger: pino(options, stream), reopen: () => (opts.destination ? file.reopen() : undefined) };
}

export function createLogger(opts: LogOptions = {}): Logger {
  return createDaemonLog(opts).logger;
}

/** A logger that drops everything; for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };
/** Fields printed in the line's head, not as key=value. */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'name', 'component', 'msg', 'reqId', 'err']);

/**
 * One pino JSON record as an oslo.log-like line:
 * `2026-11-29 20:00:01.123 4242 INFO kuryr.docker-api [req-…] call finished method=NetworkDriver.Join ms=12.5`,
 * then the error's stack (indented) when there is one.
 */
export function textLine(json: string): string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(typeof r['time'] === 'number' ? r['time'] : Date.now()).toISOString().replace('T', ' ').replace('Z', '');
  const who = [r['name'], r['component']].filter((x) => typeof x === 'string').join('.');
  const fields = Object.entries(r)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) && v !== '' ? v : JSON.stringify(v)}`);
  const err = r['err'] as { message?: string; stack?: string } | string | undefined;
  const errText = typeof err === 'string' ? ` err=${JSON.stringify(err)}` : err?.message ? ` err=${JSON.stringify(err.message)}` : '';
  const head = `${time} ${String(r['pid'] ?? process.pid)} ${LEVELS[r['level'] as number] ?? String(r['level'])} ${who} [${String(r['reqId'] ?? '-')}] ${String(r['msg'] ?? '')}`;
  const stack = typeof err === 'object' && err?.stack ? `\n${err.stack.split('\n').map((l) => `    ${l}`).join('\n')}` : '';
  return `${[head, ...fields].join(' ')}${errText}${stack}\n`;
}
