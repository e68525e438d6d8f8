import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/common/errors.js';
import { IniParseError, parseOsloIni, parseOsloIniEntries, pyStrip } from '../../src/config/oslo-ini.js';
import { parseCloudsYaml } from '../../src/config/clouds-yaml.js';
import { convertOptValue, parseList, bool, int, float, list, multi, dict, choice, port } from '../../src/config/option-types.js';

/** Plain-object view of a parse, for deepEqual. */
function parse(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [g, opts] of parseOsloIni(text, 'test.conf')) out[g] = Object.fromEntries(opts);
  return out;
}

function parseError(text: string): IniParseError {
  try {
    parseOsloIni(text, '/etc/kuryr/kuryr.conf');
  } catch (err) {
    assert.ok(err instanceof IniParseError, `expected IniParseError, got ${String(err)}`);
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected a parse error');
}

// ---- oslo_config/tests/test_iniparser.py, case by case (with a [s] section: cfg.ConfigParser needs one) ----

test('oslo: invalid assignment, empty key, unexpected continuation, bad sections are errors', () => {
  assert.match(parseError('[s]\nfoo - bar').message, /No ':' or '=' found in assignment/);
  assert.match(parseError('[s]\n: bar').message, /Key cannot be empty/);
  assert.match(parseError('   baz').message, /Unexpected continuation line/);
  assert.match(parseError('[section').message, /Invalid section \(must end with \]\)/);
  assert.match(parseError('[]').message, /Empty section name/);
});

test('oslo: a key alone is an error naming file and line', () => {
  const err = parseError('[DEFAULT]\n\ndebug\n');
  assert.equal(err.line, 3);
  assert.equal(err.file, '/etc/kuryr/kuryr.conf');
  assert.match(err.message, /\/etc\/kuryr\/kuryr\.conf:3/);
  assert.match(err.message, /"debug"/);
});

test('oslo: an assignment before any section is an error', () => {
  assert.match(parseError('foo = bar').message, /Section must be started before assignment/);
});

test('oslo: blank line, = and : assignments, multi-line, empty value, quoted values', () => {
  assert.deepEqual(parse(''), {});
  assert.deepEqual(parse('[s]\nfoo = bar'), { s: { foo: ['bar'] } });
  assert.deepEqual(parse('[s]\nfoo: bar'), { s: { foo: ['bar'] } });
  assert.deepEqual(parse('[s]\nfoo = bar0\n  bar1'), { s: { foo: ['bar0\nbar1'] } });
  assert.deepEqual(parse('[s]\nfoo = '), { s: { foo: [''] } });
  assert.deepEqual(parse("[s]\nfoo = ' bar '"), { s: { foo: [' bar '] } });
  assert.deepEqual(parse('[s]\nfoo = " bar "'), { s: { foo: [' bar '] } });
  assert.deepEqual(parse('[foo]'), { foo: {} });
});

test('oslo: a blank line ends a multi-line value, so a following indented line is an error', () => {
  assert.match(parseError('[s]\nfoo = bar0\n\n  bar1').message, /Unexpected continuation line/);
});

// ---- quirks ----

test('quirk: only whole-line comments; # and ; inside values are kept', () => {
  assert.deepEqual(parse('[s]\n# c\n; c\nfoo = a # b ; c\nbar = x;y#z'), { s: { foo: ['a # b ; c'], bar: ['x;y#z'] } });
});

test('quirk: an indented comment after a key is a continuation line', () => {
  assert.deepEqual(parse('[s]\nfoo = a\n  # not a comment'), { s: { foo: ['a\n# not a comment'] } });
});

test('quirk: the first of = and : splits the line', () => {
  assert.deepEqual(parse('[s]\na = b:c\nd: e=f\nurl = http://h:1/x'), { s: { a: ['b:c'], d: ['e=f'], url: ['http://h:1/x'] } });
});

test('quirk: only matching outer quotes are removed, once, on the first line only', () => {
  assert.deepEqual(parse(`[s]\na = "x'\nb = ''x''\nc = "\nd = "a"\n  "b"`), {
    s: { a: [`"x'`], b: ["'x'"], c: [''], d: ['a\n"b"'] },
  });
});

test('quirk: section names are kept as written (case and spaces)', () => {
  assert.deepEqual(Object.keys(parse('[Neutron]\na=1\n[ x ]\nb=2\n[default]\nc=3')), ['Neutron', ' x ', 'default']);
});

