/**
 * `kuryr serve cni [--config-file F]... [--config-dir D]`: the node daemon behind the `kuryr-cni`
 * plugin, listening on `[cni_daemon] socket_path`. Stops on SIGTERM/SIGINT after running calls finish.
 */
import { createLogger } from '../common/log.js';
import { readConfig } from '../compose/config.js';
import { startCniDaemon } from '../compose/cni-daemon.js';

export async function serveCni(args: string[]): Promise<void> {
  const config = readConfig(args);
  const d = config.DEFAULT;
  const level = process.env.KURYR_LOG_LEVEL ?? (d.debug ? 'debug' : 'info');
  const destination = d.log_file ? (d.log_dir ? `${d.log_dir}/${d.log_file}` : d.log_file) : undefined;
  const logger = createLogger({ level, name: 'kuryr-cni-daemon', ...(destination ? { destination } : {}) });
  const daemon = await startCniDaemon(config, logger);
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
