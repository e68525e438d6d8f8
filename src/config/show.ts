/**
 * Prints the effective configuration as kuryr.conf-style INI, one `option = value  # source` per line, with every
 * secret replaced by `***`: options flagged `secret`, any option named like a password/secret/token, and the
 * password part of URLs (`rabbit://user:pass@host/` → `rabbit://user:***@host/`) in every value.
 */
import { describeSource, type KuryrConfig, type LoadConfigOptions } from './load.js';
import { groupOptions, OPTION_GROUPS, type GroupName, type OptSpec, type OptValue } from './options.js';

/** The text shown instead of a secret. */
export const REDACTED = '***';

const SECRET_NAME = /(^|_)(password|passwd|secret|token|private_key)$/;
// scheme://user:password@ — the password is everything up to the last "@" before the host
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^/?#\s]*(@)/gi;

/** True when the option's value must never be shown. */
export function isSecretOption(name: string, spec: OptSpec): boolean {
  return spec.secret === true || SECRET_NAME.test(name);
}

/** Replace passwords embedded in URLs with `***`. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}$2`);
}

function quoteIfPadded(s: string): string {
  return s.trim() !== s || s === '' ? `"${s}"` : s;
}

/** Render one value as it would be written in kuryr.conf (lists comma-joined, multi-line values indented). */
function render(value: OptValue): string {
  if (value === null) return '<None>';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return quoteIfPadded(value).replaceAll('\n', '\n    ');
  if (Array.isArray(value)) return value.join(',');
  return Object.entries(value).map(([k, v]) => `${k}:${v}`).join(',');
}

/** The effective configuration, every group and option with its source, secrets redacted. */
export function formatEffectiveConfig(config: KuryrConfig): string {
  const out: string[] = [];
  if (config.files.length > 0) out.push(`# files: ${config.files.join(', ')}`);
  for (const group of Object.keys(OPTION_GROUPS) as GroupName[]) {
    if (out.length > 0) out.push('');
    out.push(`[${group}]`);
    for (const [name, spec] of groupOptions(group)) {
      const value = (config[group] as Record<string, OptValue>)[name] ?? null;
      const source = config.sources[group][name];
      const where = source === undefined ? '' : `  # ${describeSource(source)}`;
      const values = spec.kind === 'multi' && Array.isArray(value) && value.length > 0 ? value : [value];
      for (const v of values) {
        const shown = v !== null && isSecretOption(name, spec) ? REDACTED : redactUrlPasswords(render(v));
        out.push(`${name} = ${shown}${where}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * `group.option` of every option set (in a file or the environment) that this port accepts but does not act on,
 * so that a daemon can warn at start-up instead of silently doing something else than the operator asked.
 */
export function unimplementedOptions(config: KuryrConfig): string[] {
  const out: string[] = [];
  for (const group of Object.keys(OPTION_GROUPS) as GroupName[]) {
    for (const [name, spec] of groupOptions(group)) {
      const source = config.sources[group][name];
      if (spec.ignored && source !== undefined && source.kind !== 'default') out.push(`[${group}] ${name}`);
    }
  }
  return out;
}

/** Parse `--config-file X` (repeatable), `--config-dir D` and their `=` forms; other arguments are an error. */
export function parseConfigArgs(argv: readonly string[]): Pick<LoadConfigOptions, 'configFiles' | 'configDir'> {
  const configFiles: string[] = [];
  let configDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--config-file' && flag !== '--config-dir') throw new Error(`unknown argument ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--config-file') configFiles.push(value);
    else configDir = value;
  }
  return configDir === undefined ? { configFiles } : { configFiles, configDir };
}
