import { pino, type Logger } from 'pino';

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

export function createLogger(opts: { level?: string; destination?: string; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.KURYR_LOG_LEVEL ?? 'info';
  const options = { name: opts.name ?? 'kuryr', level, redact: { paths: REDACT_PATHS, censor: '***' } };
  if (opts.destination) return pino(options, pino.destination({ dest: opts.destination, mkdir: true, sync: false }));
  return pino(options, pino.destination(2));
}

/** A logger that drops everything; for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
