/**
 * Bol.com orders end to end, on every store: the Bol simulator's orders are polled by the real
 * BolConnector through OrderPolling (lease, cursor saved after the events are recorded) into
 * OrderLineIntake and the ledger:
 * - an order with a merchant-fulfilled (FBR) and a bol-fulfilled (FBB) item: the FBR item is
 *   reserved at the first of the channel's locations that has it all (the first is short), the
 *   FBB item never touches the merchant's stock (information only), and in a channel with a
 *   `marketplace_fulfilment` location it is booked there;
 * - the FBR item shipped and cancelled in parts, polled between steps: the levels are exactly
 *   what bol's totals imply, and a re-poll, a stale (replayed) order list and a cursor reset to
 *   the initial one (a crash before saving it) change nothing;
 * - a customer's cancellation request alone releases nothing;
 * - an unmapped offer waits in the intake inbox with its reason while the cursor moves on, and
 *   is applied once its listing is added;
 * - no true oversell is recorded, and every level verifies against its movements.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import { bolRateRules } from '../../src/connectors/bol/bol-limits.js';
import { initialBolOrdersCursor } from '../../src/connectors/bol/bol-orders.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import type { OrderIngestReport } from '../../src/ingest/order-ingest-report.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { reconcileChannel } from '../../src/reconcile/reconcile-pass.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../support/stores.js';

const clock = { now: () => Date.now() };

/**
 * bol allows 25 order-list GETs a minute; this file polls more often than that within seconds.
 * The simulator and the connector both get a wider list window (the same on both sides, so the
 * client still never causes a 429); every other window is bol's.
 */
const rateRules = bolRateRules.map((rule) => (rule.name === 'orders-list' ? { ...rule, capacity: 1_000 } : rule));

interface BolChannel {
  code: string;
  sim: BolSimulator;
  offers: Record<string, string>;
}

/** Per location of a sku: on_hand and reserved. */
async function levels(store: LedgerStore, sku: string) {
  const stock = await store.ledger.getStock(sku, clock.now());
  return Object.fromEntries(
    (stock?.locations ?? []).map((level) => [level.location, { onHand: level.on_hand, reserved: level.reserved }]),
  );
}

const level = (onHand: number, reserved: number) => ({ onHand, reserved });

/** Opening stock per sku and location. */
const opening: Record<string, Record<string, number>> = {
  // WH1 is the channel's first location but short of the 5 ordered: the order goes to WH2.
  MUG: { WH1: 2, WH2: 10 },
  LAMP: { WH1: 10, WH2: 10 },
  ASK: { WH1: 10, WH2: 10 },
  GHOST: { WH1: 10, WH2: 10 },
  MUG2: { WH1: 10, WH2: 10 },
  LAMP2: { WH1: 10, WH2: 10, FBB: 5 },
};

