/**
 * bench:ledger - durable commands/s through the ledger's own code path (GroupCommitter ->
 * store.applyBatch -> pure core -> one transaction), on SQLite (WAL, synchronous=FULL) and
 * PostgreSQL (synchronous_commit=on), on one hot level and spread over 100k variants.
 *
 * Method: C closed-loop clients each submit one command, await its durable answer, submit the
 * next, for N commands in total. Half are receipts of 1 unit, half reservation REQUESTS of
 * 1 unit judged against available, so the guard is on the hot path. Latency is submit ->
 * durable answer. After each run: oversold units from requests (must be 0) and verify().
 *
 * `--mix facts-fold` is the facts mix with the order-line fold on: its orders arrive as channel
 * order lines (one `ordered` event of 1 unit each, a line per order) through the order-line intake
 * (src/ingest/order-line-intake.ts: the line's fold, routing over the channel's location, its
 * ledger move and the line's durable row in the same group-committed transaction), where the
 * `facts` mix submits them as plain `order` commands; receipts and sales are the same. Items are
 * matched by their sku (the store's item lookup is the intake's cost, not the fold's). Put it
 * beside `facts` in one run for the ratio.
 *
 * Usage: npm run bench:ledger [-- --stores sqlite,postgres --mix requests,facts --shapes hot,spread
 *   --commands 200000 --clients 2000]
 * Prints one JSON line per scenario, then a table. Never asserts timings.
 */
import { parseArgs } from 'node:util';
import { openBenchStore, percentile } from './support/bench-store.js';
import type { LedgerCommand } from '../src/core/ledger/command.js';
import { limits } from '../src/core/limits.js';
import { OrderLineIntake } from '../src/ingest/order-line-intake.js';
import { GroupCommitter } from '../src/store/group-commit.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    commands: { type: 'string', default: '200000' },
    clients: { type: 'string', default: '2000' },
    variants: { type: 'string', default: '100000' },
    // requests: half receipts, half reservation requests (the guard on the hot path);
    // facts: receipts, orders and sales only (what channel and WMS feeds send);
    // facts-fold: the same with the orders as channel order lines through the order-line fold.
    mix: { type: 'string', default: 'requests,facts' },
    // hot: one level; spread: `--variants` variants.
    shapes: { type: 'string', default: 'hot,spread' },
    // Batches in flight at once (default: the store's, 1 on SQLite, 2 on PostgreSQL).
    'in-flight': { type: 'string' },
    // Commands per batch at most (default: the product's, limits.groupCommitBatchSizeMax).
    batch: { type: 'string' },
    // > 0: list every variant on this many channels first, so each batch also recomputes and
    // stores the desired quantity of every affected listing (the incremental recompute, docs/RELIABILITY.md, section 8).
    channels: { type: 'string', default: '0' },
  },
});
const totalCommands = Number(values.commands);
const clients = Number(values.clients);
const spreadVariants = Number(values.variants);

