/**
 * Goal: imports run only the way the layer table of docs/ARCHITECTURE.md allows. The table is
 * read from the document itself, so the document and the rule cannot drift apart; every .ts
 * file under src/ and sim/ must sit in one of its rooms.
 * Method: test/support/layering-checker.ts parses every file with TypeScript, resolves each
 * relative import, and names each edge to a room the importing room's row does not list (or,
 * for a room reachable only through import(), any edge that is not a dynamic import). The same
 * checker then runs on planted graphs, so this test is known to fail when the rule is broken.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  checkLayering,
  describeEdge,
  describeViolation,
  importsOf,
  parseLayerTable,
  sourceFiles,
  type EdgeKind,
} from '../support/layering-checker.js';

const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const architecture = readFileSync(join(repositoryRoot, 'docs', 'ARCHITECTURE.md'), 'utf8');
const rooms = parseLayerTable(architecture);

/**
 * Backward imports that existed when this test was written and are being removed. The list
 * may only shrink: an entry that no longer matches a real edge fails the test too, so it has
 * to be deleted the moment its import is gone. An empty list is the goal.
 */
const knownViolations: string[] = [];

function readTree(): Map<string, string> {
  const files = sourceFiles(repositoryRoot, ['src', 'sim']);
  return new Map(files.map((file) => [file, readFileSync(join(repositoryRoot, file), 'utf8')]));
}