for (const factory of STORES) {
  describe(`${factory.name}: Bol.com orders polled into the ledger`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let intake: OrderLineIntake;
    let polling: OrderPolling;
    const errors: string[] = [];
    const channels: BolChannel[] = [];
    const connectorOf = new Map<string, BolConnector>();
    let key = 0;

    /** A simulated bol account with one offer per entry, and its channel over `locations`. */
    async function openChannel(
      code: string,
      locations: string[],
      offers: Record<string, { method: 'FBR' | 'FBB'; listed: boolean }>,
    ): Promise<{ channel: BolChannel; connector: BolConnector }> {
      const sim = new BolSimulator({ rateRules });
      const url = await sim.start();
      const ids: Record<string, string> = {};
      for (const [sku, offer] of Object.entries(offers))
        ids[sku] = sim.seedOffer({ fulfilmentMethod: offer.method, reference: `ref-${sku}` });
      await store.availability.upsertChannels([{ code, name: code, platform: 'bol', locations }], clock.now());
      await store.availability.upsertListings(
        Object.entries(offers)
          .filter(([, offer]) => offer.listed)
          .map(([sku]) => ({ channel: code, externalId: ids[sku]!, sku })),
        clock.now(),
      );
      const connector = new BolConnector({
        account: code,
        baseUrl: url,
        tokenUrl: sim.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
        rateRules,
      });
      const channel = { code, sim, offers: ids };
      channels.push(channel);
      connectorOf.set(code, connector);
      return { channel, connector };
    }

    let bol: BolChannel;
    let fbb: BolChannel;

    /** One poll of the channel; it must have run (lease held) and reported no error. */
    async function poll(channel: BolChannel): Promise<OrderIngestReport> {
      const report = await polling.pollOnce(channel.code);
      assert.ok(report !== null, `${channel.code} polled`);
      assert.deepEqual(errors, [], 'no poll error');
      assert.deepEqual(report.invalid, []);
      return report;
    }

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      await store.catalogue.upsertLocations(
        [
          { code: 'WH1', name: 'Main warehouse', kind: 'warehouse' },
          { code: 'WH2', name: 'Second warehouse', kind: 'warehouse' },
          { code: 'FBB', name: 'bol warehouse', kind: 'marketplace_fulfilment' },
        ],
        clock.now(),
      );
      await store.catalogue.upsertVariants(
        Object.keys(opening).map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      const receipts: LedgerCommand[] = Object.entries(opening).flatMap(([sku, at]) =>
        Object.entries(at).map(([location, quantity]) => ({
          type: 'receipt' as const,
          key: `stock-${sku}-${location}`,
          payloadHash: 'stock',
          sku,
          location,
          quantity,
        })),
      );
      const answers = await ledger.submit(receipts);
      assert.ok(
        answers.every((answer) => answer.status === 'applied'),
        'opening stock',
      );

      const first = await openChannel('bol', ['WH1', 'WH2'], {
        MUG: { method: 'FBR', listed: true },
        LAMP: { method: 'FBB', listed: true },
        ASK: { method: 'FBR', listed: true },
        GHOST: { method: 'FBR', listed: false },
      });
      // The marketplace location is not the merchant's: FBR items are routed over WH1, WH2 only.
      const second = await openChannel('bolfbb', ['WH1', 'WH2', 'FBB'], {
        MUG2: { method: 'FBR', listed: true },
        LAMP2: { method: 'FBB', listed: true },
      });
      bol = first.channel;
      fbb = second.channel;
      intake = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      polling = new OrderPolling({
        store,
        orders: intake,
        clock,
        owner: 'test',
        onError: (channel, error) => errors.push(`${channel}: ${String(error)}`),
        channels: [
          { channel: 'bol', connector: first.connector },
          { channel: 'bolfbb', connector: second.connector },
        ],
      });
    });

    after(async () => {
      await polling?.stop();
      for (const channel of channels) await channel.sim.stop();
      await ledger?.close();
      await test?.cleanup();
    });

    /** The order of the first two tests: MUG x5 (FBR) and LAMP x2 (FBB). */
    const mixed = { orderId: '', mug: '', lamp: '' };

    it('reserves the FBR item at the first location that has it all, keeps the FBB item for information only', async () => {
      const order = bol.sim.createOrder({
        items: [
          { offerId: bol.offers.MUG!, quantity: 5 },
          { offerId: bol.offers.LAMP!, quantity: 2 },
        ],
      });
      mixed.orderId = order.orderId;
      [mixed.mug, mixed.lamp] = order.orderItemIds as [string, string];
      const report = await poll(bol);
      assert.deepEqual([report.events, report.changed, report.info, report.blocked], [2, 1, 1, []]);
      assert.deepEqual(await levels(store, 'MUG'), { WH1: level(2, 0), WH2: level(10, 5) }, 'WH1 is short: WH2');
      assert.deepEqual(await levels(store, 'LAMP'), { WH1: level(10, 0), WH2: level(10, 0) }, 'FBB: not ours');

      const lines = await store.orders.orderLines('bol', mixed.orderId);
      const byItem = new Map(lines.map((line) => [line.lineId, line]));
      const lamp = byItem.get(mixed.lamp)!;
      assert.equal(lamp.lineKey, `bol:bol:${mixed.orderId}:${mixed.lamp}`);
      assert.deepEqual([lamp.sku, lamp.status, lamp.applied], ['LAMP', 'info', {}]);
      assert.match(lamp.reason ?? '', /marketplace/);
      const mug = byItem.get(mixed.mug)!;
      assert.deepEqual(
        [mug.sku, mug.status, mug.applied],
        ['MUG', 'open', { WH2: { reserved: 5, shipped: 0, writtenOff: 0, returned: 0 } }],
      );

      // bol ships the FBB item from its own warehouse: still nothing of the merchant's moves.
      bol.sim.shipOrderItem(mixed.orderId, mixed.lamp);
      const shipped = await poll(bol);
      assert.deepEqual([shipped.changed, shipped.info], [0, 1]);
      assert.deepEqual(await levels(store, 'LAMP'), { WH1: level(10, 0), WH2: level(10, 0) });
      assert.equal((await store.orders.getLine('bol', lamp.lineKey))?.status, 'info');
    });

    it('books the FBB item at the marketplace_fulfilment location of a channel that has one', async () => {
      const order = fbb.sim.createOrder({
        items: [
          { offerId: fbb.offers.MUG2!, quantity: 1 },
          { offerId: fbb.offers.LAMP2!, quantity: 2 },
        ],
      });
      const report = await poll(fbb);
      assert.deepEqual([report.changed, report.info, report.blocked], [2, 0, []]);
      assert.deepEqual(await levels(store, 'LAMP2'), { WH1: level(10, 0), WH2: level(10, 0), FBB: level(5, 2) });
      assert.deepEqual(await levels(store, 'MUG2'), { WH1: level(10, 1), WH2: level(10, 0) }, 'FBR: not at FBB');
      const lamp = (await store.orders.orderLines('bolfbb', order.orderId)).find(
        (line) => line.lineId === order.orderItemIds[1],
      );
      assert.deepEqual(
        [lamp?.status, lamp?.applied],
        ['open', { FBB: { reserved: 2, shipped: 0, writtenOff: 0, returned: 0 } }],
      );

      fbb.sim.shipOrderItem(order.orderId, order.orderItemIds[1]!);
      await poll(fbb);
      assert.deepEqual(await levels(store, 'LAMP2'), { WH1: level(10, 0), WH2: level(10, 0), FBB: level(3, 0) });
    });

    it('follows partial shipments and cancellations to the totals; re-polls, a replayed list and a reset cursor change nothing', async () => {
      const totals = { shipped: 0, cancelled: 0 };
      // MUG x5 at WH2 (opening 10): reserved what is open, on_hand less what shipped.
      const implied = () => ({
        WH1: level(2, 0),
        WH2: level(10 - totals.shipped, 5 - totals.shipped - totals.cancelled),
      });
      const unchanged = async (what: string, report: OrderIngestReport) => {
        assert.equal(report.changed, 0, `${what}: no line changed`);
        assert.deepEqual(await levels(store, 'MUG'), implied(), `${what}: levels as the totals imply`);
      };
      const steps: { name: string; shipped: number; cancelled: number }[] = [
        { name: 'ship 2', shipped: 2, cancelled: 0 },
        { name: 'cancel 1', shipped: 0, cancelled: 1 },
        { name: 'ship 1', shipped: 1, cancelled: 0 },
        { name: 'cancel the last', shipped: 0, cancelled: 1 },
      ];
      for (const { name, shipped, cancelled } of steps) {
        if (shipped > 0) bol.sim.shipOrderItem(mixed.orderId, mixed.mug, shipped);
        if (cancelled > 0) bol.sim.cancelOrderItem(mixed.orderId, mixed.mug, cancelled);
        if (name === 'ship 1') {
          // A stale copy of the previous list: the change is not seen yet, and nothing else moves...
          const replayed = bol.sim.stats().replayedOrderLists;
          bol.sim.injectFaults({ replayOrderListNext: 1 });
          await unchanged('stale list', await poll(bol));
          assert.equal(bol.sim.stats().replayedOrderLists, replayed + 1, 'the list was replayed');
        }
        totals.shipped += shipped;
        totals.cancelled += cancelled;
        // ...and the next poll's change interval still covers it.
        const report = await poll(bol);
        assert.equal(report.changed, 1, `${name}: the line changed`);
        assert.deepEqual(await levels(store, 'MUG'), implied(), `after ${name}`);
        await unchanged(`${name}, polled again`, await poll(bol));
        if (name === 'cancel 1') {
          // A crash after recording but before saving the cursor: the full scan re-reads the open item.
          await store.outbox.saveCursor('bol', JSON.stringify(initialBolOrdersCursor()), clock.now());
          const again = await poll(bol);
          assert.ok(again.unchanged >= 1, 'the open item was read again');
          await unchanged(`${name}, cursor reset`, again);
        }
        if (name === 'ship 2') {
          const replayed = bol.sim.stats().replayedOrderLists;
          bol.sim.injectFaults({ replayOrderListNext: 1 });
          await unchanged(`${name}, list replayed`, await poll(bol));
          assert.equal(bol.sim.stats().replayedOrderLists, replayed + 1, 'the list was replayed');
        }
      }
      assert.deepEqual(await levels(store, 'MUG'), { WH1: level(2, 0), WH2: level(7, 0) });
      const line = await store.orders.getLine('bol', `bol:bol:${mixed.orderId}:${mixed.mug}`);
      assert.deepEqual(
        [line?.status, line?.applied],
        ['closed', { WH2: { reserved: 0, shipped: 3, writtenOff: 0, returned: 0 } }],
      );
      // A reset once the item is handled: the full scan no longer lists it, nothing is undone.
      await store.outbox.saveCursor('bol', JSON.stringify(initialBolOrdersCursor()), clock.now());
      await unchanged('handled, cursor reset', await poll(bol));
      assert.equal(bol.sim.stats().rateLimitViolations, 0);
    });

    it('releases nothing on a bare cancellation request, then the confirmed cancellation', async () => {
      const { orderId, orderItemIds } = bol.sim.createOrder({ items: [{ offerId: bol.offers.ASK!, quantity: 2 }] });
      const item = orderItemIds[0]!;
      await poll(bol);
      assert.deepEqual(await levels(store, 'ASK'), { WH1: level(10, 2), WH2: level(10, 0) });
      bol.sim.requestCancellation(orderId, item);
      const requested = await poll(bol);
      assert.equal(requested.changed, 0);
      assert.deepEqual(await levels(store, 'ASK'), { WH1: level(10, 2), WH2: level(10, 0) }, 'still sold');
      // Read from the start again: the detail, request and all, is mapped afresh; still nothing freed.
      const details = bol.sim.stats().requestsByRule['orders-detail'] ?? 0;
      await store.outbox.saveCursor('bol', JSON.stringify(initialBolOrdersCursor()), clock.now());
      assert.equal((await poll(bol)).changed, 0);
      assert.ok((bol.sim.stats().requestsByRule['orders-detail'] ?? 0) > details, 'the detail was read');
      assert.deepEqual(await levels(store, 'ASK'), { WH1: level(10, 2), WH2: level(10, 0) }, 'still sold');
      // The retailer confirms: bol reports the units in quantityCancelled, and only now they are freed.
      bol.sim.cancelOrderItem(orderId, item);
      assert.equal((await poll(bol)).changed, 1);
      assert.deepEqual(await levels(store, 'ASK'), { WH1: level(10, 0), WH2: level(10, 0) });
    });

    it('keeps an unmapped offer in the inbox while the cursor moves on, and applies it once listed', async () => {
      const before = await store.outbox.loadCursor('bol');
      const { orderId, orderItemIds } = bol.sim.createOrder({ items: [{ offerId: bol.offers.GHOST!, quantity: 1 }] });
      const lineKey = `bol:bol:${orderId}:${orderItemIds[0]}`;
      const report = await poll(bol);
      assert.deepEqual(
        report.blocked.map((line) => line.lineKey),
        [lineKey],
      );
      assert.match(report.blocked[0]!.reason, /^unmapped: .*"[0-9a-f-]{36}" \(sku "ref-GHOST"\)/);
      const saved = await store.outbox.loadCursor('bol');
      assert.notEqual(saved, before, 'the cursor moved');
      assert.ok(`${orderId}/${orderItemIds[0]}` in JSON.parse(saved!).items, 'the cursor remembers the item');
      const inbox = await store.orders.inbox({ channel: 'bol', limit: 10 });
      assert.deepEqual(
        inbox.lines.map((line) => [line.lineKey, line.status, line.sku, line.item.externalId]),
        [[lineKey, 'blocked', null, bol.offers.GHOST]],
      );
      assert.match(inbox.lines[0]!.reason ?? '', /^unmapped/);
      assert.deepEqual(await levels(store, 'GHOST'), { WH1: level(10, 0), WH2: level(10, 0) }, 'nothing held yet');
      // The poll does not bring it back: the cursor has moved past it.
      assert.deepEqual((await poll(bol)).blocked, []);

      await store.availability.upsertListings(
        [{ channel: 'bol', externalId: bol.offers.GHOST!, sku: 'GHOST' }],
        clock.now(),
      );
      const retried = await intake.retryDue({ channel: 'bol' });
      assert.deepEqual([retried.changed, retried.blocked], [1, []]);
      assert.deepEqual(await levels(store, 'GHOST'), { WH1: level(10, 1), WH2: level(10, 0) });
      assert.deepEqual((await store.orders.inbox({ channel: 'bol', limit: 10 })).lines, []);
      // Its later shipment is followed like any other line's.
      bol.sim.shipOrderItem(orderId, orderItemIds[0]!);
      await poll(bol);
      assert.deepEqual(await levels(store, 'GHOST'), { WH1: level(9, 0), WH2: level(10, 0) });
    });

    it('a poll that began after a read showing less confirms it: repaired without a second read a grace later', async () => {
      const connector = connectorOf.get('bolfbb')!;
      const dispatcher = new ChannelDispatcher({
        channel: 'bolfbb',
        connector,
        outbox: store.outbox,
        clock,
        owner: 'test',
        policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
        random: () => 0.5,
      });
      while ((await dispatcher.tick()) > 0);
      await poll(fbb);
      const offer = fbb.offers.MUG2!;
      const pushed = fbb.sim.offerState(offer).correctedStock;
      assert.ok(pushed > 1);
      fbb.sim.editStockOutOfBand(offer, pushed - 1);
      const pass = () => reconcileChannel({ store, connector, clock }, { channel: 'bolfbb', mode: 'full' });
      const first = await pass();
      assert.deepEqual(
        [first.driftLess, first.unconfirmed, first.repairs.length],
        [1, 1, 0],
        'one read, no poll since',
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      await poll(fbb);
      const second = await pass();
      assert.deepEqual(
        second.repairs.map((repair) => [repair.direction, repair.shown, repair.desired]),
        [['less', pushed - 1, pushed]],
        'the intake caught up past the first read',
      );
      while ((await dispatcher.tick()) > 0);
      assert.equal(fbb.sim.offerState(offer).correctedStock, pushed);
    });

    it('records no true oversell and verifies every level against its movements', async () => {
      assert.deepEqual((await store.ledger.listOversells({ limit: 100 })).items, []);
      const verified = await store.ledger.verify();
      assert.deepEqual(verified.mismatches, []);
      assert.ok(verified.levelsChecked > 0 && verified.movementsChecked > 0);
      for (const channel of channels) assert.equal(channel.sim.stats().rateLimitViolations, 0);
      assert.deepEqual(errors, []);
    });
  });
}
