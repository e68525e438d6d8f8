/**
 * `kuryr serve cni [--config-file F]... [--config-dir D]`: the node daemon behind the `kuryr-cni`
 * plugin, listening on `[cni_daemon] socket_path`. Stops on SIGTERM/SIGINT after running calls finish.
 */
import { startCniDaemon } from '../compose/cni-daemon.js';
import { runDaemon } from './daemon-runner.js';

export const serveCni = (args: string[]): Promise<void> => runDaemon(args, 'kuryr-cni-daemon', startCniDaemon);
