/**
 * bench:availability - full recompute after a rule change over 1,000,000 listings
 * (250k variants x 4 channels, 10% bundles), on SQLite (default) or PostgreSQL.
 *
 * Setup goes through the store's own API (variants, channels, listings with the normalizer,
 * opening stock as ledger receipts), then rule set v1 is activated (first full recompute:
 * every listing written) and v2 (a rule change: caps and buffers move, part of the listings
 * change). Activation = switch version + full recompute in chunks of 5,000 variants, each its
 * own transaction. Reports seconds, listings/s, listings changed and memory peaks.
 *
 * Usage: npm run bench:availability [-- --variants 250000 --store sqlite|postgres]
 * Prints JSON lines and a table. Never asserts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LedgerCommand } from '../src/core/ledger/command.js';
import { GroupCommitter } from '../src/store/group-commit.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { createTestDatabase } from '../test/support/stores.js';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: '250000' },
    store: { type: 'string', default: 'sqlite' },
  },
});
const variantCount = Number(values.variants);
const bundleCount = Math.floor(variantCount / 10);
const plainCount = variantCount - bundleCount;
const channels = ['shop', 'bol', 'amazon', 'b2b'];
const now = Date.UTC(2026, 10, 23, 12);

let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed);
};
const sampler = setInterval(sample, 50);

async function open(): Promise<{ store: LedgerStore; cleanup: () => Promise<void> }> {
  if (values.store === 'postgres') {
    const database = await createTestDatabase();
    const store = new PostgresStore({ connectionString: database.url, poolSize: 4 });
    await store.migrate();
    return {
      store,
      cleanup: async () => {
        await store.close();
        await database.drop();
      },
    };
  }
  const directory = mkdtempSync(join(tmpdir(), 'onhand-bench-'));
  const store = new SqliteStore({ filename: process.env.BENCH_DB ?? join(directory, 'availability.db') });
  await store.migrate();
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function phase(name: string, started: number, extra: Record<string, unknown> = {}) {
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      bench: 'availability',
      store: values.store,
      phase: name,
      seconds: Number(seconds.toFixed(2)),
      ...extra,
    }),
  );
  return seconds;
}

const { store, cleanup } = await open();
let started = performance.now();
await store.catalogue.upsertLocations(
  [
    { code: 'WH1', name: 'Main', kind: 'warehouse' },
    { code: 'WH2', name: '3PL', kind: '3pl' },
    { code: 'ST1', name: 'Store', kind: 'store' },
  ],
  now,
);
for (let start = 0; start < plainCount; start += 1000) {
  const chunk = [];
  for (let index = start; index < Math.min(plainCount, start + 1000); index += 1)
    chunk.push({ sku: `V${index}`, name: `Variant ${index}`, barcode: String(8_700_000_000_000 + index) });
  await store.catalogue.upsertVariants(chunk, now);
}
for (let start = 0; start < bundleCount; start += 1000) {
  const chunk = [];
  for (let index = start; index < Math.min(bundleCount, start + 1000); index += 1) {
    const first = (index * 7) % plainCount;
    chunk.push({
      sku: `K${index}`,
      name: `Bundle ${index}`,
      components: [
        { sku: `V${first}`, quantity: 1 + (index % 3) },
        { sku: `V${(first + 1) % plainCount}`, quantity: 1 },
        ...(index % 2 === 0 ? [{ sku: `V${(first + 2) % plainCount}`, quantity: 2 }] : []),
      ],
    });
  }
  await store.catalogue.upsertVariants(chunk, now);
}
phase('catalogue', started, { variants: variantCount, bundles: bundleCount });

started = performance.now();
let keys = 0;
const ledger = new GroupCommitter(store, { now: () => now }, { next: (prefix) => `${prefix}_${++keys}` });
const receipts: Promise<unknown>[] = [];
for (let index = 0; index < plainCount; index += 1) {
  const commands: LedgerCommand[] = [];
  for (const [offset, location] of ['WH1', 'WH2', 'ST1'].entries()) {
    const quantity = (index * 31 + offset * 17) % 23;
    if (quantity > 0)
      commands.push({
        type: 'receipt',
        key: `stock-${index}-${location}`,
        payloadHash: 'h',
        sku: `V${index}`,
        location,
        quantity,
      });
  }
  receipts.push(ledger.submit(commands));
  if (receipts.length >= 2000) await Promise.all(receipts.splice(0));
}
await Promise.all(receipts);
phase('opening stock (before any listing)', started);

started = performance.now();
await store.availability.upsertChannels(
  channels.map((code, index) => ({
    code,
    name: code,
    platform: (['shopify', 'bol', 'amazon', 'custom'] as const)[index]!,
    locations: index === 3 ? ['WH2'] : ['WH1', 'WH2', 'ST1'],
  })),
  now,
);
for (const [channelIndex, channel] of channels.entries()) {
  for (let start = 0; start < variantCount; start += 1000) {
    const chunk = [];
    for (let index = start; index < Math.min(variantCount, start + 1000); index += 1) {
      const sku = index < plainCount ? `V${index}` : `K${index - plainCount}`;
      chunk.push({
        channel,
        externalId: `${channel}-${sku}`,
        ...(channelIndex === 1 && index < plainCount ? { barcode: String(8_700_000_000_000 + index) } : { sku }),
        rank: channelIndex + 1,
      });
    }
    await store.availability.upsertListings(chunk, now);
  }
}
phase('listings (normalizer + first compute)', started, { listings: variantCount * channels.length });

const rulesV1 = {
  defaults: { buffer: { units: 1 } },
  channels: {
    bol: { cap: 10, exclude_locations: ['ST1'] },
    amazon: { buffer: { percent: 20 } },
    b2b: { allocation: { units: 2 } },
  },
  low_stock: { threshold: 3, listings_max: 2 },
};
const rulesV2 = {
  defaults: { buffer: { units: 2, zero_at_or_below: 1 } },
  channels: {
    bol: { cap: 5, exclude_locations: ['ST1'] },
    amazon: { buffer: { percent: 25 } },
    b2b: { allocation: { percent: 10 } },
  },
  low_stock: { threshold: 4, listings_max: 1 },
};
const results = [];
for (const [name, rules] of [
  ['activate v1', rulesV1],
  ['rule change to v2', rulesV2],
] as const) {
  const version = await store.availability.createRuleSet({ rules, author: 'bench' }, now);
  peakRss = 0;
  peakHeap = 0;
  sample();
  started = performance.now();
  const report = await store.availability.activateRuleSet(version.version, { author: 'bench' }, now);
  sample();
  const seconds = phase(name, started, {
    ...report,
    peak_rss_mib: Math.round(peakRss / 1048576),
    peak_heap_mib: Math.round(peakHeap / 1048576),
  });
  results.push({ name, seconds, ...report, rss: Math.round(peakRss / 1048576), heap: Math.round(peakHeap / 1048576) });
}
clearInterval(sampler);
await ledger.close();
if (!process.env.BENCH_DB) await cleanup();

console.log(`\n| store | phase | listings | changed | seconds | listings/s | peak RSS MiB | peak heap MiB |`);
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const result of results) {
  console.log(
    `| ${values.store} | ${result.name} | ${result.listings} | ${result.changed} | ${result.seconds.toFixed(2)} | ${Math.round(result.listings / result.seconds)} | ${result.rss} | ${result.heap} |`,
  );
}
