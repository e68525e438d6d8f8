/**
 * Option kinds and their string → value conversion, following `oslo_config/types.py`: strict Boolean, Integer and
 * Float, Port (0–65535), List (comma separated, items stripped, trailing comma ignored), Dict (`k:v,k2:v2`),
 * MultiStr (every occurrence kept) and String with optional `choices`.
 */
import { pyStrip } from './oslo-ini.js';

/** The kinds of option kuryr.conf knows. */
export type OptKind = 'str' | 'int' | 'float' | 'bool' | 'list' | 'multi' | 'dict' | 'uri' | 'port';

/** Any converted option value; `null` means unset (oslo's None). */
export type OptValue = string | number | boolean | string[] | Record<string, string> | null;

/** What a default may depend on: Kuryr reads some defaults from the environment at import time. */
export interface DefaultContext {
  readonly env: NodeJS.ProcessEnv;
  readonly hostname: string;
}

/** One registered option. `T` is the TypeScript type of its converted value. */
export interface OptSpec<T extends OptValue = OptValue> {
  readonly kind: OptKind;
  readonly default: T | ((ctx: DefaultContext) => T);
  readonly help: string;
  readonly choices?: readonly string[];
  /** Compare `choices` case-insensitively (oslo `ignore_case=True`). */
  readonly ignoreCase?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Redacted by the printer and never logged. */
  readonly secret?: boolean;
  /** Older names in the same group, read when the current name is absent from a file. */
  readonly deprecatedNames?: readonly string[];
  /** Our addition, not present in the Python Kuryr. */
  readonly tsOnly?: boolean;
  /** Taken from the file and validated, but no code of ours reads it (kept so existing files load). */
  readonly ignored?: boolean;
}

type Extra = Omit<OptSpec, 'kind' | 'default' | 'help'>;
type Def<T extends OptValue> = T | ((ctx: DefaultContext) => T);
type StrOf<D> = D extends string ? string : string | null;

function spec<T extends OptValue>(kind: OptKind, def: unknown, help: string, extra: Extra): OptSpec<T> {
  return { kind, default: def as Def<T>, help, ...extra };
}

/** StrOpt; a `null` default makes the value `string | null`. */
export function str<D extends string | null>(def: Def<D>, help: string, extra: Extra = {}): OptSpec<StrOf<D>> {
  return spec('str', def, help, extra);
}
/** StrOpt validated as an absolute URI with scheme and host. */
export function uri<D extends string | null>(def: Def<D>, help: string, extra: Extra = {}): OptSpec<StrOf<D>> {
  return spec('uri', def, help, extra);
}
/** StrOpt restricted to `choices` (case-sensitive, as oslo's default); a `null` default allows unset. */
export function choice<const C extends readonly string[], D extends C[number] | null>(
  choices: C,
  def: Def<D>,
  help: string,
  extra: Extra = {},
): OptSpec<D extends null ? C[number] | null : C[number]> {
  return spec('str', def, help, { choices, ...extra });
}
/** BoolOpt (strict: true/1/on/yes, false/0/off/no, any case). */
export function bool(def: boolean, help: string, extra: Extra = {}): OptSpec<boolean> {
  return { kind: 'bool', default: def, help, ...extra };
}
/** IntOpt; an empty value keeps the default. */
export function int<D extends number | null>(def: D, help: string, extra: Extra = {}): OptSpec<D extends number ? number : number | null> {
  return spec('int', def, help, extra);
}
/** FloatOpt; an empty value keeps the default. */
export function float(def: number, help: string, extra: Extra = {}): OptSpec<number> {
  return { kind: 'float', default: def, help, ...extra };
}
/** PortOpt (integer 0–65535). */
export function port(def: number, help: string, extra: Extra = {}): OptSpec<number> {
  return { kind: 'port', default: def, help, min: 0, max: 65535, ...extra };
}
/** ListOpt of strings. */
export function list(def: readonly string[], help: string, extra: Extra = {}): OptSpec<string[]> {
  return { kind: 'list', default: [...def], help, ...extra };
}
/** MultiStrOpt: every occurrence of the key, across all files, in order. */
export function multi(def: readonly string[], help: string, extra: Extra = {}): OptSpec<string[]> {
  return { kind: 'multi', default: [...def], help, ...extra };
}
/** DictOpt of strings (`key:value,key2:value2`). */
export function dict(help: string, extra: Extra = {}): OptSpec<Record<string, string>> {
  return { kind: 'dict', default: {}, help, ...extra };
}

/** A value that failed conversion; `reason` says why (the caller adds file, group and option). */
export class OptValueError extends Error {}

