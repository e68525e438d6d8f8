/**
 * Builds the effective configuration the way oslo.config does for the Python Kuryr, per option, highest first:
 *   1. `OS_<GROUP>__<OPTION>` environment variable (oslo's environment source, checked before files),
 *   2. config files: `configFiles` in order, then `configDir/*.conf` sorted; the last file holding the option wins
 *      (a MultiStrOpt concatenates every occurrence of every file, in order),
 *   3. [neutron] auth/region/interface only: the openstack client variables `OS_AUTH_URL`, `OS_PASSWORD`, ...,
 *   4. [neutron] only: the cloud named by `OS_CLOUD` in clouds.yaml,
 *   5. the registered default.
 * Then `$opt` / `${group.opt}` are substituted (`$$` and `\$` give a literal `$`) and every value is converted.
 * Unknown groups are ignored (they belong to other libraries); an unknown option in one of our groups, a bad value,
 * or an unresolvable `$` reference is a `ConfigError` naming file, line, group, option and value.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, errorMessage } from '../common/errors.js';
import { parseOsloIniEntries } from './oslo-ini.js';
import { convertOptValue, pythonStr, resolveDefault, type DefaultContext } from './option-types.js';
import {
  findOption, groupOptions, isGroupName, OPTION_GROUPS,
  type GroupName, type GroupValues, type OptSpec, type OptValue,
} from './options.js';
import { findCloudsYaml, neutronFromCloud, neutronFromOsEnv, type ExternalValue } from './openstack-env.js';

/** Where an effective value came from. */
export type ValueSource =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly file: string; readonly line: number }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'clouds'; readonly file: string; readonly cloud: string }
  | { readonly kind: 'derived'; readonly reason: string };

/** Inputs of `loadConfig`. */
export interface LoadConfigOptions {
  /** `--config-file` values, in order; later files override earlier ones. Missing files are an error. */
  readonly configFiles: readonly string[];
  /** `--config-dir`: its `*.conf` files, sorted, are read after `configFiles`. */
  readonly configDir?: string;
  /** Environment to read `OS_*` from; defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Host name for the `[DEFAULT] host` default; defaults to `os.hostname()`. */
  readonly hostname?: string;
  /** clouds.yaml candidates; defaults to OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack. */
  readonly cloudsYamlPaths?: readonly string[];
}

/** The typed effective configuration: `config.DEFAULT.capability_scope`, `config.neutron.auth_url`, ... */
export type KuryrConfig = { readonly [G in GroupName]: Readonly<GroupValues<G>> } & {
  /** Files read, in order (absolute paths). */
  readonly files: readonly string[];
  /** Source of every value, by group and option. */
  readonly sources: { readonly [G in GroupName]: Readonly<Record<string, ValueSource>> };
  /** Generic accessor: the value of `group.name`. */
  get<G extends GroupName, K extends keyof GroupValues<G> & string>(group: G, name: K): GroupValues<G>[K];
};

interface FileValue {
  readonly values: string[];
  readonly file: string;
  readonly line: number;
}

/** Raw material for one option before substitution and conversion. */
interface Candidate {
  readonly raws: readonly string[] | null;
  readonly source: ValueSource;
  /** Already typed (defaults). */
  readonly typed?: OptValue;
}

/** Expand `~` and make absolute, as oslo's `_fixpath`. */
function fixPath(p: string, env: NodeJS.ProcessEnv): string {
  const home = env['HOME'] ?? homedir();
  return resolve(p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`config file not found: ${file}`, { cause: err });
    if (code === 'EACCES') throw new ConfigError(`permission denied reading config file: ${file}`, { cause: err });
    throw new ConfigError(`failed to read config file ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** oslo `_normalize_group_name`: every group but `DEFAULT` is matched case-insensitively. */
export function normalizeGroupName(group: string): string {
  return group === 'DEFAULT' ? group : group.toLowerCase();
}

function listConfigDir(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`config directory not found: ${dir}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.conf'))
    .sort()
    .map((f) => join(dir, f));
}

/** Per file: group → option name as written → values. Unknown options in our groups are rejected here. */
function readConfigFile(file: string): Map<GroupName, Map<string, FileValue>> {
  const out = new Map<GroupName, Map<string, FileValue>>();
  for (const entry of parseOsloIniEntries(readText(file), file)) {
    const group = normalizeGroupName(entry.section);
    if (!isGroupName(group)) continue; // oslo ignores groups nobody registered
    const known = findOption(group, entry.key) !== undefined
      || groupOptions(group).some(([, spec]) => spec.deprecatedNames?.includes(entry.key) === true);
    if (!known) {
      throw new ConfigError(`unknown option "${entry.key}" in group [${entry.section}] at ${file}:${entry.line}`);
    }
    let opts = out.get(group);
    if (opts === undefined) out.set(group, (opts = new Map()));
    const prev = opts.get(entry.key);
    if (prev === undefined) opts.set(entry.key, { values: [entry.value], file, line: entry.line });
    else prev.values.push(entry.value);
  }
  return out;
}

/** Pick the file value of one option: the last file wins; multi options gather every file (oslo `_get_file_value`). */
function fromFiles(files: ReadonlyArray<Map<GroupName, Map<string, FileValue>>>, group: GroupName, name: string, spec: OptSpec): Candidate | undefined {
  const names = [name, ...(spec.deprecatedNames ?? [])];
  const gathered: string[] = [];
  let last: FileValue | undefined;
  for (const parsed of files) {
    const opts = parsed.get(group);
    if (opts === undefined) continue;
    const found = names.map((n) => opts.get(n)).filter((v): v is FileValue => v !== undefined);
    if (found.length === 0) continue;
    // oslo prepends each name's values in turn, so within one file deprecated names come first
    for (const f of [...found].reverse()) gathered.push(...f.values);
    last = found[0];
  }
  if (last === undefined) return undefined;
  const source: ValueSource = { kind: 'file', file: last.file, line: last.line };
  return { raws: spec.kind === 'multi' ? gathered : last.values, source };
}

const TEMPLATE = /\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\}|)/gi;

