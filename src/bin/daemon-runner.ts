import { createDaemonLog, type Logger } from '../common/log.js';
import type { KuryrConfig } from '../config/load.js';
import { readConfig, type ConfigSelection } from '../compose/config.js';
import { unimplementedOptions } from '../config/show.js';

/**
 * Runs a long-lived daemon: reads kuryr.conf from `args`, makes the logger (`debug`, `log_file`,
 * `log_dir`, `use_json`; `KURYR_LOG_LEVEL` wins), starts it, reopens log_file on SIGHUP, and stops it on
 * SIGTERM/SIGINT after running calls finish (10 s at most).
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
    daemon.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // logrotate's postrotate sends SIGHUP: write to a new file at log_file's path from now on
  process.on('SIGHUP', () => {
    reopen();
    logger.info({ file: destination ?? 'stderr' }, 'log file reopened (SIGHUP)');
  });
}
