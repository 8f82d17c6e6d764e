/**
 * bench:import - a CSV import of N rows end to end through the product's path (src/api/csv-import.ts:
 * parse and check every row, resolve each against the store, apply in batches through the
 * catalogue port or the group committer), on SQLite and PostgreSQL. The target: 100,000 rows of
 * `stock` or `variants` in at most 10 s on SQLite.
 *
 * Scenarios, each on a fresh store:
 * - variants: N new variants (sku, name, barcode, product group, two attributes), then the same
 *   file again (every row `unchanged`: the second import's cost is the resolution alone);
 * - stock: N variants created beforehand (not timed), then N counts at one location, then the
 *   same file again.
 * Wall time covers the whole import (text in, report out); peak RSS is sampled every 20 ms
 * during it. Prints one JSON line per run, then a table. Never asserts timings.
 *
 * Usage: npm run bench:import [-- --stores sqlite,postgres --kinds variants,stock --rows 100000]
 */
import { parseArgs } from 'node:util';
import { importCsv, type ImportReport } from '../src/api/csv-import.js';
import type { ImportKind } from '../src/csv/csv-kinds.js';
import { GroupCommitter } from '../src/store/group-commit.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { randomIds, systemClock } from '../src/system-clock.js';
import { openBenchStore } from './support/bench-store.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    kinds: { type: 'string', default: 'variants,stock' },
    rows: { type: 'string', default: '100000' },
  },
});
const rows = Number(values.rows);

function variantsFile(count: number): string {
  const lines = ['sku,name,barcode,product_group,attributes'];
  for (let index = 0; index < count; index += 1)
    lines.push(
      `SKU-${String(index).padStart(7, '0')},"Variant ${index}, size M",87${String(index).padStart(11, '0')},group-${index % 100},color=red|size=M`,
    );
  return `${lines.join('\n')}\n`;
}

function stockFile(count: number): string {
  const lines = ['sku,location,on_hand'];
  for (let index = 0; index < count; index += 1)
    lines.push(`SKU-${String(index).padStart(7, '0')},WH1,${1 + (index % 500)}`);
  return `${lines.join('\n')}\n`;
}

async function prepare(store: LedgerStore, kind: ImportKind): Promise<void> {
  await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], systemClock.now());
  if (kind !== 'stock') return;
  for (let start = 0; start < rows; start += 1000) {
    const chunk = [];
    for (let index = start; index < Math.min(rows, start + 1000); index += 1)
      chunk.push({ sku: `SKU-${String(index).padStart(7, '0')}`, name: `Variant ${index}` });
    await store.catalogue.upsertVariants(chunk, systemClock.now());
  }
}

interface Run {
  engine: string;
  kind: ImportKind;
  pass: 'first' | 'again';
  rows: number;
  wallMs: number;
  rowsPerSecond: number;
  peakRssMiB: number;
  report: Omit<ImportReport, 'errors'> & { errors: number };
}

async function timed(
  engine: string,
  kind: ImportKind,
  pass: Run['pass'],
  store: LedgerStore,
  text: string,
): Promise<Run> {
  const ledger = new GroupCommitter(store, systemClock, randomIds);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  try {
    const report = await importCsv({ store, ledger, clock: systemClock }, kind, text);
    const wallMs = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage().rss);
    return {
      engine,
      kind,
      pass,
      rows: report.rows,
      wallMs: Math.round(wallMs),
      rowsPerSecond: Math.round(report.rows / (wallMs / 1000)),
      peakRssMiB: Math.round(peak / 1024 / 1024),
      report: { ...report, errors: report.errors.length },
    };
  } finally {
    clearInterval(sampler);
    await ledger.close();
  }
}

const results: Run[] = [];
for (const engine of values.stores.split(',')) {
  for (const kind of values.kinds.split(',') as ImportKind[]) {
    const { store, cleanup } = await openBenchStore(engine);
    try {
      await prepare(store, kind);
      const text = kind === 'stock' ? stockFile(rows) : variantsFile(rows);
      for (const pass of ['first', 'again'] as const) {
        const run = await timed(engine, kind, pass, store, text);
        console.log(JSON.stringify(run));
        results.push(run);
      }
    } finally {
      await cleanup();
    }
  }
}

console.log('\n| store | kind | pass | rows | wall | rows/s | peak RSS | created / updated / unchanged |');
console.log('|---|---|---|---:|---:|---:|---:|---|');
for (const run of results)
  console.log(
    `| ${run.engine} | ${run.kind} | ${run.pass} | ${run.rows} | ${(run.wallMs / 1000).toFixed(1)} s | ${run.rowsPerSecond} | ${run.peakRssMiB} MiB | ${run.report.created} / ${run.report.updated} / ${run.report.unchanged} |`,
  );