async function scenario(engine: string, shape: 'hot' | 'spread', mix: string) {
  const { store, cleanup } = await openBenchStore(engine);
  const variantCount = shape === 'hot' ? 1 : spreadVariants;
  await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], 1);
  for (let start = 0; start < variantCount; start += 1000) {
    const chunk = [];
    for (let index = start; index < Math.min(variantCount, start + 1000); index += 1)
      chunk.push({ sku: `SKU-${index}`, name: `Variant ${index}` });
    await store.catalogue.upsertVariants(chunk, 1);
  }
  const channelCount = Number(values.channels);
  if (channelCount > 0) {
    const codes = Array.from({ length: channelCount }, (_, index) => `ch${index}`);
    await store.availability.upsertChannels(
      codes.map((code) => ({ code, name: code, platform: 'custom' as const, locations: ['WH1'] })),
      1,
    );
    const version = await store.availability.createRuleSet(
      { rules: { defaults: { buffer: { units: 1 } }, channels: { ch0: { cap: 50 } } }, author: 'bench' },
      1,
    );
    await store.availability.activateRuleSet(version.version, { author: 'bench' }, 1);
    for (const code of codes) {
      for (let start = 0; start < variantCount; start += 1000) {
        const chunk = [];
        for (let index = start; index < Math.min(variantCount, start + 1000); index += 1)
          chunk.push({ channel: code, externalId: `${code}-${index}`, sku: `SKU-${index}` });
        await store.availability.upsertListings(chunk, 1);
      }
    }
  }
  const fold = mix === 'facts-fold';
  if (fold)
    await store.availability.upsertChannels(
      [{ code: 'orders', name: 'Orders', platform: 'custom', locations: ['WH1'] }],
      1,
    );
  const ordersChannel = fold ? await store.availability.getChannel('orders') : null;
  let counter = 0;
  const ledger = new GroupCommitter(
    store,
    { now: () => Date.now() },
    { next: (prefix) => `${prefix}_${++counter}` },
    {
      batchSizeMax: values.batch ? Number(values.batch) : limits.groupCommitBatchSizeMax,
      queueDepthMax: 100_000,
      ...(values['in-flight'] ? { inFlightMax: Number(values['in-flight']) } : {}),
    },
  );
  const clock = { now: () => Date.now() };
  const intake = new OrderLineIntake({ store, ledger, clock, match: async (_channel, item) => item.sku });
  const latencies = new Float64Array(totalCommands);
  let issued = 0;
  let refused = 0;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const started = performance.now();
  async function client(id: number) {
    while (issued < totalCommands) {
      const index = issued++;
      const sku = `SKU-${shape === 'hot' ? 0 : (index * 7919 + id) % variantCount}`;
      const key = `bench-${index}`;
      const type = index % 2 === 0 ? 'receipt' : mix === 'requests' ? 'reserve' : index % 4 === 1 ? 'order' : 'sale';
      const sent = performance.now();
      if (type === 'order' && ordersChannel) {
        const report = await intake.ingest(ordersChannel, [
          {
            lineKey: `custom:bench:${index}:1`,
            orderId: String(index),
            lineId: '1',
            eventId: 'ordered',
            item: { externalId: sku, sku, barcode: null },
            occurredAt: Date.now(),
            fact: { kind: 'ordered', quantity: 1, version: 1, fulfilledBy: 'merchant', locationId: null },
          },
        ]);
        latencies[index] = performance.now() - sent;
        if (report.changed !== 1) throw new Error(`order line ${index} not applied: ${JSON.stringify(report)}`);
        continue;
      }
      const command = { type, key, payloadHash: key, sku, location: 'WH1', quantity: 1 } as LedgerCommand;
      const [answer] = await ledger.submit([command]);
      latencies[index] = performance.now() - sent;
      if (answer!.status === 'insufficient') refused += 1;
      else if (answer!.status !== 'applied') throw new Error(`unexpected ${answer!.status}`);
    }
  }
  await Promise.all(Array.from({ length: clients }, (_, id) => client(id)));
  const elapsedS = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const sorted = latencies.sort();
  // Oversell from requests: any level with available < 0 (no facts that could cause it here).
  const probe = shape === 'hot' ? ['SKU-0'] : ['SKU-0', 'SKU-1', `SKU-${variantCount - 1}`];
  let oversoldUnits = 0;
  for (const sku of probe) {
    const stock = await store.ledger.getStock(sku, Date.now());
    oversoldUnits += Math.max(0, -(stock?.total.available ?? 0));
  }
  const verify = await store.ledger.verify();
  const result = {
    bench: 'ledger',
    store: engine,
    shape,
    mix,
    listings_per_variant: Number(values.channels),
    commands: totalCommands,
    clients,
    variants: variantCount,
    commands_per_s: Math.round(totalCommands / elapsedS),
    p50_ms: Number(percentile(sorted, 50).toFixed(2)),
    p99_ms: Number(percentile(sorted, 99).toFixed(2)),
    batches: ledger.stats.batches,
    mean_batch: Math.round(ledger.stats.commands / ledger.stats.batches),
    // Batches whose transaction failed and whose submissions were then applied one by one.
    isolated_batches: ledger.stats.isolatedRetries,
    refused_requests: refused,
    oversold_units: oversoldUnits,
    verify_mismatches: verify.mismatches.length,
    peak_rss_mib: Math.round(peakRss / 1048576),
    retries: store instanceof PostgresStore ? store.retries : 0,
  };
  console.log(JSON.stringify(result));
  await ledger.close();
  await cleanup();
  return result;
}

const results = [];
for (const engine of values.stores.split(',')) {
  for (const mix of values.mix.split(',')) {
    for (const shape of values.shapes.split(',') as ('hot' | 'spread')[])
      results.push(await scenario(engine, shape, mix));
  }
}
console.log('\n| store | mix | shape | commands/s | p50 ms | p99 ms | mean batch | oversold | verify | peak RSS MiB |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.store} | ${r.mix} | ${r.shape} | ${r.commands_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${r.mean_batch} | ${r.oversold_units} | ${r.verify_mismatches} mismatches | ${r.peak_rss_mib} |`,
  );
}