const TRUE_VALUES = ['true', '1', 'on', 'yes'];
const FALSE_VALUES = ['false', '0', 'off', 'no'];
// Python int(): optional sign, digits with single underscores between them, surrounding whitespace allowed.
const INT_RE = /^[+-]?\d+(?:_\d+)*$/;
const FLOAT_RE = /^[+-]?(?:(?:\d+(?:_\d+)*)?\.?\d+(?:_\d+)*|\d+(?:_\d+)*\.)(?:[eE][+-]?\d+(?:_\d+)*)?$/;
const FLOAT_SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

function toNumber(spec: OptSpec, raw: string): number | undefined {
  const s = pyStrip(raw);
  if (s === '') return undefined; // oslo Number returns None for blank; we keep the default
  let n: number;
  if (spec.kind === 'float') {
    if (FLOAT_SPECIAL.test(s)) n = Number(s.replace(/inf(inity)?/i, 'Infinity').replace(/nan/i, 'NaN'));
    else if (FLOAT_RE.test(s)) n = Number(s.replaceAll('_', ''));
    else throw new OptValueError(`could not convert string to float: ${JSON.stringify(raw)}`);
  } else {
    if (!INT_RE.test(s)) throw new OptValueError(`invalid literal for int() with base 10: ${JSON.stringify(raw)}`);
    n = Number(s.replaceAll('_', ''));
  }
  if (spec.min !== undefined && n < spec.min) throw new OptValueError(`should be greater than or equal to ${spec.min}`);
  if (spec.max !== undefined && n > spec.max) throw new OptValueError(`should be less than or equal to ${spec.max}`);
  return n;
}

/** Throw unless `value` is one of the spec's choices (if it has any). */
export function checkChoices(spec: OptSpec, value: string): string {
  const ok = (c: string): boolean => (spec.ignoreCase === true ? c.toLowerCase() === value.toLowerCase() : c === value);
  if (spec.choices !== undefined && !spec.choices.some(ok)) {
    throw new OptValueError(`valid values are [${spec.choices.join(', ')}], but found ${JSON.stringify(value)}`);
  }
  return value;
}

/** oslo `types.List(String())`: strip, drop one trailing comma run, split on commas, strip items. */
export function parseList(raw: string): string[] {
  const s = pyStrip(raw).replace(/,+$/, '');
  return s === '' ? [] : s.split(',').map(pyStrip);
}

function parseDict(raw: string): Record<string, string> {
  const result: Record<string, string> = {};
  const s = pyStrip(raw);
  if (s === '') return result;
  for (const pair of s.split(',')) {
    const at = pair.indexOf(':');
    if (at < 0) throw new OptValueError('value should be NAME:VALUE pairs separated by ","');
    const key = pyStrip(pair.slice(0, at));
    if (key === '') throw new OptValueError('key name should not be empty');
    if (Object.hasOwn(result, key)) throw new OptValueError(`duplicate key ${key}`);
    result[key] = pyStrip(pair.slice(at + 1));
  }
  return result;
}

function checkUri(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OptValueError('not a valid URI');
  }
  if (url.host === '' && !url.protocol.startsWith('unix')) throw new OptValueError('URI has no host');
  return raw;
}

/**
 * Convert the raw strings found for one option (all occurrences, in order) to its typed value.
 * Returns `undefined` when the option should keep its default (blank numeric value). Throws `OptValueError`.
 */
export function convertOptValue(spec: OptSpec, raws: readonly string[]): OptValue | undefined {
  if (spec.kind === 'multi') return [...raws];
  const raw = raws[raws.length - 1] ?? '';
  switch (spec.kind) {
    case 'str':
      return checkChoices(spec, raw);
    case 'uri':
      return checkUri(raw);
    case 'bool': {
      const s = raw.toLowerCase();
      if (TRUE_VALUES.includes(s)) return true;
      if (FALSE_VALUES.includes(s)) return false;
      throw new OptValueError(`unexpected boolean value ${JSON.stringify(raw)}`);
    }
    case 'int':
    case 'float':
    case 'port':
      return toNumber(spec, raw);
    case 'list':
      return parseList(raw).map((item) => checkChoices(spec, item));
    case 'dict':
      return parseDict(raw);
  }
}

/** Resolve a spec's default for this environment. */
export function resolveDefault(spec: OptSpec, ctx: DefaultContext): OptValue {
  const d = typeof spec.default === 'function' ? spec.default(ctx) : spec.default;
  return Array.isArray(d) ? [...d] : d !== null && typeof d === 'object' ? { ...d } : d;
}

/** Render a value as Python's `str()` would, which is what oslo substitutes for `$opt`. */
export function pythonStr(value: OptValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value;
  const q = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(q).join(', ')}]`;
  return `{${Object.entries(value).map(([k, v]) => `${q(k)}: ${q(v)}`).join(', ')}}`;
}
