/**
 * `kuryr network sync --docker-host unix:///var/run/docker.sock [--driver kuryr] [--dry-run]
 *   [--config-file F]... [--config-dir D]`: publishes this host's Kuryr networks by name and creates
 * the ones published by other hosts (docs/multihost.md). Prints one line per action; exit 1 on a
 * conflict or failure.
 */
import { createLogger } from '../common/log.js';
import { readConfig, type ConfigSelection } from '../compose/config.js';
import { openStackFromConfig } from '../compose/openstack.js';
import { syncNetworks } from '../core/docker/network-sync.js';
import { DockerEngineClient, socketPathOf } from '../southbound/docker-engine/client.js';
import type { ParsedValues } from './cli.js';

export async function networkSync(values: ParsedValues, selection: ConfigSelection): Promise<void> {
  const dockerHost = (values['docker-host'] as string | undefined) ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const driver = (values['driver'] as string | undefined) ?? 'kuryr';
  const dryRun = values['dry-run'] === true;
  const config = readConfig(selection);
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
