/**
 * bench:orders - channel order lines/s through the order-line intake (fold, match, route, the
 * line's step written first, the moves through the group committer, the line recorded), beside
 * the same number of order facts submitted straight to the ledger, in one run on one store, so
 * the cost of the fold is a ratio measured on this machine.
 *
 * Method: C closed-loop clients; each takes the next line, delivers it (one `ordered` event, or
 * with `--events 3` also a fulfilment and a refund, each its own delivery), awaits the durable
 * answer, and takes the next. Lines are spread over `--variants` variants with stock at two
 * locations; the ledger-only scenario submits one `order` command per line the same way.
 * After each run: the levels are verified and the order lines are counted (none may be pending
 * or blocked).
 *
 * Usage: npm run bench:orders [-- --stores sqlite,postgres --lines 20000 --clients 64 --events 1]
 * Prints one JSON line per scenario, then a table. Never asserts timings.
 */
import { parseArgs } from 'node:util';
import { openBenchStore, percentile } from './support/bench-store.js';
import type { OrderLineEvent } from '../src/connectors/channel-intake.js';
import type { LedgerCommand } from '../src/core/ledger/command.js';
import { OrderLineIntake } from '../src/ingest/order-line-intake.js';
import { GroupCommitter } from '../src/store/group-commit.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    lines: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '64' },
    variants: { type: 'string', default: '1000' },
    events: { type: 'string', default: '1' },
    // ledger,intake: which paths to run (both by default, for the ratio).
    paths: { type: 'string', default: 'ledger,intake' },
  },
});
const lineCount = Math.min(1_000_000, Number(values.lines));
const clients = Math.min(10_000, Number(values.clients));
const variantCount = Math.min(100_000, Number(values.variants));
const eventsPerLine = Number(values.events) === 3 ? 3 : 1;

async function scenario(engine: string, mode: 'ledger' | 'intake') {
  const { store, cleanup } = await openBenchStore(engine);
  const clock = { now: () => Date.now() };
  let ids = 0;
  const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++ids}` });
  await store.catalogue.upsertLocations(
    [
      { code: 'A', name: 'A', kind: 'warehouse' },
      { code: 'B', name: 'B', kind: 'warehouse' },
    ],
    1,
  );
  for (let start = 0; start < variantCount; start += 1000) {
    const chunk = [];
    for (let index = start; index < Math.min(variantCount, start + 1000); index += 1)
      chunk.push({ sku: `SKU-${index}`, name: `Variant ${index}` });
    await store.catalogue.upsertVariants(chunk, 1);
  }
  await store.availability.upsertChannels(
    [{ code: 'shop', name: 'Shop', platform: 'custom', locations: ['A', 'B'] }],
    1,
  );
  const channel = (await store.availability.getChannel('shop'))!;
  for (let start = 0; start < variantCount; start += 1000) {
    const receipts: LedgerCommand[] = [];
    for (let index = start; index < Math.min(variantCount, start + 1000); index += 1)
      for (const location of ['A', 'B'])
        receipts.push({
          type: 'receipt',
          key: `open-${index}-${location}`,
          payloadHash: 'x',
          sku: `SKU-${index}`,
          location,
          quantity: 1_000_000,
        });
    await ledger.submit(receipts);
  }
  const intake = new OrderLineIntake({ store, ledger, clock, match: async (_channel, item) => item.sku });
  const latencies = new Float64Array(lineCount * eventsPerLine);
  let next = 0;
  let recorded = 0;
  const batchesBefore = ledger.stats.batches;
  const commandsBefore = ledger.stats.commands;
  const started = performance.now();
  const now = Date.now();
  const client = async () => {
    for (;;) {
      const line = next++;
      if (line >= lineCount) return;
      const sku = `SKU-${line % variantCount}`;
      if (mode === 'ledger') {
        const at = performance.now();
        await ledger.submit([
          { type: 'order', key: `custom:bench:${line}:1:order`, payloadHash: 'x', sku, location: 'A', quantity: 1 },
        ]);
        latencies[recorded++] = performance.now() - at;
        continue;
      }
      const base = {
        lineKey: `custom:bench:${line}:1`,
        orderId: String(line),
        lineId: '1',
        item: { externalId: sku, sku, barcode: null },
        occurredAt: now,
      };
      const events: OrderLineEvent[] = [
        {
          ...base,
          eventId: 'order',
          fact: { kind: 'ordered', quantity: 2, version: 1, fulfilledBy: 'merchant', locationId: null },
        },
      ];
      if (eventsPerLine === 3)
        events.push(
          {
            ...base,
            eventId: 'f1',
            fact: { kind: 'fulfilled', quantity: 1, locationId: 'B', active: true, version: 1 },
          },
          { ...base, eventId: 'r1', fact: { kind: 'refunded', quantity: 1, restock: 'cancel', locationId: null } },
        );
      for (const event of events) {
        const at = performance.now();
        await intake.ingest(channel, [event]);
        latencies[recorded++] = performance.now() - at;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.slice(0, recorded).sort();
  const verify = await store.ledger.verify();
  const counts = await store.orders.countLines();
  const stuck = counts.filter((row) => row.status === 'blocked').reduce((sum, row) => sum + row.lines, 0);
  await ledger.close();
  await cleanup();
  const result = {
    store: engine,
    mode: mode === 'ledger' ? 'ledger facts' : `intake, ${eventsPerLine} event(s)/line`,
    lines: lineCount,
    clients,
    lines_per_s: Math.round(lineCount / seconds),
    mean_batch: Number(
      ((ledger.stats.commands - commandsBefore) / Math.max(1, ledger.stats.batches - batchesBefore)).toFixed(1),
    ),
    deliveries_per_s: Math.round(recorded / seconds),
    p50_ms: Number(percentile(sorted, 50).toFixed(2)),
    p99_ms: Number(percentile(sorted, 99).toFixed(2)),
    verify_mismatches: verify.mismatches.length,
    blocked_lines: stuck,
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  console.log(JSON.stringify(result));
  return result;
}

const results = [];
for (const engine of values.stores.split(',')) {
  const paths = values.paths.split(',');
  const ledgerOnly = paths.includes('ledger') ? await scenario(engine, 'ledger') : undefined;
  const folded = paths.includes('intake') ? await scenario(engine, 'intake') : undefined;
  if (ledgerOnly) results.push({ ...ledgerOnly, ratio: 1 });
  if (folded) results.push({ ...folded, ratio: ledgerOnly ? folded.lines_per_s / ledgerOnly.lines_per_s : Number.NaN });
}
console.log(
  '\n| store | path | lines/s | deliveries/s | p50 ms | p99 ms | x ledger facts | verify | blocked | peak RSS MiB |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of results)
  console.log(
    `| ${row.store} | ${row.mode} | ${row.lines_per_s} | ${row.deliveries_per_s} | ${row.p50_ms} | ${row.p99_ms} | ${row.ratio.toFixed(2)} | ${row.verify_mismatches} | ${row.blocked_lines} | ${row.peak_rss_mib} |`,
  );
