/**
 * `kuryr network sync --docker-host unix:///var/run/docker.sock [--driver kuryr] [--dry-run]
 *   [--config-file F]... [--config-dir D]`: publishes this host's Kuryr networks by name and creates
 * the ones published by other hosts (docs/multihost.md). Prints one line per action; exit 1 on a
 * conflict or failure.
 */
import { createLogger } from '../common/log.js';
import { readConfig } from '../compose/config.js';
import { openStackFromConfig } from '../compose/openstack.js';
import { syncNetworks } from '../core/docker/network-sync.js';
import { DockerEngineClient, socketPathOf } from '../southbound/docker-engine/client.js';

export async function networkSync(args: string[]): Promise<void> {
  let dockerHost = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  let driver = 'kuryr';
  let dryRun = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--docker-host' || a === '-H') dockerHost = need(a, args[++i]);
    else if (a.startsWith('--docker-host=')) dockerHost = a.slice('--docker-host='.length);
    else if (a === '--driver') driver = need(a, args[++i]);
    else if (a === '--dry-run') dryRun = true;
    else rest.push(a);
  }
  const config = readConfig(rest);
  const logger = createLogger({ level: process.env.KURYR_LOG_LEVEL ?? 'warn' });
  const openstack = openStackFromConfig(config, logger);
  try {
    const entries = await syncNetworks(openstack.neutron, new DockerEngineClient(socketPathOf(dockerHost)), { driver, dryRun });
    for (const e of entries) {
      process.stdout.write(`${e.action}\t${e.name}\t${e.neutronNetworkId ?? '-'}${e.detail !== undefined ? `\t${e.detail}` : ''}\n`);
    }
    if (entries.some((e) => e.action === 'conflict' || e.action === 'failed')) process.exitCode = 1;
  } finally {
    await openstack.close();
  }
}

function need(flag: string, value: string | undefined): string {
  if (value === undefined) throw new Error(`${flag} needs a value`);
  return value;
}
