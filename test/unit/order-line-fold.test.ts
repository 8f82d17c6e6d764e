/**
 * The order-line fold (src/core/orders) on plain values: the merge of a line's events does not
 * depend on their order or on duplicates; applying the moves step by step, whatever the
 * delivery order, ends in the reference model's effect (test/support/order-lifecycles.ts); the
 * routing keeps its priority and split promises; and the platform semantics, case by case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { LineFactEvent } from '../../src/core/orders/line-events.js';
import { lineEffect, type LineEffect, type RoutingContext } from '../../src/core/orders/line-effect.js';
import { applyMoves, effectBuckets, lineMoves } from '../../src/core/orders/line-moves.js';
import {
  dismissNotUnderstood,
  emptyLineState,
  foldLine,
  lineUnits,
  notUnderstoodReason,
  sameLineState,
} from '../../src/core/orders/line-state.js';
import { deliveries, lifecycle, modelEffect, platformLocations } from '../support/order-lifecycles.js';

const stock: Record<string, Record<string, number>> = { V1: { A: 100, B: 100 }, V2: { A: 0, B: 100 } };
const context = (variant: string, overrides: Partial<RoutingContext> = {}): RoutingContext => ({
  pool: ['A', 'B'],
  marketplaceLocation: null,
  resolveLocation: (id) => platformLocations[id as keyof typeof platformLocations],
  available: (code) => stock[variant]?.[code] ?? 0,
  ...overrides,
});

/** Applies batches of events step by step, as the intake does; returns the applied effect. */
function run(variant: string, batches: readonly LineFactEvent[][]): LineEffect {
  let state = emptyLineState();
  let applied: LineEffect = {};
  for (const batch of batches) {
    state = foldLine(state, batch);
    const result = lineEffect(lineUnits(state), applied, context(variant));
    assert.equal(result.kind, 'effect');
    if (result.kind !== 'effect') break;
    const moves = lineMoves(applied, result.effect);
    const after = applyMoves(applied, moves);
    for (const code of new Set([...Object.keys(after), ...Object.keys(result.effect)])) {
      const zero = { reserved: 0, shipped: 0, writtenOff: 0, returned: 0 };
      assert.deepEqual(effectBuckets(after[code] ?? zero), effectBuckets(result.effect[code] ?? zero), code);
    }
    for (const move of moves) assert.ok(move.quantity > 0, 'no empty move');
    applied = result.effect;
  }
  return applied;
}

function buckets(effect: LineEffect) {
  const out: Record<string, { reserved: number; onHand: number; quarantine: number }> = {};
  for (const [code, entry] of Object.entries(effect)) {
    const value = effectBuckets(entry);
    if (value.reserved !== 0 || value.onHand !== 0 || value.quarantine !== 0) out[code] = value;
  }
  return out;
}

const ordered = (quantity: number): LineFactEvent => ({
  eventId: 'order',
  occurredAt: 1,
  fact: { kind: 'ordered', quantity, version: 1, fulfilledBy: 'merchant', locationId: null },
});
const shipped = (id: string, quantity: number, location: string): LineFactEvent => ({
  eventId: id,
  occurredAt: 2,
  fact: { kind: 'fulfilled', quantity, locationId: location, active: true, version: 1 },
});
const refund = (
  id: string,
  quantity: number,
  restock: 'cancel' | 'return' | 'legacy_restock' | 'no_restock',
): LineFactEvent => ({
  eventId: id,
  occurredAt: 3,
  fact: { kind: 'refunded', quantity, restock, locationId: null },
});

