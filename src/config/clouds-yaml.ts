/**
 * A deliberately small YAML reader for the clouds.yaml subset OpenStack tools write (e.g. shared/stack/aio.sh):
 * block mappings by indentation, flow mappings `{a: 'x', b: y}` and flow sequences `[a, b]` (nestable), block
 * sequences of scalars (`- x`), plain / 'single' / "double" quoted scalars, `#` comments and a leading `---`.
 * Anchors, aliases, tags, multi-document streams and block scalars (`|`, `>`) are rejected with an error naming the
 * file and line. Plain scalars stay strings except true/false/null/~ and integers, as YAML 1.2 core reads them.
 */
import { ConfigError } from '../common/errors.js';

/** A parsed YAML node of the supported subset. */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

class Reader {
  constructor(private readonly file: string) {}

  fail(line: number, reason: string): never {
    throw new ConfigError(`invalid YAML in ${this.file}:${line}: ${reason}`);
  }

  /** Remove a trailing comment (a `#` at the start or after whitespace, outside quotes). */
  stripComment(text: string): string {
    let quote: string | null = null;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quote !== null) {
        if (c === quote) {
          if (quote === "'" && text[i + 1] === "'") i++;
          else quote = null;
        } else if (c === '\\' && quote === '"') i++;
      } else if (c === '"' || c === "'") {
        if (i === 0 || /[\s:,[{]/.test(text[i - 1] ?? '')) quote = c;
      } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
        return text.slice(0, i).trimEnd();
      }
    }
    return text.trimEnd();
  }

  scalar(raw: string, line: number): YamlValue {
    const s = raw.trim();
    if (s.startsWith("'")) {
      if (!s.endsWith("'") || s.length < 2) this.fail(line, `unterminated quoted scalar ${s}`);
      return s.slice(1, -1).replaceAll("''", "'");
    }
    if (s.startsWith('"')) {
      if (!s.endsWith('"') || s.length < 2) this.fail(line, `unterminated quoted scalar ${s}`);
      try {
        return JSON.parse(s) as string;
      } catch {
        this.fail(line, `unsupported escape in ${s}`);
      }
    }
    if (/^[&*!|>%@`]/.test(s)) this.fail(line, `unsupported YAML construct ${JSON.stringify(s)}`);
    if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
    if (/^(true|True|TRUE)$/.test(s)) return true;
    if (/^(false|False|FALSE)$/.test(s)) return false;
    if (/^[-+]?\d+$/.test(s)) return Number(s);
    return s;
  }

  /** Parse a flow collection or scalar starting at `pos`; returns the value and the index after it. */
  flow(text: string, pos: number, line: number, inFlow: boolean): [YamlValue, number] {
    let i = pos;
    while (text[i] === ' ') i++;
    const open = text[i];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      const map: { [key: string]: YamlValue } = {};
      const seq: YamlValue[] = [];
      i++;
      for (;;) {
        while (text[i] === ' ') i++;
        if (text[i] === close) return [open === '{' ? map : seq, i + 1];
        if (i >= text.length) this.fail(line, `missing "${close}"`);
        if (open === '{') {
          const [key, afterKey] = this.flowToken(text, i, line, ':');
          if (text[afterKey] !== ':') this.fail(line, `expected ":" after key ${JSON.stringify(key)}`);
          const [value, afterValue] = this.flow(text, afterKey + 1, line, true);
          map[String(this.scalar(key, line))] = value;
          i = afterValue;
        } else {
          const [value, afterValue] = this.flow(text, i, line, true);
          seq.push(value);
          i = afterValue;
        }
        while (text[i] === ' ') i++;
        if (text[i] === ',') i++;
        else if (text[i] !== close) this.fail(line, `expected "," or "${close}"`);
      }
    }
    const [token, end] = this.flowToken(text, i, line, inFlow ? ',]}' : '');
    return [this.scalar(token, line), end];
  }

  /** Read a scalar token up to one of `stops` (outside quotes). */
  flowToken(text: string, pos: number, line: number, stops: string): [string, number] {
    let i = pos;
    const q = text[i];
    if (q === '"' || q === "'") {
      i++;
      for (; i < text.length; i++) {
        if (text[i] === '\\' && q === '"') i++;
        else if (text[i] === q) {
          if (q === "'" && text[i + 1] === "'") i++;
          else return [text.slice(pos, i + 1), i + 1];
        }
      }
      this.fail(line, 'unterminated quoted scalar');
    }
    while (i < text.length && !stops.includes(text[i] ?? '')) {
      if (stops.includes(':') && text[i] === ':' && text[i + 1] !== ' ' && text[i + 1] !== undefined) {
        i++;
        continue; // "http://x" style colons inside a key are not separators
      }
      i++;
    }
    return [text.slice(pos, i).trim(), i];
  }

  /** Split `key: rest` at the first ": " (or trailing ":") outside quotes. */
  splitKey(text: string, line: number): [string, string] | null {
    const [key, end] = this.flowToken(text, 0, line, ':');
    if (text[end] !== ':' || (end + 1 < text.length && text[end + 1] !== ' ')) return null;
    return [String(this.scalar(key, line)), text.slice(end + 1).trim()];
  }

  block(lines: Line[], start: number, indent: number): [YamlValue, number] {
    const first = lines[start];
    if (first === undefined) return [null, start];
    if (first.text.startsWith('- ') || first.text === '-') {
      const seq: YamlValue[] = [];
      let i = start;
      while (i < lines.length) {
        const l = lines[i] as Line;
        if (l.indent < indent) break;
        if (l.indent > indent) this.fail(l.no, 'bad indentation');
        if (!(l.text.startsWith('- ') || l.text === '-')) break;
        const rest = l.text.slice(1).trim();
        if (rest === '') this.fail(l.no, 'nested block collections in sequences are not supported');
        seq.push(this.flow(rest, 0, l.no, false)[0]);
        i++;
      }
      return [seq, i];
    }
    const map: { [key: string]: YamlValue } = {};
    let i = start;
    while (i < lines.length) {
      const l = lines[i] as Line;
      if (l.indent < indent) break;
      if (l.indent > indent) this.fail(l.no, 'bad indentation');
      const kv = this.splitKey(l.text, l.no);
      if (kv === null) this.fail(l.no, `expected "key: value", found ${JSON.stringify(l.text)}`);
      const [key, rest] = kv;
      if (Object.hasOwn(map, key)) this.fail(l.no, `duplicate key ${JSON.stringify(key)}`);
      i++;
      if (rest !== '') {
        const [value, end] = this.flow(rest, 0, l.no, false);
        if (end < rest.length && rest.slice(end).trim() !== '') this.fail(l.no, `unexpected text after value: ${rest.slice(end)}`);
        map[key] = value;
        continue;
      }
      const next = lines[i];
      if (next !== undefined && (next.indent > indent || (next.indent === indent && next.text.startsWith('-')))) {
        const [value, end] = this.block(lines, i, next.indent);
        map[key] = value;
        i = end;
      } else {
        map[key] = null;
      }
    }
    return [map, i];
  }
}

/** Parse clouds.yaml-style YAML text; `file` names the source in errors. */
export function parseCloudsYaml(text: string, file = '<string>'): YamlValue {
  const reader = new Reader(file);
  const lines: Line[] = [];
  text.split(/\r\n|\r|\n/).forEach((raw, idx) => {
    if (raw.includes('\t') && /^\s*\t/.test(raw)) reader.fail(idx + 1, 'tabs are not allowed for indentation');
    const body = reader.stripComment(raw);
    if (body.trim() === '') return;
    if (idx === 0 && body.trim() === '---') return;
    if (body.trim() === '---' || body.trim() === '...') reader.fail(idx + 1, 'multiple documents are not supported');
    const indent = body.length - body.trimStart().length;
    lines.push({ no: idx + 1, indent, text: body.trim() });
  });
  if (lines.length === 0) return null;
  const [value, end] = reader.block(lines, 0, (lines[0] as Line).indent);
  const extra = lines[end];
  if (extra !== undefined) reader.fail(extra.no, 'bad indentation');
  return value;
}
