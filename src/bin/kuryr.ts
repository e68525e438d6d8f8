#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
/**
 * `kuryr` entry point: the command table. `kuryr --help` lists the commands, `kuryr <command> --help` their
 * options. Without --config-file, /etc/kuryr/kuryr.conf is read when it exists (as oslo's default search does).
 * The V8 flags in the first line keep an idle daemon small: a 1 MB young generation and one V8 worker thread
 * (each thread costs a malloc arena); a network plugin's calls are short and mostly wait on Neutron.
 */
import { errorMessage } from '../common/errors.js';
import { formatEffectiveConfig } from '../config/show.js';
import { readConfig } from '../compose/config.js';
import { startDockerDaemon } from '../compose/docker-daemon.js';
import { dispatch, UsageError, type Command } from './cli.js';
import { runDaemon } from './daemon-runner.js';
import { gc } from './gc.js';
import { networkSync } from './network-sync.js';
import { pool } from './pool.js';
import { portsCommand } from './ports.js';
import { serveCni } from './serve-cni.js';
import { statusCommand } from './status.js';

/** `kuryr pool <sub>`: the running Docker driver's port pools through its plugin socket, or with --cni the CNI daemon's. */
const POOL_COMMANDS = [
  ['show', "the running Docker driver's (--cni: CNI daemon's) port pools: ready, preparing, in use"],
  ['fill', "fill a network's port pool (--network ID, --count N)"],
  ['drain', "delete a network's idle pool ports (--network ID)"],
] as const;

const COMMANDS: readonly Command[] = [
  {
    name: 'serve docker',
    summary: 'the Docker libnetwork remote driver daemon (NetworkDriver + IpamDriver)',
    help: 'Listens on [DEFAULT] socket_path (/run/docker/plugins/kuryr.sock); /alive and /ready on 127.0.0.1:[DEFAULT] health_port\n(23751), /metrics on 127.0.0.1:[DEFAULT] metrics_port (23752). SIGTERM stops it after running calls; SIGHUP reopens log_file.',
    run: (_v, config) => runDaemon(config, 'kuryr', startDockerDaemon),
  },
  {
    name: 'serve cni',
    summary: 'the CNI node daemon behind /opt/cni/bin/kuryr-cni',
    help: 'Listens on [cni_daemon] socket_path (/run/kuryr/cni.sock); /alive and /ready on 127.0.0.1:[cni_health_server] port\n(8090), /metrics on 127.0.0.1:[prometheus_exporter] cni_exporter_port (9655). SIGTERM stops it after running calls.',
    run: (_v, config) => serveCni(config),
  },
  {
    name: 'status',
    summary: 'is this host healthy? Keystone, Neutron, the bridge, and both daemons\' /ready (exit 0 healthy, 1 warning, 2 failure)',
    options: { json: { type: 'boolean' } },
    run: statusCommand,
  },
  {
    name: 'ports',
    summary: 'the Neutron ports Kuryr bound to this host: container or pod, network, IPs, status, plugged',
    options: { json: { type: 'boolean' }, 'docker-host': { type: 'string', short: 'H' } },
    run: portsCommand,
  },
  {
    name: 'network sync',
    summary: 'publish this host\'s Kuryr networks by name and create those published by other hosts (docs/multihost.md)',
    options: { 'docker-host': { type: 'string', short: 'H' }, driver: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    run: networkSync,
  },
  {
    name: 'gc',
    summary: 'leftovers of crashes on this host (docs/ownership.md): dry run unless --apply',
    help: 'One line per finding: would remove|removed|failed|skipped, kind, id, why. Exit 1 when a removal failed.\nThe Docker daemon runs the same collector every [DEFAULT] gc_interval seconds.',
    options: { apply: { type: 'boolean' }, grace: { type: 'string' }, 'docker-host': { type: 'string', short: 'H' } },
    run: gc,
  },
  ...POOL_COMMANDS.map(([sub, summary]): Command => ({
    name: `pool ${sub}`,
    summary,
    options: { network: { type: 'string' }, count: { type: 'string' }, socket: { type: 'string' }, cni: { type: 'boolean' } },
    run: (values, config) => pool(sub, values, config),
  })),
  {
    name: 'config show',
    summary: 'the effective configuration with the source of every value, secrets redacted',
    run: async (_v, config) => void process.stdout.write(formatEffectiveConfig(readConfig(config))),
  },
];

dispatch(COMMANDS, process.argv.slice(2), (s) => void process.stdout.write(s)).catch((err: unknown) => {
  process.stderr.write(`kuryr: ${errorMessage(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
