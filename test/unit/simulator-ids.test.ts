/**
 * Goal: a simulator started again with a later `firstId` (the demo passes its start time) never
 * reuses an earlier run's order ids, while its locations keep theirs; the default keeps the ids
 * the other suites expect. Method: two simulators of each platform, one with the default and one
 * started "later", the same orders placed on both, their ids compared.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';

describe('simulator ids across restarts', () => {
  it('Shopify: a later firstId gives new order, line and fulfilment ids and the same locations', () => {
    const orders = (sim: ShopifySimulator) => {
      const item = sim.addItem({ sku: 'TEE', levels: { [sim.defaultLocationId]: 10 } }).inventoryItemId;
      const order = sim.createOrder({ lines: [{ inventoryItemId: item, quantity: 1 }] });
      const fulfilment = sim.fulfillOrder(order.orderId);
      return [order.orderId, ...order.lineItemIds, fulfilment.fulfillmentId];
    };
    const first = new ShopifySimulator({ locations: ['Store'] });
    const again = new ShopifySimulator({ locations: ['Store'], firstId: 1_767_225_600_000 });
    assert.deepEqual(again.locationIds, first.locationIds);
    assert.equal(first.defaultLocationId, 'gid://shopify/Location/65000000001');
    const before = orders(first);
    const after = orders(again);
    assert.equal(before[0], 'gid://shopify/Order/5600000000005');
    for (const id of after) assert.ok(!before.includes(id), `${id} reused`);
    assert.match(after[0]!, /^gid:\/\/shopify\/Order\/\d{13,16}$/);
    assert.throws(() => new ShopifySimulator({ firstId: 0 }), /firstId/);
    assert.throws(() => new ShopifySimulator({ firstId: 2e15 }), /firstId/);
  });

  it('Bol.com: a later firstId gives new order and order item ids', () => {
    const place = (sim: BolSimulator) => {
      const offerId = sim.seedOffer({ amount: 5 });
      return sim.createOrder({ items: [{ offerId, quantity: 1 }] });
    };
    const before = place(new BolSimulator());
    const after = place(new BolSimulator({ firstId: 1_767_225_600_000 }));
    assert.deepEqual(before, { orderId: 'A2K0000001', orderItemIds: ['2012345679'] });
    assert.notEqual(after.orderId, before.orderId);
    assert.match(after.orderId, /^A2K[0-9A-Z]{7,10}$/);
    assert.notEqual(after.orderItemIds[0], before.orderItemIds[0]);
    assert.ok(Number.isSafeInteger(Number(after.orderItemIds[0])));
    assert.throws(() => new BolSimulator({ firstId: -1 }), /firstId/);
  });
});
