/**
 * onhand as a target of the Medusa inventory peer benchmark (its `HUB_ADAPTER` seam; the
 * contract is in that harness's README, "Plugging in the hub"). Plain ESM: the harness loads it
 * with import().
 *
 * createAdapter() creates a fresh, uniquely named database on the PostgreSQL server the harness
 * uses (never the harness's own database, so onhand's migrations and Medusa's tables do not mix),
 * starts `onhand serve` from this checkout's dist/ on it as its own process (127.0.0.1, a free
 * port, the harness's pool budget as --pg-pool-size) and reads the admin token it prints on its
 * first start. Every call then goes over HTTP to that process through one keep-alive node:http
 * agent: the hub pays an HTTP hop per call, where Medusa's calls are in-process.
 *
 *   createItems -> PUT /v1/variants + POST /v1/movements (receipts at the one location)
 *   reserve     -> POST /v1/reservations (201: ok, 409 ONH_ERR_INSUFFICIENT: not ok)
 *   confirm     -> GET /v1/stock/{sku}, available at the location
 *   adjust      -> POST /v1/movements, an `adjustment` of +delta (raises on_hand)
 *   state       -> GET /v1/stock/{sku} (reserved, on_hand) and GET /v1/reservations
 *                  (the live holds, summed)
 *   reset       -> onhand has no wipe (a ledger keeps its history): a fresh SKU prefix, so the
 *                  next items share nothing with earlier ones; the database itself is fresh
 *   close       -> stops the server and drops the database
 *
 * Every idempotency key is unique (the process id, the start time and a counter).
 * Environment: ONHAND_PEER_PG_ADMIN_URL, a URL of a role that may CREATE DATABASE on the same
 * server (default: user postgres, no password, on the harness's host and port; trust auth).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const mainScript = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const startTimeoutMs = 120_000;
const requestTimeoutMs = 60_000;
const stopTimeoutMs = 10_000;
const batchSize = 1000; // variants and movements per request (the API's upsert and movement batch bound)
const pageSize = 500; // the largest page GET /v1/reservations gives
const pagesMax = 10_000; // per SKU in state(): 5,000,000 holds, far above what a run makes
const stateParallel = 8; // SKUs read at once in state()

function adminUrlFor(databaseUrl) {
  if (process.env.ONHAND_PEER_PG_ADMIN_URL) return process.env.ONHAND_PEER_PG_ADMIN_URL;
  const url = new URL(databaseUrl);
  url.username = 'postgres';
  url.password = '';
  url.pathname = '/postgres';
  url.search = '';
  return url.toString();
}

async function adminQuery(adminUrl, sql) {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Start `onhand serve`; resolves once it prints "onhand is running", with its address and token. */
function startServer(databaseUrl, poolMax) {
  if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run npm run build in the project first`);
  const child = spawn(
    process.execPath,
    [
      mainScript,
      'serve',
      '--database',
      databaseUrl,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-level',
      'warn',
      '--pg-pool-size',
      String(poolMax),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const fail = (message) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`onhand serve ${message}:\n${output.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail(`did not start in ${startTimeoutMs / 1000} s`), startTimeoutMs);
    child.on('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was running`));
    const onData = (chunk) => {
      output += chunk;
      if (!output.includes('onhand is running')) return;
      const address = /API\s+(http:\/\/[^\s]+)\/v1/.exec(output);
      const token = /onh_admin_[A-Za-z0-9_-]+/.exec(output);
      if (!address || !token) return; // the rest of the banner is on its way
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      // Keep draining, so a full pipe never blocks the server's logging.
      child.stdout.resume();
      child.stderr.on('data', (more) => process.stderr.write(`[onhand] ${more}`));
      resolve({ child, url: new URL(address[1]), token: token[0] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}

function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function createAdapter({ databaseUrl, poolMax, locationId }) {
  const adminUrl = adminUrlFor(databaseUrl);
  const runTag = `${process.pid}_${Date.now().toString(36)}`;
  const database = `onhand_peer_${runTag}_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${database}`);
  const onhandUrl = new URL(adminUrl);
  onhandUrl.pathname = `/${database}`;

  let server;
  try {
    server = await startServer(onhandUrl.toString(), poolMax);
  } catch (error) {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    throw error;
  }
  const { child, url, token } = server;
  // A harness that dies without close() must not leave the server running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
  let keySeq = 0;
  const nextKey = (kind) => `peer-${runTag}-${kind}-${++keySeq}`;
  let skuPrefix = `P${runTag}-0`;
  let resets = 0;
  let itemSeq = 0;

  /** One request; resolves { status, body } with the JSON body (or null), rejects on a network error. */
  function call(method, path, body) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { authorization: `Bearer ${token}` };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      const request = http.request(
        { agent, host: url.hostname, port: url.port, path: `/v1${path}`, method, headers, timeout: requestTimeoutMs },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed = null;
            try {
              parsed = text === '' ? null : JSON.parse(text);
            } catch {
              parsed = { unparsed: text.slice(0, 300) };
            }
            resolve({ status: response.statusCode ?? 0, body: parsed });
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${method} ${path}: no answer in ${requestTimeoutMs} ms`)));
      request.on('error', reject);
      request.end(payload);
    });
  }

  async function expectOk(method, path, body) {
    const answer = await call(method, path, body);
    if (answer.status < 200 || answer.status > 299)
      throw new Error(`${method} ${path}: ${answer.status} ${answer.body?.code ?? ''} ${answer.body?.detail ?? ''}`);
    return answer.body;
  }

  async function postMovements(movements) {
    const answer = await expectOk('POST', '/movements', { movements });
    const refused = answer.results.filter((result) => result.status !== 'applied');
    if (refused.length > 0)
      throw new Error(`POST /movements: ${refused.length} not applied, first ${JSON.stringify(refused[0])}`);
  }

  const stockPath = (sku) => `/stock/${encodeURIComponent(sku)}`;

  async function levelOf(sku) {
    const stock = await expectOk('GET', stockPath(sku));
    return stock.locations.find((level) => level.location === locationId);
  }

  async function liveHolds(sku) {
    let units = 0;
    let cursor = null;
    for (let page = 0; page < pagesMax; page += 1) {
      const query = new URLSearchParams({ sku, location: locationId, status: 'active', limit: String(pageSize) });
      if (cursor) query.set('cursor', cursor);
      const answer = await expectOk('GET', `/reservations?${query}`);
      for (const reservation of answer.items) units += reservation.quantity - reservation.committed_quantity;
      cursor = answer.next_cursor;
      if (!cursor) return units;
    }
    throw new Error(`GET /reservations for ${sku}: more than ${pagesMax} pages`);
  }

  await expectOk('PUT', '/locations', { locations: [{ code: locationId, name: 'Peer bench', kind: 'warehouse' }] });

  return {
    name: 'onhand',
    info: {
      path: 'HTTP/1.1 keep-alive (node:http) to an `onhand serve` process on 127.0.0.1: POST /v1/reservations, POST /v1/movements, GET /v1/stock/{sku}',
      transport: 'http over loopback; the server is a separate process from the load driver',
      database: `own database ${database} on the harness's PostgreSQL server`,
      pg_pool_size: poolMax,
      reset: 'a fresh SKU prefix (a ledger keeps its history; the database is fresh per run)',
    },
    async reset() {
      resets += 1;
      skuPrefix = `P${runTag}-${resets}`;
      itemSeq = 0;
    },
    async analyze() {
      await adminQuery(onhandUrl.toString(), 'ANALYZE');
    },
    async createItems(n, stock) {
      const skus = Array.from({ length: n }, () => `${skuPrefix}-${++itemSeq}`);
      for (let offset = 0; offset < skus.length; offset += batchSize) {
        const batch = skus.slice(offset, offset + batchSize);
        await expectOk('PUT', '/variants', { variants: batch.map((sku) => ({ sku, name: `peer bench ${sku}` })) });
        if (stock > 0)
          await postMovements(
            batch.map((sku) => ({
              key: nextKey('receipt'),
              type: 'receipt',
              sku,
              location: locationId,
              quantity: stock,
            })),
          );
      }
      return skus;
    },
    async reserve(itemId, qty) {
      const answer = await call('POST', '/reservations', {
        key: nextKey('reserve'),
        sku: itemId,
        location: locationId,
        quantity: qty,
      });
      if (answer.status === 201) return { ok: true };
      if (answer.status === 409 && answer.body?.code === 'ONH_ERR_INSUFFICIENT') return { ok: false };
      throw new Error(`POST /reservations: ${answer.status} ${answer.body?.code ?? ''} ${answer.body?.detail ?? ''}`);
    },
    async confirm(itemId, qty) {
      return ((await levelOf(itemId))?.available ?? 0) >= qty;
    },
    async adjust(itemId, delta) {
      await postMovements([
        {
          key: nextKey('adjust'),
          type: 'adjustment',
          sku: itemId,
          location: locationId,
          quantity: delta,
          reason: 'peer bench adjustment',
        },
      ]);
    },
    async state(itemIds) {
      const sums = { reserved_units: 0, reserved_col: 0, stocked: 0 };
      let next = 0;
      const worker = async () => {
        while (next < itemIds.length) {
          const sku = itemIds[next++];
          const [level, holds] = await Promise.all([levelOf(sku), liveHolds(sku)]);
          sums.reserved_units += holds;
          sums.reserved_col += level?.reserved ?? 0;
          sums.stocked += level?.on_hand ?? 0;
        }
      };
      await Promise.all(Array.from({ length: Math.min(stateParallel, itemIds.length) }, worker));
      return sums;
    },
    async close() {
      agent.destroy();
      await stopServer(child);
      process.off('exit', killOnExit);
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}