test('quirk: repeated keys accumulate across repeated sections', () => {
  assert.deepEqual(parse('[s]\nk = 1\n[t]\nk = x\n[s]\nk = 2\nk = 3'), { s: { k: ['1', '2', '3'] }, t: { k: ['x'] } });
});

test('CRLF and CR line endings and a BOM are accepted', () => {
  assert.deepEqual(parse('\ufeff[s]\r\nfoo = bar\r\n  baz\rq = 1'), { s: { foo: ['bar\nbaz'], q: ['1'] } });
});

test('entries carry the line of their key', () => {
  const entries = parseOsloIniEntries('[s]\n\n# x\nfoo = 1\n  2\nbar = 3\n', 'f.conf');
  assert.deepEqual(entries.map((e) => [e.section, e.key, e.value, e.line]), [['s', 'foo', '1\n2', 4], ['s', 'bar', '3', 6]]);
});

// ---- properties ----

const keyArb = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,15}$/);
/** Values with INI-significant characters but no line breaks. */
const valueArb = fc.string({ unit: fc.constantFrom(...'ab c#;:=\'"[]$\\\t%,{}'.split('')), maxLength: 30 });

/** What oslo makes of the text after the separator. */
function osloValue(v: string): string {
  const s = pyStrip(v);
  return s.length > 0 && s[0] === s[s.length - 1] && (s[0] === '"' || s[0] === "'") ? s.slice(1, -1) : s;
}

test('property: any value wrapped in double quotes round-trips exactly', () => {
  fc.assert(fc.property(keyArb, valueArb, (k, v) => {
    assert.deepEqual(parse(`[s]\n${k} = "${v}"`), { s: { [k]: [v] } });
  }), { numRuns: 500 });
});

test('property: "key = v", "key: v", "key=v" and "key:v" agree with the oslo model', () => {
  fc.assert(fc.property(keyArb, valueArb, fc.constantFrom(' = ', ': ', '=', ':', ' =', '\t:\t'), (k, v, sep) => {
    assert.deepEqual(parse(`[s]\n${k}${sep}${v}`), { s: { [k]: [osloValue(v)] } });
  }), { numRuns: 500 });
});

test('property: continuation lines join with \\n after left-stripping', () => {
  const lineArb = valueArb.map(pyStrip).filter((s) => s !== '');
  fc.assert(fc.property(keyArb, fc.array(lineArb, { minLength: 1, maxLength: 5 }), fc.constantFrom(' ', '\t', '    '), (k, lines, indent) => {
    const [first, ...rest] = lines as [string, ...string[]];
    const text = `[s]\n${k} = ${first}\n${rest.map((l) => indent + l).join('\n')}`;
    const expected = [osloValue(first), ...rest].join('\n');
    assert.deepEqual(parse(text), { s: { [k]: [rest.length === 0 ? osloValue(first) : expected] } });
  }), { numRuns: 300 });
});

test('property: a repeated key keeps every value in order; comments and blank lines in between change nothing', () => {
  fc.assert(fc.property(keyArb, fc.array(valueArb, { minLength: 1, maxLength: 6 }), (k, values) => {
    const text = '[s]\n' + values.map((v, i) => `${i % 2 === 0 ? '# note\n' : '\n; x\n'}${k} = "${v}"`).join('\n');
    assert.deepEqual(parse(text), { s: { [k]: values } });
  }), { numRuns: 300 });
});

test('property: the parser either succeeds or throws IniParseError with file and a valid line', () => {
  const textArb = fc.array(fc.string({ unit: fc.constantFrom(...'[]=:#; \tabk"\'\n'.split('')), maxLength: 12 }), { maxLength: 8 }).map((l) => l.join('\n'));
  fc.assert(fc.property(textArb, (text) => {
    try {
      parseOsloIni(text, 'fuzz.conf');
    } catch (err) {
      assert.ok(err instanceof IniParseError);
      assert.equal(err.file, 'fuzz.conf');
      assert.ok(err.line >= 1 && err.line <= text.split('\n').length);
    }
  }), { numRuns: 1000 });
});

// ---- value types (oslo_config/types.py) ----

test('bool is strict: true/1/on/yes and false/0/off/no in any case', () => {
  const spec = bool(false, '');
  for (const v of ['true', 'TRUE', '1', 'on', 'Yes']) assert.equal(convertOptValue(spec, [v]), true);
  for (const v of ['false', 'False', '0', 'OFF', 'no']) assert.equal(convertOptValue(spec, [v]), false);
  for (const v of ['', 'y', 'enabled', ' true', '2']) assert.throws(() => convertOptValue(spec, [v]), /unexpected boolean value/);
});

