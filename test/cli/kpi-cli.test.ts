/**
 * `onhand kpis` as a user runs it (in-process, test/support/cli-harness.ts) on a temp SQLite
 * file: a table with one line per channel and a total, `--json` the same view as GET /v1/kpis,
 * and a bad `--window` stopping with exit code 2 and the flag's name. The rows: two listings
 * pushed 1.5 s after their receipts, about a minute before the command runs (it reads the real
 * clock).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { movementCommand } from '../../src/http/api-mapping.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { onhand } from '../support/cli-harness.js';
import { ScriptedChannel } from '../support/scripted-channel.js';

async function prepare(database: string): Promise<void> {
  let now = Date.now() - 61_000;
  const clock = { now: () => now };
  const store = new SqliteStore({ filename: database });
  await store.migrate();
  let n = 0;
  const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++n}` });
  try {
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
    await store.catalogue.upsertVariants(
      ['A', 'B'].map((sku) => ({ sku, name: sku })),
      now,
    );
    await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], now);
    await store.availability.upsertListings(
      ['A', 'B'].map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
      now,
    );
    await ledger.submit(
      ['A', 'B'].map((sku) => movementCommand({ key: `r-${sku}`, type: 'receipt', sku, location: 'WH1', quantity: 3 })),
    );
    now += 1_500;
    const pusher = new ChannelDispatcher({
      channel: 'bol',
      connector: new ScriptedChannel(10),
      outbox: store.outbox,
      clock,
      owner: 'p1',
      policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
      leaseTtlMs: 1_000,
    });
    while ((await pusher.tick()) > 0);
    await pusher.stop();
  } finally {
    await ledger.close();
    await store.close();
  }
}

describe('onhand kpis', { concurrency: false }, () => {
  let directory: string;
  let database: string;
  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-kpi-cli-'));
    database = join(directory, 'cli.db');
    await prepare(database);
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('prints one line per channel and a total', async () => {
    const result = await onhand(['kpis', '--window', '1h', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^window 1h \(.+ to .+\); latency from /);
    assert.match(lines[1]!, /^CHANNEL +LINES +OVERSELLS +CANCELLED +P50 +P95 +QUEUE +OLDEST +DEAD +INBOX +DRIFT$/);
    assert.match(lines[2]!, /^bol +0 +0 \(-\) +0 +1\.5s +1\.5s +0 +- +0 +0 +0\/\d+ \(0\.00%\)$/, lines[2]);
    assert.match(lines[3]!, /^total +0 +0 \(-\) +0 +1\.5s +1\.5s +0 +- +0 +0 +0\/\d+ \(0\.00%\)$/, lines[3]);
    assert.match(lines[4]!, /target is under 0\.20%/);
  });

  it('--json prints the view of GET /v1/kpis', async () => {
    const result = await onhand(['kpis', '--json', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout);
    assert.equal(body.window, '24h');
    assert.deepEqual(
      [body.totals.latency_samples, body.totals.update_latency_p95_ms, body.channels[0].channel],
      [2, 1_500, 'bol'],
    );
  });

  it('refuses a bad --window with exit code 2', async () => {
    const result = await onhand(['kpis', '--window', '3w', '--database', database]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--window must be a number of hours or days/);
  });
});
