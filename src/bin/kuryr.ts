#!/usr/bin/env node
/**
 * `kuryr` entry point.
 *   kuryr serve docker [--config-file F]... [--config-dir D]   the libnetwork remote driver daemon
 *   kuryr config show  [--config-file F]... [--config-dir D]   the effective configuration, secrets redacted
 *   kuryr serve cni    [--config-file F]...                    the CNI node daemon behind kuryr-cni
 *   kuryr network sync --docker-host URL ...                   Kuryr networks of other hosts into this dockerd (docs/multihost.md)
 *   kuryr pool show|fill|drain [--network ID] [--count N]      the running Docker driver's port pools
 *   kuryr gc [--apply] [--grace S] [--docker-host URL] ...     leftovers of crashes on this host (docs/ownership.md)
 * Without --config-file, /etc/kuryr/kuryr.conf is read when it exists (as oslo's default search does).
 */
import { errorMessage } from '../common/errors.js';
import { formatEffectiveConfig } from '../config/show.js';
import { readConfig } from '../compose/config.js';
import { startDockerDaemon } from '../compose/docker-daemon.js';
import { runDaemon } from './daemon-runner.js';
import { gc } from './gc.js';
import { networkSync } from './network-sync.js';
import { pool } from './pool.js';
import { serveCni } from './serve-cni.js';

const USAGE = 'usage: kuryr <command> [--config-file FILE]... [--config-dir DIR]';
const serveDocker = (args: string[]): Promise<void> => runDaemon(args, 'kuryr', startDockerDaemon);

/** Subcommands: `<cmd> <sub>` → handler of the remaining arguments. Add one line per command. */
const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  'serve docker': serveDocker,
  'serve cni': serveCni,
  'network sync': networkSync,
  gc,
  'config show': async (args) => void process.stdout.write(formatEffectiveConfig(readConfig(args))),
  'pool show': (args) => pool('show', args),
  'pool fill': (args) => pool('fill', args),
  'pool drain': (args) => pool('drain', args),
};

async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  const handler = COMMANDS[`${cmd} ${sub}`];
  if (handler) return handler(rest);
  const single = cmd !== undefined ? COMMANDS[cmd] : undefined;
  if (single) return single(argv.slice(1));
  process.stderr.write(`${USAGE}\n  commands: ${Object.keys(COMMANDS).join(', ')}\n`);
  process.exit(2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`kuryr: ${errorMessage(err)}\n`);
  process.exit(1);
});
