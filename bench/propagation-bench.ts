/**
 * bench:propagation - from ledger commit to the channel showing the new quantity, end to end:
 * movements through the GroupCommitter -> listing quantity recomputed in the same transaction
 * -> outbox row -> ChannelDispatcher (lease, claim, push) -> the real Bol.com connector ->
 * the Bol.com simulator (HTTP on loopback, in its own process as a real platform would be),
 * which records every stock write with its time (same machine clock).
 *
 * Scenarios: 200 and 2,000 movements/s over the variants with the simulator and connector
 * unthrottled; with Bol.com's real limits (offers PATCH 50 per second), 20/s within the budget
 * and a 10x burst (500 changes in one second, then 20/s). Figures:
 * - latency p50/p95/p99: commit -> the first channel write that shows this commit's value or a
 *   newer one (the channel never needs every intermediate value, only the newest);
 * - API calls per movement: PATCHes / movements (coalescing: ten changes while throttled, one push);
 * - at-risk staleness: how long the channel showed MORE than the ledger allowed (the time an
 *   oversell is possible), p95 and max over the risky intervals, and its share of offer-time.
 *
 * Shopify: the same loads through the real Shopify connector (inventorySetQuantities, up to 250
 * quantities a mutation, compare-and-set) and the Shopify simulator in its own process.
 * WooCommerce: through the real WooCommerce connector (batch endpoints, 100 items a call) and the
 * WooCommerce simulator in its own process, behind a host of 10 requests/s and 4 workers.
 *
 * Amazon: the real Amazon connector (patchListingsItem per SKU, a listings feed for large claims)
 * and the Amazon simulator in its own process, with Amazon's published usage plans (PATCH 5 per
 * second, burst 5): a load within that budget and a 10x burst.
 *
 * Google Merchant Center: the real GMC connector (one productInputs.insert per listing, inside its
 * model of the per-minute quota) and the Google simulator in its own process, both given a real
 * account's quota (inserts 600 a minute): a load within it and a 10x burst.
 *
 * Every scenario runs on each store of `--stores` (default both, SQLite and PostgreSQL), one table
 * with a store column; `--store X` is the same as `--stores X`.
 *
 * Usage: npm run bench:propagation [-- --variants 200 --seconds 8 --stores sqlite,postgres --only <name part>
 *   --busy-ms N --claims N]
 */
import { parseArgs } from 'node:util';
import { openBenchStore } from './support/bench-store.js';
import { fork, type ChildProcess } from 'node:child_process';
import { AmazonConnector } from '../src/connectors/amazon/amazon-connector.js';
import { BolConnector } from '../src/connectors/bol/bol-connector.js';
import { GmcConnector } from '../src/connectors/gmc/gmc-connector.js';
import type { ChannelConnector } from '../src/connectors/channel-connector.js';
import { ShopifyConnector } from '../src/connectors/shopify/shopify-connector.js';
import { WooCommerceConnector } from '../src/connectors/woocommerce/woocommerce-connector.js';
import type { LedgerCommand } from '../src/core/ledger/command.js';
import { GroupCommitter } from '../src/store/group-commit.js';
import { Propagation } from '../src/sync/propagation.js';
import { defaultRetryPolicy } from '../src/sync/retry-policy.js';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '8' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    /** One store: the same as --stores with one name (the earlier option). */
    store: { type: 'string' },
    'busy-ms': { type: 'string' },
    claims: { type: 'string' },
    only: { type: 'string' },
  },
});
const defaultVariantCount = Number(values.variants);
const seconds = Number(values.seconds);

const stores = (values.store ?? values.stores).split(',').map((name) => name.trim());

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Movements per second as a function of seconds since the load started. */
type RateProfile = (second: number) => number;

/** Ask the simulator process something and wait for its answer. */
function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    if (message !== undefined) child.send(message as object);
  });
}

type Platform = 'bol' | 'shopify' | 'amazon' | 'woocommerce' | 'gmc';

