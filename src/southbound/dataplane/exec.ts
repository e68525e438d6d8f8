import { spawn } from 'node:child_process';
import { BindingError, TimeoutError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';

/** Options of one command run. */
export interface ExecOptions {
  /** Written to the child's stdin, which is then closed (`ip -batch -`). */
  input?: string;
  /** Kill the child (SIGKILL) and throw `TimeoutError` after this long; default 10 s. */
  timeoutMs?: number;
  /** Exit codes that count as success; default `[0]`. */
  okCodes?: number[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** The exec seam of the data plane: real runs use `run`, unit tests inject a recorder. */
export type Exec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

export const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
/** Bound on stderr quoted in an error message, and on captured output. */
const MAX_ERR_CHARS = 1_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

function bounded(text: string, max = MAX_ERR_CHARS): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max)}…`;
}

/** The argv as one readable line, for messages and logs (never run through a shell). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/**
 * Runs `argv[0]` with `argv.slice(1)` directly (no shell), captures stdout and stderr, and
 * resolves when it exits with an ok code. Failures throw `BindingError` naming the command and
 * its stderr; a timeout kills the child and throws `TimeoutError`.
 */
export function run(argv: string[], opts: ExecOptions = {}, logger: Logger = silentLogger()): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new BindingError('failed to run command: empty argv'));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const okCodes = opts.okCodes ?? [0];
  const cmd = formatArgv(argv);
  logger.debug({ argv, input: opts.input }, 'exec');
  return new Promise<ExecResult>((resolve, reject) => {
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(file, args, { stdio: [stdin, 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let timedOut = false;
    let settled = false;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes <= MAX_OUTPUT_BYTES) into.push(chunk);
    };
    // Both are pipes (stdio above); the typings cannot see that through the variable stdin mode.
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (e: Error | null, result?: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(result!);
    };
    child.on('error', (e) => finish(new BindingError(`failed to run ${cmd}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) return finish(new TimeoutError(`command timed out after ${timeoutMs} ms: ${cmd}`));
      if (code !== null && okCodes.includes(code)) return finish(null, { stdout, stderr });
      const how = code === null ? `signal ${signal}` : `exit ${code}`;
      const detail = bounded(stderr) || bounded(stdout) || 'no output';
      finish(new BindingError(`command failed (${how}): ${cmd}: ${detail}`));
    });
    if (child.stdin) {
      // A child that exits before reading stdin makes the write fail with EPIPE; the exit code tells the story.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
  });
}

/** An `Exec` bound to a logger, for injection into the binder. */
export function createExec(logger: Logger = silentLogger()): Exec {
  return (argv, opts) => run(argv, opts, logger);
}
