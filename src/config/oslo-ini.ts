/**
 * A port of oslo.config's INI reader (`oslo_config/iniparser.py` `BaseParser` plus the `ConfigParser` subclass in
 * `oslo_config/cfg.py`), so that every kuryr.conf the Python Kuryr accepts reads the same here, quirks included:
 *
 * - `key = value` and `key: value`; whichever of `=` and `:` comes first splits the line.
 * - The value is stripped, then ONE pair of matching surrounding quotes (`'` or `"`) is removed, on the first line only.
 * - A line starting with a space or tab continues the previous value (joined with `\n`, left-stripped); a blank line
 *   ends the value, so an indented line after a blank line is an "Unexpected continuation line" error.
 * - Only whole-line comments: a line starting with `#` or `;`. An indented `# x` after a key is a continuation line
 *   and becomes part of the value. A `#` or `;` inside a value is kept.
 * - A repeated key accumulates: every occurrence is kept in order (MultiStrOpt reads all, other options the last).
 * - Section names are kept exactly as written; `[ x ]` is the group " x ". The loader lower-cases every group but
 *   `DEFAULT`, as oslo's `_normalize_group_name` does.
 * - `key` alone (no `=`/`:`), `: value`, `[name` and `[]` are errors, as is an assignment before the first section.
 *
 * Deliberate deviations: a leading UTF-8 BOM is ignored (Python would reject the first line), and the
 * "Section must be started before assignment" error names the key's own line rather than the line that ended it.
 */
import { ConfigError } from '../common/errors.js';

/** Parsed file: group (as written) → option → every value given for it, in file order. */
export type IniSections = Map<string, Map<string, string[]>>;

/** One assignment as it appeared in the file, with the 1-based line of its key. */
export interface IniEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** A syntax error in an INI file; `line` is 1-based and `text` is the offending line as read. */
export class IniParseError extends ConfigError {
  readonly file: string;
  readonly line: number;
  readonly text: string | undefined;
  constructor(file: string, line: number, reason: string, text?: string) {
    super(`invalid config file ${file}:${line}: ${reason}${text === undefined ? '' : `: ${JSON.stringify(text)}`}`);
    this.file = file;
    this.line = line;
    this.text = text;
  }
}

// Python's str.strip() whitespace set (differs from JS \s: Python has \x1c-\x1f and \x85, and no \ufeff).
const PY_WS = '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING_WS = new RegExp(`^[${PY_WS}]+`);
const TRAILING_WS = new RegExp(`[${PY_WS}]+$`);

/** Python `str.lstrip()`. */
export function pyLstrip(s: string): string {
  return s.replace(LEADING_WS, '');
}
/** Python `str.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(TRAILING_WS, '');
}
/** Python `str.strip()`. */
export function pyStrip(s: string): string {
  return pyLstrip(pyRstrip(s));
}

/** Split text into lines the way Python's text-mode `readlines()` does (universal newlines). */
function splitLines(text: string): string[] {
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  return body.split(/\r\n|\r|\n/);
}

/** `BaseParser._split_key_value`: returns [key, firstValueLine] or throws. */
function splitKeyValue(line: string, fail: (reason: string) => never): [string, string] {
  const colon = line.indexOf(':');
  const equal = line.indexOf('=');
  if (colon < 0 && equal < 0) fail("No ':' or '=' found in assignment");
  const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  let value = pyStrip(line.slice(at + 1));
  if (value.length > 0 && value[0] === value[value.length - 1] && (value[0] === '"' || value[0] === "'")) {
    value = value.slice(1, -1);
  }
  return [pyStrip(line.slice(0, at)), value];
}

/** Parse oslo-style INI text into assignments in file order; `file` names the source in errors. */
export function parseOsloIniEntries(text: string, file = '<string>'): IniEntry[] {
  return scan(text, file).entries;
}

function scan(text: string, file: string): { headers: string[]; entries: IniEntry[] } {
  const headers: string[] = [];
  const entries: IniEntry[] = [];
  let section: string | null = null;
  let key: string | null = null;
  let keyLine = 0;
  let value: string[] = [];
  let lineno = 0;

  const flush = (): void => {
    if (key === null) return;
    if (section === null) throw new IniParseError(file, keyLine, 'Section must be started before assignment');
    entries.push({ section, key, value: value.join('\n'), line: keyLine });
    key = null;
    value = [];
  };

  for (const raw of splitLines(text)) {
    lineno += 1;
    const line = pyRstrip(raw);
    const fail = (reason: string): never => {
      throw new IniParseError(file, lineno, reason, line);
    };
    if (line === '') {
      flush(); // a blank line ends a multi-line value
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (key === null) fail('Unexpected continuation line');
      value.push(pyLstrip(line));
      continue;
    }
    flush();
    if (line[0] === '[') {
      if (!line.endsWith(']')) fail('Invalid section (must end with ])');
      if (line.length <= 2) fail('Empty section name');
      section = line.slice(1, -1);
      headers.push(section);
    } else if (line[0] === '#' || line[0] === ';') {
      // whole-line comment
    } else {
      const [k, v] = splitKeyValue(line, fail);
      if (k === '') fail('Key cannot be empty');
      key = k;
      keyLine = lineno;
      value = [v];
    }
  }
  flush();
  return { headers, entries };
}

/** Parse oslo-style INI text into `Map<group, Map<option, values[]>>`, groups and keys as written. */
export function parseOsloIni(text: string, file = '<string>'): IniSections {
  const sections: IniSections = new Map();
  const { headers, entries } = scan(text, file);
  // oslo creates a section on its header even when it holds no assignment
  for (const header of headers) if (!sections.has(header)) sections.set(header, new Map());
  for (const entry of entries) {
    let group = sections.get(entry.section);
    if (group === undefined) {
      group = new Map();
      sections.set(entry.section, group);
    }
    const values = group.get(entry.key);
    if (values === undefined) group.set(entry.key, [entry.value]);
    else values.push(entry.value);
  }
  return sections;
}
