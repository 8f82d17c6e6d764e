/**
 * bench:order-latency - "order to every channel": from a signed Shopify `orders/create` webhook
 * arriving at `onhand serve` to every OTHER channel's platform showing the new quantity.
 *
 * Setup, as a deployment runs: `onhand serve` (dist/src/main.js) in its own process on a fresh
 * database (SQLite file or PostgreSQL database); five channels configured through their connector
 * settings, each pointing at its platform's simulator running in its own process with no limits
 * to speak of (bench/support/*-sim-process.ts `open`): shop (Shopify, where the orders come from),
 * bol (Bol.com), woo (WooCommerce, at the settings ceiling of 100 requests/s and 32 workers),
 * amazon (Amazon, usage plans too large to matter, which the connector adopts from
 * x-amzn-RateLimit-Limit) and google (Google Merchant Center, the settings' largest per-minute
 * quotas). Every variant is listed on every channel, all fed by one warehouse. The load
 * generator is a process of its own (bench/support/webhook-load.ts): open loop at `rate` orders
 * per second, 1-3 lines of one unit each on variants picked at random, bounded by count and time.
 *
 * Latency of an order on a channel: from the moment its webhook was sent to the first stock
 * write the channel's simulator recorded (same machine clock) that shows the order's effect or a
 * newer value: orders only take stock, so for the j-th unit ordered of a variant, a quantity of
 * at most opening - j (the channel never needs every intermediate value, only the newest). An
 * order's "every channel" latency is the latest of the four other channels. Also: the webhook's
 * own answer time, per-channel p95, orders that never showed, the server's RSS, and, over the
 * load, the cores the machine, the server, the simulators and the load generator kept busy and
 * the server's event loop delay (its /metrics), which tell a server short of CPU from one waiting.
 *
 * Limits: onhand keeps each platform's limits on its own side. Where a platform states them on
 * its answers, the connector adopts what it states (Amazon's x-amzn-RateLimit-Limit, bol's
 * x-ratelimit-limit, up to limits.bolRateCapacityMax); the open simulators state limits too large
 * to matter. With bol's published 50 offer writes per second, more than ~47 distinct offers
 * changing per second would show each change late by seconds.
 *
 * `--memory`: `onhand serve` on 250,000 variants x 4 channels (shop, bol, woo, amazon: 1,000,000
 * listings), seeded through the store's API and marked in sync with the simulators (which show
 * the same quantities), then an order flow (200/s for 60 s by default) spread over the variants;
 * the server's RSS (VmRSS of /proc/<pid>/status) sampled every second: start, peak, and steady
 * (the median of the last half).
 *
 * `--channels bol,woo,amazon,google`: the channels configured besides `shop` (default all four);
 * fewer shows what each channel's pushes cost the server (its CPU per order), the rest unchanged.
 *
 * `--warm-up-seconds W` (default 0): before the measured load, the same load for W seconds, then
 * the drain; none of it is in the figures. A freshly started server spends a large share of its
 * CPU in V8's optimizing compiler for its first seconds under load (a CPU profile with `perf`:
 * about a quarter in the first 10 s, under a tenth after 20 s), which a server that has run for
 * hours no longer pays. The measured orders' thresholds count the warm-up's units.
 *
 * Usage: npm run bench:order-latency [-- --stores sqlite,postgres --rates 200,2000 --seconds 5
 *   --variants 200 --channels bol,woo,amazon,google --warm-up-seconds 0] | [-- --memory --stores sqlite --memory-variants 250000 --memory-rate 200
 *   --memory-seconds 60]
 * Needs `npm run build`. Prints JSON lines, then a table. Never asserts.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { LedgerCommand } from '../src/core/ledger/command.js';
import { GroupCommitter } from '../src/store/group-commit.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { createTestDatabase } from '../test/support/stores.js';
import type { WebhookLoadPlan, WebhookLoadResult } from './support/webhook-load.js';
import { processCpuMs } from './support/process-cpu.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    rates: { type: 'string', default: '200,2000' },
    seconds: { type: 'string', default: '5' },
    variants: { type: 'string', default: '200' },
    memory: { type: 'boolean', default: false },
    'memory-variants': { type: 'string', default: '250000' },
    'memory-rate': { type: 'string', default: '200' },
    'memory-seconds': { type: 'string', default: '60' },
    /** Write the server's CPU profile (node --cpu-prof) into this directory. */
    'cpu-prof': { type: 'string' },
    // The channels pushed to besides `shop` (where the orders come from): what each one costs.
    channels: { type: 'string', default: 'bol,woo,amazon,google' },
    // Load before the measured load, not measured: the server's JIT settles (see above).
    'warm-up-seconds': { type: 'string', default: '0' },
  },
});
const main = new URL('../dist/src/main.js', import.meta.url).pathname;
const opening = 10_000;
const webhookSecret = 'bench-shopify-app-secret';
const settleMs = 60_000;
const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Platform = 'shopify' | 'bol' | 'woocommerce' | 'amazon' | 'gmc';
interface Sim {
  child: ChildProcess;
  info: Record<string, unknown>;
  offers: string[];
  variants?: string[];
}

