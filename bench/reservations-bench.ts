/**
 * bench:reservations - reservation REQUESTS over HTTP, on SQLite and PostgreSQL.
 *
 * 1. Throughput: one hot variant with ample stock, 32 concurrent keep-alive clients in a
 *    separate process, N reservations; reports reservations/s and p50/p99 latency.
 * 2. The last-unit race: stock 10, 100 concurrent reservations split over TWO onhand server
 *    processes sharing one database; T trials; reports successes per trial and oversold units.
 *
 * Usage: npm run bench:reservations [-- --stores sqlite,postgres --requests 20000 --trials 20]
 * Needs `npm run build` (npm install does it). Prints JSON lines, then a table. Never asserts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '../test/support/stores.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    requests: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '32' },
    trials: { type: 'string', default: '20' },
  },
});
const main = new URL('../dist/src/main.js', import.meta.url).pathname;
const loader = new URL('./support/http-load.ts', import.meta.url).pathname;

async function startServer(
  database: string,
  port: number,
): Promise<{ process: ChildProcess; url: string; output: () => string }> {
  let output = '';
  const child = spawn(
    process.execPath,
    [main, 'serve', '--database', database, '--port', String(port), '--log-level', 'warn'],
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

async function api(url: string, token: string, method: string, path: string, body: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<Record<string, unknown>>;
}

function load(urls: string[], token: string, concurrency: number, count: number, sku: string, prefix: string) {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', loader, urls.join(','), token, String(concurrency), String(count), sku, 'WH1', prefix],
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

    const throughput = load([first.url], token, Number(values.clients), Number(values.requests), 'HOT', 'tp');
    const result = { bench: 'reservations-http', store: engine, clients: Number(values.clients), ...throughput };
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
        await fetch(`${first.url}/v1/stock/${sku}`, { headers: { authorization: `Bearer ${token}` } })
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
    rows.push(
      `| ${engine} | ${result.requests_per_s} | ${result.p50_ms} | ${result.p99_ms} | ${race.trials} | ${race.successes_min}-${race.successes_max} | ${race.oversold_units} |`,
    );
  } finally {
    first.process.kill('SIGTERM');
    second.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await pg?.drop();
    rmSync(directory, { recursive: true, force: true });
  }
}
console.log(
  '\n| store | reservations/s (32 clients, HTTP) | p50 ms | p99 ms | race trials (stock 10, 100 requests, 2 processes) | successes per trial | oversold units |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