async function scenario(
  engine: string,
  name: string,
  rate: RateProfile,
  realLimits: boolean,
  variantCount = defaultVariantCount,
  platform: Platform = 'bol',
) {
  const { store, cleanup } = await openBenchStore(engine, { poolSize: 6 });
  // The simulated platform runs in its own process, as a real one would.
  const simProcess = fork(
    new URL(`./support/${platform}-sim-process.ts`, import.meta.url).pathname,
    [realLimits ? 'limits' : 'open'],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const sim = await ask<{
    url: string;
    tokenUrl: string;
    shopDomain: string;
    accessToken: string;
    locationId: string;
    sellerId: string;
    marketplaceId: string;
    clientId: string;
    clientSecret: string;
    refreshToken: string;
    consumerKey: string;
    consumerSecret: string;
    account: string;
    clientEmail: string;
    privateKey: string;
    perMinute: { insert: number; get: number; list: number };
  }>(simProcess, undefined);
  const clock = { now: () => Date.now() };
  let ids = 0;
  const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++ids}` });
  await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
  const skus = Array.from({ length: variantCount }, (_, index) => `V${index}`);
  await store.catalogue.upsertVariants(
    skus.map((sku) => ({ sku, name: sku })),
    clock.now(),
  );
  await store.availability.upsertChannels(
    [{ code: 'bol', name: platform, platform, locations: ['WH1'], pushLatencyP95Ms: 1000 }],
    clock.now(),
  );
  const seededOffers = (await ask<{ offers: string[] }>(simProcess, { seed: skus.length })).offers;
  const offerOf = new Map(skus.map((sku, index) => [sku, seededOffers[index]!]));
  await store.availability.upsertListings(
    skus.map((sku) => ({ channel: 'bol', externalId: offerOf.get(sku)!, sku })),
    clock.now(),
  );
  await ledger.submit(
    skus.map(
      (sku) =>
        ({
          type: 'receipt',
          key: `open-${sku}`,
          payloadHash: 'h',
          sku,
          location: 'WH1',
          quantity: 1000,
        }) as LedgerCommand,
    ),
  );
  const connector: ChannelConnector =
    platform === 'bol'
      ? new BolConnector({
          account: 'bench',
          baseUrl: sim.url,
          tokenUrl: sim.tokenUrl,
          clientId: 'onhand-sim',
          clientSecret: 'onhand-sim-secret',
          ...(realLimits ? {} : { rateRules: [], pushConcurrencyMax: 32, maxBatchSize: 100 }),
        })
      : platform === 'amazon'
        ? new AmazonConnector({
            sellerId: sim.sellerId,
            marketplaceIds: [sim.marketplaceId],
            baseUrl: sim.url,
            tokenUrl: sim.tokenUrl,
            clientId: sim.clientId,
            clientSecret: sim.clientSecret,
            refreshToken: sim.refreshToken,
          })
        : platform === 'gmc'
          ? // The account's quota as the channel's settings would state it (quotas.list).
            new GmcConnector({
              account: sim.account,
              dataSource: '7000001',
              clientEmail: sim.clientEmail,
              privateKey: sim.privateKey,
              contentLanguage: 'en',
              feedLabel: 'US',
              baseUrl: sim.url,
              tokenUrl: sim.tokenUrl,
              perMinute: sim.perMinute,
            })
          : platform === 'shopify'
            ? new ShopifyConnector({
                shopDomain: sim.shopDomain,
                baseUrl: sim.url,
                accessToken: sim.accessToken,
                locationId: sim.locationId,
              })
            : // The host's budget as the channel's settings would state it.
              new WooCommerceConnector({
                storeUrl: sim.url,
                consumerKey: sim.consumerKey,
                consumerSecret: sim.consumerSecret,
                account: 'bench',
                ...(realLimits
                  ? { requestsPerSecond: 10, concurrency: 4 }
                  : { requestsPerSecond: 100, concurrency: 32 }),
              });
  const propagation = new Propagation({
    store,
    ledger,
    clock,
    owner: 'bench',
    policy: defaultRetryPolicy,
    channels: [{ channel: 'bol', connector }],
    ...(values['busy-ms'] === undefined ? {} : { busyMs: Number(values['busy-ms']) }),
    ...(values.claims === undefined ? {} : { claimsInFlightMax: Number(values.claims) }),
    onError: (channel, error) => console.error(channel, String(error)),
  });
  propagation.start();
  const settled = async (limitMs: number) => {
    const until = Date.now() + limitMs;
    while (Date.now() < until) {
      const [status] = await store.outbox.syncStatus(Date.now());
      if (status && status.queueDepth === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  };
  await settled(60_000);
  // The warm-up pushed every listing once and may have spent the rate window (bol then says
  // "remaining 0, reset in 1 s"): start the load with a full budget, or the first second of every
  // limited scenario measures the warm-up (the 20/s scenario's p95 was ~600 ms from that alone).
  for (const until = Date.now() + 5_000; Date.now() < until; ) {
    const budget = connector.rateLimit();
    if (budget.available >= budget.capacity && budget.waitMs === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  // Load: `rate` movements per second for `seconds`, in 10 ms slices, each a sale or a receipt.
  const events = new Map<string, { at: number; desired: number }[]>();
  const loadStart = Date.now();
  const cpuStart = process.cpuUsage();
  const simCpuStart = await ask<{ cpu: NodeJS.CpuUsage; calls?: number }>(simProcess, { cpu: true });
  const pending: Promise<void>[] = [];
  let movements = 0;
  let dueSoFar = 0;
  let last = loadStart;
  while (Date.now() < loadStart + seconds * 1000) {
    const at = Date.now();
    dueSoFar += ((at - last) / 1000) * rate((at - loadStart) / 1000);
    last = at;
    const due = Math.floor(dueSoFar);
    for (; movements < due; movements += 1) {
      const sku = skus[(movements * 7919) % skus.length]!;
      const command = {
        type: movements % 2 === 0 ? 'sale' : 'receipt',
        key: `m${movements}`,
        payloadHash: 'h',
        sku,
        location: 'WH1',
        quantity: 1,
      } as LedgerCommand;
      pending.push(
        ledger.submit([command]).then(([answer]) => {
          const list = events.get(offerOf.get(sku)!) ?? [];
          list.push({ at: Date.now(), desired: Math.max(0, answer!.level!.available) });
          events.set(offerOf.get(sku)!, list);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(pending);
  const loadEnd = Date.now();
  const cpu = process.cpuUsage(cpuStart);
  const { cpu: simCpu } = await ask<{ cpu: NodeJS.CpuUsage }>(simProcess, { cpu: true });
  const coreShare = (usage: { user: number; system: number }) =>
    Number(((usage.user + usage.system) / 1000 / (loadEnd - loadStart)).toFixed(2));
  const drained = await settled(120_000);
  await propagation.stop();
  const shopifyCalls =
    ((await ask<{ calls?: number }>(simProcess, { cpu: true })).calls ?? 0) - (simCpuStart.calls ?? 0);
  const history = await ask<{ offers: Record<string, { at: number; amount: number }[]>; rateLimitViolations: number }>(
    simProcess,
    { history: true },
  );

  const latencies: number[] = [];
  const risky: number[] = [];
  let riskyTotal = 0;
  let patches = 0;
  for (const [offerId, list] of events) {
    list.sort((a, b) => a.at - b.at);
    const writes = (history.offers[offerId] ?? []).filter((write) => write.at >= loadStart - 1000);
    patches += writes.filter((write) => write.at >= loadStart).length;
    list.forEach((event, index) => {
      const acceptable = new Set(list.slice(index).map((later) => later.desired));
      const shown = writes.find((write) => write.at >= event.at && acceptable.has(write.amount));
      if (shown) latencies.push(shown.at - event.at);
    });
    // Risk timeline: the channel shows more than desired.
    const timeline = [
      ...list.map((event) => ({
        at: event.at,
        desired: event.desired as number | undefined,
        shown: undefined as number | undefined,
      })),
      ...writes.map((write) => ({ at: write.at, desired: undefined, shown: write.amount })),
    ].sort((a, b) => a.at - b.at);
    let desired = 1000;
    let shownNow = writes.filter((write) => write.at < loadStart).pop()?.amount ?? 1000;
    let riskSince: number | null = null;
    for (const step of timeline) {
      if (step.desired !== undefined) desired = step.desired;
      if (step.shown !== undefined) shownNow = step.shown;
      if (shownNow > desired && riskSince === null) riskSince = step.at;
      if (shownNow <= desired && riskSince !== null) {
        risky.push(step.at - riskSince);
        riskyTotal += step.at - riskSince;
        riskSince = null;
      }
    }
  }
  // Shopify, Amazon, WooCommerce and Google: count their API calls (load and drain); an Amazon feed is
  // four calls, and its report two more.
  if (platform !== 'bol') patches = shopifyCalls;
  latencies.sort((a, b) => a - b);
  risky.sort((a, b) => a - b);
  const result = {
    bench: 'propagation',
    store: engine,
    platform,
    scenario: name,
    movements_per_s: Math.round(movements / ((loadEnd - loadStart) / 1000)),
    movements,
    latency_p50_ms: percentile(latencies, 50),
    latency_p95_ms: percentile(latencies, 95),
    latency_p99_ms: percentile(latencies, 99),
    api_calls_per_movement: Number((patches / movements).toFixed(3)),
    at_risk_p95_ms: percentile(risky, 95),
    at_risk_max_ms: risky[risky.length - 1] ?? 0,
    at_risk_share: Number((riskyTotal / (variantCount * (loadEnd - loadStart))).toFixed(4)),
    rate_limit_violations: history.rateLimitViolations,
    drained,
    // CPU during the load, in cores: the onhand process (ledger, dispatcher, load generator) and the simulator.
    onhand_cpu_cores: coreShare(cpu),
    sim_cpu_cores: coreShare({
      user: simCpu.user - simCpuStart.cpu.user,
      system: simCpu.system - simCpuStart.cpu.system,
    }),
  };
  console.log(JSON.stringify(result));
  await ledger.close();
  await cleanup();
  return result;
}

const results = [];
// Bol.com's offers PATCH budget is 50/s: a 10x burst is 500 changes within one second.
// Shopify (Standard plan: 2,000-point bucket, 100 points/s; one inventorySetQuantities of up to
// 250 quantities costs ~10 points): the same load, so the two platforms compare directly.
const scenarios: [string, RateProfile, boolean, (number | undefined)?, Platform?][] = [
  ['unthrottled, 200/s', () => 200, false],
  ['unthrottled, 2,000/s', () => 2000, false],
  ['Bol.com limits, 20/s (within the budget)', () => 20, true],
  ['Bol.com limits, 10x burst (500 in 1 s, then 20/s)', (second) => (second >= 1 && second < 2 ? 500 : 20), true],
  // The same burst on 50 hot listings: what one second of the budget can fix.
  ['Bol.com limits, 10x burst on 50 listings', (second) => (second >= 1 && second < 2 ? 500 : 20), true, 50],
  // Sustained load far above the budget (40x): what coalescing saves, in API calls per movement.
  ['Bol.com limits, 2,000/s sustained (40x the budget)', () => 2000, true],
  ['Shopify unthrottled, 2,000/s', () => 2000, false, undefined, 'shopify'],
  [
    'Shopify limits (Standard), 10x burst (500 in 1 s, then 20/s)',
    (second) => (second >= 1 && second < 2 ? 500 : 20),
    true,
    undefined,
    'shopify',
  ],
  // Amazon's PATCH budget is 5 per second (burst 5): 4/s fits, a 10x burst is 50 in one second.
  ['Amazon limits, 4/s (within the PATCH budget)', () => 4, true, undefined, 'amazon'],
  [
    'Amazon limits, 10x burst (50 in 1 s, then 4/s)',
    (second) => (second >= 1 && second < 2 ? 50 : 4),
    true,
    undefined,
    'amazon',
  ],
  // WooCommerce: no platform limit, a host's (10 requests/s, 4 workers); batches of 100 items.
  ['WooCommerce at the settings ceiling (100 req/s, 32 workers), 2,000/s', () => 2000, false, undefined, 'woocommerce'],
  ['WooCommerce host limits (10/s, 4 workers), 20/s', () => 20, true, undefined, 'woocommerce'],
  [
    'WooCommerce host limits (10/s, 4 workers), 10x burst (500 in 1 s, then 20/s)',
    (second) => (second >= 1 && second < 2 ? 500 : 20),
    true,
    undefined,
    'woocommerce',
  ],
  // Google Merchant Center: inserts 600 a minute (10 a second on average); 8/s fits, a 10x
  // burst is 100 in one second.
  ['Google Merchant Center quota (insert 600/min), 8/s', () => 8, true, undefined, 'gmc'],
  [
    'Google Merchant Center quota (insert 600/min), 10x burst (100 in 1 s, then 8/s)',
    (second) => (second >= 1 && second < 2 ? 100 : 8),
    true,
    undefined,
    'gmc',
  ],
];
for (const [name, rate, limits, variants, platform] of scenarios) {
  if (values.only === undefined || name.includes(values.only))
    for (const engine of stores) results.push(await scenario(engine, name, rate, limits, variants, platform));
}
console.log(
  '\n| store | platform | scenario | movements/s | latency p50 ms | p95 ms | p99 ms | API calls / movement | at-risk p95 ms | at-risk max ms | at-risk share | 429 violations | onhand CPU cores | simulator CPU cores |',
);
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.store} | ${r.platform} | ${r.scenario} | ${r.movements_per_s} | ${r.latency_p50_ms} | ${r.latency_p95_ms} | ${r.latency_p99_ms} | ${r.api_calls_per_movement} | ${r.at_risk_p95_ms} | ${r.at_risk_max_ms} | ${r.at_risk_share} | ${r.rate_limit_violations} | ${r.onhand_cpu_cores} | ${r.sim_cpu_cores} |`,
  );
}
