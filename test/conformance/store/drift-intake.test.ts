/**
 * A polled channel's intake confirms drift (outbox.saveCursor with the poll's start,
 * outbox.listDrift), on every store: a single read showing less is confirmed once a poll that
 * started after the read saved its cursor, and not before; a poll that did not catch up keeps
 * the last moment the intake caught up to. Then the repair of that drift (outbox.requeueRepair):
 * its re-queue and its record are one transaction, so a record that fails leaves the listing
 * not re-queued.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../../support/scripted-channel.js';
import { STORES, type TestStore } from '../../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });
const grace = 60_000;

for (const factory of STORES) {
  describe(`${factory.name}: the order intake confirms drift`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = Date.UTC(2026, 10, 23, 10);
    const clock = { now: () => now };
    let ledger: GroupCommitter;
    let key = 0;
    let listingId = '';

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants([{ sku: 'A', name: 'A' }], now);
      await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], now);
      await store.availability.upsertListings([{ channel: 'bol', externalId: 'offer-A', sku: 'A' }], now);
      await ledger.submit([
        { type: 'receipt', key: 'r-A', payloadHash: 'r-A', sku: 'A', location: 'WH1', quantity: 5 } as LedgerCommand,
      ]);
      listingId = (await store.availability.getAvailability('A'))![0]!.listingId;
      const pusher = new ChannelDispatcher({
        channel: 'bol',
        connector: new ScriptedChannel(10),
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        random: () => 0.5,
      });
      while ((await pusher.tick()) > 0);
      now += 1_000;
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    /** Run SQL on the store's data from another connection (to install or drop a trigger). */
    const exec = async (sqlite: string, postgres: string) => {
      if (factory.name === 'sqlite') {
        const db = new Database(test.database);
        try {
          db.exec(sqlite);
        } finally {
          db.close();
        }
        return;
      }
      const client = new pg.Client({ connectionString: test.database });
      await client.connect();
      try {
        await client.query(postgres);
      } finally {
        await client.end();
      }
    };

    const confirmed = async () => {
      const entries = await store.outbox.listDrift('bol', { graceMs: grace, limit: 10 });
      assert.deepEqual(
        entries.map((entry) => [entry.verdict.direction, entry.verdict.shown, entry.verdict.acknowledged]),
        [['less', 2, 5]],
      );
      return entries[0]!.verdict.confirmed;
    };

    it('confirms a single read showing less once a poll started after it saved its cursor', async () => {
      const readAt = now;
      await store.outbox.recordChannelLevels('bol', [{ listingId, shown: 2 }], readAt, now);
      assert.equal(await confirmed(), false, 'one read, no poll: unconfirmed');
      await store.outbox.saveCursor('bol', 'c1', now + 10, readAt - 1);
      assert.equal(await confirmed(), false, 'the poll began before the read');
      await store.outbox.saveCursor('bol', 'c2', now + 20, readAt);
      assert.equal(await confirmed(), false, 'the poll began with the read');
      assert.equal(await store.outbox.loadCursor('bol'), 'c2');
      now += 5_000;
      await store.outbox.saveCursor('bol', 'c3', now, readAt + 1);
      assert.equal(await confirmed(), true, 'a poll that began after the read has caught up past it');
      // A later poll that did not catch up keeps the last moment the intake caught up to.
      await store.outbox.saveCursor('bol', 'c4', now + 1_000);
      assert.equal(await store.outbox.loadCursor('bol'), 'c4');
      assert.equal(await confirmed(), true);
    });

    it('starts over when the channel shows another value after the poll', async () => {
      now += 1_000;
      await store.outbox.recordChannelLevels('bol', [{ listingId, shown: 2 }], now, now);
      assert.equal(await confirmed(), true, 'the same value: still the first read counts');
      await store.outbox.recordChannelLevels('bol', [{ listingId, shown: 3 }], now, now);
      await store.outbox.recordChannelLevels('bol', [{ listingId, shown: 2 }], now, now);
      assert.equal(await confirmed(), false, 'a new value, read after the last poll began');
      now += 1_000;
      await store.outbox.saveCursor('bol', 'c5', now, now - 1);
      assert.equal(await confirmed(), true);
    });

    it('a repair whose record fails is not re-queued: the re-queue and the record are one transaction', async () => {
      const [entry] = await store.outbox.listDrift('bol', { graceMs: grace, limit: 10 });
      assert.equal(entry?.verdict.confirmed, true);
      await exec(
        `CREATE TRIGGER refuse_repair BEFORE INSERT ON reconcile_repairs BEGIN SELECT RAISE(ABORT, 'record refused'); END`,
        `CREATE FUNCTION refuse_repair() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'record refused'; END $$;
         CREATE TRIGGER refuse_repair BEFORE INSERT ON reconcile_repairs FOR EACH ROW EXECUTE FUNCTION refuse_repair()`,
      );
      await assert.rejects(store.outbox.requeueRepair('bol', entry!, now), /record refused/);
      const still = await store.outbox.listDrift('bol', { graceMs: grace, limit: 10 });
      assert.deepEqual(
        still.map((each) => [each.listingId, each.state.pushPending, each.verdict.confirmed]),
        [[listingId, false, true]],
        'no push queued: the listing is still in drift, not pending',
      );
      assert.deepEqual(await store.outbox.listRepairs({ channel: 'bol', limit: 10 }), []);

      await exec(
        'DROP TRIGGER refuse_repair',
        'DROP TRIGGER refuse_repair ON reconcile_repairs; DROP FUNCTION refuse_repair()',
      );
      const repair = await store.outbox.requeueRepair('bol', entry!, now);
      assert.deepEqual([repair?.direction, repair?.shown, repair?.acknowledged, repair?.desired], ['less', 2, 5, 5]);
      assert.deepEqual(
        await store.outbox.listDrift('bol', { graceMs: grace, limit: 10 }),
        [],
        'queued: a push is pending',
      );
      assert.equal((await store.outbox.listRepairs({ channel: 'bol', limit: 10 })).length, 1);
      assert.equal(await store.outbox.requeueRepair('bol', entry!, now), null, 'already queued: not again');
      assert.equal((await store.outbox.listRepairs({ channel: 'bol', limit: 10 })).length, 1);
    });
  });
}