function describe(src: ValueSource): string {
  switch (src.kind) {
    case 'default': return 'default';
    case 'file': return `${src.file}:${src.line}`;
    case 'env': return `environment variable ${src.name}`;
    case 'clouds': return `cloud ${src.cloud} in ${src.file}`;
    case 'derived': return src.reason;
  }
}

/** One-line human description of a value's source, as printed by `formatEffectiveConfig`. */
export function describeSource(src: ValueSource): string {
  return describe(src);
}

class Resolver {
  private readonly values = new Map<string, OptValue>();
  private readonly active = new Set<string>();
  constructor(
    private readonly candidates: Map<string, Candidate>,
  ) {}

  get(group: GroupName, name: string): OptValue {
    const key = `${group}.${name}`;
    if (this.values.has(key)) return this.values.get(key) as OptValue;
    if (this.active.has(key)) throw new ConfigError(`circular "$" reference involving [${group}] ${name}`);
    this.active.add(key);
    try {
      const value = this.compute(group, name);
      this.values.set(key, value);
      return value;
    } finally {
      this.active.delete(key);
    }
  }

  private compute(group: GroupName, name: string): OptValue {
    const spec = findOption(group, name) as OptSpec;
    const cand = this.candidates.get(`${group}.${name}`) as Candidate;
    if (cand.raws === null) return cand.typed ?? null;
    const shown = (v: string): string => (spec.secret === true ? '***' : JSON.stringify(v));
    const where = `[${group}] ${name} (${describe(cand.source)})`;
    const raws = cand.raws.map((raw) => this.substitute(raw, group, where));
    try {
      const converted = convertOptValue(spec, raws);
      if (converted !== undefined) return converted;
      return cand.typed ?? null; // blank numeric value: keep the default
    } catch (err) {
      const value = raws[raws.length - 1] ?? '';
      throw new ConfigError(`invalid value ${shown(value)} for option ${where}: ${errorMessage(err)}`, { cause: err });
    }
  }

  private substitute(raw: string, group: GroupName, where: string): string {
    const text = raw.includes('\\$') ? raw.replaceAll('\\$', '$$$$') : raw;
    return text.replace(TEMPLATE, (whole, escaped: string | undefined, named: string | undefined, braced: string | undefined) => {
      if (escaped !== undefined) return '$';
      const ref = named ?? braced;
      if (ref === undefined) return whole; // a lone "$" stays as is (safe_substitute)
      const dot = ref.indexOf('.');
      if (dot >= 0) {
        const g = normalizeGroupName(ref.slice(0, dot));
        const n = ref.slice(dot + 1);
        if (isGroupName(g) && findOption(g, n) !== undefined) return pythonStr(this.get(g, n));
      } else {
        if (findOption(group, ref) !== undefined) return pythonStr(this.get(group, ref));
        if (findOption('DEFAULT', ref) !== undefined) return pythonStr(this.get('DEFAULT', ref));
      }
      throw new ConfigError(`cannot substitute "${whole}" in option ${where}: no such option; write "$$" for a literal "$"`);
    });
  }
}

