import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Which top-level areas each area may import from. Only compose/ and bin/ know concrete classes. */
const ALLOWED: Record<string, string[]> = {
  common: ['common'],
  config: ['config', 'common'],
  core: ['core', 'common'],
  northbound: ['northbound', 'core', 'common'],
  southbound: ['southbound', 'core', 'common'],
  compose: ['compose', 'northbound', 'southbound', 'core', 'config', 'common'],
  bin: ['bin', 'compose', 'northbound', 'southbound', 'core', 'config', 'common'],
};

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

/** Area of a file under src/: `northbound`, `southbound` and the like (first path segment). */
function areaOf(root: string, file: string): string {
  return relative(root, file).split('/')[0] ?? '';
}

function relativeImports(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[1] ?? m[2];
    if (spec?.startsWith('.')) specs.push(spec);
  }
  return specs;
}

function boundaryViolations(root: string): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(root)) {
    const from = areaOf(root, file);
    const allowed = ALLOWED[from];
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const to = relative(root, target).startsWith('..') ? 'outside-src' : areaOf(root, target);
      if (!allowed?.includes(to)) bad.push(`${relative(root, file)} imports ${spec} (${from} → ${to})`);
    }
  }
  return bad;
}

test('imports point inward: north and south only reach core and common', () => {
  assert.deepEqual(boundaryViolations(SRC), []);
});

test('the boundary check itself catches outward imports', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kuryr-boundaries-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('southbound/openstack/neutron.ts', 'export const x = 1;\n');
  write('core/use.ts', "import { x } from '../southbound/openstack/neutron.js';\nexport const y = x;\n");
  write('northbound/docker/h.ts', "import { x } from '../../southbound/openstack/neutron.js';\nexport { x };\n");
  write('southbound/k8s/k.ts', "export * from '../../northbound/docker/h.js';\n");
  const found = boundaryViolations(root);
  assert.equal(found.length, 3, found.join('\n'));
  assert.ok(found.some((v) => v.includes('(northbound → southbound)')));
  assert.ok(found.some((v) => v.includes('(southbound → northbound)')));
  assert.ok(found.some((v) => v.includes('(core → southbound)')));
});
