/**
 * The order lifecycle through the intake on both stores: random lifecycles of several lines
 * (edits, cancellations, fulfilments from two locations, voided fulfilments, refunds of each
 * restock type, platform returns), delivered in random permutations with duplicates and concurrent deliveries,
 * end in the reference model's ledger (test/support/order-lifecycles.ts), whatever the order.
 * Run longer with ONHAND_SIM_RUNS=<n>.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { OrderLineEvent } from '../../src/connectors/channel-intake.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import type { ChannelRecord } from '../../src/store/availability-store.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import type { LineFactEvent } from '../../src/core/orders/line-events.js';
import { deliveries, type Lifecycle, lifecycle, modelEffect } from '../support/order-lifecycles.js';
import { STORES, type TestStore } from '../support/stores.js';

const runs = Number(process.env.ONHAND_SIM_RUNS ?? 12);
const opening: Record<string, Record<string, number>> = { V1: { A: 100, B: 100 }, V2: { A: 0, B: 100 } };

/** One delivery the property is always tried on (see its `examples`). */
const pinned = (() => {
  const ordered = (quantity: number): LineFactEvent => ({
    eventId: 'order',
    occurredAt: 1001,
    fact: { kind: 'ordered', quantity, version: 1, fulfilledBy: 'merchant', locationId: null },
  });
  const cancel: LineFactEvent = { eventId: 'cancel', occurredAt: 1003, fact: { kind: 'cancelled', quantity: null } };
  const routed: Lifecycle = { line: 'L1', variant: 'V2', soldAt: null, events: [ordered(2)] };
  const cancelled: Lifecycle = { line: 'L2', variant: 'V1', soldAt: null, events: [ordered(3), cancel] };
  return {
    lives: [routed, cancelled],
    batches: [
      [{ life: cancelled, event: cancel }],
      [{ life: cancelled, event: cancelled.events[0]! }],
      [{ life: routed, event: routed.events[0]! }],
    ],
  };
})();

async function levels(store: LedgerStore) {
  const out = new Map<string, { reserved: number; onHand: number; quarantine: number }>();
  for (const sku of ['V1', 'V2']) {
    const stock = await store.ledger.getStock(sku, Date.now());
    for (const level of stock?.locations ?? [])
      out.set(`${sku}@${level.location}`, {
        reserved: level.reserved,
        onHand: level.on_hand,
        quarantine: level.quarantine,
      });
  }
  return out;
}

