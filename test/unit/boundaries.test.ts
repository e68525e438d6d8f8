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

/**
 * Inside core, a folder per concern. The Docker and pod use cases never import each other; both may
 * use the port pools and nested mode; those use only what both sides share; `shared` depends on no use case.
 * A file directly under src/core (no folder) has no concern and is refused.
 */
const CORE_ALLOWED: Record<string, string[]> = {
  shared: ['shared'],
  'port-pool': ['port-pool', 'shared'],
  nested: ['nested', 'shared'],
  docker: ['docker', 'port-pool', 'nested', 'shared'],
  pod: ['pod', 'port-pool', 'nested', 'shared'],
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

/** Folder of a file under src/core: `docker`, `pod`, `shared`, `port-pool`; '' for a file directly in core. */
function coreFolderOf(root: string, file: string): string {
  const parts = relative(root, file).split('/');
  return parts.length > 2 ? (parts[1] ?? '') : '';
}

function boundaryViolations(root: string): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(root)) {
    const from = areaOf(root, file);
    const allowed = ALLOWED[from];
    const fromCore = from === 'core' ? coreFolderOf(root, file) : undefined;
    if (fromCore !== undefined && CORE_ALLOWED[fromCore] === undefined) bad.push(`${relative(root, file)} is outside the core folders`);
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const to = relative(root, target).startsWith('..') ? 'outside-src' : areaOf(root, target);
      if (!allowed?.includes(to)) bad.push(`${relative(root, file)} imports ${spec} (${from} → ${to})`);
      else if (fromCore !== undefined && to === 'core') {
        const toCore = coreFolderOf(root, target);
        if (!CORE_ALLOWED[fromCore]?.includes(toCore)) bad.push(`${relative(root, file)} imports ${spec} (core/${fromCore} → core/${toCore})`);
      }
    }
  }
  return bad;
}

test('imports point inward: north and south only reach core and common', () => {
  assert.deepEqual(boundaryViolations(SRC), []);
});

/** A throw-away src tree for the self-checks; `write` adds a file to it. */
function scratchTree(t: { after: (fn: () => void) => void }): { root: string; write: (path: string, text: string) => void } {
  const root = mkdtempSync(join(tmpdir(), 'kuryr-boundaries-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  return { root, write };
}

test('the boundary check itself catches outward imports', (t) => {
  const { root, write } = scratchTree(t);
  write('southbound/openstack/neutron.ts', 'export const x = 1;\n');
  write('core/docker/use.ts', "import { x } from '../../southbound/openstack/neutron.js';\nexport const y = x;\n");
  write('northbound/docker/h.ts', "import { x } from '../../southbound/openstack/neutron.js';\nexport { x };\n");
  write('southbound/k8s/k.ts', "export * from '../../northbound/docker/h.js';\n");
  const found = boundaryViolations(root);
  assert.equal(found.length, 3, found.join('\n'));
  assert.ok(found.some((v) => v.includes('(northbound → southbound)')));
  assert.ok(found.some((v) => v.includes('(southbound → northbound)')));
  assert.ok(found.some((v) => v.includes('(core → southbound)')));
});

test('the boundary check itself catches imports between the core folders', (t) => {
  const { root, write } = scratchTree(t);
  write('common/cidr.ts', 'export const c = 1;\n');
  write('core/shared/neutron-api.ts', "import { c } from '../../common/cidr.js';\nexport const n = c;\n");
  write('core/port-pool/pool.ts', "import { n } from '../shared/neutron-api.js';\nexport const p = n;\n");
  write('core/docker/endpoint.ts', "import { p } from '../port-pool/pool.js';\nimport { n } from '../shared/neutron-api.js';\nexport const d = p + n;\n");
  write('core/pod/add.ts', "import { p } from '../port-pool/pool.js';\nexport const a = p;\n");
  assert.deepEqual(boundaryViolations(root), [], 'the allowed directions pass');

  write('core/pod/bad.ts', "import { d } from '../docker/endpoint.js';\nexport const x = d;\n");
  write('core/docker/bad.ts', "export { a } from '../pod/add.js';\n");
  write('core/shared/bad.ts', "import { d } from '../docker/endpoint.js';\nexport const y = d;\n");
  write('core/port-pool/bad.ts', "import { a } from '../pod/add.js';\nexport const z = a;\n");
  write('core/loose.ts', 'export const l = 1;\n');
  const found = boundaryViolations(root);
  assert.equal(found.length, 5, found.join('\n'));
  assert.ok(found.some((v) => v.includes('(core/pod → core/docker)')));
  assert.ok(found.some((v) => v.includes('(core/docker → core/pod)')));
  assert.ok(found.some((v) => v.includes('(core/shared → core/docker)')));
  assert.ok(found.some((v) => v.includes('(core/port-pool → core/pod)')));
  assert.ok(found.some((v) => v.includes('core/loose.ts is outside the core folders')));
});
