/**
 * Amazon order lifecycles through the order-line fold, in any delivery order (docs/channels/
 * amazon.md, Order lifecycle). A random lifecycle of one order item (Pending or Unshipped,
 * payment, partial and full shipments, cancellation; MFN or AFN) is turned into the events of
 * every view of it the connector may see (each getOrderItems read and each ORDER_CHANGE
 * summary, via amazonOrderItemEvents), and those views are delivered shuffled, duplicated and
 * in random batches (a view's own events travel together, as both paths deliver them). Whatever the order, the effect applied step by step ends where the final
 * view alone leads, and that is Amazon's meaning: a Pending order reserves, shipped units leave
 * on_hand, a cancellation releases what did not ship, an FBA line never touches the merchant's
 * locations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { OrderLineEvent } from '../../src/connectors/channel-intake.js';
import {
  type AmazonItemFigures,
  type AmazonOrderFigures,
  amazonOrderItemEvents,
} from '../../src/connectors/amazon/amazon-order-events.js';
import { type LineEffect, lineEffect, type RoutingContext } from '../../src/core/orders/line-effect.js';
import { applyMoves, effectBuckets, lineMoves } from '../../src/core/orders/line-moves.js';
import { emptyLineState, foldLine, lineUnits } from '../../src/core/orders/line-state.js';

type Step = { kind: 'pay' } | { kind: 'ship'; units: number } | { kind: 'cancel' };

const lifecycle = fc.record({
  quantity: fc.integer({ min: 1, max: 5 }),
  channel: fc.constantFrom<'MFN' | 'AFN'>('MFN', 'AFN'),
  startsPaid: fc.boolean(),
  steps: fc.array(
    fc.oneof(
      fc.constant<Step>({ kind: 'pay' }),
      fc.integer({ min: 1, max: 3 }).map((units): Step => ({ kind: 'ship', units })),
      fc.constant<Step>({ kind: 'cancel' }),
    ),
    { maxLength: 6 },
  ),
});

/** Every view of the item Amazon shows along the lifecycle, as the simulator's rules make them. */
function views(draw: { quantity: number; channel: 'MFN' | 'AFN'; startsPaid: boolean; steps: Step[] }) {
  const out: { order: AmazonOrderFigures; item: AmazonItemFigures }[] = [];
  let status: AmazonOrderFigures['status'] = draw.startsPaid ? 'Unshipped' : 'Pending';
  let shipped = 0;
  let at = 1_000;
  const snapshot = () =>
    out.push({
      order: { orderId: '026-1', status, fulfillmentChannel: draw.channel, updatedAt: at++, purchasedAt: 1_000 },
      item: {
        orderItemId: '1',
        sellerSku: 'SKU',
        asin: null,
        quantityOrdered: draw.quantity,
        quantityShipped: shipped,
      },
    });
  snapshot();
  for (const step of draw.steps) {
    if (status === 'Canceled' || status === 'Shipped') break;
    if (step.kind === 'pay' && status === 'Pending') status = 'Unshipped';
    else if (step.kind === 'ship' && status !== 'Pending') {
      shipped = Math.min(draw.quantity, shipped + step.units);
      status = shipped === draw.quantity ? 'Shipped' : 'PartiallyShipped';
    } else if (step.kind === 'cancel') status = 'Canceled';
    else continue;
    snapshot();
  }
  return out;
}

const contextFor = (marketplaceLocation: string | null): RoutingContext => ({
  pool: ['A', 'B'],
  marketplaceLocation,
  resolveLocation: () => undefined,
  available: () => 100,
});

/** Applies batches step by step, as the intake does; the applied effect, or 'info'. */
function run(batches: readonly OrderLineEvent[][], context: RoutingContext): LineEffect | 'info' {
  let state = emptyLineState();
  let applied: LineEffect = {};
  for (const batch of batches) {
    state = foldLine(
      state,
      batch.map((event) => ({ eventId: event.eventId, occurredAt: event.occurredAt, fact: event.fact })),
    );
    const result = lineEffect(lineUnits(state), applied, context);
    if (result.kind === 'info') return 'info';
    assert.equal(result.kind, 'effect');
    if (result.kind !== 'effect') break;
    applied = applyMoves(applied, lineMoves(applied, result.effect));
  }
  return applied;
}

function totals(effect: LineEffect | 'info') {
  if (effect === 'info') return 'info';
  const out: Record<string, { reserved: number; onHand: number }> = {};
  for (const [code, entry] of Object.entries(effect)) {
    const buckets = effectBuckets(entry);
    if (buckets.reserved !== 0 || buckets.onHand !== 0)
      out[code] = { reserved: buckets.reserved, onHand: buckets.onHand };
  }
  return out;
}

describe('amazon order lifecycles through the order-line fold', () => {
  for (const marketplaceLocation of [null, 'FBA']) {
    it(`any delivery order of every view ends in the final view's effect (marketplace location ${marketplaceLocation ?? 'none'})`, () => {
      fc.assert(
        fc.property(
          lifecycle,
          fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
          fc.integer({ min: 1, max: 4 }),
          (draw, keys, batchSize) => {
            const seen = views(draw);
            // A view's events always travel together (one getOrderItems read or one notification
            // gives them all); the views arrive shuffled, some twice, several per batch.
            const perView = seen.map((view) => amazonOrderItemEvents('A2SELLER', view.order, view.item));
            const delivered = [...perView, ...perView.filter((_, index) => keys[index]! % 3 === 0)]
              .map((events, index) => ({ events, key: keys[index % keys.length]! * 100 + index }))
              .sort((a, b) => a.key - b.key)
              .map(({ events }) => events);
            const batches: OrderLineEvent[][] = [];
            for (let start = 0; start < delivered.length; start += batchSize)
              batches.push(delivered.slice(start, start + batchSize).flat());
            const context = contextFor(marketplaceLocation);
            const last = seen[seen.length - 1]!;
            const expected = totals(run([amazonOrderItemEvents('A2SELLER', last.order, last.item)], context));
            assert.deepEqual(totals(run(batches, context)), expected);

            // What Amazon's statuses mean.
            const { quantityOrdered, quantityShipped } = last.item;
            const open = last.order.status === 'Canceled' ? 0 : quantityOrdered - quantityShipped;
            if (draw.channel === 'AFN' && marketplaceLocation === null)
              assert.equal(expected, 'info', 'FBA: info only');
            else {
              const at = draw.channel === 'AFN' ? 'FBA' : 'A';
              const want =
                open === 0 && quantityShipped === 0
                  ? {}
                  : { [at]: { reserved: open, onHand: 0 - quantityShipped || 0 } };
              assert.deepEqual(expected, want, `${last.order.status} ${draw.channel}`);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
