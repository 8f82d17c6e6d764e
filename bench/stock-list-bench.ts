/**
 * bench:stock-list - one page (50 rows) of the dashboard's stock grid, `store.ledger.listStock`
 * behind GET /v1/stock, at 250,000 variants on 3 locations, on SQLite (default) or PostgreSQL.
 *
 * Setup: locations through the store's API, then variants and levels (each variant at 1 or 2
 * locations, 375,000 levels) with set-based SQL.
 * Then, per scenario, `--pages` fetches from random start points (a keyset cursor at a random
 * sku, or a random search text), timed one by one. Prints p50 and p95 per scenario. Never asserts.
 *
 * Usage: npm run bench:stock-list [-- --variants 250000 --pages 40 --store sqlite|postgres]
 */
import { parseArgs } from 'node:util';
import { limits } from '../src/core/limits.js';
import type { StockListQuery } from '../src/store/ledger-store.js';
import { encodeStockCursor } from '../src/store/sql/sql-stock-list.js';
import { openBenchStore, percentile } from './support/bench-store.js';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: '250000' },
    pages: { type: 'string', default: '40' },
    store: { type: 'string', default: 'sqlite' },
  },
});
const variantCount = Number(values.variants);
const pages = Number(values.pages);
const now = Date.UTC(2026, 11, 6, 12);
const locations = ['WH-AMS', 'WH-RTM', 'STORE-UTR'];
const skuOf = (index: number) => `V${String(index).padStart(7, '0')}`;

const { store, cleanup, sql } = await openBenchStore(values.store!, { withSql: true });
try {
  const seedStarted = performance.now();
  await store.catalogue.upsertLocations(
    locations.map((code) => ({ code, name: code, kind: 'warehouse' as const })),
    now,
  );
  // Seeded with set-based SQL, not through the ledger: 375,000 receipts through the group
  // committer take about 4 minutes here, and the grid reads only variants and levels.
  const postgres = values.store === 'postgres';
  const series = postgres
    ? `generate_series(0, ${variantCount - 1}) AS g(i)`
    : `(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < ${variantCount - 1}) SELECT i FROM g) AS g`;
  const padded = postgres ? `lpad(i::text, 7, '0')` : `printf('%07d', i)`;
  await sql(
    `INSERT INTO variants (sku, name, attributes, is_bundle, created_at, updated_at)
     SELECT 'V' || ${padded}, 'Variant ' || i || CASE WHEN i % 7 = 0 THEN ' blue' ELSE ' grey' END, '{}', 0, ${now}, ${now}
     FROM ${series}`,
  );
  const index = postgres ? 'substr(v.sku, 2)::int' : 'CAST(substr(v.sku, 2) AS INTEGER)';
  const locationAt = (expression: string) =>
    `(SELECT id FROM locations WHERE code = CASE (${expression}) % 3 ${locations.map((code, at) => `WHEN ${at} THEN '${code}'`).join(' ')} END)`;
  await sql(
    `INSERT INTO levels (variant_id, location_id, on_hand, version)
     SELECT v.id, ${locationAt(index)}, 1 + ((${index}) * 13) % 40, 1 FROM variants v`,
  );
  await sql(
    `INSERT INTO levels (variant_id, location_id, on_hand, version)
     SELECT v.id, ${locationAt(`${index} + 1`)}, 1 + ((${index}) * 13) % 40, 1 FROM variants v WHERE (${index}) % 2 = 0`,
  );
  await sql('ANALYZE');
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  console.log(`seeded ${variantCount} variants in ${seedSeconds.toFixed(1)} s (${values.store})`);

  const random = (() => {
    let state = 42;
    return () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
  })();
  const randomSku = () => skuOf(Math.floor(random() * variantCount));
  const scenarios: [string, () => Partial<StockListQuery>][] = [
    ['sort=sku, first page', () => ({})],
    ['sort=sku, page at a random cursor', () => ({ cursor: encodeStockCursor({ sort: 'sku', sku: randomSku() }) })],
    ['sku_prefix (1,000 skus)', () => ({ skuPrefix: randomSku().slice(0, 5) })],
    [
      'location=WH-RTM, random cursor',
      () => ({ location: 'WH-RTM', cursor: encodeStockCursor({ sort: 'sku', sku: randomSku() }) }),
    ],
    [
      'low_stock=true, random cursor',
      () => ({ lowStock: true, cursor: encodeStockCursor({ sort: 'sku', sku: randomSku() }) }),
    ],
    ['q=<text> (scan of every name)', () => ({ q: `riant ${Math.floor(random() * variantCount)}` })],
    ['sort=available, first page', () => ({ sort: 'available' })],
    [
      'sort=available, random cursor',
      () => ({
        sort: 'available',
        cursor: encodeStockCursor({ sort: 'available', sku: randomSku(), available: Math.floor(random() * 60) }),
      }),
    ],
  ];
  const rows: { scenario: string; p50_ms: number; p95_ms: number; rows: number }[] = [];
  for (const [scenario, query] of scenarios) {
    const samples = new Float64Array(pages);
    let returned = 0;
    for (let page = 0; page < pages; page += 1) {
      const started = performance.now();
      const result = await store.ledger.listStock(
        { lowStockAvailableMax: limits.stockLowAvailableMax, limit: limits.stockPageSizeDefault, ...query() },
        now,
      );
      samples[page] = performance.now() - started;
      returned += result.items.length;
    }
    samples.sort();
    const row = {
      scenario,
      p50_ms: Number(percentile(samples, 50).toFixed(1)),
      p95_ms: Number(percentile(samples, 95).toFixed(1)),
      rows: Math.round(returned / pages),
    };
    rows.push(row);
    console.log(JSON.stringify({ bench: 'stock-list', store: values.store, variants: variantCount, ...row }));
  }
  console.table(rows);
} finally {
  await cleanup();
}
