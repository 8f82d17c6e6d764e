/**
 * bench:reservations - checkout reservation REQUESTS over HTTP, on SQLite and PostgreSQL.
 *
 * 1. Yardsticks, in the same run: the same client on `GET /healthz` (what this HTTP stack and
 *    client carry on the cheapest route), and on PostgreSQL pgbench with one conditional UPDATE
 *    of one hot row per transaction at the same 32 clients (what the engine itself does when
 *    every request is its own transaction).
 * 2. Throughput: one hot variant with ample stock, 32 concurrent keep-alive clients in a
 *    separate process, N reservations by location, then N by channel (two locations in
 *    priority order); reports reservations/s, p50/p99 latency, the ratios to the yardsticks, and
 *    the server's CPU per request on each route (steadier than the rate on a shared machine),
 *    and the whole machine's CPU per request and per pgbench transaction (every process: what
 *    the work costs wherever it runs, comparable between the two).
 * 3. The last-unit race: stock 10, 100 concurrent reservations split over TWO onhand server
 *    processes sharing one database; T trials; reports successes per trial and oversold units.
 *
 * Usage: npm run bench:reservations [-- --stores sqlite,postgres --requests 20000 --trials 20
 *   --cpu-prof DIR]
 * Needs `npm run build` (npm install does it) and pgbench on the PATH for the PostgreSQL
 * yardstick (PostgreSQL's client package). Prints JSON lines, then a table. Never asserts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '../test/support/stores.js';
import { machineCpuMs, processCpuMs } from './support/process-cpu.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    requests: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '32' },
    trials: { type: 'string', default: '20' },
    /** Write each server's CPU profile (node --cpu-prof) into this directory. */
    'cpu-prof': { type: 'string' },
  },
});
const main = new URL('../dist/src/main.js', import.meta.url).pathname;
const loader = new URL('./support/http-load.ts', import.meta.url).pathname;

async function startServer(
  database: string,
  port: number,
): Promise<{ process: ChildProcess; url: string; output: () => string }> {
  let output = '';
  const profile = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`];
  const child = spawn(
    process.execPath,
    [...profile, main, 'serve', '--database', database, '--port', String(port), '--log-level', 'warn'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (output.includes('onhand is running')) return { process: child, url, output: () => output };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server did not start:\n${output}`);
}

/**
 * fetch, once more on a socket error: the bench's own keep-alive socket sits idle through the
 * loads, and the server closes sockets idle past limits.connectionTimeoutMs (a minute).
 */
