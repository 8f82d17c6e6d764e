/**
 * bench:webhooks - signed Shopify orders/create webhooks over HTTP, on SQLite and PostgreSQL,
 * beside GET /healthz measured by the same client against the same server in the same run.
 *
 * Per store: `onhand serve` runs as its own process; a Shopify simulator process (unthrottled)
 * takes the channel's pushes, so the connector never reaches Shopify. Setup through the API:
 * two locations with ample stock of `--variants` variants, one Shopify channel with a webhook
 * secret and one listing per variant (keyed by inventory item, carrying its variant). Then, with
 * `--clients` keep-alive closed-loop clients in a separate process (support/webhook-closed-load.ts):
 * 1. `--healthz` GET /healthz requests -> the yardstick rate;
 * 2. `--webhooks` distinct orders/create deliveries (unique order, line and webhook ids; 1 or 2
 *    lines each), every body signed with HMAC-SHA256 -> webhooks/s, p50/p99, ratio to healthz;
 * 3. `--redeliveries` of the first orders again under new webhook ids (duplicates: each must
 *    answer 200 with nothing changed).
 * Afterwards: every order line is counted through GET /v1/order-lines (all must be open, none
 * blocked), the units reserved across the variants must equal the units ordered, and, once the
 * server has stopped, `onhand verify` must report no mismatch.
 *
 * `--warm-up N` (default 0) first sends N other orders the same way, before the health checks and
 * the measured webhooks: a freshly started server spends much of its first seconds under load
 * in V8's optimizing compiler, which a server that has run for hours no longer pays
 * (bench/README.md, Order to every channel, sixteenth session). Their lines are counted too.
 *
 * `--cpu-prof DIR` runs the server under `node --cpu-prof` and prints the functions with the
 * most self time during the whole run (setup included; the webhook load dominates it).
 *
 * Usage: npm run bench:webhooks [-- --stores sqlite,postgres --webhooks 20000 --clients 32 --warm-up 0]
 * Needs `npm run build`. Prints JSON lines, then a table. Never asserts timings.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '../test/support/stores.js';
import type { LoadSpec } from './support/webhook-closed-load.js';
import { orderLines } from './support/webhook-orders.js';
import { processCpuMs } from './support/process-cpu.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    webhooks: { type: 'string', default: '20000' },
    healthz: { type: 'string', default: '20000' },
    redeliveries: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '32' },
    variants: { type: 'string', default: '1000' },
    'warm-up': { type: 'string', default: '0' },
    'cpu-prof': { type: 'string' },
  },
});
const webhookCount = Math.min(200_000, Number(values.webhooks));
const healthzCount = Math.min(1_000_000, Number(values.healthz));
const redeliveryCount = Math.min(webhookCount, Number(values.redeliveries));
const clients = Math.min(1_000, Number(values.clients));
const variantCount = Math.min(10_000, Math.max(2, Number(values.variants)));
const warmUpCount = Math.min(200_000, Math.max(0, Number(values['warm-up'])));
const profileDirectory = values['cpu-prof'];
const main = new URL('../dist/src/main.js', import.meta.url).pathname;
const loader = new URL('./support/webhook-closed-load.ts', import.meta.url).pathname;
const channel = 'shop';
const secret = 'bench-webhook-secret';
const port = 7520;

async function startServer(
  database: string,
  profiles: string | undefined,
): Promise<{ process: ChildProcess; url: string; output: () => string }> {
  let output = '';
  const profile = profiles ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [];
  const child = spawn(
    process.execPath,
    [...profile, main, 'serve', '--database', database, '--port', String(port), '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (output.includes('onhand is running')) return { process: child, url, output: () => output };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`server did not start:\n${output}`);
}

/** SIGTERM, then wait for the exit (a profile is written on the way out), at most 20 s. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  // A keep-alive connection idle through the load may be closed by the server as it is reused:
  // a read is sent again (at most 3 times), a write never.
  for (let attempt = 1; method === 'GET' && attempt < 3; attempt += 1) {
    try {
      return await send(url, token, method, path, body);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
    }
  }
  return send(url, token, method, path, body);
}

async function send(url: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<Record<string, unknown>>;
}

/** Ask the simulator process something and wait for its answer. */
function ask<T>(child: ChildProcess, message?: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    if (message !== undefined) child.send(message);
  });
}

function load(spec: LoadSpec) {
  const output = execFileSync(process.execPath, ['--import', 'tsx', loader, JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    timeout: 300_000,
  });
  return JSON.parse(output.trim().split('\n').pop()!) as {
    statuses: Record<string, number>;
    requests_per_s: number;
    p50_ms: number;
    p99_ms: number;
    seconds: number;
    answers?: { events: number; changed: number; unchanged: number; blocked: number; invalid: number };
  };
}

