/**
 * `onhand reconcile` as a user runs it (in-process, test/support/cli-harness.ts) on a temp
 * SQLite file whose channel `bol` is connected to the Bol.com simulator: a quantity edited in
 * the seller portal shows in the summary line; `--dry-run` queues nothing, the plain run
 * queues the repair and records it; `--json` prints the summaries; an unknown or unconnected
 * channel exits 1; on a terminal a progress bar runs on stderr, elsewhere nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { onhand } from '../support/cli-harness.js';

describe('onhand reconcile', { concurrency: false }, () => {
  const directory = mkdtempSync(join(tmpdir(), 'onhand-reconcile-'));
  const database = join(directory, 'onhand.db');
  const sim = new BolSimulator();
  const offers = new Map<string, string>();

  const repairs = async () => {
    const store = new SqliteStore({ filename: database });
    try {
      return await store.outbox.listRepairs({ limit: 10 });
    } finally {
      await store.close();
    }
  };

  before(async () => {
    const url = await sim.start();
    const clock = { now: () => Date.now() };
    const store = new SqliteStore({ filename: database });
    await store.migrate();
    let n = 0;
    const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++n}` });
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
    await store.catalogue.upsertVariants(
      ['A', 'B'].map((sku) => ({ sku, name: sku })),
      clock.now(),
    );
    const connector = {
      client_id: 'onhand-sim',
      client_secret: 'onhand-sim-secret',
      base_url: url,
      token_url: sim.tokenUrl,
    };
    await store.availability.upsertChannels(
      [
        { code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'], settings: { connector } },
        { code: 'shop', name: 'Shop', platform: 'shopify', locations: ['WH1'] },
      ],
      clock.now(),
    );
    for (const sku of ['A', 'B']) offers.set(sku, sim.seedOffer({ amount: 0 }));
    await store.availability.upsertListings(
      ['A', 'B'].map((sku) => ({ channel: 'bol', externalId: offers.get(sku)!, sku })),
      clock.now(),
    );
    await ledger.submit(
      ['A', 'B'].map(
        (sku) =>
          ({
            type: 'receipt',
            key: `r-${sku}`,
            payloadHash: `r-${sku}`,
            sku,
            location: 'WH1',
            quantity: 5,
          }) as LedgerCommand,
      ),
    );
    const dispatcher = new ChannelDispatcher({
      channel: 'bol',
      connector: new BolConnector({
        account: 'bol',
        baseUrl: url,
        tokenUrl: sim.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
      }),
      outbox: store.outbox,
      clock,
      owner: 'test',
      policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
      random: () => 0.5,
    });
    while ((await dispatcher.tick()) > 0);
    await ledger.close();
    await store.close();
    sim.editStockOutOfBand(offers.get('A')!, 9);
  });
  after(async () => {
    await sim.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('reports the drift on a dry run and queues nothing', async () => {
    const result = await onhand(['reconcile', '--channel', 'bol', '--dry-run', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^bol: targeted \(dry run\), 2 read, drift 1 more, 0 less .*would repair 1/m);
    assert.deepEqual(await repairs(), []);
  });

  it('queues the repair and records it; --json prints the summaries', async () => {
    const result = await onhand(['reconcile', '--full', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^bol: full, 2 read, drift 1 more, 0 less .*repaired 1/m);
    const recorded = await repairs();
    assert.deepEqual(
      recorded.map((repair) => [repair.channel, repair.sku, repair.direction, repair.shown, repair.desired]),
      [['bol', 'A', 'more', 9, 5]],
    );
    const json = await onhand(['reconcile', '--json', '--database', database]);
    assert.equal(json.code, 0, json.stderr);
    const { channels } = JSON.parse(json.stdout) as {
      channels: { channel: string; read: number; driftMore: number }[];
    };
    assert.deepEqual(
      channels.map((each) => [each.channel, each.driftMore]),
      [['bol', 0]],
      'the repair is pending: not drift while its push is queued',
    );
  });

  it('draws a progress bar on stderr only when it is a terminal', async () => {
    const tty = await onhand(['reconcile', '--full', '--channel', 'bol', '--database', database], {}, { tty: true });
    assert.equal(tty.code, 0, tty.stderr);
    assert.match(tty.stdout, /^bol: full, 2 read/m);
    assert.match(tty.stderr, /\r\[#{30}\] 100% 2\/2 listings read on bol\n$/, JSON.stringify(tty.stderr));
    const piped = await onhand(['reconcile', '--full', '--channel', 'bol', '--database', database]);
    assert.equal(piped.stderr, '', 'no bar in a pipe or a log');
  });

  it('exits 1 for a channel that does not exist or is not connected', async () => {
    const unknown = await onhand(['reconcile', '--channel', 'nope', '--database', database]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no channel nope/);
    const unconnected = await onhand(['reconcile', '--channel', 'shop', '--database', database]);
    assert.equal(unconnected.code, 1);
    assert.match(unconnected.stderr, /not connected/);
  });
});
