/**
 * The reconcile schedule (src/reconcile/reconcile-schedule.ts) on SQLite with a scripted
 * channel: the first round is a full pass, the next ones targeted until the full interval has
 * passed; a pass asked for while one runs waits for it; the last summary per channel is kept
 * (a dry run's is not); a channel not connected is refused; with a lease, a channel pushed by
 * another process is left to it; each channel keeps its own intervals (`settings.reconcile`)
 * and runs only when its pass is due.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import type { ReconcileSummary } from '../../src/reconcile/reconcile-pass.js';
import { ReconcileSchedule } from '../../src/reconcile/reconcile-schedule.js';
import { channelReconcileSettings } from '../../src/reconcile/reconcile-settings.js';
import { limits } from '../../src/core/limits.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../support/scripted-channel.js';
import { STORES, type TestStore } from '../support/stores.js';

const factory = STORES.find((each) => each.name === 'sqlite')!;
const minute = 60_000;
const hour = 60 * minute;

describe('reconcile schedule', { concurrency: false }, () => {
  let test: TestStore;
  let store: LedgerStore;
  let ledger: GroupCommitter;
  let now = Date.UTC(2026, 10, 23, 10);
  const clock = { now: () => now };
  const channel = new ScriptedChannel(10);
  const seen: ReconcileSummary[] = [];
  let schedule: ReconcileSchedule;

  before(async () => {
    test = await factory.create();
    store = test.store;
    let key = 0;
    ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
    await store.catalogue.upsertVariants([{ sku: 'A', name: 'A' }], now);
    await store.availability.upsertChannels([{ code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] }], now);
    await store.availability.upsertListings([{ channel: 'bol', externalId: 'offer-A', sku: 'A' }], now);
    await ledger.submit([
      { type: 'receipt', key: 'r', payloadHash: 'r', sku: 'A', location: 'WH1', quantity: 5 } as LedgerCommand,
    ]);
    const pusher = new ChannelDispatcher({
      channel: 'bol',
      connector: channel,
      outbox: store.outbox,
      clock,
      owner: 'p1',
      policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
      random: () => 0.5,
    });
    while ((await pusher.tick()) > 0);
    schedule = new ReconcileSchedule({
      store,
      clock,
      channels: [{ channel: 'bol', connector: channel }],
      fullIntervalMs: 24 * 60 * 60 * 1000,
      onSummary: (summary) => seen.push(summary),
    });
  });
  after(async () => {
    await schedule.stop();
    await ledger.close();
    await test.cleanup();
  });

  it('runs a full pass first, then targeted ones until the full interval has passed', async () => {
    await schedule.tick();
    now += 20 * 60 * 1000;
    await schedule.tick();
    now += 24 * 60 * 60 * 1000;
    await schedule.tick();
    assert.deepEqual(
      seen.map((summary) => summary.mode),
      ['full', 'targeted', 'full'],
    );
    assert.equal(seen[0]!.read, 1);
    assert.equal(seen[1]!.read, 0, 'nothing pushed or changed within the window');
  });

  it('serialises passes on a channel and keeps the last summary, not a dry run’s', async () => {
    channel.shown.set('offer-A', 8);
    const [first, second] = await Promise.all([schedule.runNow('bol', 'full', true), schedule.runNow('bol', 'full')]);
    assert.ok(first.finishedAt <= second.startedAt);
    assert.equal(first.repairs.length, 1);
    assert.equal(second.repairs.length, 1);
    assert.deepEqual(
      schedule.lastSummaries().map((summary) => [summary.channel, summary.dryRun, summary.repairs.length]),
      [['bol', false, 1]],
    );
    await assert.rejects(schedule.runNow('shop', 'targeted'), /not connected/);
  });

  it('with a lease, runs the scheduled passes only where this process holds the channel', async () => {
    const passes: ReconcileSummary[] = [];
    const leased = (owner: string) =>
      new ReconcileSchedule({
        store,
        clock,
        channels: [{ channel: 'bol', connector: channel }],
        lease: { outbox: store.outbox, owner },
        onSummary: (summary) => passes.push(summary),
      });
    assert.notEqual(await store.outbox.acquireLease('bol', 'pusher-elsewhere', now, 15_000), null);
    await leased('here').tick();
    assert.equal(passes.length, 0, 'another process pushes bol: it reads it back');
    now += 16_000; // that process's lease lapsed
    await leased('here').tick();
    assert.equal(passes.length, 1);
    assert.equal(await store.outbox.acquireLease('bol', 'pusher-elsewhere', now, 15_000), null, 'now held here');
  });

  it("keeps each channel's own intervals from its settings, and runs a channel only when due", async () => {
    await store.availability.upsertChannels(
      [
        {
          code: 'bol',
          name: 'Bol',
          platform: 'bol',
          locations: ['WH1'],
          settings: { reconcile: { targetedIntervalMs: 2 * minute, fullIntervalMs: hour } },
        },
      ],
      now,
    );
    const bol = (await store.availability.getChannel('bol'))!;
    assert.deepEqual(channelReconcileSettings(bol), { targetedIntervalMs: 2 * minute, fullIntervalMs: hour });
    assert.deepEqual(channelReconcileSettings({ settings: {} }), {
      targetedIntervalMs: limits.reconcileTargetedIntervalMs,
      fullIntervalMs: limits.reconcileFullIntervalMs,
    });
    const passes: [string, string][] = [];
    const own = new ReconcileSchedule({
      store,
      clock,
      channels: [
        { channel: 'bol', connector: channel, ...channelReconcileSettings(bol) },
        { channel: 'other', connector: channel },
      ],
      onSummary: (summary) => passes.push([summary.channel, summary.mode]),
    });
    assert.deepEqual(own.intervals(), [
      { channel: 'bol', targetedIntervalMs: 2 * minute, fullIntervalMs: hour },
      {
        channel: 'other',
        targetedIntervalMs: limits.reconcileTargetedIntervalMs,
        fullIntervalMs: limits.reconcileFullIntervalMs,
      },
    ]);
    const round = async (advanceMs: number) => {
      now += advanceMs;
      passes.length = 0;
      await own.tick();
      return passes.map((pass) => pass.join(' ')).sort();
    };
    assert.deepEqual(await round(0), ['bol full', 'other full'], 'both run their first, full pass');
    assert.deepEqual(await round(2 * minute), ['bol targeted'], 'other (5 minutes) is not due');
    assert.deepEqual(await round(minute), [], 'neither is due');
    assert.deepEqual(await round(2 * minute), ['bol targeted', 'other targeted']);
    assert.deepEqual(await round(hour - 5 * minute), ['bol full', 'other targeted'], "bol's hour has passed");
  });
});
