/**
 * PostgreSQL only: the ledger's recompute (a batch storing its listings' new desired quantities)
 * and the dispatcher's results (each pushed listing's row updated) lock rows of
 * listing_quantities; two transactions that lock some of the same rows in opposite orders
 * deadlock, PostgreSQL breaks the cycle only after `deadlock_timeout` (1 s) by failing one, and
 * the store retries it. bench:order-latency measured 51 such deadlocks in 5 seconds before both
 * writers took rows in listing id order.
 *
 * Method: 60 listings of one channel; each round claims them, then runs at once a ledger batch
 * selling every variant (its recompute writes all 60 rows) and the results of the claim in
 * DESCENDING listing order (the order a connector may answer in). The store counts the
 * transactions it retried (40P01 deadlocks among them); none may be needed. Bounded: 15 rounds.
 *
 * Also here, as they are PostgreSQL's alone: a batch's side writes go as one statement of CTEs,
 * each still counted, so one write that finds fewer rows than it expects fails the batch whole;
 * and two batches creating the same new level of a variant no channel lists (so no recompute
 * plan locks it) wait on the variant's row instead of colliding on the level's key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import type { DispatchResult } from '../../../src/store/outbox-port.js';
import { SideWriteConflict } from '../../../src/store/ledger-store.js';
import { combinedSideWrites } from '../../../src/store/postgres/postgres-ledger.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { STORES, type TestStore } from '../../support/stores.js';

const T0 = Date.UTC(2026, 11, 7, 9);
const postgres = STORES.find((factory) => factory.name === 'postgres');
const skus = Array.from({ length: 60 }, (_, index) => `V${String(index).padStart(2, '0')}`);

describe('postgres: the recompute and the push results lock listings in one order', {
  skip: postgres ? postgres.skip : 'STORES excludes postgres',
}, () => {
  let test: TestStore;
  let store: LedgerStore;
  let ledger: GroupCommitter;
  let key = 0;

  before(async () => {
    test = await postgres!.create();
    store = test.store;
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], T0);
    await store.catalogue.upsertVariants(
      skus.map((sku) => ({ sku, name: sku })),
      T0,
    );
    await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], T0);
    await store.availability.upsertListings(
      skus.map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
      T0,
    );
    let ids = 0;
    ledger = new GroupCommitter(store, { now: () => Date.now() }, { next: (prefix) => `${prefix}_${++ids}` });
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
  });
  after(async () => {
    await ledger.close();
    await test.cleanup();
  });

  it('never deadlocks, whatever order a connector answers in', async () => {
    assert.ok(store instanceof PostgresStore);
    const epoch = (await store.outbox.acquireLease('bol', 'test', Date.now(), 60_000))!;
    const retriesBefore = store.retries;
    for (let round = 0; round < 15; round += 1) {
      const claimed = await store.outbox.claimDue('bol', epoch, Date.now(), 1000, 30_000);
      const results: DispatchResult[] = claimed
        .map((row) => ({
          listingId: row.listingId,
          desiredVersion: row.desiredVersion,
          status: 'ok' as const,
          channelQuantity: row.quantity,
          pushedQuantity: row.quantity,
        }))
        .sort((a, b) => Number(b.listingId) - Number(a.listingId));
      const sales = skus.map(
        (sku) =>
          ({
            type: 'sale',
            key: `sale-${round}-${++key}`,
            payloadHash: 'h',
            sku,
            location: 'WH1',
            quantity: 1,
          }) as LedgerCommand,
      );
      const batch = ledger.submit(sales);
      const recording: Promise<boolean> = store.outbox.recordResults('bol', epoch, results, Date.now());
      const answers = await batch;
      const recorded = await recording;
      assert.ok(answers.every((answer) => answer.status === 'applied'));
      assert.equal(recorded, true);
    }
    assert.equal(store.retries - retriesBefore, 0, 'no transaction had to be retried (no deadlock)');
  });

  it("sends a batch's side writes as one statement, each counted: one short of its rows fails the batch whole", async () => {
    const combined = combinedSideWrites([
      { sql: 'UPDATE t SET a = $1 WHERE id = $2 AND v = $1', params: [1, 2] },
      { sql: 'DELETE FROM u WHERE x = $1', params: [3] },
    ]);
    assert.equal(
      combined.sql,
      'WITH w0 AS (UPDATE t SET a = $1 WHERE id = $2 AND v = $1 RETURNING 1), w1 AS (DELETE FROM u WHERE x = $3 RETURNING 1) SELECT (SELECT count(*) FROM w0) AS c0, (SELECT count(*) FROM w1) AS c1',
    );
    assert.deepEqual(combined.params, [1, 2, 3]);

    const before = await store.ledger.getStock('V00', Date.now());
    const channel = `(SELECT id FROM channels WHERE code = 'bol')`;
    await assert.rejects(
      store.ledger.applyBatch(
        [{ type: 'receipt', key: 'side-write-conflict', payloadHash: 'h', sku: 'V00', location: 'WH1', quantity: 7 }],
        Date.now(),
        () => 'res_side',
        () => [
          {
            sql: `INSERT INTO unmapped_items (channel_id, external_id, sku, barcode, reason, at) SELECT id, $1, NULL, NULL, 'x', 1 FROM channels WHERE code = 'bol'`,
            params: ['side-write-item'],
            expectRows: 1,
          },
          {
            sql: `UPDATE order_lines SET version = version + 1 WHERE channel_id = ${channel} AND line_key = $1`,
            params: ['no-such-line'],
            expectRows: 1,
          },
        ],
      ),
      SideWriteConflict,
    );
    const after = await store.ledger.getStock('V00', Date.now());
    assert.equal(after?.total.on_hand, before?.total.on_hand, 'the receipt was not written');
    assert.equal(
      (await store.availability.listUnmapped({ channel: 'bol', limit: 10 })).length,
      0,
      'nor the first side write',
    );
  });

  it('two batches creating the same new level of an unlisted variant wait for each other, never collide', async () => {
    assert.ok(store instanceof PostgresStore);
    const fresh = Array.from({ length: 10 }, (_, index) => `UNLISTED-${index}`);
    await store.catalogue.upsertVariants(
      fresh.map((sku) => ({ sku, name: sku })),
      T0,
    );
    const retriesBefore = store.retries;
    for (const sku of fresh) {
      // Two transactions at once, each the first to receive this variant at WH1.
      const receive = (side: string) =>
        store.ledger.applyBatch(
          [{ type: 'receipt', key: `first-${sku}-${side}`, payloadHash: 'h', sku, location: 'WH1', quantity: 5 }],
          Date.now(),
          () => `res_${side}`,
        );
      const answers = await Promise.all([receive('a'), receive('b')]);
      assert.deepEqual(
        answers.map(([answer]) => answer?.status),
        ['applied', 'applied'],
      );
      assert.equal((await store.ledger.getStock(sku, Date.now()))?.total.on_hand, 10);
    }
    assert.equal(store.retries - retriesBefore, 0, 'no batch failed on the level key and was retried');
  });
});
