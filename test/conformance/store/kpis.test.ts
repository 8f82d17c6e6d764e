/**
 * KPIs over a window (store.kpis) on every store: a channel's order lines go through the real
 * intake and ledger, its listings through the real dispatcher, and each figure is checked
 * against what the scenario did, inside and outside the window: lines that booked units, true
 * oversells among them, cancellations after an oversell (and not after a plain order), push
 * latency from commit to acknowledgement, the queue, dead letters and the intake inbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OrderLineEvent } from '../../../src/connectors/channel-intake.js';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import type { OrderLineFact } from '../../../src/core/orders/line-events.js';
import { storeOrderItemMatcher } from '../../../src/ingest/order-item-match.js';
import { OrderLineIntake } from '../../../src/ingest/order-line-intake.js';
import type { ChannelRecord } from '../../../src/store/availability-store.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../../support/scripted-channel.js';
import { STORES, type TestStore } from '../../support/stores.js';

const t0 = Date.UTC(2026, 10, 23, 10);
const minute = 60_000;
const hour = 60 * minute;

for (const factory of STORES) {
  describe(`${factory.name}: KPIs over a window`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let now = t0;
    const clock = { now: () => now };
    let ledger: GroupCommitter;
    let intake: OrderLineIntake;
    let bol: ChannelRecord;
    let key = 0;
    const channel = new ScriptedChannel();
    const move = (commands: Record<string, unknown>[]) =>
      ledger.submit(
        commands.map(
          (command) => ({ ...command, key: `k${++key}`, payloadHash: `h${key}` }) as unknown as LedgerCommand,
        ),
      );
    const event = (order: string, item: string, fact: OrderLineFact, eventId: string): OrderLineEvent => ({
      lineKey: `bol:acct:${order}:1`,
      eventId,
      orderId: order,
      lineId: '1',
      item: { externalId: item, sku: null, barcode: null },
      occurredAt: now,
      fact,
    });
    const ordered = (quantity: number): OrderLineFact => ({
      kind: 'ordered',
      quantity,
      version: 1,
      fulfilledBy: 'merchant',
      locationId: null,
    });
    const cancelled: OrderLineFact = { kind: 'cancelled', quantity: null };
    const dispatcher = () =>
      new ChannelDispatcher({
        channel: 'bol',
        connector: channel,
        outbox: store.outbox,
        clock,
        owner: 'p1',
        policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
        random: () => 0.5,
      });

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      intake = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
      await store.catalogue.upsertVariants(
        ['A', 'B', 'C'].map((sku) => ({ sku, name: sku })),
        now,
      );
      await store.availability.upsertChannels(
        [
          { code: 'bol', name: 'Bol', platform: 'bol', locations: ['WH1'] },
          { code: 'quiet', name: 'Quiet', platform: 'bol', locations: ['WH1'] },
        ],
        now,
      );
      await store.availability.upsertListings(
        ['A', 'B', 'C'].map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
        now,
      );
      bol = (await store.availability.listChannels()).find((record) => record.code === 'bol')!;
      // Push what the listings show now, so the scenario's pushes start from a clean queue.
      while ((await dispatcher().tick()) > 0);
      await store.outbox.pruneSamples(now + 1);

      await move([{ type: 'receipt', sku: 'A', location: 'WH1', quantity: 2 }]); // A pending since t0
      now = t0 + minute;
      await move([{ type: 'receipt', sku: 'C', location: 'WH1', quantity: 5 }]); // C pending since t0+1m
      await intake.ingest(bol, [
        event('O1', 'offer-A', ordered(2), 'o1'), // books the last 2 of A
        event('O2', 'offer-A', ordered(1), 'o2'), // A's pool short by 1: a true oversell
        event('O3', 'offer-B', ordered(3), 'o3'), // B has none: short by 3
        event('O4', 'offer-X', ordered(1), 'o4'), // no listing: the intake inbox
      ]);
      now = t0 + 3 * minute;
      while ((await dispatcher().tick()) > 0); // A acknowledged 3 min after t0, C 2 min after t0+1m
      now = t0 + 10 * minute;
      await intake.ingest(bol, [
        event('O2', 'offer-A', cancelled, 'c2'), // cancelled after its oversell
        event('O1', 'offer-A', cancelled, 'c1'), // cancelled, never oversold
      ]);
      channel.permanent.add('offer-C');
      await move([{ type: 'receipt', sku: 'C', location: 'WH1', quantity: 1 }]);
      now = t0 + 12 * minute;
      await dispatcher().tick(); // A pushed (pending since t0+10m); C a dead letter
      await move([{ type: 'receipt', sku: 'B', location: 'WH1', quantity: 10 }]); // B pending since t0+12m
      now = t0 + 20 * minute;
    });
    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    it('counts booked lines, true oversells and cancellations after an oversell in the window', async () => {
      const kpis = await store.kpis.kpis({ from: t0, to: t0 + hour });
      const bolKpis = kpis.channels.find((entry) => entry.channel === 'bol')!;
      assert.deepEqual(
        [bolKpis.linesBooked, bolKpis.oversells, bolKpis.oversoldUnits, bolKpis.stockCancellations, bolKpis.inbox],
        [3, 2, 4, 1, 1],
        'O1-O3 booked, O2 and O3 oversold by 1 and 3, only O2 cancelled after it, O4 blocked',
      );
      assert.equal(bolKpis.oversellRate, 2 / 3);
      // Samples: A 3 min (t0 to t0+3m), C 2 min (t0+1m to t0+3m), A again 2 min (t0+10m to t0+12m).
      assert.deepEqual(
        [bolKpis.latencySamples, bolKpis.latencyP50Ms, bolKpis.latencyP95Ms],
        [3, 2 * minute, 3 * minute],
      );
      assert.equal(kpis.latencySince, t0 + 3 * minute);
      // At the window's end: B waits since t0+12m, C is a dead letter.
      assert.deepEqual([bolKpis.queueDepth, bolKpis.oldestPendingAgeMs, bolKpis.deadLetters], [1, 48 * minute, 1]);
      const quiet = kpis.channels.find((entry) => entry.channel === 'quiet')!;
      assert.deepEqual(
        [quiet.linesBooked, quiet.oversellRate, quiet.latencyP50Ms, quiet.queueDepth, quiet.inbox],
        [0, null, null, 0, 0],
      );
      assert.deepEqual(
        { ...kpis.totals },
        {
          linesBooked: 3,
          oversells: 2,
          oversoldUnits: 4,
          oversellRate: 2 / 3,
          stockCancellations: 1,
          latencySamples: 3,
          latencyP50Ms: 2 * minute,
          latencyP95Ms: 3 * minute,
          queueDepth: 1,
          oldestPendingAgeMs: 48 * minute,
          deadLetters: 1,
          inbox: 1,
          listings: 3,
          driftMore: 0,
          driftLess: 0,
          driftRate: 0,
        },
      );
    });

    it('tells how each channel stands now, as the KPIs do', async () => {
      const standing = await store.kpis.standing(t0 + hour);
      assert.deepEqual(standing, [
        {
          channel: 'bol',
          platform: 'bol',
          queueDepth: 1,
          oldestPendingAgeMs: 48 * minute,
          deadLetters: 1,
          inbox: 1,
          listings: 3,
          driftMore: 0,
          driftLess: 0,
        },
        {
          channel: 'quiet',
          platform: 'bol',
          queueDepth: 0,
          oldestPendingAgeMs: null,
          deadLetters: 0,
          inbox: 0,
          listings: 0,
          driftMore: 0,
          driftLess: 0,
        },
      ]);
    });

    it('counts only what was recorded inside the window', async () => {
      const late = (await store.kpis.kpis({ from: t0 + 5 * minute, to: t0 + hour })).totals;
      assert.deepEqual(
        [late.linesBooked, late.oversells, late.oversellRate, late.stockCancellations, late.latencySamples],
        [0, 0, null, 1, 1],
        'the cancellation at t0+10m counts against an oversell before the window; one push after t0+5m',
      );
      assert.equal(late.latencyP95Ms, 2 * minute);
      const early = (await store.kpis.kpis({ from: t0, to: t0 + 5 * minute })).totals;
      assert.deepEqual(
        [early.linesBooked, early.oversells, early.stockCancellations, early.latencySamples, early.latencyP95Ms],
        [3, 2, 0, 2, 3 * minute],
      );
    });
  });
}
