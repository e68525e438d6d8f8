import { createLogger, type Logger } from '../common/log.js';
import type { KuryrConfig } from '../config/load.js';
import { readConfig } from '../compose/config.js';

/**
 * Runs a long-lived daemon: reads kuryr.conf from `args`, makes the logger (`debug`, `log_file`,
 * `log_dir`; `KURYR_LOG_LEVEL` wins), starts it, and stops it on SIGTERM/SIGINT after running calls
 * finish (10 s at most).
 */
export async function runDaemon(
  args: string[],
  name: string,
  start: (config: KuryrConfig, logger: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  const config = readConfig(args);
  const d = config.DEFAULT;
  const level = process.env.KURYR_LOG_LEVEL ?? (d.debug ? 'debug' : 'info');
  const destination = d.log_file ? (d.log_dir ? `${d.log_dir}/${d.log_file}` : d.log_file) : undefined;
  const logger = createLogger({ level, name, ...(destination ? { destination } : {}) });
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
}
