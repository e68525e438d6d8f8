import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadConfig, type KuryrConfig } from '../config/load.js';
import { parseConfigArgs } from '../config/show.js';

/** oslo's default location, read when no --config-file/--config-dir is given and it exists. */
const DEFAULT_FILES = ['/etc/kuryr/kuryr.conf'];

/** Loads kuryr.conf from `--config-file F... --config-dir D` arguments, the environment and clouds.yaml. */
export function readConfig(args: string[]): KuryrConfig {
  const parsed = parseConfigArgs(args);
  const explicit = parsed.configFiles.length > 0 || parsed.configDir !== undefined;
  const configFiles = explicit ? parsed.configFiles : DEFAULT_FILES.filter((f) => existsSync(f));
  return loadConfig({ ...parsed, configFiles, env: process.env, hostname: hostname() });
}
