/**
 * The `kuryr` command table: every command takes `--help` and `--version`, and the config selection
 * (`--config-file F`, repeatable, and `--config-dir D`) unless it says otherwise. Parsing is node:util parseArgs
 * (strict: an unknown option is an error naming it).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ConfigSelection } from '../compose/config.js';

type Options = NonNullable<ParseArgsConfig['options']>;
export type ParsedValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface Command {
  /** `serve docker`, `status`, ... */
  name: string;
  summary: string;
  /** Extra lines of `--help` after the usage line. */
  help?: string;
  options?: Options;
  run(values: ParsedValues, config: ConfigSelection): Promise<void>;
}

const CONFIG_OPTIONS: Options = {
  'config-file': { type: 'string', multiple: true },
  'config-dir': { type: 'string' },
};
const COMMON_OPTIONS: Options = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } };

/** Usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** The package version, from the package.json above this file (src/bin in a checkout, dist/src/bin when built). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kuryr-ts') return pkg.version ?? 'unknown';
    } catch {
      // not here: one level up
    }
  }
  return 'unknown';
}

function optionLines(options: Options): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' VALUE' : ''}${o.multiple ? ' (repeatable)' : ''}`;
    return `  ${flag}`;
  });
}

export function commandUsage(cmd: Command): string {
  const lines = [`usage: kuryr ${cmd.name} [options]`, '', cmd.summary];
  if (cmd.help) lines.push('', cmd.help);
  lines.push('', 'options:', ...optionLines({ ...cmd.options, ...CONFIG_OPTIONS, ...COMMON_OPTIONS }));
  lines.push('  (--config-file defaults to /etc/kuryr/kuryr.conf when it exists)');
  return `${lines.join('\n')}\n`;
}

export function mainUsage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: kuryr <command> [options]     (kuryr <command> --help for its options)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'kuryr --version prints the version.',
    '',
  ].join('\n');
}

/** Finds the command (one or two words) and parses its options; `undefined` when help or version was printed. */
export async function dispatch(commands: readonly Command[], argv: string[], out: (s: string) => void): Promise<void> {
  const words = argv.slice(0, 2);
  const cmd = commands.find((c) => c.name === words.join(' ')) ?? commands.find((c) => c.name === words[0]);
  if (!cmd) {
    if (argv[0] === '--version' || argv[0] === '-V') return out(`kuryr ${packageVersion()}\n`);
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return out(mainUsage(commands));
    throw new UsageError(`unknown command: ${argv.slice(0, 2).join(' ')}\n\n${mainUsage(commands)}`);
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  let values: ParsedValues;
  try {
    ({ values } = parseArgs({ args: rest, options: { ...cmd.options, ...CONFIG_OPTIONS, ...COMMON_OPTIONS }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${commandUsage(cmd)}`);
  }
  if (values['help']) return out(commandUsage(cmd));
  if (values['version']) return out(`kuryr ${packageVersion()}\n`);
  const configFiles = (values['config-file'] as string[] | undefined) ?? [];
  await cmd.run(values, { configFiles, configDir: values['config-dir'] as string | undefined });
}
