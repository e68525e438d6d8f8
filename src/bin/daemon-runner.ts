import { createDaemonLog, type Logger } from '../common/log.js';
import type { KuryrConfig } from '../config/load.js';
import { readConfig, type ConfigSelection } from '../compose/config.js';
import { unimplementedOptions } from '../config/show.js';

/**
 * Waits for `close` (in-flight calls finishing or rolling back); true when it ended in time. A call
 * still running at the bound is logged, since its rollback did not run.
 */
export async function drain(close: () => Promise<void>, timeoutMs: number, logger: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  try {
    const r = await Promise.race([close().then(() => 'done' as const, (err: unknown) => err), late]);
    if (r === 'done') return true;
    if (r === 'late') logger.error({ timeoutMs }, 'calls still running at shutdown_timeout; exiting without their rollback');
    else logger.error({ err: r }, 'shutdown failed');
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a long-lived daemon: reads kuryr.conf from `args`, makes the logger (`debug`, `log_file`,
 * `log_dir`, `use_json`; `KURYR_LOG_LEVEL` wins), starts it, reopens log_file on SIGHUP, and stops it on
 * SIGTERM/SIGINT: no new calls are accepted, and the running ones finish or roll back (`[DEFAULT]
 * shutdown_timeout` at most, longer than any one call takes; a service manager's stop timeout must exceed
 * it, see docs/ownership.md).
 */
export async function runDaemon(
  selection: ConfigSelection,
  name: string,
  start: (config: KuryrConfig, logger: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  const config = readConfig(selection);
  const d = config.DEFAULT;
  const level = process.env.KURYR_LOG_LEVEL ?? (d.debug ? 'debug' : 'info');
  const destination = d.log_file ? (d.log_dir ? `${d.log_dir}/${d.log_file}` : d.log_file) : undefined;
  const { logger, reopen } = createDaemonLog({ level, name, json: d.use_json, ...(destination ? { destination } : {}) });
  const unimplemented = unimplementedOptions(config);
  if (unimplemented.length > 0) {
    logger.warn({ options: unimplemented }, `options accepted but not implemented (they change nothing): ${unimplemented.join(', ')}`);
  }
  const daemon = await start(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void drain(() => daemon.close(), d.shutdown_timeout * 1000, logger).then((clean) => process.exit(clean ? 0 : 1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // logrotate's postrotate sends SIGHUP: write to a new file at log_file's path from now on
  process.on('SIGHUP', () => {
    reopen();
    logger.info({ file: destination ?? 'stderr' }, 'log file reopened (SIGHUP)');
  });
}