describe('style: imports follow the layer table of docs/ARCHITECTURE.md', () => {
  it('the table names every room once, with its files', () => {
    const names = rooms.map((room) => room.name);
    for (const name of [
      'core',
      'store',
      'connectors',
      'sync',
      'ingest',
      'reconcile',
      'api',
      'http',
      'cli',
      'demo',
      'main',
      'sim',
    ]) {
      assert.ok(names.includes(name), `room ${name} missing from the table: ${names.join(', ')}`);
    }
    const core = rooms.find((room) => room.name === 'core')!;
    assert.deepEqual(core.mayImport, [], 'src/core imports no other room');
  });

  it('every file of src/ and sim/ imports only what its room may', (t) => {
    const tree = readTree();
    // A walk or a parse that finds nothing must not pass vacuously.
    assert.ok(tree.size >= 60, `walked ${tree.size} files`);
    assert.ok(tree.has('src/main.ts') && tree.has('src/core/ledger/apply-commands.ts'), 'the walk reached the tree');
    const kinds = new Map<EdgeKind, number>();
    let relative = 0;
    for (const [file, source] of tree) {
      for (const edge of importsOf(file, source)) {
        kinds.set(edge.kind, (kinds.get(edge.kind) ?? 0) + 1);
        if (edge.target !== undefined) relative += 1;
      }
    }
    t.diagnostic(
      `${tree.size} files, ${relative} imports between files; ${[...kinds].map(([kind, count]) => `${kind}: ${count}`).join(', ')}`,
    );
    assert.ok(relative >= 200, `found ${relative} imports between files`);
    assert.ok(
      (kinds.get('import') ?? 0) > 0 && (kinds.get('import type') ?? 0) > 0,
      'both value and type imports are seen',
    );

    const violations = checkLayering(tree, rooms);
    const found = new Set(violations.map(describeEdge));
    const known = new Set(knownViolations);
    const fresh = violations.filter((violation) => !known.has(describeEdge(violation))).map(describeViolation);
    assert.deepEqual(fresh, [], `imports the layer table of docs/ARCHITECTURE.md does not allow:\n${fresh.join('\n')}`);
    const gone = knownViolations.filter((edge) => !found.has(edge));
    assert.deepEqual(
      gone,
      [],
      `these known violations are gone: delete them from knownViolations in this file:\n${gone.join('\n')}`,
    );
  });

  it('knownViolations holds each edge once', () => {
    assert.equal(new Set(knownViolations).size, knownViolations.length);
  });

  it('reports a backward import planted in the real tree', () => {
    const tree = readTree();
    tree.set('src/core/planted.ts', "import type { LedgerStore } from '../store/ledger-store.js';\n");
    tree.set('src/store/planted.ts', "import { Dispatcher } from '../sync/dispatcher.js';\n");
    const reported = checkLayering(tree, rooms).map(describeEdge);
    assert.ok(
      reported.includes('src/core/planted.ts -> src/store/ledger-store.ts (core -> store)'),
      reported.join('\n'),
    );
    assert.ok(reported.includes('src/store/planted.ts -> src/sync/dispatcher.ts (store -> sync)'), reported.join('\n'));
  });

  // Planted graphs, in memory: each must be reported (or accepted) as named.
  const check = (files: Record<string, string>) =>
    checkLayering(new Map(Object.entries(files)), rooms).map(describeViolation);

  const planted: [string, Record<string, string>, RegExp][] = [
    [
      'a value import',
      { 'src/store/a.ts': "import { x } from '../sync/b.js';" },
      /^src\/store\/a\.ts -> src\/sync\/b\.ts \(store -> sync\) \[import at line 1/,
    ],
    [
      'a type-only import',
      { 'src/store/a.ts': "\nimport type { X } from '../sync/b.js';" },
      /\(store -> sync\) \[import type at line 2/,
    ],
    [
      'an inline type import',
      { 'src/store/a.ts': "type X = import('../sync/b.js').X;" },
      /\(store -> sync\) \[import type/,
    ],
    [
      'a re-export',
      { 'src/connectors/a.ts': "export { x } from '../store/b.js';" },
      /\(connectors -> store\) \[export from/,
    ],
    [
      'a star re-export',
      { 'src/connectors/a.ts': "export * from '../http/b.js';" },
      /\(connectors -> http\) \[export from/,
    ],
    ['a side-effect import', { 'src/core/a.ts': "import '../store/b.js';" }, /\(core -> store\) \[import/],
    [
      'a multi-line import',
      { 'src/cli/a.ts': "import {\n  a,\n  b,\n} from '../http/b.js';" },
      /\(cli -> http\) \[import at line 1/,
    ],
    [
      'a dynamic import of a room it may not import',
      { 'src/sync/a.ts': "const m = await import('../ingest/b.js');" },
      /\(sync -> ingest\) \[import\(\)/,
    ],
    [
      'a static import of the demo from main',
      { 'src/main.ts': "import { loadDemo } from './demo/demo-catalogue.js';" },
      /\(main -> demo\) \[import at line 1: import where only import\(\) is allowed/,
    ],
    [
      'a re-export of the demo from main',
      { 'src/main.ts': "export { loadDemo } from './demo/demo-catalogue.js';" },
      /\(main -> demo\) \[export from at line 1: export from where only import\(\) is allowed/,
    ],
    [
      'an inline type specifier does not make an import type-only',
      { 'src/main.ts': "import { type DemoOptions } from './demo/demo-catalogue.js';" },
      /\(main -> demo\) \[import at line 1/,
    ],
    [
      'sim imported by product code',
      { 'src/http/a.ts': "import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';" },
      /\(http -> sim\)/,
    ],
    ['a computed dynamic import', { 'src/main.ts': 'const m = await import(name);' }, /computed specifier/],
    ['a file in no room', { 'src/stray.ts': "import { x } from './core/limits.js';" }, /no room/],
    [
      'an import of a file outside every room',
      { 'src/store/a.ts': "import { x } from '../../test/support/stores.js';" },
      /\(store -> no room\) \[import at line 1: target in no room/,
    ],
  ];
  for (const [name, files, expected] of planted) {
    it(`catches a planted violation: ${name}`, () => {
      const reported = check(files);
      assert.ok(
        reported.some((line) => expected.test(line)),
        `expected ${expected} in:\n${reported.join('\n')}`,
      );
    });
  }

  const accepted: [string, Record<string, string>][] = [
    [
      'imports inside a room',
      { 'src/store/sqlite/a.ts': "import { x } from '../rows.js';\nimport { y } from './b.js';" },
    ],
    [
      'an allowed edge',
      {
        'src/sync/a.ts':
          "import type { LedgerStore } from '../store/ledger-store.js';\nimport { x } from '../core/limits.js';",
      },
    ],
    [
      'packages and node modules',
      { 'src/http/a.ts': "import Fastify from 'fastify';\nimport { join } from 'node:path';" },
    ],
    [
      'the demo loaded dynamically by main',
      { 'src/main.ts': "const { loadDemo } = await import('./demo/demo-catalogue.js');" },
    ],
    [
      'a type-only import of the demo by main (erased, loads nothing)',
      {
        'src/main.ts':
          "import type { DemoOptions } from './demo/demo-catalogue.js';\ntype Demo = typeof import('./demo/demo-channels.js');",
      },
    ],
    ['the demo importing sim', { 'src/demo/a.ts': "import { mulberry32 } from '../../sim/prng.js';" }],
    [
      'import-like text in comments and strings',
      {
        'src/core/a.ts':
          "// import { x } from '../store/b.js';\n/* export * from '../http/c.js' */\nconst s = \"import('../sync/d.js')\";\nconst t = `from '../cli/e.js'`;",
      },
    ],
  ];
  for (const [name, files] of accepted) {
    it(`accepts ${name}`, () => assert.deepEqual(check(files), []));
  }

  it('refuses a table that names an unknown room', () => {
    const table =
      '## Layers\n\n| room | files | may import | only through `import()` |\n|---|---|---|---|\n| `a` | `src/a/` | `b` | |\n';
    assert.throws(() => parseLayerTable(table), /unknown room: b/);
  });
});
