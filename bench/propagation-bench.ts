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
 * Usage: npm run bench:propagation [-- --variants 200 --seconds 8 --store sqlite|postgres]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fork, type ChildProcess } from 'node:child_process';
import { BolConnector } from '../src/connectors/bol/bol-connector.js';
import type { LedgerCommand } from '../src/core/ledger/command.js';
import { GroupCommitter } from '../src/store/group-commit.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { Propagation } from '../src/sync/propagation.js';
import { defaultRetryPolicy } from '../src/sync/retry-policy.js';
import { createTestDatabase } from '../test/support/stores.js';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '8' },
    store: { type: 'string', default: 'sqlite' },
    'busy-ms': { type: 'string' },
    only: { type: 'string' },
  },
});
const defaultVariantCount = Number(values.variants);
const seconds = Number(values.seconds);

async function open(): Promise<{ store: LedgerStore; cleanup: () => Promise<void> }> {
  if (values.store === 'postgres') {
    const database = await createTestDatabase();
    const store = new PostgresStore({ connectionString: database.url, poolSize: 6 });
    await store.migrate();
    return { store, cleanup: async () => { await store.close(); await database.drop(); } };
  }
  const directory = mkdtempSync(join(tmpdir(), 'onhand-bench-'));
  const store = new SqliteStore({ filename: join(directory, 'propagation.db') });
  await store.migrate();
  return { store, cleanup: async () => { await store.close(); rmSync(directory, { recursive: true, force: true }); } };
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/** Movements per second as a function of seconds since the load started. */
type RateProfile = (second: number) => number;

/** Ask the simulator process something and wait for its answer. */
function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    if (message !== undefined) child.send(message as object);
  });
}

async function scenario(name: string, rate: RateProfile, realLimits: boolean, variantCount = defaultVariantCount) {
  const { store, cleanup } = await open();
  // The simulated platform runs in its own process, as a real one would.
  const simProcess = fork(new URL('./support/bol-sim-process.ts', import.meta.url).pathname, [realLimits ? 'limits' : 'open'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { url, tokenUrl } = await ask<{ url: string; tokenUrl: string }>(simProcess, undefined);
  const clock = { now: () => Date.now() };
  let ids = 0;
  const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++ids}` });
  await store.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
  const skus = Array.from({ length: variantCount }, (_, index) => `V${index}`);
  await store.upsertVariants(skus.map((sku) => ({ sku, name: sku })), clock.now());
  await store.upsertChannels([{ code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'], pushLatencyP95Ms: 1000 }], clock.now());
  const seededOffers = (await ask<{ offers: string[] }>(simProcess, { seed: skus.length })).offers;
  const offerOf = new Map(skus.map((sku, index) => [sku, seededOffers[index]!]));
  await store.upsertListings(skus.map((sku) => ({ channel: 'bol', externalId: offerOf.get(sku)!, sku })), clock.now());
  await ledger.submit(skus.map((sku) => ({ type: 'receipt', key: `open-${sku}`, payloadHash: 'h', sku, location: 'WH1', quantity: 1000 }) as LedgerCommand));
  const connector = new BolConnector({
    account: 'bench',
    baseUrl: url,
    tokenUrl,
    clientId: 'onhand-sim',
    clientSecret: 'onhand-sim-secret',
    ...(realLimits ? {} : { rateRules: [], pushConcurrencyMax: 32, maxBatchSize: 100 }),
  });
  const propagation = new Propagation({
    store, ledger, clock, owner: 'bench', policy: defaultRetryPolicy, channels: [{ channel: 'bol', connector }],
    ...(values['busy-ms'] === undefined ? {} : { busyMs: Number(values['busy-ms']) }),
    onError: (channel, error) => console.error(channel, String(error)),
  });
  propagation.start();
  const settled = async (limitMs: number) => {
    const until = Date.now() + limitMs;
    while (Date.now() < until) {
      const [status] = await store.syncStatus(Date.now());
      if (status && status.queueDepth === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  };
  await settled(60_000);

  // Load: `rate` movements per second for `seconds`, in 10 ms slices, each a sale or a receipt.
  const events = new Map<string, { at: number; desired: number }[]>();
  const loadStart = Date.now();
  const pending: Promise<void>[] = [];
  let movements = 0;
  let dueSoFar = 0;
  let last = loadStart;
  for (let slice = 0; Date.now() < loadStart + seconds * 1000; slice += 1) {
    const at = Date.now();
    dueSoFar += ((at - last) / 1000) * rate((at - loadStart) / 1000);
    last = at;
    const due = Math.floor(dueSoFar);
    for (; movements < due; movements += 1) {
      const sku = skus[(movements * 7919) % skus.length]!;
      const command = { type: movements % 2 === 0 ? 'sale' : 'receipt', key: `m${movements}`, payloadHash: 'h', sku, location: 'WH1', quantity: 1 } as LedgerCommand;
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
  const drained = await settled(120_000);
  await propagation.stop();
  const history = await ask<{ offers: Record<string, { at: number; amount: number }[]>; rateLimitViolations: number }>(simProcess, { history: true });

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
      ...list.map((event) => ({ at: event.at, desired: event.desired as number | undefined, shown: undefined as number | undefined })),
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
  latencies.sort((a, b) => a - b);
  risky.sort((a, b) => a - b);
  const result = {
    bench: 'propagation',
    store: values.store,
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
  };
  console.log(JSON.stringify(result));
  await ledger.close();
  await cleanup();
  return result;
}

const results = [];
// Bol.com's offers PATCH budget is 50/s: a 10x burst is 500 changes within one second.
const scenarios: [string, RateProfile, boolean, number?][] = [
  ['unthrottled, 200/s', () => 200, false],
  ['unthrottled, 2,000/s', () => 2000, false],
  ['Bol.com limits, 20/s (within the budget)', () => 20, true],
  ['Bol.com limits, 10x burst (500 in 1 s, then 20/s)', (second) => (second >= 1 && second < 2 ? 500 : 20), true],
  // The same burst on 50 hot listings: what one second of the budget can fix.
  ['Bol.com limits, 10x burst on 50 listings', (second) => (second >= 1 && second < 2 ? 500 : 20), true, 50],
];
for (const [name, rate, limits, variants] of scenarios) {
  if (values.only === undefined || name.includes(values.only)) results.push(await scenario(name, rate, limits, variants));
}
console.log('\n| store | scenario | movements/s | latency p50 ms | p95 ms | p99 ms | API calls / movement | at-risk p95 ms | at-risk max ms | at-risk share | 429 violations |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.store} | ${r.scenario} | ${r.movements_per_s} | ${r.latency_p50_ms} | ${r.latency_p95_ms} | ${r.latency_p99_ms} | ${r.api_calls_per_movement} | ${r.at_risk_p95_ms} | ${r.at_risk_max_ms} | ${r.at_risk_share} | ${r.rate_limit_violations} |`);
}
