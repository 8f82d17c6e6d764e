/**
 * Goal: the core stays pure (docs/ARCHITECTURE.md, The tree and Layers): every .ts file under src/core imports only
 * relative paths inside src/core and `node:assert`, and never reads the clock (`Date.now`,
 * `new Date()`), draws randomness (`Math.random`, `crypto`), touches `process`, timers or
 * `performance`. The build fails otherwise, as TigerBeetle's tidy.zig does.
 * Method: test/support/core-purity-checker.ts on the real tree, then the same checker on planted
 * violations (so this test is known to fail when the rule is broken) and on look-alikes it must
 * accept (comments, strings, `new Date(ms)`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkCoreSource, describeViolation, typeScriptFiles } from '../support/core-purity-checker.js';

const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const coreRoot = join(repositoryRoot, 'src', 'core');

describe('style: src/core is pure', () => {
  it('every file under src/core keeps the rules', () => {
    const files = typeScriptFiles(coreRoot);
    // A walk that finds nothing must not pass vacuously.
    assert.ok(
      files.some((file) => file.endsWith(join('ledger', 'apply-commands.ts'))),
      `walked ${files.length} files`,
    );
    assert.ok(files.length >= 8, `walked ${files.length} files`);
    const violations = files.flatMap((file) => checkCoreSource(file, readFileSync(file, 'utf8'), coreRoot));
    assert.deepEqual(
      violations.map((violation) => describeViolation(violation, repositoryRoot)),
      [],
    );
  });

  // A fake file at src/core/ledger/fake.ts: relative imports resolve from there.
  const fake = join(coreRoot, 'ledger', 'fake.ts');
  const check = (source: string) => checkCoreSource(fake, source, coreRoot).map((violation) => violation.rule);

  const planted: [string, string, RegExp][] = [
    [
      'an upward relative import',
      "import { SqliteStore } from '../../store/sqlite/sqlite-store.js';",
      /import outside src\/core/,
    ],
    [
      'a type-only upward import',
      "import type { LedgerStore } from '../../store/ledger-store.js';",
      /import outside src\/core/,
    ],
    ['a node module', "import { readFileSync } from 'node:fs';", /other than node:assert: node:fs/],
    ['node:crypto', "import { randomUUID } from 'node:crypto';", /node:crypto/],
    ['a package', "import pg from 'pg';", /other than node:assert: pg/],
    ['a side-effect import', "import 'node:process';", /node:process/],
    ['a re-export from outside', "export { Clock } from '../../system-clock.js';", /import outside src\/core/],
    ['a star re-export of a package', "export * from 'fast-check';", /fast-check/],
    ['a multi-line import', "import {\n  a,\n  b,\n} from 'node:os';", /node:os/],
    ['Date.now', 'const now = Date.now();', /^Date\.now$/],
    ['new Date() without arguments', 'const now = new Date().getTime();', /without arguments/],
    ['Date() called as a function', 'const text = Date();', /without arguments/],
    ['Math.random', 'const id = Math.random().toString(36);', /Math\.random/],
    ['process.env', "const url = process.env.DATABASE_URL ?? '';", /^process$/],
    ['process.hrtime', 'const t = process.hrtime.bigint();', /^process$/],
    ['the global crypto', 'const id = crypto.randomUUID();', /^crypto$/],
    ['setTimeout', 'setTimeout(() => undefined, 10);', /setTimeout/],
    ['setInterval', 'const timer = setInterval(tick, 1000);', /setInterval/],
    ['setImmediate', 'setImmediate(flush);', /setImmediate/],
    ['performance.now', 'const t = performance.now();', /performance/],
    ['globalThis', "const now = (globalThis as any)['Da' + 'te'].now();", /globalThis/],
    ['require', "const fs = require('node:fs');", /require/],
    ['a dynamic import', "const fs = await import('node:fs');", /dynamic import/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the planted source is a template literal
    ['Date.now inside a template expression', 'const s = `at ${Date.now()}`;', /^Date\.now$/],
  ];
  for (const [name, source, rule] of planted) {
    it(`catches a planted violation: ${name}`, () => {
      const rules = check(source);
      assert.ok(
        rules.some((each) => rule.test(each)),
        `expected ${rule} in ${JSON.stringify(rules)}`,
      );
    });
  }

  it('reports the line of a violation', () => {
    const [violation] = checkCoreSource(fake, "import assert from 'node:assert';\n\nconst t = Date.now();\n", coreRoot);
    assert.equal(violation?.line, 3);
  });

  const accepted: [string, string][] = [
    ['node:assert', "import assert from 'node:assert';"],
    [
      'relative imports inside src/core',
      "import { limits } from '../limits.js';\nimport type { LevelState } from './level.js';\nexport { available } from './level.js';",
    ],
    ['new Date(ms) with an argument', 'const text = new Date(ms).toISOString();'],
    [
      'words in comments',
      '// Date.now, Math.random(), process.env, crypto, setTimeout and performance are banned\n/* new Date() */',
    ],
    [
      'words in strings',
      'const message = \'no process. here, no crypto, not Date.now()\';\nconst other = "setTimeout";',
    ],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the accepted source is a template literal
    ['words in template text', 'const message = `the process. of Date.now() ${value} crypto`;'],
    ['a regex literal', 'const pattern = /process\\.env|Date\\.now/;'],
    [
      'identifiers that merely contain the words',
      'const processed = 1; const cryptographic = 2; const performanceMax = 3; const setTimeoutMs = 4;',
    ],
    ['an import specifier that contains a banned word, inside src/core', "import { x } from './process-helpers.js';"],
  ];
  for (const [name, source] of accepted) {
    it(`accepts ${name}`, () => assert.deepEqual(check(source), []));
  }
});