/** Build the configuration from files, environment and clouds.yaml (see the module comment for precedence). */
export function loadConfig(options: LoadConfigOptions): KuryrConfig {
  const env = options.env ?? process.env;
  const ctx: DefaultContext = { env, hostname: options.hostname ?? osHostname() };
  const files = options.configFiles.map((f) => fixPath(f, env));
  if (options.configDir !== undefined) files.push(...listConfigDir(fixPath(options.configDir, env)));
  const parsed = files.map(readConfigFile);

  const needExternal = (group: GroupName, name: string): boolean => group === 'neutron' && !hasUserValue(parsed, env, name);
  const osEnv = neutronFromOsEnv(env);
  const cloud = env['OS_CLOUD'] !== undefined && env['OS_CLOUD'] !== ''
    ? neutronFromCloud(findCloudsYaml(env, options.cloudsYamlPaths), env['OS_CLOUD'])
    : new Map<string, ExternalValue>();

  const candidates = new Map<string, Candidate>();
  for (const group of Object.keys(OPTION_GROUPS) as GroupName[]) {
    for (const [name, spec] of groupOptions(group)) {
      const key = `${group}.${name}`;
      const def: Candidate = { raws: null, source: { kind: 'default' }, typed: resolveDefault(spec, ctx) };
      const envName = `OS_${group.toUpperCase()}__${name.toUpperCase()}`;
      const envValue = env[envName];
      let cand: Candidate | undefined;
      if (envValue !== undefined) cand = { raws: [envValue], source: { kind: 'env', name: envName } };
      cand ??= fromFiles(parsed, group, name, spec);
      if (cand === undefined && needExternal(group, name)) {
        const ext = osEnv.get(name) ?? cloud.get(name);
        if (ext !== undefined) cand = { raws: [ext.value], source: ext.source };
      }
      if (cand === undefined && typeof spec.default === 'function' && typeof def.typed === 'string') {
        cand = { raws: [def.typed], source: { kind: 'default' } }; // env-derived defaults are validated too
      }
      candidates.set(key, { ...(cand ?? def), typed: def.typed });
    }
  }
  inferAuthType(candidates);

  const resolver = new Resolver(candidates);
  const groups: Record<string, Record<string, OptValue>> = {};
  const sources: Record<string, Record<string, ValueSource>> = {};
  for (const group of Object.keys(OPTION_GROUPS) as GroupName[]) {
    groups[group] = {};
    sources[group] = {};
    for (const [name] of groupOptions(group)) {
      groups[group][name] = resolver.get(group, name);
      sources[group][name] = (candidates.get(`${group}.${name}`) as Candidate).source;
    }
  }
  return assemble(groups, sources, files);
}

function hasUserValue(parsed: ReadonlyArray<Map<GroupName, Map<string, FileValue>>>, env: NodeJS.ProcessEnv, name: string): boolean {
  if (env[`OS_NEUTRON__${name.toUpperCase()}`] !== undefined) return true;
  const spec = findOption('neutron', name);
  return spec !== undefined && fromFiles(parsed, 'neutron', name, spec) !== undefined;
}

/** Like openstackclient: credentials from OS_* or clouds.yaml without an auth type mean `password`. */
function inferAuthType(candidates: Map<string, Candidate>): void {
  const authType = candidates.get('neutron.auth_type') as Candidate;
  if (authType.raws !== null) return;
  const external = (n: string): boolean => {
    const c = candidates.get(`neutron.${n}`) as Candidate;
    return c.source.kind === 'env' || c.source.kind === 'clouds';
  };
  if (!external('auth_url')) return;
  const type = external('application_credential_secret') ? 'v3applicationcredential'
    : external('password') ? 'password'
      : external('token') ? 'token' : undefined;
  if (type === undefined) return;
  candidates.set('neutron.auth_type', {
    raws: [type],
    source: { kind: 'derived', reason: 'inferred from OS_*/clouds.yaml credentials' },
    typed: null,
  });
}

function assemble(groups: Record<string, Record<string, OptValue>>, sources: Record<string, Record<string, ValueSource>>, files: string[]): KuryrConfig {
  const config = {
    ...groups,
    files: Object.freeze([...files]),
    sources,
    get(group: GroupName, name: string): OptValue {
      const values = groups[group];
      if (values === undefined || !Object.hasOwn(values, name)) throw new ConfigError(`no such option [${group}] ${name}`);
      return values[name] as OptValue;
    },
  };
  for (const g of Object.values(groups)) Object.freeze(g);
  return Object.freeze(config) as unknown as KuryrConfig;
}

/** Every option at its default: no file, an empty environment (so env-derived defaults take their fallbacks). */
export function defaultConfig(options: { hostname?: string } = {}): KuryrConfig {
  return loadConfig({ configFiles: [], env: {}, ...(options.hostname !== undefined ? { hostname: options.hostname } : {}) });
}
