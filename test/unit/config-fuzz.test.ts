/**
 * Generated kuryr.conf files through the whole configuration path a daemon takes at start-up: the
 * oslo INI reader, the loader (types, `$` references, environment overrides), `kuryr config show`'s
 * rendering and the deployment checks of both daemons. Each file either loads or fails with a
 * ConfigError naming the file and line or the `[group] option`; nothing else may be thrown, and
 * nothing may hang (circular `$` references included).
 *
 * Size: KURYR_FUZZ_COUNT files (default 1500); the full size is KURYR_FUZZ_COUNT=10000.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/common/errors.js';
import { cniDeployment, dockerDeployment } from '../../src/config/deployment.js';
import { loadConfig } from '../../src/config/load.js';
import { groupOptions, OPTION_GROUPS, type GroupName } from '../../src/config/options.js';
import { formatEffectiveConfig } from '../../src/config/show.js';

const COUNT = Number(process.env.KURYR_FUZZ_COUNT ?? 1500);
const dir = mkdtempSync(join(tmpdir(), 'kuryr-conf-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GROUPS = Object.keys(OPTION_GROUPS) as GroupName[];
const OPTIONS = GROUPS.flatMap((g) => groupOptions(g).map(([name]) => [g, name] as const));

/** Values of every shape an option might be given: typed-looking, edge numbers, lists, dicts, references, junk. */
const valueArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'true', 'False', 'yes', 'off', '0', '-1', '65536', '1e3', '0x10', '1.5', 'NaN', 'inf', '9'.repeat(40), 'a,b,,c', 'k:v,k2:v2', 'k:', ':v',
    '$DEFAULT.host', '${neutron.auth_url}', '$nope', '${', '$$', '\\$x', '$host', '$socket_path', '"quoted"', "'x", '<None>', 'http://u:p@h/', 'unix:///x',
    '/etc/passwd', '../x', '🙂', '\u0000', '\ud800', '\u202e', 'x'.repeat(70_000)),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 30 }),
);
const keyArb: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...OPTIONS) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom<string>(...GROUPS, 'Neutron', 'DEFAULT ', ' neutron', 'unknown', ''), fc.string({ maxLength: 20 })) },
);
/** One line: an assignment, a section header, a continuation, a comment, or junk. */
const lineArb: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(keyArb, valueArb, fc.constantFrom(' = ', '=', ': ', ' : ')).map(([[g, k], v, sep]) => [`[${g}]`, `${k}${sep}${v}`]) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...OPTIONS), fc.constantFrom(...OPTIONS)).map(([[g1, a], [g2, b]]) => [`[${g1}]`, `${a} = $${g2}.${b}`, `[${g2}]`, `${b} = \${${g1}.${a}}`]) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }).map((s) => [`[${s}]`]) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map((s) => [`  ${s}`]) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(['# comment'], ['; comment'], [''], ['['], ['[]'], ['key'], ['= v'], ['\ufeff[DEFAULT]'], ['\r']) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map((s) => [s]) },
);
const fileArb = fc.tuple(fc.array(lineArb, { maxLength: 25 }), fc.constantFrom('\n', '\r\n', '\r')).map(([lines, eol]) => lines.flat().join(eol));
const envArb = fc.dictionary(fc.constantFrom(...OPTIONS.map(([g, n]) => `OS_${g.toUpperCase()}__${n.toUpperCase()}`), 'OS_AUTH_URL', 'OS_PASSWORD', 'OS_CLOUD'), valueArb.map((v) => v.replaceAll('\0', '')), { maxKeys: 3 });

test(`${COUNT} generated kuryr.conf files load or fail with a ConfigError naming where`, () => {
  let loaded = 0;
  let refused = 0;
  fc.assert(
    fc.property(fileArb, envArb, (text, env) => {
      const file = join(dir, 'kuryr.conf');
      writeFileSync(file, text);
      try {
        const config = loadConfig({ configFiles: [file], env, hostname: 'fuzz-host', cloudsYamlPaths: [] });
        assert.equal(typeof formatEffectiveConfig(config), 'string');
        for (const check of [dockerDeployment, cniDeployment]) {
          try {
            check(config);
          } catch (err) {
            assert.ok(err instanceof ConfigError, `deployment check threw ${String(err)}`);
          }
        }
        loaded++;
      } catch (err) {
        assert.ok(err instanceof ConfigError, `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        // the message says where: the file and line, the [group] and option, or the environment variable
        assert.match(err.message, /kuryr\.conf|\[[^\]]*\]|OS_[A-Z_]+|circular|substitute/, err.message);
        refused++;
      }
    }),
    { numRuns: COUNT, seed: Number(process.env.KURYR_FUZZ_SEED ?? 42) },
  );
  console.log(`# config fuzz: ${COUNT} files, ${loaded} loaded, ${refused} refused with a ConfigError`);
});