test('int, float and port follow Python number syntax; blank keeps the default', () => {
  assert.equal(convertOptValue(int(0, ''), [' 42 ']), 42);
  assert.equal(convertOptValue(int(0, ''), ['-7']), -7);
  assert.equal(convertOptValue(int(0, ''), ['1_000']), 1000);
  assert.equal(convertOptValue(int(0, ''), ['']), undefined);
  for (const bad of ['abc', '1.5', '0x10', '1e3']) assert.throws(() => convertOptValue(int(0, ''), [bad]), /invalid literal for int/);
  assert.equal(convertOptValue(float(0, ''), ['2.5']), 2.5);
  assert.equal(convertOptValue(float(0, ''), ['1e3']), 1000);
  assert.equal(convertOptValue(float(0, ''), ['.5']), 0.5);
  assert.throws(() => convertOptValue(float(0, ''), ['fast']), /could not convert string to float/);
  assert.throws(() => convertOptValue(port(1, ''), ['70000']), /less than or equal to 65535/);
});

test('list splits on commas, strips items and ignores trailing commas; multi keeps all occurrences', () => {
  assert.deepEqual(parseList(' a , b,c,, '), ['a', 'b', 'c']);
  assert.deepEqual(parseList(''), []);
  assert.deepEqual(parseList('a,,b'), ['a', '', 'b']);
  assert.deepEqual(convertOptValue(list([], ''), ['x', 'a,b']), ['a', 'b']);
  assert.deepEqual(convertOptValue(multi([], ''), ['x', 'a,b']), ['x', 'a,b']);
  assert.deepEqual(convertOptValue(dict(''), ['a:1, b : 2']), { a: '1', b: '2' });
  assert.throws(() => convertOptValue(dict(''), ['a']), /NAME:VALUE/);
  assert.throws(() => convertOptValue(choice(['x', 'y'], 'x', ''), ['z']), /valid values are \[x, y\], but found "z"/);
});

// ---- clouds.yaml subset ----

test('clouds.yaml: flow maps inside block maps, quotes, comments, scalars', () => {
  const yaml = [
    '---',
    'clouds:   # all clouds',
    '  aio:',
    "    auth: {auth_url: 'http://127.0.0.1:5000/v3', username: admin, password: 'a#b''c', project_name: admin}",
    '    region_name: RegionOne',
    '    identity_api_version: 3',
    '    verify: false',
    '    regions: [RegionOne, "Region Two"]',
    '  other:',
    '    auth:',
    '      auth_url: http://x:5000/v3',
    '      password: "p\\"w"',
    '    empty:',
    '    list:',
    '      - a',
    '      - b',
  ].join('\n');
  assert.deepEqual(parseCloudsYaml(yaml, 'c.yaml'), {
    clouds: {
      aio: {
        auth: { auth_url: 'http://127.0.0.1:5000/v3', username: 'admin', password: "a#b'c", project_name: 'admin' },
        region_name: 'RegionOne',
        identity_api_version: 3,
        verify: false,
        regions: ['RegionOne', 'Region Two'],
      },
      other: { auth: { auth_url: 'http://x:5000/v3', password: 'p"w' }, empty: null, list: ['a', 'b'] },
    },
  });
});

test('clouds.yaml: anchors, aliases and maps inside lists, as openstacksdk reads them', () => {
  const yaml = [
    'defaults: &auth',
    '  auth_url: http://127.0.0.1:5000/v3',
    '  user_domain_name: Default',
    'clouds:',
    '  a:',
    '    auth:',
    '      <<: *auth',
    '      username: kuryr',
    '    regions:',
    '      - name: RegionOne',
    '        values: {interface: internal}',
    '    password: |',
    '      multi',
  ].join('\n');
  const parsed = parseCloudsYaml(yaml, 'c.yaml') as { clouds: { a: Record<string, unknown> } };
  assert.deepEqual(parsed.clouds.a['regions'], [{ name: 'RegionOne', values: { interface: 'internal' } }]);
  assert.equal(parsed.clouds.a['password'], 'multi\n');
});

test('clouds.yaml: malformed input names file and line', () => {
  assert.throws(() => parseCloudsYaml('clouds:\n  a: {x: 1\n', 'c.yaml'), /invalid YAML in c\.yaml:\d+: /);
  assert.throws(() => parseCloudsYaml('a: 1\na: 2\n', 'c.yaml'), /c\.yaml:2: .*[Uu]nique/);
  assert.throws(() => parseCloudsYaml('clouds:\n  a: 1\n b: 2\n', 'c.yaml'), /invalid YAML in c\.yaml:3/);
});
