/**
 * A checkout's reservation by channel, committed with `order`, becomes that channel order line
 * (POST /v1/reservations/{id}/commit), on every store:
 * - commit first: the channel's own order event for the line (Shopify-shaped, keyed as the
 *   connector keys it) books nothing again; its cancellation releases the units; a replay of
 *   the commit changes nothing;
 * - the channel's event first: the commit leaves the units reserved once, not twice, and the
 *   line's fulfilment ships them;
 * - a split reservation: each part committed with the same order line, one part twice;
 * - refusals naming the field, before anything is committed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OrderLineEvent } from '../../src/connectors/channel-intake.js';
import type { OrderLineFact } from '../../src/core/orders/line-events.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { assertProblem, referenceTime, serveOver } from '../support/http-harness.js';
import { STORES, type TestStore } from '../support/stores.js';

const clock = { now: () => referenceTime };
/** The connector keys Shopify lines with the shop domain lower-cased. */
const shopDomain = 'Checkout-Shop.myshopify.com';
const lineKeyOf = (order: string, line: string) => `shopify:checkout-shop.myshopify.com:${order}:${line}`;

for (const factory of STORES) {
  describe(`${factory.name}: committing a checkout by channel as its order line`, { skip: factory.skip }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let server: Awaited<ReturnType<typeof serveOver>>;
    let intake: OrderLineIntake;

    before(async () => {
      test = await factory.create();
      store = test.store;
      server = await serveOver(store, clock, 'write');
      intake = new OrderLineIntake({
        store,
        ledger: server.ledger,
        clock,
        match: storeOrderItemMatcher(store.availability),
      });
      await store.catalogue.upsertLocations(
        [
          { code: 'WH1', name: 'Main', kind: 'warehouse' },
          { code: 'WH2', name: 'Second', kind: 'warehouse' },
        ],
        clock.now(),
      );
      await store.catalogue.upsertVariants(
        ['FIRST', 'HOOK', 'SPLIT', 'BAD'].map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      await store.availability.upsertChannels(
        [
          {
            code: 'shop',
            name: 'Shop',
            platform: 'shopify',
            locations: ['WH1', 'WH2'],
            settings: {
              connector: {
                shop_domain: shopDomain,
                access_token: 'token',
                location_id: 'gid://shopify/Location/1',
                webhook_secret: 'secret',
              },
            },
          },
          { code: 'plain', name: 'No connector', platform: 'shopify', locations: ['WH1'], settings: {} },
        ],
        clock.now(),
      );
      const receipts = [
        { sku: 'FIRST', location: 'WH1', quantity: 10 },
        { sku: 'HOOK', location: 'WH1', quantity: 10 },
        { sku: 'SPLIT', location: 'WH1', quantity: 1 },
        { sku: 'SPLIT', location: 'WH2', quantity: 2 },
        { sku: 'BAD', location: 'WH1', quantity: 10 },
      ];
      const movements = await server.call({
        method: 'POST',
        url: '/v1/movements',
        payload: {
          movements: receipts.map((receipt, index) => ({ key: `receipt-${index}`, type: 'receipt', ...receipt })),
        },
      });
      assert.equal(movements.statusCode, 200, movements.body);
    });
    after(async () => {
      await server?.app.close();
      await test?.cleanup();
    });

    /** Per location of a sku: on_hand and reserved. */
    async function levels(sku: string) {
      const stock = await store.ledger.getStock(sku, clock.now());
      return Object.fromEntries(
        (stock?.locations ?? []).map((level) => [level.location, { onHand: level.on_hand, reserved: level.reserved }]),
      );
    }

    async function reserve(
      key: string,
      sku: string,
      quantity: number,
      place: { channel: string } | { location: string },
    ) {
      const response = await server.call({
        method: 'POST',
        url: '/v1/reservations',
        payload: { key, sku, quantity, ...place },
      });
      assert.equal(response.statusCode, 201, response.body);
      return response.json() as {
        reservation: { id: string; channel?: string };
        parts?: { reservation: { id: string; location: string } }[];
      };
    }

    function commit(id: string, body: object) {
      return server.call({ method: 'POST', url: `/v1/reservations/${id}/commit`, payload: body });
    }

    /** One Shopify-shaped event about the line, as the connector would key it. */
    function event(sku: string, order: string, line: string, eventId: string, fact: OrderLineFact): OrderLineEvent {
      return {
        lineKey: lineKeyOf(order, line),
        eventId,
        orderId: order,
        lineId: line,
        item: { externalId: `gid://shopify/ProductVariant/${sku}`, sku, barcode: null },
        occurredAt: clock.now(),
        fact,
      };
    }
    const ordered = (quantity: number): OrderLineFact => ({
      kind: 'ordered',
      quantity,
      version: clock.now(),
      fulfilledBy: 'merchant',
      locationId: null,
    });

    async function ingest(events: OrderLineEvent[]) {
      const channel = (await store.availability.getChannel('shop'))!;
      const report = await intake.ingest(channel, events);
      assert.deepEqual(report.blocked, []);
      assert.deepEqual(report.invalid, []);
      return report;
    }

    it('commit first: the channel’s order event books nothing again, a replay changes nothing, a cancellation releases', async () => {
      const { reservation } = await reserve('cart-1', 'FIRST', 2, { channel: 'shop' });
      assert.equal(reservation.channel, 'shop');
      const body = { order: { order_id: '1001', line_id: '11' } };
      const committed = await commit(reservation.id, body);
      assert.equal(committed.statusCode, 200, committed.body);
      assert.deepEqual(committed.json().order_line, {
        channel: 'shop',
        line_key: lineKeyOf('1001', '11'),
        order_id: '1001',
        line_id: '11',
        status: 'open',
        reason: null,
      });
      assert.deepEqual(await levels('FIRST'), { WH1: { onHand: 10, reserved: 2 } });

      const replay = await commit(reservation.id, body);
      assert.equal(replay.statusCode, 200, replay.body);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.json().order_line.status, 'open');
      assert.deepEqual(await levels('FIRST'), { WH1: { onHand: 10, reserved: 2 } });

      const report = await ingest([event('FIRST', '1001', '11', 'order', ordered(2))]);
      assert.equal(report.changed, 0);
      assert.deepEqual(await levels('FIRST'), { WH1: { onHand: 10, reserved: 2 } }, 'reserved once, not twice');
      const line = await store.orders.getLine('shop', lineKeyOf('1001', '11'));
      assert.deepEqual(line?.applied, { WH1: { reserved: 2, shipped: 0, writtenOff: 0, returned: 0 } });

      await ingest([event('FIRST', '1001', '11', 'cancel', { kind: 'cancelled', quantity: null })]);
      assert.deepEqual(await levels('FIRST'), { WH1: { onHand: 10, reserved: 0 } });
      assert.equal((await store.orders.getLine('shop', lineKeyOf('1001', '11')))?.status, 'closed');
    });

    it('the channel’s event first: the commit leaves the units reserved once, and the fulfilment ships them', async () => {
      const { reservation } = await reserve('cart-2', 'HOOK', 2, { channel: 'shop' });
      await ingest([event('HOOK', '2002', '21', 'order', ordered(2))]);
      assert.deepEqual(
        await levels('HOOK'),
        { WH1: { onHand: 10, reserved: 4 } },
        'the hold and the line, before the commit',
      );

      const committed = await commit(reservation.id, { order: { order_id: '2002', line_id: '21' } });
      assert.equal(committed.statusCode, 200, committed.body);
      assert.equal(committed.json().order_line.status, 'open');
      assert.deepEqual(await levels('HOOK'), { WH1: { onHand: 10, reserved: 2 } });
      const again = await commit(reservation.id, { order: { order_id: '2002', line_id: '21' } });
      assert.equal(again.statusCode, 200, again.body);
      assert.deepEqual(await levels('HOOK'), { WH1: { onHand: 10, reserved: 2 } });

      await ingest([
        event('HOOK', '2002', '21', 'fulfilment-1', {
          kind: 'fulfilled',
          quantity: 2,
          locationId: null,
          active: true,
          version: clock.now(),
        }),
      ]);
      assert.deepEqual(await levels('HOOK'), { WH1: { onHand: 8, reserved: 0 } });
      assert.deepEqual((await store.ledger.verify()).mismatches, []);
    });

    it('a split reservation: each part committed with the same line, one twice, accumulates exactly', async () => {
      const answer = await reserve('cart-3', 'SPLIT', 3, { channel: 'shop' });
      const parts = answer.parts!.map((part) => part.reservation);
      assert.deepEqual(
        parts.map((part) => part.location),
        ['WH1', 'WH2'],
      );
      const order = { order: { order_id: '3003', line_id: '31' } };
      for (const part of [parts[1]!, parts[0]!, parts[1]!]) {
        const committed = await commit(part.id, order);
        assert.equal(committed.statusCode, 200, committed.body);
      }
      assert.deepEqual(await levels('SPLIT'), { WH1: { onHand: 1, reserved: 1 }, WH2: { onHand: 2, reserved: 2 } });
      const line = await store.orders.getLine('shop', lineKeyOf('3003', '31'));
      assert.equal(line?.state.ordered?.quantity, 3);
      assert.deepEqual(line?.applied, {
        WH1: { reserved: 1, shipped: 0, writtenOff: 0, returned: 0 },
        WH2: { reserved: 2, shipped: 0, writtenOff: 0, returned: 0 },
      });

      await ingest([event('SPLIT', '3003', '31', 'order', ordered(3))]);
      assert.deepEqual(await levels('SPLIT'), { WH1: { onHand: 1, reserved: 1 }, WH2: { onHand: 2, reserved: 2 } });
      await ingest([event('SPLIT', '3003', '31', 'cancel', { kind: 'cancelled', quantity: null })]);
      assert.deepEqual(await levels('SPLIT'), { WH1: { onHand: 1, reserved: 0 }, WH2: { onHand: 2, reserved: 0 } });
    });

    it('refuses an order line it cannot name, naming the field, before committing anything', async () => {
      const atLocation = await reserve('cart-4', 'BAD', 1, { location: 'WH1' });
      let problem = assertProblem(
        await commit(atLocation.reservation.id, { order: { order_id: '4004', line_id: '41' } }),
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(
        problem.errors.map((error: { path: string }) => error.path),
        ['/order'],
      );

      const unkeyed = await reserve('cart-5', 'BAD', 1, { channel: 'plain' });
      problem = assertProblem(
        await commit(unkeyed.reservation.id, { order: { order_id: '5005', line_id: '51' } }),
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.match(problem.detail, /no connector/);

      const byChannel = await reserve('cart-6', 'BAD', 1, { channel: 'shop' });
      for (const [order, path] of [
        [{ order_id: '6006' }, '/order'],
        [{ order_id: '', line_id: '61' }, '/order/order_id'],
        [{ order_id: '6006', line_id: 'x'.repeat(101) }, '/order/line_id'],
        [{ order_id: '6006', line_id: '61', extra: 1 }, '/order'],
      ] as const) {
        problem = assertProblem(await commit(byChannel.reservation.id, { order }), 400, 'ONH_ERR_VALIDATION');
        assert.ok(
          problem.errors.some((error: { path: string }) => error.path.startsWith(path)),
          `${JSON.stringify(order)}: ${JSON.stringify(problem.errors)}`,
        );
      }
      assertProblem(
        await commit('res_nope', { order: { order_id: '6006', line_id: '61' } }),
        404,
        'ONH_ERR_RESERVATION_NOT_FOUND',
      );
      for (const id of [atLocation.reservation.id, unkeyed.reservation.id, byChannel.reservation.id]) {
        const view = await server.call({ method: 'GET', url: `/v1/reservations/${id}` });
        assert.equal(view.json().status, 'pending', 'nothing committed');
      }
      assert.equal(await store.orders.getLine('shop', lineKeyOf('6006', '61')), null);
    });
  });
}