for (const factory of STORES) {
  describe(`${factory.name}: order lifecycles in any delivery order`, { skip: factory.skip }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let intake: OrderLineIntake;
    /** A second intake on the same store: another process, meeting the first at the row version. */
    let other: OrderLineIntake;
    let channel: ChannelRecord;
    const clock = { now: () => Date.now() };

    before(async () => {
      test = await factory.create();
      store = test.store;
      let ids = 0;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++ids}` });
      const now = clock.now();
      await store.catalogue.upsertLocations(
        [
          { code: 'A', name: 'A', kind: 'warehouse' },
          { code: 'B', name: 'B', kind: 'store' },
        ],
        now,
      );
      await store.catalogue.upsertVariants(
        [
          { sku: 'V1', name: 'V1' },
          { sku: 'V2', name: 'V2' },
        ],
        now,
      );
      await store.availability.upsertChannels(
        [
          {
            code: 'shop',
            name: 'Shop',
            platform: 'custom',
            locations: ['A', 'B'],
            settings: { orders: { locationMap: { pA: 'A', pB: 'B' } } },
          },
        ],
        now,
      );
      channel = (await store.availability.getChannel('shop'))!;
      const receipts: LedgerCommand[] = [];
      for (const [sku, at] of Object.entries(opening))
        for (const [location, quantity] of Object.entries(at))
          if (quantity > 0)
            receipts.push({
              type: 'receipt',
              key: `open-${sku}-${location}`,
              payloadHash: 'x',
              sku,
              location,
              quantity,
            });
      await ledger.submit(receipts);
      intake = new OrderLineIntake({
        store,
        ledger,
        clock,
        match: async (_channel, item) => item.sku,
      });
      other = new OrderLineIntake({ store, ledger, clock, match: async (_channel, item) => item.sku });
    });

    after(async () => {
      await ledger.close();
      await test.cleanup();
    });

    it('ends in the reference model’s levels', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc
            .array(fc.constantFrom('L1', 'L2', 'L3', 'L4'), { minLength: 1, maxLength: 3 })
            .chain((names) => fc.tuple(...[...new Set(names)].map((name) => lifecycle(name, ['V1', 'V2']))))
            .chain((lives) =>
              fc.tuple(
                fc.constant(lives),
                deliveries(lives.flatMap((life) => life.events.map((event) => ({ life, event })))),
                fc.boolean(),
              ),
            ),
          async ([lives, batches, concurrent]) => {
            run += 1;
            const before = await levels(store);
            const toEvent = ({ life, event }: (typeof batches)[number][number]): OrderLineEvent => ({
              ...event,
              lineKey: `custom:test:${run}:${life.line}`,
              orderId: String(run),
              lineId: life.line,
              item: { externalId: life.variant, sku: life.variant, barcode: null },
            });
            if (concurrent)
              await Promise.all(
                batches.map((batch, index) => (index % 2 === 0 ? intake : other).ingest(channel, batch.map(toEvent))),
              );
            else for (const batch of batches) await intake.ingest(channel, batch.map(toEvent));
            const afterLevels = await levels(store);
            const expected = new Map(before);
            for (const life of lives) {
              for (const [code, effect] of modelEffect(life, ['A', 'B'], (sku, code) => opening[sku]![code]! > 0)) {
                const key = `${life.variant}@${code}`;
                const known = expected.get(key) ?? { reserved: 0, onHand: 0, quarantine: 0 };
                expected.set(key, {
                  reserved: known.reserved + effect.reserved,
                  onHand: known.onHand + effect.onHand,
                  quarantine: known.quarantine + effect.quarantine,
                });
              }
            }
            for (const key of new Set([...expected.keys(), ...afterLevels.keys()])) {
              const zero = { reserved: 0, onHand: 0, quarantine: 0 };
              assert.deepEqual(afterLevels.get(key) ?? zero, expected.get(key) ?? zero, `${key} after run ${run}`);
            }
            for (const life of lives) {
              const line = await store.orders.getLine('shop', `custom:test:${run}:${life.line}`);
              assert.notEqual(line?.status, 'blocked', line?.reason ?? '');
            }
          },
        ),
        // Tried first, then the random runs: a line of a variant the first location lacks, and a
        // cancellation delivered (alone) before its order. Booking at the first location or
        // refusing the early cancellation fails on it, whatever the random runs meet.
        { numRuns: runs, examples: [[[pinned.lives, pinned.batches, false]]] },
      );
      const verify = await store.ledger.verify();
      assert.equal(verify.mismatches.length, 0);
      // The pool (A and B) always had the units: however lines were booked or moved, no true oversell.
      const oversells = await store.ledger.listOversells({ limit: 10 });
      assert.deepEqual(
        oversells.items.map((movement) => `${movement.key} ${movement.reason}`),
        [],
      );
    });

    const event = (line: string, id: string, fact: OrderLineEvent['fact']): OrderLineEvent => ({
      lineKey: `custom:test:${line}:1`,
      eventId: id,
      orderId: line,
      lineId: '1',
      item: { externalId: 'V1', sku: 'V1', barcode: null },
      occurredAt: clock.now() - 1000,
      fact,
    });
    const ordered = (quantity: number): OrderLineEvent['fact'] => ({
      kind: 'ordered',
      quantity,
      version: 1,
      fulfilledBy: 'merchant',
      locationId: null,
    });

    // The two behaviours this intake replaced, each pinned by one delivery order the random
    // property test above meets only by chance at its default run count.
    it('a cancellation delivered before its order nets to zero and releases no other line’s units', async () => {
      const start = (await levels(store)).get('V1@A')!;
      await intake.ingest(channel, [event('early-other', 'order', ordered(2))]);
      const early = await intake.ingest(channel, [event('early', 'cancel', { kind: 'cancelled', quantity: null })]);
      assert.deepEqual(early.blocked, []);
      assert.deepEqual(
        (await levels(store)).get('V1@A'),
        { ...start, reserved: start.reserved + 2 },
        'held for the other line',
      );
      await intake.ingest(channel, [event('early', 'order', ordered(3))]);
      assert.deepEqual(
        (await levels(store)).get('V1@A'),
        { ...start, reserved: start.reserved + 2 },
        'the late order holds nothing',
      );
      assert.equal((await store.orders.getLine('shop', 'custom:test:early:1'))?.status, 'closed');
    });

    it('books a line where its variant is available, not at the first location that has none', async () => {
      const start = await levels(store);
      await intake.ingest(channel, [
        { ...event('routed', 'order', ordered(2)), item: { externalId: 'V2', sku: 'V2', barcode: null } },
      ]);
      const now = await levels(store);
      assert.equal(now.get('V2@A')?.reserved ?? 0, start.get('V2@A')?.reserved ?? 0, 'nothing booked at A');
      assert.equal(now.get('V2@B')!.reserved, start.get('V2@B')!.reserved + 2, 'booked at B, which holds V2');
      const oversells = await store.ledger.listOversells({ limit: 10 });
      assert.deepEqual(oversells.items, [], 'no false oversell');
    });

    it('writes a step’s moves and its line together or not at all', async () => {
      const start = (await levels(store)).get('V1@A')!;
      // A process that dies inside the ledger transaction, after the moves and the line were
      // written to it and before the commit.
      const dying = new OrderLineIntake({
        store,
        ledger: {
          submit: (commands: readonly LedgerCommand[], options: Parameters<GroupCommitter['submit']>[1] = {}) =>
            ledger.submit(commands, {
              sideWrites: (answers) => {
                options.sideWrites?.(answers);
                throw new Error('killed before the commit');
              },
            }),
        } as unknown as GroupCommitter,
        clock,
        match: async (_channel, item) => item.sku,
      });
      await assert.rejects(dying.ingest(channel, [event('crash', 'order', ordered(2))]));
      assert.equal(await store.orders.getLine('shop', 'custom:test:crash:1'), null, 'no line without its moves');
      assert.deepEqual((await levels(store)).get('V1@A'), start, 'no moves without their line');
      // The redelivery applies it, once.
      await intake.ingest(channel, [event('crash', 'order', ordered(2))]);
      await intake.ingest(channel, [event('crash', 'order', ordered(2))]);
      assert.deepEqual((await levels(store)).get('V1@A'), { ...start, reserved: start.reserved + 2 });
      assert.equal((await store.orders.getLine('shop', 'custom:test:crash:1'))?.seq, 1);
    });

    it('a step computed from a line another writer changed meanwhile is not written, and is redone', async () => {
      const start = (await levels(store)).get('V1@A')!;
      let raced = false;
      const slow = new OrderLineIntake({
        store,
        ledger,
        clock,
        // Between reading the (new) line and submitting its step, another process records the
        // line's cancellation and its order.
        match: async (_channel, item) => {
          if (!raced) {
            raced = true;
            await other.ingest(channel, [
              event('race', 'order', ordered(3)),
              event('race', 'cancel', { kind: 'cancelled', quantity: null }),
            ]);
          }
          return item.sku;
        },
      });
      const report = await slow.ingest(channel, [event('race', 'order', ordered(3))]);
      assert.ok(raced);
      assert.equal(report.blocked.length, 0);
      // The slow step (reserve 3) must not have landed on top of the cancelled line.
      assert.deepEqual((await levels(store)).get('V1@A'), start);
      const line = await store.orders.getLine('shop', 'custom:test:race:1');
      assert.equal(line?.status, 'closed');
    });
  });
}