/** Ask a simulator process something and wait for its answer. */
function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    if (message !== undefined) child.send(message as object);
  });
}

async function startSim(platform: Platform, count: number, quantity: number): Promise<Sim> {
  const child = fork(new URL(`./support/${platform}-sim-process.ts`, import.meta.url).pathname, ['open'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await ask<Record<string, unknown>>(child, undefined);
  const seeded = await ask<{ offers: string[]; variants?: string[] }>(child, { seed: count, quantity });
  return { child, info, offers: seeded.offers, ...(seeded.variants ? { variants: seeded.variants } : {}) };
}

/** A fresh database for one scenario: a SQLite file or a PostgreSQL database on the test server. */
async function freshDatabase(engine: string) {
  if (engine === 'sqlite') {
    const directory = mkdtempSync(join(tmpdir(), 'onhand-bench-'));
    const filename = join(directory, 'bench.db');
    return {
      database: filename,
      open: (): LedgerStore => new SqliteStore({ filename }),
      sql: async (text: string) => {
        const db = new Database(filename);
        db.exec(text);
        db.close();
      },
      drop: async () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  const created = await createTestDatabase();
  return {
    database: created.url,
    open: (): LedgerStore => new PostgresStore({ connectionString: created.url, poolSize: 4 }),
    sql: async (text: string) => {
      const client = new pg.Client({ connectionString: created.url });
      await client.connect();
      await client.query(text);
      await client.end();
    },
    drop: created.drop,
  };
}

/** The channels' connector settings, each pointing at its simulator, as an operator would enter them. */
function channelSettings(sims: Partial<Record<Platform, Sim>>, gmcKey: { clientEmail: string; privateKey: string }) {
  const channels: { code: string; platform: Platform; connector: Record<string, unknown> }[] = [];
  const shop = sims.shopify!.info;
  channels.push({
    code: 'shop',
    platform: 'shopify',
    connector: {
      shop_domain: shop.shopDomain,
      access_token: shop.accessToken,
      location_id: shop.locationId,
      webhook_secret: webhookSecret,
      base_url: shop.url,
    },
  });
  const bol = sims.bol!.info;
  channels.push({
    code: 'bol',
    platform: 'bol',
    connector: {
      client_id: 'onhand-sim',
      client_secret: 'onhand-sim-secret',
      base_url: bol.url,
      token_url: bol.tokenUrl,
      account: 'bench',
    },
  });
  const woo = sims.woocommerce!.info;
  channels.push({
    code: 'woo',
    platform: 'woocommerce',
    connector: {
      store_url: woo.url,
      consumer_key: woo.consumerKey,
      consumer_secret: woo.consumerSecret,
      account: 'bench',
      requests_per_second: 100,
      concurrency: 32,
    },
  });
  const amazon = sims.amazon!.info;
  channels.push({
    code: 'amazon',
    platform: 'amazon',
    connector: {
      seller_id: amazon.sellerId,
      marketplace_ids: [amazon.marketplaceId],
      region: 'eu',
      client_id: amazon.clientId,
      client_secret: amazon.clientSecret,
      refresh_token: amazon.refreshToken,
      base_url: amazon.url,
      token_url: amazon.tokenUrl,
    },
  });
  if (sims.gmc) {
    const google = sims.gmc.info;
    channels.push({
      code: 'google',
      platform: 'gmc',
      connector: {
        merchant_id: google.account,
        data_source: '7000001',
        client_email: gmcKey.clientEmail,
        private_key: gmcKey.privateKey,
        content_language: 'en',
        feed_label: 'US',
        insert_per_minute: 1_000_000,
        get_per_minute: 1_000_000,
        list_per_minute: 1_000_000,
        base_url: google.url,
        token_url: google.tokenUrl,
      },
    });
  }
  return channels;
}

/**
 * Catalogue, channels, listings and opening stock through the store's own API (what the API and
 * CSV import call), in the bench process before the server starts.
 */
async function seed(
  store: LedgerStore,
  variantCount: number,
  sims: Partial<Record<Platform, Sim>>,
  channels: ReturnType<typeof channelSettings>,
) {
  const now = Date.now();
  let ids = 0;
  const ledger = new GroupCommitter(store, { now: () => Date.now() }, { next: (prefix) => `${prefix}_${++ids}` });
  await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
  for (let start = 0; start < variantCount; start += 1000) {
    const chunk = [];
    for (let index = start; index < Math.min(variantCount, start + 1000); index += 1)
      chunk.push({ sku: `V${index}`, name: `Variant ${index}` });
    await store.catalogue.upsertVariants(chunk, now);
  }
  const receipts: Promise<unknown>[] = [];
  for (let index = 0; index < variantCount; index += 1) {
    receipts.push(
      ledger.submit([
        {
          type: 'receipt',
          key: `opening-${index}`,
          payloadHash: 'h',
          sku: `V${index}`,
          location: 'WH1',
          quantity: opening,
        } as LedgerCommand,
      ]),
    );
    if (receipts.length >= 2000) await Promise.all(receipts.splice(0));
  }
  await Promise.all(receipts);
  await ledger.close();
  await store.availability.upsertChannels(
    channels.map((channel) => ({
      code: channel.code,
      name: channel.code,
      platform: channel.platform,
      locations: ['WH1'],
      settings: { connector: channel.connector },
    })),
    now,
  );
  const platformOf = { shop: 'shopify', bol: 'bol', woo: 'woocommerce', amazon: 'amazon', google: 'gmc' } as const;
  for (const channel of channels) {
    const sim = sims[platformOf[channel.code as keyof typeof platformOf]]!;
    for (let start = 0; start < variantCount; start += 1000) {
      const chunk = [];
      for (let index = start; index < Math.min(variantCount, start + 1000); index += 1)
        chunk.push({
          channel: channel.code,
          externalId: sim.offers[index]!,
          sku: `V${index}`,
          ...(sim.variants ? { externalRefs: { variant: sim.variants[index]! } } : {}),
        });
      await store.availability.upsertListings(chunk, now);
    }
  }
}

interface Server {
  process: ChildProcess;
  url: string;
  token: string;
  /** Resident set size now, bytes (VmRSS). */
  rss: () => number;
  /** Its anonymous part (heap, SQLite's page caches...), bytes; the rest is mapped files and shared memory. */
  rssAnon: () => number;
  /** CPU time used so far (user + system), ms. */
  cpuMs: () => number;
}

/** A line of /proc/<pid>/status (VmRSS, RssAnon...), in bytes; 0 once the process is gone. */
function memoryOf(pid: number | undefined, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The machine's CPU time so far, busy and total, in clock ticks (the `cpu` line of /proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  // idle and iowait are the time no process wanted the CPU.
  return { busy: total - fields[3]! - fields[4]!, total };
}

/**
 * One scrape of the server's /metrics: a reader of unlabelled samples by name, or null when it
 * does not answer. prom-client resets its event loop delay histogram at each collection, so
 * the delay figures cover the time since the previous scrape.
 */
async function scrapeMetrics(server: Server): Promise<((name: string) => number | null) | null> {
  const text = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${server.token}` },
    signal: AbortSignal.timeout(30_000),
  })
    .then((response) => (response.ok ? response.text() : null))
    .catch(() => null);
  if (text === null) return null;
  return (name) => {
    const found = new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1];
    return found === undefined ? null : Number(found);
  };
}

/** The server's event loop delay since the previous scrape, in ms: p99 and max. */
async function eventLoopDelay(server: Server): Promise<{ p99: number; max: number } | null> {
  const sample = await scrapeMetrics(server);
  if (sample === null) return null;
  const ms = (name: string) => Math.round((sample(name) ?? Number.NaN) * 1000);
  return { p99: ms('nodejs_eventloop_lag_p99_seconds'), max: ms('nodejs_eventloop_lag_max_seconds') };
}

/** The server's heap (used, total) and memory outside it (external) in MiB. */
async function processMemory(
  server: Server,
): Promise<{ heap_used_mib: number | null; heap_total_mib: number | null; external_mib: number | null }> {
  const sample = await scrapeMetrics(server);
  const of = (name: string) => {
    const bytes = sample?.(name) ?? null;
    return bytes === null ? null : mib(bytes);
  };
  return {
    heap_used_mib: of('nodejs_heap_size_used_bytes'),
    heap_total_mib: of('nodejs_heap_size_total_bytes'),
    external_mib: of('nodejs_external_memory_bytes'),
  };
}

async function startServer(database: string): Promise<Server> {
  let output = '';
  const profile = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`];
  const child = spawn(
    process.execPath,
    [...profile, main, 'serve', '--database', database, '--port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const api = /API\s+(http:\/\/\S+)\/v1/.exec(output);
    if (output.includes('onhand is running') && api) {
      const token = /onh_admin_[A-Za-z0-9_-]+/.exec(output)![0];
      return {
        process: child,
        url: api[1]!,
        token,
        rss: () => memoryOf(child.pid, 'VmRSS'),
        rssAnon: () => memoryOf(child.pid, 'RssAnon'),
        cpuMs: () => processCpuMs(child.pid) ?? 0,
      };
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGTERM');
  throw new Error(`server did not start:\n${output}`);
}

async function stopServer(server: Server) {
  if (server.process.exitCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (server.process.exitCode === null) server.process.kill('SIGKILL');
}

/** Every connected channel's queue empty (nothing left to push), or false after `limitMs`. */
async function settled(server: Server, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    // A server busy with the load may answer late or not at all: that is "not yet", not a failure.
    const body = await fetch(`${server.url}/v1/sync/status`, {
      headers: { authorization: `Bearer ${server.token}` },
      signal: AbortSignal.timeout(Math.max(1, until - Date.now())),
    })
      .then((response) => (response.ok ? (response.json() as Promise<{ channels: { queue_depth: number }[] }>) : null))
      .catch(() => null);
    if (body && body.channels.length > 0 && body.channels.every((channel) => channel.queue_depth === 0)) return true;
    // Not faster: the status reads percentiles of the push samples, work the server does for us.
    await sleep(500);
  }
  return false;
}

/**
 * The load generator's plan: signed `orders/create` deliveries to the shop channel's webhook, on
 * the Shopify simulator's variants (REST variant ids, skus V0, V1...), open loop at `rate`.
 */
function loadPlan(server: Server, shopify: Sim, rate: number, seconds: number, seed: number): WebhookLoadPlan {
  return {
    url: `${server.url}/webhooks/shopify/shop`,
    secret: webhookSecret,
    shopDomain: String(shopify.info.shopDomain),
    variants: shopify.variants!.map((gid, index) => ({ variantId: gid.split('/').pop()!, sku: `V${index}` })),
    rate,
    seconds,
    count: Math.ceil(rate * seconds),
    seed,
    sockets: 256,
    answerWaitMs: 60_000,
  };
}

/** The load generator's process and its result; `cpuMs` reads its CPU time while it runs. */
function runLoad(plan: WebhookLoadPlan): { cpuMs: () => number; result: Promise<WebhookLoadResult> } {
  const child = fork(new URL('./support/webhook-load.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return { cpuMs: () => processCpuMs(child.pid) ?? 0, result: ask<WebhookLoadResult>(child, plan) };
}

/** RSS every second while `during` runs: the samples in bytes. */
async function sampled<T>(server: Server, during: Promise<T>): Promise<{ result: T; samples: number[] }> {
  const samples = [server.rss()];
  const timer = setInterval(() => samples.push(server.rss()), 1000);
  try {
    return { result: await during, samples };
  } finally {
    clearInterval(timer);
    samples.push(server.rss());
  }
}

const mib = (bytes: number) => Math.round(bytes / 1048576);

// -------------------------------------------------------------------------------------------------
// Latency scenarios

const allOtherChannels = ['bol', 'woo', 'amazon', 'google'] as const;
const otherChannels = String(values.channels)
  .split(',')
  .map((code) => code.trim())
  .filter((code) => code !== '');
for (const code of otherChannels)
  if (!(allOtherChannels as readonly string[]).includes(code))
    throw new Error(`--channels takes some of ${allOtherChannels.join(', ')}; not ${code}`);

async function latencyScenario(engine: string, rate: number) {
  const variantCount = Number(values.variants);
  const seconds = Number(values.seconds);
  const db = await freshDatabase(engine);
  // The GMC simulator generates its own service account key; the channel is given the same one.
  const platforms: Platform[] = ['shopify', 'bol', 'woocommerce', 'amazon', 'gmc'];
  const sims = Object.fromEntries(
    await Promise.all(platforms.map(async (platform) => [platform, await startSim(platform, variantCount, opening)])),
  ) as Record<Platform, Sim>;
  let server: Server | undefined;
  try {
    const channels = channelSettings(sims, {
      clientEmail: String(sims.gmc.info.clientEmail),
      privateKey: String(sims.gmc.info.privateKey),
    }).filter((channel) => channel.code === 'shop' || otherChannels.includes(channel.code));
    const store = db.open();
    await store.migrate();
    await seed(store, variantCount, sims, channels);
    await store.close();
    server = await startServer(db.database);
    // Warm-up: every listing pushed once (the simulators already show it), tokens fetched.
    let warm = await settled(server, settleMs);
    // The warm-up load's orders take units too: the measured orders' thresholds start after them.
    const ordered = new Array<number>(variantCount).fill(0);
    const warmUpSeconds = Math.min(600, Number(values['warm-up-seconds']));
    let warmUp = { orders: 0, unanswered: 0 };
    if (warmUpSeconds > 0) {
      const { result } = runLoad(loadPlan(server, sims.shopify, rate, warmUpSeconds, 41));
      const orders = (await result).orders;
      for (const order of orders) if (order.status === 200) for (const variant of order.lines) ordered[variant]! += 1;
      // An order without a 200 may or may not have been taken: its units make the thresholds uncertain.
      warmUp = { orders: orders.length, unanswered: orders.filter((order) => order.status !== 200).length };
      warm = (await settled(server, settleMs)) && warm;
    }
    const plan = loadPlan(server, sims.shopify, rate, seconds, 42);
    const cpuBefore = server.cpuMs();
    await eventLoopDelay(server); // resets the server's delay histogram: the next read covers the load
    const machineBefore = machineTicks();
    const simsBefore = Object.values(sims).reduce((sum, sim) => sum + (processCpuMs(sim.child.pid) ?? 0), 0);
    const serverBefore = server.cpuMs();
    const loadStarted = Date.now();
    const generator = runLoad(plan);
    // The load generator's CPU, read just before it exits with its result.
    let generatorMs = 0;
    const generatorTimer = setInterval(() => (generatorMs = Math.max(generatorMs, generator.cpuMs())), 200);
    const { result: load, samples } = await sampled(server, generator.result).finally(() =>
      clearInterval(generatorTimer),
    );
    const loadWallMs = Date.now() - loadStarted;
    const machineAfter = machineTicks();
    const loadWindow = {
      // Over the load (sending and answering, not the drain after it), in cores.
      machine_busy_cores: Number(
        (
          ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) *
          cpus().length
        ).toFixed(2),
      ),
      server_cores: Number(((server.cpuMs() - serverBefore) / loadWallMs).toFixed(2)),
      simulators_cores: Number(
        (
          (Object.values(sims).reduce((sum, sim) => sum + (processCpuMs(sim.child.pid) ?? 0), 0) - simsBefore) /
          loadWallMs
        ).toFixed(2),
      ),
      load_generator_cores: Number((generatorMs / loadWallMs).toFixed(2)),
    };
    const delay = await eventLoopDelay(server);
    const drained = await settled(server, settleMs);
    const cpuMs = server.cpuMs() - cpuBefore;
    samples.push(server.rss());
    const histories: Record<string, Record<string, { at: number; amount: number }[]>> = {};
    const channelPlatform = { bol: 'bol', woo: 'woocommerce', amazon: 'amazon', google: 'gmc' } as Record<
      string,
      Platform
    >;
    for (const channel of otherChannels)
      histories[channel] = (
        await ask<{ offers: Record<string, { at: number; amount: number }[]> }>(sims[channelPlatform[channel]!].child, {
          history: true,
        })
      ).offers;
    await ask(sims.shopify.child, { history: true });

    // The j-th unit of a variant is shown once the channel shows at most opening - j.
    const perChannel: Record<string, number[]> = Object.fromEntries(otherChannels.map((channel) => [channel, []]));
    const every: number[] = [];
    const answers: number[] = [];
    const notShown: Record<string, number> = Object.fromEntries(otherChannels.map((channel) => [channel, 0]));
    const statuses: Record<string, number> = {};
    const sorted = [...load.orders].sort((a, b) => a.sentAt - b.sentAt);
    for (const order of sorted) {
      statuses[order.status] = (statuses[order.status] ?? 0) + 1;
      answers.push(order.answeredAt - order.sentAt);
      const thresholds = order.lines.map((variant) => ({ variant, atMost: opening - ++ordered[variant]! }));
      if (order.status !== 200) continue;
      let latest = 0;
      let complete = true;
      for (const channel of otherChannels) {
        let shownAt = 0;
        for (const { variant, atMost } of thresholds) {
          const offer = sims[channelPlatform[channel]!].offers[variant]!;
          const write = (histories[channel]![offer] ?? []).find(
            (each) => each.at >= order.sentAt && each.amount <= atMost,
          );
          if (write === undefined) {
            shownAt = Number.POSITIVE_INFINITY;
            break;
          }
          shownAt = Math.max(shownAt, write.at);
        }
        if (shownAt === Number.POSITIVE_INFINITY) {
          notShown[channel]! += 1;
          complete = false;
          continue;
        }
        perChannel[channel]!.push(shownAt - order.sentAt);
        latest = Math.max(latest, shownAt - order.sentAt);
      }
      if (complete) every.push(latest);
    }
    every.sort((a, b) => a - b);
    answers.sort((a, b) => a - b);
    for (const list of Object.values(perChannel)) list.sort((a, b) => a - b);
    const result = {
      bench: 'order-latency',
      store: engine,
      target_orders_per_s: rate,
      orders_per_s: Math.round(load.orders.length / load.seconds),
      orders: load.orders.length,
      statuses,
      variants: variantCount,
      warm_up_drained: warm,
      warm_up_orders: warmUp.orders,
      warm_up_orders_without_200: warmUp.unanswered,
      drained,
      every_channel_p50_ms: percentile(every, 50),
      every_channel_p95_ms: percentile(every, 95),
      every_channel_p99_ms: percentile(every, 99),
      every_channel_max_ms: every[every.length - 1] ?? 0,
      webhook_answer_p50_ms: percentile(answers, 50),
      webhook_answer_p95_ms: percentile(answers, 95),
      bol_p95_ms: perChannel.bol ? percentile(perChannel.bol, 95) : null,
      woo_p95_ms: perChannel.woo ? percentile(perChannel.woo, 95) : null,
      amazon_p95_ms: perChannel.amazon ? percentile(perChannel.amazon, 95) : null,
      google_p95_ms: perChannel.google ? percentile(perChannel.google, 95) : null,
      not_shown: notShown,
      server_rss_peak_mib: mib(Math.max(...samples)),
      // The server's CPU for the load and its drain, per order: what one order costs onhand.
      server_cpu_ms_per_order: Number((cpuMs / load.orders.length).toFixed(2)),
      ...loadWindow,
      server_event_loop_delay_p99_ms: delay?.p99 ?? null,
      server_event_loop_delay_max_ms: delay?.max ?? null,
    };
    console.log(JSON.stringify(result));
    return result;
  } finally {
    if (server) await stopServer(server);
    for (const sim of Object.values(sims)) if (sim.child.exitCode === null) sim.child.kill('SIGTERM');
    await db.drop();
  }
}

// -------------------------------------------------------------------------------------------------
// Memory scenario

/** Mark every listing as shown by its channel (the simulators were seeded with the same quantity). */
const inSync = `UPDATE listing_quantities SET dispatch_state = 'done', pushed_quantity = quantity,
  pushed_version = desired_version, channel_quantity = quantity, pending_since = NULL, attempts = 0,
  due_at = 0, pushed_at = computed_at`;

async function memoryScenario(engine: string) {
  const variantCount = Number(values['memory-variants']);
  const rate = Number(values['memory-rate']);
  const seconds = Number(values['memory-seconds']);
  const db = await freshDatabase(engine);
  const platforms: Platform[] = ['shopify', 'bol', 'woocommerce', 'amazon'];
  let started = performance.now();
  const sims = Object.fromEntries(
    await Promise.all(platforms.map(async (platform) => [platform, await startSim(platform, variantCount, opening)])),
  ) as Record<Platform, Sim>;
  let server: Server | undefined;
  try {
    const channels = channelSettings(sims, { clientEmail: '', privateKey: '' });
    const store = db.open();
    await store.migrate();
    await seed(store, variantCount, sims, channels);
    await store.close();
    await db.sql(inSync);
    const seedSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    server = await startServer(db.database);
    const startSeconds = (performance.now() - started) / 1000;
    const startRss = server.rss();
    // Let the start settle (first polls, token fetches) before the flow.
    await sleep(3000);
    const plan = loadPlan(server, sims.shopify, rate, seconds, 7);
    const anon: number[] = [];
    const anonTimer = setInterval(() => anon.push(server!.rssAnon()), 1000);
    const { result: load, samples } = await sampled(server, runLoad(plan).result);
    clearInterval(anonTimer);
    // Where the memory is at the end of the flow, from the server's own /metrics.
    const heap = await processMemory(server);
    const drained = await settled(server, settleMs);
    const anonLastHalf = anon.slice(Math.floor(anon.length / 2)).sort((a, b) => a - b);
    const lastHalf = samples.slice(Math.floor(samples.length / 2)).sort((a, b) => a - b);
    const statuses: Record<string, number> = {};
    for (const order of load.orders) statuses[order.status] = (statuses[order.status] ?? 0) + 1;
    const result = {
      bench: 'serve-memory',
      store: engine,
      variants: variantCount,
      listings: variantCount * channels.length,
      seed_seconds: Number(seedSeconds.toFixed(1)),
      server_start_seconds: Number(startSeconds.toFixed(1)),
      orders_per_s: Math.round(load.orders.length / load.seconds),
      orders: load.orders.length,
      statuses,
      drained,
      rss_start_mib: mib(startRss),
      rss_peak_mib: mib(Math.max(startRss, ...samples)),
      rss_steady_mib: mib(percentile(lastHalf, 50)),
      rss_anon_steady_mib: mib(percentile(anonLastHalf, 50)),
      ...heap,
      samples_mib: samples.map(mib),
    };
    console.log(JSON.stringify(result));
    return result;
  } finally {
    if (server) await stopServer(server);
    for (const sim of Object.values(sims)) if (sim.child.exitCode === null) sim.child.kill('SIGTERM');
    await db.drop();
  }
}

// -------------------------------------------------------------------------------------------------

const stores = values.stores.split(',');
if (values.memory) {
  const rows = [];
  for (const engine of stores) rows.push(await memoryScenario(engine));
  console.log(
    '\n| store | listings | orders/s | server start s | RSS start MiB | RSS peak MiB | RSS steady MiB (median, last half) | of it anonymous MiB | at the end: heap used / heap total / external MiB |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.store} | ${r.listings} | ${r.orders_per_s} | ${r.server_start_seconds} | ${r.rss_start_mib} | ${r.rss_peak_mib} | ${r.rss_steady_mib} | ${r.rss_anon_steady_mib} | ${r.heap_used_mib} / ${r.heap_total_mib} / ${r.external_mib} |`,
    );
} else {
  const rows = [];
  for (const engine of stores)
    for (const rate of values.rates.split(',').map(Number)) rows.push(await latencyScenario(engine, rate));
  console.log(
    '\n| store | orders/s | every channel p50 ms | p95 ms | p99 ms | bol p95 | woo p95 | amazon p95 | google p95 | webhook answer p95 ms | not shown | server CPU ms / order sent | server RSS peak MiB | during the load, cores busy: machine / server / simulators / load generator | server event loop delay p99 / max ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.store} | ${r.orders_per_s} | ${r.every_channel_p50_ms} | ${r.every_channel_p95_ms} | ${r.every_channel_p99_ms} | ${r.bol_p95_ms ?? '-'} | ${r.woo_p95_ms ?? '-'} | ${r.amazon_p95_ms ?? '-'} | ${r.google_p95_ms ?? '-'} | ${r.webhook_answer_p95_ms} | ${Object.values(r.not_shown).reduce((sum, count) => sum + count, 0)} | ${r.server_cpu_ms_per_order} | ${r.server_rss_peak_mib} | ${r.machine_busy_cores} / ${r.server_cores} / ${r.simulators_cores} / ${r.load_generator_cores} | ${r.server_event_loop_delay_p99_ms} / ${r.server_event_loop_delay_max_ms} |`,
    );
}
