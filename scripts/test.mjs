// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Usage: npm test [-- <path filter>...]   e.g. npm test -- conformance
// STORES=sqlite npm test  runs the store suites on SQLite only (CI runs both, see test/support/stores.ts).
// ONHAND_MODEL_RUNS=<n> runs the model-based test n times longer (test/simulation/ledger-model.test.ts).
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
const files = walk('test').sort().filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(' ')}`);
  process.exit(1);
}
const scratch = mkdtempSync(join(tmpdir(), 'onhand-test-times-'));
const timesFile = join(scratch, 'durations.tsv');
const started = Date.now();
const result = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-concurrency=2',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${new URL('./test-durations.mjs', import.meta.url).href}`, `--test-reporter-destination=${timesFile}`,
    ...files,
  ],
  { stdio: 'inherit', env: process.env },
);
const wallMs = Date.now() - started;
try {
  const rows = readFileSync(timesFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [ms, file] = line.split('\t');
    return { ms: Number(ms), file: relative(process.cwd(), file) };
  });
  rows.sort((a, b) => b.ms - a.ms);
  const sumMs = rows.reduce((sum, row) => sum + row.ms, 0);
  console.log(`\nwall ${(wallMs / 1000).toFixed(1)} s; sum of per-file durations ${(sumMs / 1000).toFixed(1)} s over ${rows.length} files; slowest:`);
  for (const row of rows.slice(0, 10)) console.log(`  ${(row.ms / 1000).toFixed(1).padStart(6)} s  ${row.file}`);
} catch {
  // No durations (the runner failed before any test): the exit status says why.
}
rmSync(scratch, { recursive: true, force: true });
process.exit(result.status ?? 1);