/** Runs one load and the server's CPU ms per request it answered. */
function measured(pid: number | undefined, spec: LoadSpec) {
  const before = processCpuMs(pid);
  const result = load(spec);
  const after = processCpuMs(pid);
  const cpu = before === null || after === null ? null : Number(((after - before) / spec.count).toFixed(3));
  return { ...result, server_cpu_ms: cpu };
}

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));

/** Every order line of the channel, by status, paged through GET /v1/order-lines (bounded). */
async function countLines(url: string, token: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page += 1) {
    const query: string = `channel=${channel}&status=all&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const answer = (await api(url, token, 'GET', `/v1/order-lines?${query}`)) as {
      items: { status: string }[];
      next_cursor: string | null;
    };
    for (const line of answer.items) counts[line.status] = (counts[line.status] ?? 0) + 1;
    cursor = answer.next_cursor;
    if (cursor === null) break;
  }
  return counts;
}

/** Units reserved across the variants, from GET /v1/stock/{sku}, 8 at a time. */
async function reservedUnits(url: string, token: string, skus: readonly string[]): Promise<number> {
  let total = 0;
  for (const group of chunks(skus, 8)) {
    const stocks = (await Promise.all(group.map((sku) => api(url, token, 'GET', `/v1/stock/${sku}`)))) as {
      locations: { reserved: number }[];
    }[];
    for (const stock of stocks) for (const level of stock.locations) total += level.reserved;
  }
  return total;
}

/** Self time per function over every .cpuprofile in `directory`, largest first. */
function profileSummary(directory: string, top: number) {
  const self = new Map<string, number>();
  let total = 0;
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(directory, file), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const names = new Map(
      profile.nodes.map((node) => {
        const { functionName, url, lineNumber } = node.callFrame;
        const where = url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
        return [node.id, `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`];
      }),
    );
    profile.samples.forEach((id, index) => {
      const micros = profile.timeDeltas[index] ?? 0;
      total += micros;
      const name = names.get(id)!;
      self.set(name, (self.get(name) ?? 0) + micros);
    });
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, micros]) => ({ function: name, self_ms: Math.round(micros / 1000), share: micros / total }));
}

const rows: string[] = [];
for (const engine of values.stores.split(',')) {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-bench-'));
  const pg = engine === 'postgres' ? await createTestDatabase() : undefined;
  const database = pg ? pg.url : join(directory, 'bench.db');
  const simProcess = fork(new URL('./support/shopify-sim-process.ts', import.meta.url).pathname, ['open'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const sim = await ask<{ url: string; shopDomain: string; accessToken: string; locationId: string }>(simProcess);
    const seeded = await ask<{ offers: string[]; variants: string[] }>(simProcess, { seed: variantCount });
    const profiles = profileDirectory ? join(profileDirectory, engine) : undefined;
    server = await startServer(database, profiles);
    const { url } = server;
    const token = /onh_admin_[A-Za-z0-9_-]+/.exec(server.output())![0];
    const skus = Array.from({ length: variantCount }, (_, index) => `V${index}`);

    await api(url, token, 'PUT', '/v1/locations', {
      locations: [
        { code: 'WH1', name: 'Warehouse', kind: 'warehouse' },
        { code: 'WH2', name: 'Second warehouse', kind: 'warehouse' },
      ],
    });
    for (const group of chunks(skus, 1000))
      await api(url, token, 'PUT', '/v1/variants', { variants: group.map((sku) => ({ sku, name: sku })) });
    const receipts = skus.flatMap((sku) =>
      ['WH1', 'WH2'].map((location) => ({
        key: `stock-${sku}-${location}`,
        type: 'receipt',
        sku,
        location,
        quantity: 1_000_000,
      })),
    );
    for (const group of chunks(receipts, 1000)) await api(url, token, 'POST', '/v1/movements', { movements: group });
    await api(url, token, 'PUT', '/v1/channels', {
      channels: [
        {
          code: channel,
          name: 'Shopify',
          platform: 'shopify',
          locations: ['WH1', 'WH2'],
          settings: {
            connector: {
              shop_domain: sim.shopDomain,
              access_token: sim.accessToken,
              location_id: sim.locationId,
              webhook_secret: secret,
              base_url: sim.url,
            },
          },
        },
      ],
    });
    const listings = skus.map((sku, index) => ({
      channel,
      external_id: seeded.offers[index]!,
      sku,
      external_refs: { variant: seeded.variants[index]! },
    }));
    for (const group of chunks(listings, 1000)) await api(url, token, 'PUT', '/v1/listings', { listings: group });

    const variants = skus.map((sku, index) => ({ id: seeded.variants[index]!.split('/').pop()!, sku }));
    const pid = server.process.pid;
    const webhookSpec = {
      mode: 'webhooks',
      url,
      clients,
      channel,
      shopDomain: sim.shopDomain,
      secret,
      variants,
      createdAt: new Date().toISOString(),
    } as const;
    // Orders after the measured ones (their indexes follow), so neither set redelivers the other.
    const warmUp =
      warmUpCount > 0
        ? load({ ...webhookSpec, count: warmUpCount, first: webhookCount, deliveryPrefix: 'warm' })
        : undefined;
    const healthz = measured(pid, { mode: 'healthz', url, clients, count: healthzCount });
    const webhooks = measured(pid, { ...webhookSpec, count: webhookCount, first: 0, deliveryPrefix: 'first' });
    const redelivered =
      redeliveryCount > 0
        ? load({ ...webhookSpec, count: redeliveryCount, first: 0, deliveryPrefix: 'again' })
        : undefined;

    let expectedLines = 0;
    let expectedUnits = 0;
    for (let index = 0; index < webhookCount + warmUpCount; index += 1)
      for (const line of orderLines(index, variantCount)) {
        expectedLines += 1;
        expectedUnits += line.quantity;
      }
    const lines = await countLines(url, token);
    const reserved = await reservedUnits(url, token, skus);
    await stopServer(server.process);
    let verify: string;
    try {
      verify = execFileSync(process.execPath, [main, 'verify', '--database', database], { encoding: 'utf8' }).trim();
    } catch (error) {
      verify = `FAILED: ${String((error as { stdout?: string }).stdout ?? error).trim()}`;
    }

    const result = {
      bench: 'webhooks-http',
      store: engine,
      clients,
      variants: variantCount,
      healthz_per_s: healthz.requests_per_s,
      healthz_p50_ms: healthz.p50_ms,
      healthz_p99_ms: healthz.p99_ms,
      webhooks: webhookCount,
      warm_up_webhooks: warmUpCount,
      warm_up_statuses: warmUp?.statuses ?? {},
      webhooks_per_s: webhooks.requests_per_s,
      webhook_p50_ms: webhooks.p50_ms,
      webhook_p99_ms: webhooks.p99_ms,
      ratio_to_healthz: Number((webhooks.requests_per_s / healthz.requests_per_s).toFixed(3)),
      server_cpu_ms_per_healthz: healthz.server_cpu_ms,
      server_cpu_ms_per_webhook: webhooks.server_cpu_ms,
      // The webhook rate relative to healthz if the server's own CPU were the only limit.
      cpu_ratio:
        healthz.server_cpu_ms && webhooks.server_cpu_ms
          ? Number((healthz.server_cpu_ms / webhooks.server_cpu_ms).toFixed(3))
          : null,
      statuses: webhooks.statuses,
      answers: webhooks.answers,
      redeliveries: redelivered ? { statuses: redelivered.statuses, answers: redelivered.answers } : null,
      order_lines_expected: expectedLines,
      order_lines: lines,
      units_ordered: expectedUnits,
      units_reserved: reserved,
      verify,
    };
    console.log(JSON.stringify(result));
    const recorded = (lines.open ?? 0) === expectedLines && Object.keys(lines).length === 1;
    // A redelivery must answer 200 and change no line.
    const reapplied = redelivered
      ? `${(redelivered.answers?.changed ?? 0) + (redeliveryCount - (redelivered.statuses['200'] ?? 0))} of ${redeliveryCount}`
      : '-';
    rows.push(
      `| ${engine} | ${healthz.requests_per_s} | ${webhooks.requests_per_s} | ${result.ratio_to_healthz} | ${healthz.server_cpu_ms ?? '-'} / ${webhooks.server_cpu_ms ?? '-'} (${result.cpu_ratio ?? '-'}) | ${webhooks.p50_ms} | ${webhooks.p99_ms} | ${recorded ? 'all' : JSON.stringify(lines)} | ${reserved === expectedUnits ? 'yes' : `${reserved} of ${expectedUnits}`} | ${reapplied} | ${verify.replace(/^checked .*: /, '')} |`,
    );
    if (profiles)
      for (const entry of profileSummary(profiles, 30))
        console.log(
          JSON.stringify({ bench: 'webhooks-profile', store: engine, ...entry, share: entry.share.toFixed(3) }),
        );
  } catch (error) {
    // The server's own words first: a failed run is read from them.
    if (server) console.error(server.output().slice(-4000));
    throw error;
  } finally {
    if (server) await stopServer(server.process);
    simProcess.kill('SIGTERM');
    await pg?.drop();
    rmSync(directory, { recursive: true, force: true });
  }
}
console.log(
  `\n| store | healthz/s (${clients} clients) | webhooks/s | ratio | server CPU ms per healthz / webhook (ratio) | p50 ms | p99 ms | lines recorded | units reserved = ordered | redeliveries applied again | verify |`,
);
console.log('|---|---:|---:|---:|---|---:|---:|---|---|---|---|');
for (const row of rows) console.log(row);
