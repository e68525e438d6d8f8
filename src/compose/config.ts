import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadConfig, type KuryrConfig } from '../config/load.js';

/** oslo's default location, read when no --config-file/--config-dir is given and it exists. */
const DEFAULT_FILES = ['/etc/kuryr/kuryr.conf'];

/** `--config-file F...` and `--config-dir D` as the command line gave them. */
export interface ConfigSelection {
  configFiles: readonly string[];
  configDir?: string | undefined;
}

/** Loads kuryr.conf from the selected files, the environment and clouds.yaml. */
export function readConfig(selection: ConfigSelection): KuryrConfig {
  const explicit = selection.configFiles.length > 0 || selection.configDir !== undefined;
  const configFiles = explicit ? selection.configFiles : DEFAULT_FILES.filter((f) => existsSync(f));
  return loadConfig({
    configFiles,
    ...(selection.configDir !== undefined ? { configDir: selection.configDir } : {}),
    env: process.env,
    hostname: hostname(),
  });
}