describe('order-line fold', () => {
  it('merges a line’s events alike in any order, with duplicates, whole or in batches', () => {
    fc.assert(
      fc.property(
        lifecycle('L1', ['V1']).chain((life) => fc.tuple(fc.constant(life), deliveries(life.events))),
        ([life, batches]) => {
          const whole = foldLine(emptyLineState(), life.events);
          const stepwise = batches.reduce((state, batch) => foldLine(state, batch), emptyLineState());
          assert.ok(sameLineState(whole, stepwise));
          assert.ok(sameLineState(foldLine(whole, life.events), whole), 'idempotent');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ends in the reference model’s stock effect whatever the delivery order', () => {
    fc.assert(
      fc.property(
        lifecycle('L1', ['V1', 'V2']).chain((life) => fc.tuple(fc.constant(life), deliveries(life.events))),
        ([life, batches]) => {
          const applied = run(life.variant, batches);
          const expected = Object.fromEntries(
            [...modelEffect(life, ['A', 'B'], (variant, code) => (stock[variant]?.[code] ?? 0) > 0)].filter(
              ([, value]) => value.reserved !== 0 || value.onHand !== 0 || value.quarantine !== 0,
            ),
          );
          assert.deepEqual(buckets(applied), expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a cancellation that arrives before its order nets to zero', () => {
    const order: LineFactEvent = {
      eventId: 'order',
      occurredAt: 1,
      fact: { kind: 'ordered', quantity: 3, version: 1, fulfilledBy: 'merchant', locationId: null },
    };
    const cancel: LineFactEvent = { eventId: 'cancel', occurredAt: 2, fact: { kind: 'cancelled', quantity: null } };
    assert.deepEqual(buckets(run('V1', [[cancel], [order]])), {});
    assert.deepEqual(buckets(run('V1', [[order], [cancel]])), {});
    assert.deepEqual(buckets(run('V1', [[order]])), { A: { reserved: 3, onHand: 0, quarantine: 0 } });
  });

  const table: { name: string; events: LineFactEvent[]; expected: Record<string, unknown> }[] = [
    {
      name: 'shipped from the second location: the reservation moves there and leaves',
      events: [ordered(2), shipped('f1', 2, 'pB')],
      expected: { B: { reserved: 0, onHand: -2, quarantine: 0 } },
    },
    {
      name: 'refund cancel of an unfulfilled unit releases it',
      events: [ordered(2), refund('r1', 1, 'cancel')],
      expected: { A: { reserved: 1, onHand: 0, quarantine: 0 } },
    },
    {
      name: 'refund return of a shipped unit lands in quarantine where it shipped from',
      events: [ordered(1), shipped('f1', 1, 'pB'), refund('r1', 1, 'return')],
      expected: { B: { reserved: 0, onHand: -1, quarantine: 1 } },
    },
    {
      name: 'legacy_restock of an unfulfilled line is a cancel, never a return',
      events: [ordered(2), refund('r1', 2, 'legacy_restock')],
      expected: {},
    },
    {
      name: 'legacy_restock of a fulfilled line is a return',
      events: [ordered(1), shipped('f1', 1, 'pA'), refund('r1', 1, 'legacy_restock')],
      expected: { A: { reserved: 0, onHand: -1, quarantine: 1 } },
    },
    {
      name: 'no_restock of an unfulfilled unit: it is gone',
      events: [ordered(2), refund('r1', 1, 'no_restock')],
      expected: { A: { reserved: 1, onHand: -1, quarantine: 0 } },
    },
    {
      name: 'no_restock of a shipped unit changes nothing more',
      events: [ordered(1), shipped('f1', 1, 'pA'), refund('r1', 1, 'no_restock')],
      expected: { A: { reserved: 0, onHand: -1, quarantine: 0 } },
    },
    {
      name: 'the same refund inside an order body and as its own event counts once',
      events: [ordered(2), refund('refund:9', 1, 'cancel'), refund('refund:9', 1, 'cancel')],
      expected: { A: { reserved: 1, onHand: 0, quarantine: 0 } },
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const forward = buckets(
        run(
          'V1',
          row.events.map((event) => [event]),
        ),
      );
      const backward = buckets(
        run(
          'V1',
          [...row.events].reverse().map((event) => [event]),
        ),
      );
      assert.deepEqual(forward, row.expected);
      assert.deepEqual(backward, row.expected);
    });
  }

  it('a reservation moved by a fulfilment elsewhere is marked moved, not sold again', () => {
    const applied = { A: { reserved: 2, shipped: 0, writtenOff: 0, returned: 0 } };
    const target = {
      A: { reserved: 1, shipped: 0, writtenOff: 0, returned: 0 },
      B: { reserved: 0, shipped: 1, writtenOff: 0, returned: 0 },
    };
    assert.deepEqual(lineMoves(applied, target), [
      { type: 'cancellation', location: 'A', quantity: 1 },
      { type: 'order', location: 'B', quantity: 1, moved: true },
      { type: 'shipment', location: 'B', quantity: 1 },
    ]);
    const grown = { ...target, A: { reserved: 2, shipped: 0, writtenOff: 0, returned: 0 } };
    assert.deepEqual(lineMoves(applied, grown), [
      { type: 'order', location: 'B', quantity: 1 },
      { type: 'shipment', location: 'B', quantity: 1 },
    ]);
  });

  it('marketplace-fulfilled lines never touch the merchant’s stock', () => {
    const line: LineFactEvent = {
      eventId: 'order',
      occurredAt: 1,
      fact: { kind: 'ordered', quantity: 2, version: 1, fulfilledBy: 'marketplace', locationId: null },
    };
    const state = foldLine(emptyLineState(), [line]);
    assert.equal(lineEffect(lineUnits(state), {}, context('V1')).kind, 'info');
    const withMarketplace = lineEffect(lineUnits(state), {}, context('V1', { marketplaceLocation: 'FBB' }));
    assert.equal(withMarketplace.kind, 'effect');
    if (withMarketplace.kind === 'effect') assert.deepEqual(Object.keys(withMarketplace.effect), ['FBB']);
  });

  it('events not understood merge in any order, hold the line until dismissed, and stay dismissed', () => {
    const odd = (id: string, reason: string): LineFactEvent => ({
      eventId: id,
      occurredAt: 4,
      fact: { kind: 'not_understood', reason },
    });
    fc.assert(
      fc.property(
        lifecycle('L1', ['V1']).chain((life) => {
          const marks = fc.array(
            fc.tuple(fc.constantFrom('f1', 'refund:9', 'x'), fc.constantFrom('status "a"', 'restock "b"')),
            { minLength: 1, maxLength: 4 },
          );
          return marks.chain((pairs) => {
            const events = [...life.events, ...pairs.map(([id, reason]) => odd(id, reason))];
            return fc.tuple(fc.constant(events), deliveries(events));
          });
        }),
        ([events, batches]) => {
          const whole = foldLine(emptyLineState(), events);
          const stepwise = batches.reduce((state, batch) => foldLine(state, batch), emptyLineState());
          assert.ok(sameLineState(whole, stepwise));
          assert.match(notUnderstoodReason(stepwise) ?? '', /^not understood: event /);
          // Understood facts are kept beside the marks: dismissed, the line is what they say.
          const dismissed = dismissNotUnderstood(stepwise)!;
          assert.equal(notUnderstoodReason(dismissed), null);
          assert.deepEqual(
            lineUnits(dismissed),
            lineUnits(
              foldLine(
                emptyLineState(),
                events.filter((e) => e.fact.kind !== 'not_understood'),
              ),
            ),
          );
          // A redelivery of any of them holds nothing again; a new reason holds the line again.
          assert.equal(notUnderstoodReason(foldLine(dismissed, events)), null);
          assert.equal(dismissNotUnderstood(dismissed), null);
          assert.match(notUnderstoodReason(foldLine(dismissed, [odd('f1', 'status "new"')])) ?? '', /status "new"/);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an unknown platform location keeps the line blocked', () => {
    const state = foldLine(emptyLineState(), [ordered(1), shipped('f1', 1, 'gid://shopify/Location/404')]);
    const result = lineEffect(lineUnits(state), {}, context('V1'));
    assert.equal(result.kind, 'blocked');
  });
});

describe('routing', () => {
  const pool = ['A', 'B', 'C'];
  it('never books where less is available while a higher-priority location has enough; a split sums to the line', () => {
    fc.assert(
      fc.property(
        fc.record({
          A: fc.integer({ min: -3, max: 6 }),
          B: fc.integer({ min: -3, max: 6 }),
          C: fc.integer({ min: -3, max: 6 }),
        }),
        fc.integer({ min: 1, max: 12 }),
        (available, quantity) => {
          const state = foldLine(emptyLineState(), [ordered(quantity)]);
          const result = lineEffect(
            lineUnits(state),
            {},
            context('V1', { pool, available: (code) => available[code as 'A'] ?? 0 }),
          );
          assert.equal(result.kind, 'effect');
          if (result.kind !== 'effect') return;
          const reserved = Object.entries(result.effect).map(([code, entry]) => [code, entry.reserved] as const);
          assert.equal(
            reserved.reduce((sum, [, units]) => sum + units, 0),
            quantity,
          );
          const whole = pool.find((code) => available[code as 'A'] >= quantity);
          if (whole !== undefined) assert.deepEqual(reserved, [[whole, quantity]]);
          else {
            const total = pool.reduce((sum, code) => sum + Math.max(0, available[code as 'A']), 0);
            for (const [code, units] of reserved) {
              const cap = Math.max(0, available[code as 'A']);
              // Only the first location takes more than it has: the pool as a whole is short.
              if (code !== 'A' || total >= quantity) assert.ok(units <= cap || code === 'A', `${code} ${units}`);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
