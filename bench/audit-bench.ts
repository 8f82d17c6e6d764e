/**
 * bench:audit - a full audit (a full reconcile pass) of N listings per channel through the real
 * connectors against the simulators with the platforms' real limits: Shopify's Standard plan
 * bucket (2,000 points, 100 restored per second) and Bol.com's fixed windows (offers list 25 per
 * second). Each channel is read on its bulk path (readAllLevels: Shopify's bulk operation, Bol's
 * paged offers list), the levels recorded in a SQLite store and the listings judged (a dry
 * run: nothing is pushed, and with nothing acknowledged yet nothing counts as drift; finding
 * drift is what test/integration/reconcile-bulk.test.ts checks).
 *
 * The simulated bulk operation's run time is the simulator's model (300 ms plus one per 50,000
 * items), not a measurement of Shopify: there the wall time is dominated by how long Shopify
 * takes to run the query, which the API calls below do not depend on.
 *
 * Usage: npm run bench:audit [-- --listings 10000 --channels shopify,bol]
 * Prints one JSON line per channel and a Markdown table: wall time, API calls, rate-limit
 * violations (the simulators' count of refused requests), read errors.
 */
import { parseArgs } from 'node:util';
import { BolSimulator } from '../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../sim/shopify/shopify-simulator.js';
import { BolConnector } from '../src/connectors/bol/bol-connector.js';
import type { ChannelConnector } from '../src/connectors/channel-connector.js';
import { ShopifyConnector } from '../src/connectors/shopify/shopify-connector.js';
import { reconcileChannel, summaryLine } from '../src/reconcile/reconcile-pass.js';
import { openBenchStore } from './support/bench-store.js';

const { values } = parseArgs({
  options: {
    listings: { type: 'string', default: '10000' },
    channels: { type: 'string', default: 'shopify,bol' },
  },
});
const count = Number(values.listings);
const rows: Record<string, unknown>[] = [];

for (const platform of (values.channels ?? '').split(',')) {
  const { store, cleanup } = await openBenchStore('sqlite');
  const now = Date.now();
  let connector: ChannelConnector;
  let calls: () => number;
  let violations: () => number;
  let stop: () => Promise<void>;
  const externalIds: string[] = [];
  if (platform === 'shopify') {
    const sim = new ShopifySimulator({ plan: 'standard' });
    const url = await sim.start();
    for (let index = 0; index < count; index += 1) {
      const item = sim.addItem({ sku: `V${index}`, levels: { [sim.defaultLocationId]: 0 } }).inventoryItemId;
      externalIds.push(item);
    }
    connector = new ShopifyConnector({
      shopDomain: sim.shopDomain,
      baseUrl: url,
      accessToken: sim.accessToken,
      locationId: sim.defaultLocationId,
    });
    calls = () => sim.stats.graphqlRequests + sim.stats.bulkResultDownloads;
    violations = () => sim.stats.rateLimitViolations;
    stop = () => sim.stop();
  } else if (platform === 'bol') {
    const sim = new BolSimulator();
    const url = await sim.start();
    for (let index = 0; index < count; index += 1) {
      const offer = sim.seedOffer({ amount: 0 });
      externalIds.push(offer);
    }
    connector = new BolConnector({
      account: 'bench',
      baseUrl: url,
      tokenUrl: sim.tokenUrl,
      clientId: 'onhand-sim',
      clientSecret: 'onhand-sim-secret',
    });
    calls = () => sim.stats().requests;
    violations = () => sim.stats().rateLimitViolations + sim.stats().retryAfterViolations;
    stop = () => sim.stop();
  } else throw new Error(`unknown channel ${platform}`);

  await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
  await store.availability.upsertChannels([{ code: platform, name: platform, platform, locations: ['WH1'] }], now);
  for (let start = 0; start < count; start += 5_000) {
    const indexes = Array.from({ length: Math.min(5_000, count - start) }, (_, offset) => start + offset);
    await store.catalogue.upsertVariants(
      indexes.map((index) => ({ sku: `V${index}`, name: `V${index}` })),
      now,
    );
    await store.availability.upsertListings(
      indexes.map((index) => ({ channel: platform, externalId: externalIds[index]!, sku: `V${index}` })),
      now,
    );
  }

  const callsBefore = calls();
  const startedAt = performance.now();
  const summary = await reconcileChannel(
    { store, connector, clock: { now: () => Date.now() } },
    { channel: platform, mode: 'full', dryRun: true },
  );
  const wallMs = Math.round(performance.now() - startedAt);
  const row = {
    bench: 'audit',
    channel: platform,
    listings: count,
    wallMs,
    apiCalls: calls() - callsBefore,
    rateLimitViolations: violations(),
    read: summary.read,
    readErrors: summary.readErrors,
    unknown: summary.unknown,
    summary: summaryLine(summary),
  };
  console.log(JSON.stringify(row));
  rows.push(row);
  await stop();
  await cleanup();
}

console.log('| channel | listings | wall s | API calls | rate-limit violations | read errors |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of rows)
  console.log(
    `| ${row.channel} | ${Number(row.listings).toLocaleString('en')} | ${(Number(row.wallMs) / 1000).toFixed(1)} | ${row.apiCalls} | ${row.rateLimitViolations} | ${row.readErrors} |`,
  );