async function fetchAgain(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

async function api(url: string, token: string, method: string, path: string, body: unknown) {
  const response = await fetchAgain(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<Record<string, unknown>>;
}

/**
 * pgbench's rate for one conditional UPDATE of one hot row per transaction, `clients` clients,
 * on a table of its own in `url`'s database, and the machine's CPU per transaction (pgbench and
 * PostgreSQL together); null when pgbench is not installed.
 */
function pgbenchHotRow(
  url: string,
  clients: number,
  seconds: number,
): { tps: number; machineCpuMs: number | null } | null {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-pgbench-'));
  try {
    const script = join(directory, 'hot-row.sql');
    writeFileSync(script, 'UPDATE bench_hot_row SET stock = stock - 1 WHERE id = 1 AND stock >= 1;\n');
    execFileSync('psql', [url, '-q', '-c', 'CREATE TABLE bench_hot_row (id int PRIMARY KEY, stock bigint NOT NULL)']);
    execFileSync('psql', [url, '-q', '-c', 'INSERT INTO bench_hot_row VALUES (1, 1000000000000)']);
    const before = machineCpuMs();
    const output = execFileSync(
      'pgbench',
      ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', script, url],
      { encoding: 'utf8' },
    );
    const after = machineCpuMs();
    execFileSync('psql', [url, '-q', '-c', 'DROP TABLE bench_hot_row']);
    const tps = /tps = ([\d.]+)/.exec(output);
    const done = /number of transactions actually processed: (\d+)/.exec(output);
    if (!tps) return null;
    const cpu =
      before === null || after === null || !done ? null : Number(((after - before) / Number(done[1])).toFixed(3));
    return { tps: Math.round(Number(tps[1])), machineCpuMs: cpu };
  } catch (error) {
    console.error(`pgbench yardstick skipped: ${(error as Error).message.split('\n')[0]}`);
    return null;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function load(
  urls: string[],
  token: string,
  concurrency: number,
  count: number,
  sku: string,
  prefix: string,
  target = 'WH1',
) {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', loader, urls.join(','), token, String(concurrency), String(count), sku, target, prefix],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(output.trim().split('\n').pop()!) as {
    statuses: Record<string, number>;
    requests_per_s: number;
    p50_ms: number;
    p99_ms: number;
  };
}

const rows: string[] = [];
for (const engine of values.stores.split(',')) {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-bench-'));
  const pg = engine === 'postgres' ? await createTestDatabase() : undefined;
  const database = pg ? pg.url : join(directory, 'bench.db');
  const clients = Number(values.clients);
  // The engine's own yardstick first, on the same server, before onhand's processes start.
  const yardstick = pg ? pgbenchHotRow(pg.url, clients, 10) : null;
  const pgbench = yardstick?.tps ?? null;
  const first = await startServer(database, 7500);
  const token = /onh_admin_[A-Za-z0-9_-]+/.exec(first.output())![0];
  const second = await startServer(database, 7501);
  try {
    await api(first.url, token, 'PUT', '/v1/locations', {
      locations: [{ code: 'WH1', name: 'Main', kind: 'warehouse' }],
    });
    await api(first.url, token, 'PUT', '/v1/variants', { variants: [{ sku: 'HOT', name: 'Hot variant' }] });
    await api(first.url, token, 'POST', '/v1/movements', {
      movements: [{ key: 'hot-stock', type: 'receipt', sku: 'HOT', location: 'WH1', quantity: 100_000_000 }],
    });

    await api(first.url, token, 'PUT', '/v1/locations', {
      locations: [{ code: 'WH2', name: 'Second', kind: 'warehouse' }],
    });
    await api(first.url, token, 'PUT', '/v1/channels', {
      channels: [{ code: 'web', name: 'Web checkout', platform: 'custom', locations: ['WH2', 'WH1'] }],
    });
    const requests = Number(values.requests);
    // Warm-up (JIT, statement caches), then the yardstick and the two shapes back to back.
    load([first.url], token, clients, Math.min(2_000, requests), 'HOT', 'warm');
    // The first server's CPU per request beside each rate: steadier than the rate on a shared
    // machine. And the whole machine's (server, database, load generator), to set beside
    // pgbench's per transaction.
    const perRequest = (before: number | null, after: number | null) =>
      before === null || after === null ? null : Number(((after - before) / requests).toFixed(3));
    const measured = (prefix: string, target?: string) => {
      const before = processCpuMs(first.process.pid);
      const machineBefore = machineCpuMs();
      const result = load([first.url], token, clients, requests, 'HOT', prefix, target);
      const machineAfter = machineCpuMs();
      const after = processCpuMs(first.process.pid);
      return {
        ...result,
        server_cpu_ms: perRequest(before, after),
        machine_cpu_ms: perRequest(machineBefore, machineAfter),
      };
    };
    const healthz = measured('hz', 'healthz');
    const byLocation = measured('tp');
    const byChannel = measured('ch', 'channel:web');
    const stock = (await (
      await fetchAgain(`${first.url}/v1/stock/HOT`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { total: { available: number; reserved: number } };
    const result = {
      bench: 'reservations-http',
      store: engine,
      clients,
      healthz_per_s: healthz.requests_per_s,
      server_cpu_ms_per_healthz: healthz.server_cpu_ms,
      machine_cpu_ms_per_healthz: healthz.machine_cpu_ms,
      pgbench_hot_row_tps: pgbench,
      machine_cpu_ms_per_pgbench_transaction: yardstick?.machineCpuMs ?? null,
      by_location: byLocation,
      by_channel: byChannel,
      by_location_vs_healthz: Number((byLocation.requests_per_s / healthz.requests_per_s).toFixed(2)),
      by_channel_vs_healthz: Number((byChannel.requests_per_s / healthz.requests_per_s).toFixed(2)),
      by_location_vs_pgbench: pgbench ? Number((byLocation.requests_per_s / pgbench).toFixed(2)) : null,
      by_channel_vs_pgbench: pgbench ? Number((byChannel.requests_per_s / pgbench).toFixed(2)) : null,
      reserved_units: stock.total.reserved,
      oversold_units: Math.max(0, -stock.total.available),
    };
    console.log(JSON.stringify(result));

    const successes: number[] = [];
    let oversold = 0;
    for (let trial = 0; trial < Number(values.trials); trial += 1) {
      const sku = `RACE-${trial}`;
      await api(first.url, token, 'PUT', '/v1/variants', { variants: [{ sku, name: `race ${trial}` }] });
      await api(first.url, token, 'POST', '/v1/movements', {
        movements: [{ key: `race-${trial}-stock`, type: 'receipt', sku, location: 'WH1', quantity: 10 }],
      });
      const race = load([first.url, second.url], token, 100, 100, sku, `race-${trial}`);
      successes.push(race.statuses['201'] ?? 0);
      const stock = (await (
        await fetchAgain(`${first.url}/v1/stock/${sku}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { total: { available: number } };
      oversold += Math.max(0, -stock.total.available) + Math.max(0, (race.statuses['201'] ?? 0) - 10);
    }
    const race = {
      bench: 'last-unit-race-http',
      store: engine,
      processes: 2,
      stock: 10,
      requests: 100,
      trials: successes.length,
      successes_min: Math.min(...successes),
      successes_max: Math.max(...successes),
      oversold_units: oversold,
    };
    console.log(JSON.stringify(race));
    for (const [shape, figures] of [
      ['by location', byLocation],
      ['by channel', byChannel],
    ] as const) {
      const vsPgbench = pgbench ? ` ${(figures.requests_per_s / pgbench).toFixed(2)}x of ${pgbench}` : ' -';
      const machine = `${figures.machine_cpu_ms ?? '-'} / ${healthz.machine_cpu_ms ?? '-'}${yardstick ? ` / ${yardstick.machineCpuMs ?? '-'}` : ''}`;
      rows.push(
        `| ${engine} | ${shape} | ${figures.requests_per_s} | ${figures.p50_ms} | ${figures.p99_ms} | ${figures.server_cpu_ms ?? '-'} / ${healthz.server_cpu_ms ?? '-'} | ${machine} | ${(figures.requests_per_s / healthz.requests_per_s).toFixed(2)}x of ${healthz.requests_per_s} |${vsPgbench} | ${race.successes_min}-${race.successes_max} of ${race.trials} trials | ${race.oversold_units + result.oversold_units} |`,
      );
    }
  } catch (error) {
    console.error(`first server:\n${first.output().slice(-2_000)}\nsecond server:\n${second.output().slice(-2_000)}`);
    throw error;
  } finally {
    first.process.kill('SIGTERM');
    second.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await pg?.drop();
    rmSync(directory, { recursive: true, force: true });
  }
}
console.log(
  '\n| store | reserve | reservations/s (32 clients, HTTP) | p50 ms | p99 ms | server CPU ms per reservation / per GET /healthz | machine CPU ms (all processes) per reservation / per GET /healthz / per pgbench transaction | vs GET /healthz, same client | vs pgbench hot row, 32 clients | last-unit race successes (stock 10, 100 requests, 2 processes) | oversold units |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
