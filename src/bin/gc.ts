/**
 * `kuryr gc [--apply] [--grace SECONDS] [--docker-host URL] [--config-file F]...`: what a crash or a
 * forgotten `docker network rm` left on this host (docs/ownership.md, rule 8). Dry run by default;
 * `--apply` removes. One line per finding: `would remove|removed|failed|skipped<TAB>kind<TAB>id<TAB>why`.
 * Exit 1 when a removal failed. The daemon runs the same collector on its own every `gc_interval`.
 */
import { createLogger } from '../common/log.js';
import { readConfig, type ConfigSelection } from '../compose/config.js';
import { openDockerService } from '../compose/docker-daemon.js';
import { UsageError, type ParsedValues } from './cli.js';

export async function gc(values: ParsedValues, selection: ConfigSelection): Promise<void> {
  const read = readConfig(selection);
  const dockerHost = values['docker-host'] as string | undefined;
  const config = dockerHost === undefined ? read : { ...read, DEFAULT: { ...read.DEFAULT, docker_host: dockerHost } };
  const graceArg = values['grace'] as string | undefined;
  const grace = graceArg !== undefined ? Number(graceArg) : read.DEFAULT.gc_grace;
  if (!Number.isFinite(grace) || grace < 0) throw new UsageError(`--grace must be a number of seconds >= 0, got ${graceArg}`);
  const logger = createLogger({ level: process.env.KURYR_LOG_LEVEL ?? 'warn' });
  const { service, docker, close } = await openDockerService(config, logger, { withPools: false });
  try {
    const started = Date.now();
    // Each line as it is found: a long collection shows its progress.
    const findings = await service.collectGarbage(docker, {
      apply: values['apply'] === true,
      graceMs: grace * 1000,
      onFinding: (f) => process.stdout.write(`${f.outcome}\t${f.kind}\t${f.id}\t${f.why}${f.error !== undefined ? `\t${f.error}` : ''}\n`),
    });
    if (findings.length === 0) process.stdout.write('nothing to collect\n');
    process.stderr.write(`kuryr gc: ${findings.length} findings in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (findings.some((f) => f.outcome === 'failed')) process.exitCode = 1;
  } finally {
    await close();
  }
}
