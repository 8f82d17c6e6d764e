// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Usage: npm test [-- <path filter>...]   e.g. npm test -- conformance
// STORES=sqlite npm test  runs the store suites on SQLite only (CI runs both, see test/support/stores.ts).
// ONHAND_SIM_RUNS=<n> runs the model-based test longer (test/simulation/ledger-model.test.ts).
// ONHAND_TEST_TIMEOUT_MS=<ms> bounds each test (default 600000).
// The PostgreSQL suites clone one template database, migrated once here (test/support/pg-template.ts).
// At the end it prints the wall time, the sum of per-file durations and the ten slowest files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

function walk(directory) {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.ts') ? [path] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk('test')
  .sort()
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(' ')}`);
  process.exit(1);
}
// A run ends, whatever a test does: each file runs under ONHAND_TEST_TIMEOUT_MS (default 10
// minutes; the slowest file takes under 2), so a test that waits on something that never comes,
// or a file that left a handle open (a server a failed assertion never closed) and never exits,
// fails the run at that bound instead of holding it for ever. (--test-force-exit would end the
// second case sooner, but it also ends the runner before the durations reporter has written.)
const testTimeoutMs = Number(process.env.ONHAND_TEST_TIMEOUT_MS ?? 600_000);
if (!Number.isSafeInteger(testTimeoutMs) || testTimeoutMs < 1) {
  console.error(
    `ONHAND_TEST_TIMEOUT_MS must be a whole number of milliseconds, got ${process.env.ONHAND_TEST_TIMEOUT_MS}`,
  );
  process.exit(2);
}

const started = Date.now();
// One migrated PostgreSQL database per run, cloned by every suite that needs one.
const wantsPostgres = (process.env.STORES ?? 'postgres').split(',').some((name) => name.trim() === 'postgres');
const usesStores = files.some((file) => readFileSync(file, 'utf8').includes('support/stores'));
let template;
if (wantsPostgres && usesStores && !process.env.ONHAND_TEST_PG_TEMPLATE) {
  const name = `onhand_template_${process.pid}_${Date.now().toString(36)}`;
  const made = spawnSync(process.execPath, ['--import', 'tsx', 'test/support/pg-template.ts', name], {
    stdio: 'inherit',
    env: process.env,
  });
  if (made.status === 0) template = name;
}
async function dropTemplate() {
  if (!template) return;
  const { default: pg } = await import('pg');
  const admin = new pg.Client({
    connectionString: process.env.ONHAND_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  await admin.end();
}

// Ctrl-C reaches the test runner too (one process group): outlive it to drop the template.
process.on('SIGINT', () => undefined);

const scratch = mkdtempSync(join(tmpdir(), 'onhand-test-times-'));
const timesFile = join(scratch, 'durations.tsv');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    `--test-timeout=${testTimeoutMs}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${new URL('./test-durations.mjs', import.meta.url).href}`,
    `--test-reporter-destination=${timesFile}`,
    ...files,
  ],
  { stdio: 'inherit', env: template ? { ...process.env, ONHAND_TEST_PG_TEMPLATE: template } : process.env },
);
const wallMs = Date.now() - started;
try {
  const rows = readFileSync(timesFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ms, file] = line.split('\t');
      return { ms: Number(ms), file: relative(process.cwd(), file) };
    });
  rows.sort((a, b) => b.ms - a.ms);
  const sumMs = rows.reduce((sum, row) => sum + row.ms, 0);
  console.log(
    `\nwall ${(wallMs / 1000).toFixed(1)} s; sum of per-file durations ${(sumMs / 1000).toFixed(1)} s over ${rows.length} files; slowest:`,
  );
  for (const row of rows.slice(0, 10)) console.log(`  ${(row.ms / 1000).toFixed(1).padStart(6)} s  ${row.file}`);
} catch {
  // No durations (the runner failed before any test): the exit status says why.
}
rmSync(scratch, { recursive: true, force: true });
await dropTemplate();
process.exit(result.status ?? 1);
