/**
 * Drift per listing on every store (outbox.recordChannelLevels, outbox.listDrift): what a
 * channel was seen showing is kept with its time and the time since it has shown that value;
 * a listing whose channel shows something else than it acknowledged, with no push pending, is
 * listed as drift, more at once, less confirmed only by two reads a grace apart; a read that
 * started before an acknowledged push is ignored; the drift KPI counts what listDrift lists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import { reconcileChannel } from '../../../src/reconcile/reconcile-pass.js';
import { driftRateTarget } from '../../../src/store/kpis-port.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../../support/scripted-channel.js';
import { STORES, type TestStore } from '../../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });
const grace = 60_000;

for (const factory of STORES) {
  describe(`${factory.name}: drift per listing`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = Date.UTC(2026, 10, 23, 10);
    const clock = { now: () => now };
    let ledger: GroupCommitter;
    let key = 0;
    const channel = new ScriptedChannel(10);
    const ids = new Map<string, string>();
    let receivedAt = 0;

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants(
        ['A', 'B', 'C'].map((sku) => ({ sku, name: sku })),
        now,
      );
      await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], now);
      await store.availability.upsertListings(
        ['A', 'B', 'C'].map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
        now,
      );
      await ledger.submit(
        ['A', 'B', 'C'].map(
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
      receivedAt = now;
      for (const sku of ['A', 'B', 'C']) ids.set(sku, (await store.availability.getAvailability(sku))![0]!.listingId);
      const pusher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
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

    const drift = async () =>
      (await store.outbox.listDrift('bol', { graceMs: grace, limit: 100 })).map((entry) => [
        entry.sku,
        entry.verdict.direction,
        entry.verdict.shown,
        entry.verdict.acknowledged,
        entry.verdict.confirmed,
      ]);

    it('lists nothing while every channel shows what it acknowledged', async () => {
      const readAt = now;
      const recorded = await store.outbox.recordChannelLevels(
        'bol',
        ['A', 'B', 'C'].map((sku) => ({ listingId: ids.get(sku)!, shown: 5 })),
        readAt,
        now,
      );
      assert.equal(recorded, 3);
      assert.deepEqual(await drift(), []);
    });

    it('lists more at once, less only when two reads a grace apart agree', async () => {
      await store.outbox.recordChannelLevels(
        'bol',
        [
          { listingId: ids.get('A')!, shown: 9 },
          { listingId: ids.get('B')!, shown: 2 },
        ],
        now,
        now,
      );
      assert.deepEqual(await drift(), [
        ['A', 'more', 9, 5, true],
        ['B', 'less', 2, 5, false],
      ]);
      now += grace;
      await store.outbox.recordChannelLevels('bol', [{ listingId: ids.get('B')!, shown: 2 }], now, now);
      assert.deepEqual(await drift(), [
        ['A', 'more', 9, 5, true],
        ['B', 'less', 2, 5, true],
      ]);
      // Another value starts the agreement over.
      await store.outbox.recordChannelLevels('bol', [{ listingId: ids.get('B')!, shown: 1 }], now, now);
      assert.deepEqual((await drift())[1], ['B', 'less', 1, 5, false]);
      const [first] = await store.outbox.listDrift('bol', { graceMs: grace, limit: 1 });
      assert.equal(first?.sku, 'A');
      const rest = await store.outbox.listDrift('bol', { graceMs: grace, afterId: first!.listingId, limit: 10 });
      assert.deepEqual(
        rest.map((entry) => entry.sku),
        ['B'],
      );
      assert.equal(rest[0]!.state.desired, 5);
      assert.equal(rest[0]!.desiredAt, receivedAt, 'when the receipt computed the desired quantity');
      assert.equal(rest[0]!.state.shownAt, now);
    });

    it('leaves a listing with a push pending out, and ignores a read older than the push', async () => {
      await ledger.submit([
        { type: 'receipt', key: 'r-C2', payloadHash: 'r-C2', sku: 'C', location: 'WH1', quantity: 1 } as LedgerCommand,
      ]);
      channel.shown.set('offer-C', 7);
      await store.outbox.recordChannelLevels('bol', [{ listingId: ids.get('C')!, shown: 7 }], now, now);
      assert.ok(!(await drift()).some(([sku]) => sku === 'C'), 'a push is pending: not drift');
      const readAt = now;
      now += 1_000;
      const pusher = new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy,
        random: () => 0.5,
      });
      channel.shown.set('offer-A', 9);
      channel.shown.set('offer-B', 1);
      while ((await pusher.tick()) > 0);
      assert.equal(channel.shown.get('offer-C'), 6);
      // A read that started before that push saw the old value: not recorded, not drift.
      assert.equal(
        await store.outbox.recordChannelLevels('bol', [{ listingId: ids.get('C')!, shown: 5 }], readAt, now),
        0,
      );
      assert.ok(!(await drift()).some(([sku]) => sku === 'C'));
    });

    it('reports the drift KPI at the window end: drifted listings / listings, beside its target', async () => {
      // A shows 9 (acknowledged 5), B shows 1 (acknowledged 5), C was pushed again and agrees.
      const kpis = await store.kpis.kpis({ from: now - 60 * 60_000, to: now });
      const bol = kpis.channels.find((entry) => entry.channel === 'bol')!;
      assert.deepEqual([bol.listings, bol.driftMore, bol.driftLess, bol.driftRate], [3, 1, 1, 2 / 3]);
      assert.deepEqual(
        [kpis.totals.listings, kpis.totals.driftMore, kpis.totals.driftLess, kpis.totals.driftRate],
        [3, 1, 1, 2 / 3],
      );
      assert.ok(bol.driftRate! > driftRateTarget, 'two of three drifted: far above the target');
      // A push pending takes a listing out of the drift (it changes anyway).
      await ledger.submit([
        { type: 'receipt', key: 'r-A2', payloadHash: 'r-A2', sku: 'A', location: 'WH1', quantity: 1 } as LedgerCommand,
      ]);
      const after = (await store.kpis.kpis({ from: now - 60 * 60_000, to: now })).channels.find(
        (entry) => entry.channel === 'bol',
      )!;
      assert.deepEqual([after.listings, after.driftMore, after.driftLess, after.driftRate], [3, 0, 1, 1 / 3]);
    });

    it('keeps the last reconcile pass per channel for the sync status, not a dry run', async () => {
      const status = async () => (await store.outbox.syncStatus(now)).find((entry) => entry.channel === 'bol')!;
      assert.equal((await status()).lastReconcile, null);
      const deps = { store, connector: channel, clock };
      now += grace; // B has shown 1 for longer than the grace: this read confirms it
      const full = await reconcileChannel(deps, { channel: 'bol', mode: 'full', graceMs: grace });
      assert.deepEqual((await status()).lastReconcile, {
        mode: 'full',
        startedAt: full.startedAt,
        finishedAt: full.finishedAt,
        read: 3,
        unknown: 0,
        driftMore: full.driftMore,
        driftLess: full.driftLess,
        unconfirmed: full.unconfirmed,
        dead: 0,
        repairs: full.repairs.length,
        readErrors: 0,
        firstReadError: null,
      });
      assert.deepEqual(
        [full.driftMore, full.driftLess, full.unconfirmed, full.repairs.length],
        [0, 1, 0, 1],
        'A has a push pending; B shows less, confirmed, and is repaired',
      );
      now += 1_000;
      await reconcileChannel(deps, { channel: 'bol', mode: 'targeted', dryRun: true, graceMs: grace });
      assert.equal((await status()).lastReconcile?.mode, 'full', 'a dry run is not kept');
      const unreadable = Object.assign(Object.create(channel) as ScriptedChannel, {
        readLevels: () => Promise.reject(new Error('503 from the channel')),
      });
      now += 1_000;
      await reconcileChannel({ ...deps, connector: unreadable }, { channel: 'bol', mode: 'full', graceMs: grace });
      const last = (await status()).lastReconcile!;
      assert.deepEqual(
        [last.mode, last.startedAt, last.read, last.readErrors, last.firstReadError, last.repairs],
        ['full', now, 3, 3, '503 from the channel', 0],
      );
    });
  });
}
