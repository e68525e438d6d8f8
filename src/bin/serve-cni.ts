/**
 * `kuryr serve cni [--config-file F]... [--config-dir D]`: the node daemon behind the `kuryr-cni`
 * plugin, listening on `[cni_daemon] socket_path`. Stops on SIGTERM/SIGINT after running calls finish.
 */
import type { ConfigSelection } from '../compose/config.js';
import { startCniDaemon } from '../compose/cni-daemon.js';
import { runDaemon } from './daemon-runner.js';

export const serveCni = (config: ConfigSelection): Promise<void> => runDaemon(config, 'kuryr-cni-daemon', startCniDaemon);
