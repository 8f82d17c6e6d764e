/**
 * Goal: pin down the ledger's decision procedure, `applyCommands`, as data (verdicts are
 * values, src/core/verdicts.ts; tables, test/support/ledger-table.ts):
 * every movement type, every verdict status, and the rules that are easy to get subtly wrong -
 * group judgement, in-batch idempotency, logical expiry on first touch and its order, commit at
 * the expiry instant, partial commit, late counts over stored and in-batch movements, stale
 * counts by time and by source version, purchase-order lines, transfers to the same location.
 *
 * Method: one table per area; a row = starting snapshot + batch + expected answers (status, the
 * answer's level, oversold) and, where it matters, the rows written. `runRow` (test/support/
 * ledger-table.ts) also checks on every row that the outcome is pure and deterministic and that
 * every written level equals its start plus the movements written on it. Pure: no DB, no timers.
 * The last test asserts that the tables together produce every status in `verdictStatuses`.
 *
 * Two sections are regressions for core bugs these tables found (held vs order reservations,
 * precedence of the future-time check); both were fixed in 5c66372.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandAnswer, LevelWrite, ReservationState } from '../../src/core/ledger/apply-commands.js';
import { limits } from '../../src/core/limits.js';
import { verdictStatuses, type VerdictStatus } from '../../src/core/verdicts.js';
import { apply, MINUTE, runRow, SECOND, T0, type Row } from '../support/ledger-table.js';

const seenStatuses = new Set<VerdictStatus>();

function table(rows: Row[]): void {
  for (const row of rows) {
    it(row.name, () => {
      const outcome = runRow(row);
      for (const answer of outcome.answers) seenStatuses.add(answer.status);
    });
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const A1 = 'A@WH1';

describe('facts: receipt', () => {
  table([
    {
      name: 'receipt on an empty level creates it',
      when: [{ type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 5 }],
      then: [{ status: 'applied', level: { on_hand: 5, available: 5, version: 1 }, movements: 1 }],
      movements: [{ type: 'receipt', at: A1, deltas: { onHand: 5 }, guarded: false, occurredAt: T0 }],
      levels: { [A1]: { onHand: 5, version: 1 } },
    },
    {
      name: 'receipt against an open purchase-order line counts it received, over-receipt included',
      given: {
        levels: { [A1]: { onHand: 2 } },
        purchaseOrderLines: [{ purchaseOrderId: 'PO-1', line: 1, at: A1, quantityOrdered: 10, quantityReceived: 4 }],
      },
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 8, purchaseOrder: { id: 'PO-1', line: 1 } },
      ],
      then: [{ status: 'applied', level: { on_hand: 10 } }],
      purchaseOrderLines: { 'PO-1#1': { quantityReceived: 12, quantityOrdered: 10 } },
    },
    {
      name: 'two receipts on one line in one batch add up',
      given: { purchaseOrderLines: [{ purchaseOrderId: 'PO-1', line: 1, at: A1, quantityOrdered: 10 }] },
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 3, purchaseOrder: { id: 'PO-1', line: 1 } },
        { type: 'receipt', key: 'r2', sku: 'A', location: 'WH1', quantity: 4, purchaseOrder: { id: 'PO-1', line: 1 } },
      ],
      then: [{ status: 'applied' }, { status: 'applied', level: { on_hand: 7 } }],
      purchaseOrderLines: { 'PO-1#1': { quantityReceived: 7 } },
    },
    {
      name: 'receipt against a closed purchase order is still applied (only cancelled lines refuse)',
      given: {
        purchaseOrderLines: [
          { purchaseOrderId: 'PO-1', line: 1, at: A1, quantityOrdered: 10, quantityReceived: 10, status: 'closed' },
        ],
      },
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 1, purchaseOrder: { id: 'PO-1', line: 1 } },
      ],
      then: [{ status: 'applied', level: { on_hand: 1 } }],
      purchaseOrderLines: { 'PO-1#1': { quantityReceived: 11 } },
    },
    {
      name: 'receipt against a missing purchase-order line is invalid and writes nothing',
      given: { purchaseOrderLines: [{ purchaseOrderId: 'PO-1', line: 1, at: A1, quantityOrdered: 10 }] },
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 1, purchaseOrder: { id: 'PO-1', line: 2 } },
      ],
      then: [{ status: 'invalid', detail: /has no line 2/ }],
      movements: [],
    },
    {
      name: 'receipt against a line for another variant is invalid',
      given: { purchaseOrderLines: [{ purchaseOrderId: 'PO-1', line: 1, at: 'B@WH1', quantityOrdered: 10 }] },
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 1, purchaseOrder: { id: 'PO-1', line: 1 } },
      ],
      then: [{ status: 'invalid', detail: /another variant or location/ }],
      movements: [],
    },
    {
      name: 'receipt against a line for another location is invalid',
      given: { purchaseOrderLines: [{ purchaseOrderId: 'PO-1', line: 1, at: 'A@WH2', quantityOrdered: 10 }] },
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 1, purchaseOrder: { id: 'PO-1', line: 1 } },
      ],
      then: [{ status: 'invalid', detail: /another variant or location/ }],
      movements: [],
    },
    {
      name: 'receipt against a cancelled purchase order is invalid',
      given: {
        purchaseOrderLines: [{ purchaseOrderId: 'PO-1', line: 1, at: A1, quantityOrdered: 10, status: 'cancelled' }],
      },
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 1, purchaseOrder: { id: 'PO-1', line: 1 } },
      ],
      then: [{ status: 'invalid', detail: /cancelled/ }],
      movements: [],
    },
  ]);
});

describe('facts: adjustment, status, return', () => {
  table([
    {
      name: 'adjustment down to exactly zero is applied',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [{ type: 'adjustment', key: 'a1', sku: 'A', location: 'WH1', quantity: -5, reason: 'shrinkage' }],
      then: [{ status: 'applied', level: { on_hand: 0, available: 0 } }],
    },
    {
      name: 'adjustment below zero is insufficient and writes nothing',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [{ type: 'adjustment', key: 'a1', sku: 'A', location: 'WH1', quantity: -6, reason: 'shrinkage' }],
      then: [{ status: 'insufficient', detail: /would leave on_hand at -1/ }],
      movements: [],
    },
    {
      name: 'adjustment up is applied; the reason is recorded',
      given: { levels: { [A1]: { onHand: 5, reserved: 2 } } },
      when: [{ type: 'adjustment', key: 'a1', sku: 'A', location: 'WH1', quantity: 3, reason: 'found' }],
      then: [{ status: 'applied', level: { on_hand: 8, reserved: 2, available: 6 } }],
    },
    {
      // Only a decrease can be refused: raising an on_hand that oversold facts drove negative is
      // always right, even when it stays negative; a decrease below zero is refused.
      name: 'adjustment that raises a negative on_hand is applied even while it stays negative',
      given: { levels: { [A1]: { onHand: -4 } } },
      when: [
        { type: 'adjustment', key: 'a1', sku: 'A', location: 'WH1', quantity: 3, reason: 'found' },
        { type: 'adjustment', key: 'a2', sku: 'A', location: 'WH1', quantity: 4, reason: 'found' },
        { type: 'adjustment', key: 'a3', sku: 'A', location: 'WH1', quantity: -4, reason: 'lost' },
      ],
      then: [
        { status: 'applied', level: { on_hand: -1 } },
        { status: 'applied', level: { on_hand: 3 } },
        { status: 'insufficient' },
      ],
    },
    {
      name: 'status moves units between buckets: on_hand -> damaged -> quarantine -> on_hand',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [
        { type: 'status', key: 's1', sku: 'A', location: 'WH1', quantity: 2, from: 'on_hand', to: 'damaged' },
        { type: 'status', key: 's2', sku: 'A', location: 'WH1', quantity: 1, from: 'damaged', to: 'quarantine' },
        { type: 'status', key: 's3', sku: 'A', location: 'WH1', quantity: 1, from: 'quarantine', to: 'on_hand' },
      ],
      then: [
        { status: 'applied', level: { on_hand: 3, damaged: 2, available: 3 } },
        { status: 'applied', level: { on_hand: 3, damaged: 1, quarantine: 1 } },
        { status: 'applied', level: { on_hand: 4, damaged: 1, quarantine: 0 } },
      ],
      movements: [
        { type: 'status', at: A1, deltas: { onHand: -2, damaged: 2 } },
        { type: 'status', at: A1, deltas: { damaged: -1, quarantine: 1 } },
        { type: 'status', at: A1, deltas: { quarantine: -1, onHand: 1 } },
      ],
    },
    {
      name: 'status change of more than the source bucket holds is insufficient',
      given: { levels: { [A1]: { onHand: 5, damaged: 1 } } },
      when: [{ type: 'status', key: 's1', sku: 'A', location: 'WH1', quantity: 2, from: 'damaged', to: 'on_hand' }],
      then: [{ status: 'insufficient', detail: /damaged is 1/ }],
      movements: [],
    },
    {
      name: 'status change within one bucket is invalid',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [{ type: 'status', key: 's1', sku: 'A', location: 'WH1', quantity: 1, from: 'on_hand', to: 'on_hand' }],
      then: [{ status: 'invalid' }],
      movements: [],
    },
    {
      // A status change is a fact: it may take units that are reserved, driving available < 0.
      name: 'status change may take reserved units (a fact), available goes negative without oversold',
      given: { levels: { [A1]: { onHand: 3, reserved: 3 } } },
      when: [{ type: 'status', key: 's1', sku: 'A', location: 'WH1', quantity: 2, from: 'on_hand', to: 'damaged' }],
      then: [{ status: 'applied', level: { on_hand: 1, available: -2, damaged: 2 } }],
    },
    {
      name: 'return lands in quarantine by default, or in the bucket named',
      when: [
        { type: 'return', key: 'ret1', sku: 'A', location: 'WH1', quantity: 2 },
        { type: 'return', key: 'ret2', sku: 'A', location: 'WH1', quantity: 3, to: 'on_hand' },
        { type: 'return', key: 'ret3', sku: 'A', location: 'WH1', quantity: 1, to: 'damaged' },
      ],
      then: [
        { status: 'applied', level: { quarantine: 2, on_hand: 0 } },
        { status: 'applied', level: { quarantine: 2, on_hand: 3 } },
        { status: 'applied', level: { quarantine: 2, on_hand: 3, damaged: 1 } },
      ],
      levels: { [A1]: { onHand: 3, quarantine: 2, damaged: 1, version: 3 } },
    },
  ]);
});

describe('facts: order, sale, shipment, cancellation (oversell)', () => {
  table([
    {
      name: 'order within available reserves it, no oversold',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 3 }],
      then: [{ status: 'applied', level: { on_hand: 5, reserved: 3, available: 2 } }],
      movements: [{ type: 'order', at: A1, deltas: { reserved: 3 }, oversold: 0, guarded: false }],
    },
    {
      name: 'order beyond available is applied (a fact) and reports the units oversold',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 7 }],
      then: [{ status: 'applied', level: { reserved: 7, available: -2 }, oversold: 2 }],
      movements: [{ type: 'order', at: A1, oversold: 2 }],
    },
    {
      name: 'oversold counts only the new shortfall when available was already short',
      given: { levels: { [A1]: { onHand: 5, reserved: 4 } } },
      when: [
        { type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 3 },
        { type: 'sale', key: 's1', sku: 'A', location: 'WH1', quantity: 2 },
      ],
      then: [
        { status: 'applied', level: { available: -2 }, oversold: 2 },
        { status: 'applied', level: { on_hand: 3, available: -4 }, oversold: 2 },
      ],
    },
    {
      name: 'sale within available: on_hand goes down, no oversold',
      given: { levels: { [A1]: { onHand: 5, reserved: 2 } } },
      when: [{ type: 'sale', key: 's1', sku: 'A', location: 'WH1', quantity: 3 }],
      then: [{ status: 'applied', level: { on_hand: 2, reserved: 2, available: 0 } }],
    },
    {
      name: 'sale on an empty level is applied and oversold in full',
      when: [{ type: 'sale', key: 's1', sku: 'A', location: 'WH1', quantity: 4 }],
      then: [{ status: 'applied', level: { on_hand: -4, available: -4 }, oversold: 4 }],
    },
    {
      name: 'shipment takes units out of reserved and on_hand; available does not move',
      given: { levels: { [A1]: { onHand: 5, reserved: 3 } } },
      when: [{ type: 'shipment', key: 'sh1', sku: 'A', location: 'WH1', quantity: 3 }],
      then: [{ status: 'applied', level: { on_hand: 2, reserved: 0, available: 2 } }],
      movements: [{ type: 'shipment', at: A1, deltas: { onHand: -3, reserved: -3 } }],
    },
    {
      name: 'shipment of more than is reserved is invalid',
      given: { levels: { [A1]: { onHand: 5, reserved: 3 } } },
      when: [{ type: 'shipment', key: 'sh1', sku: 'A', location: 'WH1', quantity: 4 }],
      then: [{ status: 'invalid', detail: /reserved for orders is 3/ }],
      movements: [],
    },
    {
      name: 'cancellation releases reserved units; more than reserved is invalid',
      given: { levels: { [A1]: { onHand: 5, reserved: 3 } } },
      when: [
        { type: 'cancellation', key: 'c1', sku: 'A', location: 'WH1', quantity: 2 },
        { type: 'cancellation', key: 'c2', sku: 'A', location: 'WH1', quantity: 2 },
      ],
      then: [
        { status: 'applied', level: { reserved: 1, available: 4 } },
        { status: 'invalid', detail: /reserved for orders is 1/ },
      ],
    },
    {
      name: 'order then shipment in one batch: the second sees the first',
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 4 },
        { type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 3 },
        { type: 'shipment', key: 'sh1', sku: 'A', location: 'WH1', quantity: 3 },
      ],
      then: [
        { status: 'applied' },
        { status: 'applied', level: { reserved: 3 } },
        { status: 'applied', level: { on_hand: 1, reserved: 0 } },
      ],
    },
  ]);
});

const A2 = 'A@WH2';

describe('facts: orders and sales over a channel pool (true oversells)', () => {
  table([
    {
      name: 'pool short: an order beyond the pool as a whole is oversold by the pool shortfall',
      given: { levels: { [A1]: { onHand: 2 }, [A2]: { onHand: 1 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 5, pool: ['WH1', 'WH2'] }],
      then: [{ status: 'applied', level: { reserved: 5, available: -3 }, oversold: 2 }],
      movements: [{ type: 'order', at: A1, deltas: { reserved: 5 }, oversold: 2 }],
      levels: { [A2]: { onHand: 1, version: 1 } },
    },
    {
      name: 'location short but the pool fine: no oversell',
      given: { levels: { [A1]: { onHand: 1 }, [A2]: { onHand: 10 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 4, pool: ['WH1', 'WH2'] }],
      then: [{ status: 'applied', level: { reserved: 4, available: -3 } }],
      movements: [{ type: 'order', at: A1, oversold: 0 }],
    },
    {
      name: 'the same order without a pool is oversold at its location (per level, as before)',
      given: { levels: { [A1]: { onHand: 1 }, [A2]: { onHand: 10 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 4 }],
      then: [{ status: 'applied', level: { available: -3 }, oversold: 3 }],
    },
    {
      name: 'the own location is part of the pool even when the pool does not name it',
      given: { levels: { [A1]: { onHand: 3 }, [A2]: { onHand: 1 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 4, pool: ['WH2'] }],
      then: [{ status: 'applied', level: { available: -1 } }],
    },
    {
      name: 'a pool already short: only the new shortfall counts, order then sale in one batch',
      given: { levels: { [A1]: { onHand: 1 }, [A2]: { onHand: 2, reserved: 4 } } },
      when: [
        { type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 1, pool: ['WH1', 'WH2'] },
        { type: 'sale', key: 's1', sku: 'A', location: 'WH1', quantity: 2, pool: ['WH1', 'WH2'] },
      ],
      then: [
        { status: 'applied', level: { available: 0 }, oversold: 1 },
        { status: 'applied', level: { on_hand: -1, available: -2 }, oversold: 2 },
      ],
    },
    {
      name: 'a sale within the pool but beyond its location: no oversell',
      given: { levels: { [A2]: { onHand: 5 } } },
      when: [{ type: 'sale', key: 's1', sku: 'A', location: 'WH1', quantity: 3, pool: ['WH1', 'WH2'] }],
      then: [{ status: 'applied', level: { on_hand: -3, available: -3 } }],
    },
    {
      name: 'a negative level in the pool counts against it: the pool is the sum of available',
      given: { levels: { [A1]: { onHand: 4 }, [A2]: { onHand: -3 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 3, pool: ['WH1', 'WH2'] }],
      then: [{ status: 'applied', level: { available: 1 }, oversold: 2 }],
    },
    {
      name: 'an unknown location in the pool is unknown_location and writes nothing',
      given: { levels: { [A1]: { onHand: 4 } } },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 1, pool: ['WH1', 'NOWHERE'] }],
      then: [{ status: 'unknown_location', detail: /NOWHERE/ }],
      movements: [],
    },
    {
      name: 'a pool level touched for the first time expires its due holds before it is counted',
      given: {
        levels: { [A1]: { onHand: 0 }, [A2]: { onHand: 2, reserved: 2 } },
        reservations: [{ id: 'res_9', at: A2, quantity: 2, expiresAt: T0 - SECOND }],
      },
      when: [{ type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 2, pool: ['WH1', 'WH2'] }],
      then: [{ status: 'applied', level: { available: -2 } }],
      movements: [
        { type: 'expire', at: A2, reservationId: 'res_9' },
        { type: 'order', at: A1, oversold: 0 },
      ],
    },
  ]);

  it('an oversold pool order names the pool and the shortfall in its reason; a covered one keeps its note', () => {
    const outcome = apply({ levels: { [A1]: { onHand: 1 }, [A2]: { onHand: 1 } } }, [
      { type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 1, pool: ['WH1', 'WH2'], note: 'web #1' },
      { type: 'order', key: 'o2', sku: 'A', location: 'WH1', quantity: 3, pool: ['WH2', 'WH1'] },
    ]);
    assert.deepEqual(
      outcome.writes.movements.map((movement) => movement.reason),
      ['web #1', 'pool WH2,WH1 short by 2'],
    );
  });
});

describe('facts: count (absolute, late counts, stale counts)', () => {
  table([
    {
      name: 'count sets on_hand absolutely and remembers its time',
      given: { levels: { [A1]: { onHand: 7, reserved: 2 } } },
      when: [{ type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 3 }],
      then: [{ status: 'applied', level: { on_hand: 3, reserved: 2, available: 1 } }],
      movements: [{ type: 'count', at: A1, deltas: { onHand: -4 }, occurredAt: T0 }],
      levels: { [A1]: { onHand: 3, lastCountAt: T0, lastCountSourceVersion: null } },
    },
    {
      name: 'late count is applied under stored movements that happened after it (baseline)',
      given: { levels: { [A1]: { onHand: 5 } }, countBaselines: { n1: -2 } },
      when: [{ type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 9, occurredAt: T0 - 10 * MINUTE }],
      then: [{ status: 'applied', level: { on_hand: 7 } }],
      movements: [{ type: 'count', at: A1, deltas: { onHand: 2 }, occurredAt: T0 - 10 * MINUTE }],
      levels: { [A1]: { lastCountAt: T0 - 10 * MINUTE } },
    },
    {
      name: 'late count keeps in-batch movements newer than it, and only those',
      when: [
        { type: 'sale', key: 's1', sku: 'A', location: 'WH1', quantity: 2, occurredAt: T0 - 1 * MINUTE },
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 5, occurredAt: T0 - 20 * MINUTE },
        { type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 10, occurredAt: T0 - 10 * MINUTE },
      ],
      then: [
        { status: 'applied', level: { on_hand: -2 }, oversold: 2 },
        { status: 'applied', level: { on_hand: 3 } },
        { status: 'applied', level: { on_hand: 8 } },
      ],
      movements: [
        { type: 'sale', at: A1, deltas: { onHand: -2 } },
        { type: 'receipt', at: A1, deltas: { onHand: 5 } },
        { type: 'count', at: A1, deltas: { onHand: 5 } },
      ],
    },
    {
      name: 'late count adds the stored baseline and the in-batch movements after it',
      given: { levels: { [A1]: { onHand: 20 } }, countBaselines: { n1: 3 } },
      when: [
        {
          type: 'adjustment',
          key: 'a1',
          sku: 'A',
          location: 'WH1',
          quantity: -1,
          reason: 'x',
          occurredAt: T0 - 2 * MINUTE,
        },
        { type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 10, occurredAt: T0 - 5 * MINUTE },
      ],
      then: [
        { status: 'applied', level: { on_hand: 19 } },
        { status: 'applied', level: { on_hand: 12 } },
      ],
    },
    {
      name: 'a count at the exact time of a movement does not keep that movement (strictly after only)',
      when: [
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 5, occurredAt: T0 - MINUTE },
        { type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 4, occurredAt: T0 - MINUTE },
      ],
      then: [{ status: 'applied' }, { status: 'applied', level: { on_hand: 4 } }],
    },
    {
      name: 'stale by time: a count at or before the last applied count time',
      given: { levels: { [A1]: { onHand: 5, lastCountAt: T0 - 5 * MINUTE } } },
      when: [
        { type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 1, occurredAt: T0 - 5 * MINUTE },
        { type: 'count', key: 'n2', sku: 'A', location: 'WH1', onHand: 1, occurredAt: T0 - 6 * MINUTE },
        { type: 'count', key: 'n3', sku: 'A', location: 'WH1', onHand: 2, occurredAt: T0 - 5 * MINUTE + 1 },
      ],
      then: [
        { status: 'stale', detail: /already applied/ },
        { status: 'stale' },
        { status: 'applied', level: { on_hand: 2 } },
      ],
      movements: [{ type: 'count', at: A1, deltas: { onHand: -3 } }],
      levels: { [A1]: { lastCountAt: T0 - 5 * MINUTE + 1 } },
    },
    {
      name: 'stale by source version: equal or older versions, even with a newer time',
      given: { levels: { [A1]: { onHand: 5, lastCountAt: T0 - 60 * MINUTE, lastCountSourceVersion: 5 } } },
      when: [
        { type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 1, sourceVersion: 5 },
        { type: 'count', key: 'n2', sku: 'A', location: 'WH1', onHand: 1, sourceVersion: 4 },
        {
          type: 'count',
          key: 'n3',
          sku: 'A',
          location: 'WH1',
          onHand: 2,
          sourceVersion: 6,
          occurredAt: T0 - 30 * MINUTE,
        },
      ],
      then: [
        { status: 'stale', detail: /source version 5/ },
        { status: 'stale' },
        { status: 'applied', level: { on_hand: 2 } },
      ],
      levels: { [A1]: { lastCountSourceVersion: 6, lastCountAt: T0 - 30 * MINUTE } },
    },
    {
      name: 'a count without source version is judged by time only and keeps the last version',
      given: { levels: { [A1]: { onHand: 5, lastCountAt: T0 - 60 * MINUTE, lastCountSourceVersion: 5 } } },
      when: [{ type: 'count', key: 'n1', sku: 'A', location: 'WH1', onHand: 1 }],
      then: [{ status: 'applied', level: { on_hand: 1 } }],
      levels: { [A1]: { lastCountSourceVersion: 5, lastCountAt: T0 } },
    },
    {
      name: 'a count in the batch makes an older count later in the same batch stale',
      when: [
        {
          type: 'count',
          key: 'n1',
          sku: 'A',
          location: 'WH1',
          onHand: 4,
          occurredAt: T0 - 2 * MINUTE,
          sourceVersion: 2,
        },
        {
          type: 'count',
          key: 'n2',
          sku: 'A',
          location: 'WH1',
          onHand: 9,
          occurredAt: T0 - 3 * MINUTE,
          sourceVersion: 3,
        },
        {
          type: 'count',
          key: 'n3',
          sku: 'A',
          location: 'WH1',
          onHand: 9,
          occurredAt: T0 - 1 * MINUTE,
          sourceVersion: 1,
        },
      ],
      then: [{ status: 'applied', level: { on_hand: 4 } }, { status: 'stale' }, { status: 'stale' }],
    },
  ]);
});

describe('requests and transfers', () => {
  table([
    {
      name: 'transfer_out moves on_hand at the source into in_transit at the destination',
      given: { levels: { [A1]: { onHand: 10, reserved: 3 } } },
      when: [{ type: 'transfer_out', key: 't1', sku: 'A', location: 'WH1', quantity: 7, toLocation: 'WH2' }],
      then: [{ status: 'applied', level: { on_hand: 3, reserved: 3, available: 0 }, movements: 2 }],
      movements: [
        { type: 'transfer_out', at: A1, deltas: { onHand: -7 }, guarded: true },
        { type: 'transfer_out', at: 'A@WH2', deltas: { inTransit: 7 }, guarded: false },
      ],
      levels: { 'A@WH2': { inTransit: 7, onHand: 0, version: 1 } },
    },
    {
      name: 'transfer_out beyond available is insufficient (reserved units are not available)',
      given: { levels: { [A1]: { onHand: 10, reserved: 3 } } },
      when: [{ type: 'transfer_out', key: 't1', sku: 'A', location: 'WH1', quantity: 8, toLocation: 'WH2' }],
      then: [{ status: 'insufficient', detail: /available 7/ }],
      movements: [],
    },
    {
      name: 'transfer_out to the same location is invalid',
      given: { levels: { [A1]: { onHand: 10 } } },
      when: [{ type: 'transfer_out', key: 't1', sku: 'A', location: 'WH1', quantity: 1, toLocation: 'WH1' }],
      then: [{ status: 'invalid', detail: /two different locations/ }],
      movements: [],
    },
    {
      name: 'transfer_out to an unknown location is unknown_location',
      given: { levels: { [A1]: { onHand: 10 } } },
      when: [{ type: 'transfer_out', key: 't1', sku: 'A', location: 'WH1', quantity: 1, toLocation: 'NOWHERE' }],
      then: [{ status: 'unknown_location', detail: /NOWHERE/ }],
    },
    {
      name: 'transfer_in receives in_transit units into on_hand, with or without the source named',
      given: { levels: { 'A@WH2': { inTransit: 7 } } },
      when: [
        { type: 'transfer_in', key: 'ti1', sku: 'A', location: 'WH2', quantity: 5, fromLocation: 'WH1' },
        { type: 'transfer_in', key: 'ti2', sku: 'A', location: 'WH2', quantity: 2 },
      ],
      then: [
        { status: 'applied', level: { on_hand: 5, in_transit: 2, available: 5 } },
        { status: 'applied', level: { on_hand: 7, in_transit: 0 } },
      ],
    },
    {
      name: 'transfer_in of more than is in transit is invalid',
      given: { levels: { 'A@WH2': { inTransit: 7 } } },
      when: [{ type: 'transfer_in', key: 'ti1', sku: 'A', location: 'WH2', quantity: 8, fromLocation: 'WH1' }],
      then: [{ status: 'invalid', detail: /in_transit is 7/ }],
      movements: [],
    },
    {
      name: 'transfer_in from the same location is invalid; from an unknown one is unknown_location',
      given: { levels: { 'A@WH2': { inTransit: 7 } } },
      when: [
        { type: 'transfer_in', key: 'ti1', sku: 'A', location: 'WH2', quantity: 1, fromLocation: 'WH2' },
        { type: 'transfer_in', key: 'ti2', sku: 'A', location: 'WH2', quantity: 1, fromLocation: 'NOWHERE' },
      ],
      then: [{ status: 'invalid' }, { status: 'unknown_location' }],
      movements: [],
    },
    {
      name: 'a transfer out and back in, in one batch',
      given: { levels: { [A1]: { onHand: 4 } } },
      when: [
        { type: 'transfer_out', key: 't1', sku: 'A', location: 'WH1', quantity: 4, toLocation: 'WH2' },
        { type: 'transfer_in', key: 't2', sku: 'A', location: 'WH2', quantity: 4, fromLocation: 'WH1' },
      ],
      then: [
        { status: 'applied', level: { on_hand: 0 } },
        { status: 'applied', level: { on_hand: 4, in_transit: 0 } },
      ],
      levels: { [A1]: { onHand: 0 }, 'A@WH2': { onHand: 4, inTransit: 0, version: 2 } },
    },
  ]);
});

describe('catalogue and time validation', () => {
  table([
    {
      name: 'unknown sku is unknown_variant',
      when: [{ type: 'receipt', key: 'r1', sku: 'NOPE', location: 'WH1', quantity: 1 }],
      then: [{ status: 'unknown_variant', detail: /NOPE/ }],
      movements: [],
    },
    {
      name: 'unknown location is unknown_location',
      when: [{ type: 'sale', key: 's1', sku: 'A', location: 'NOWHERE', quantity: 1 }],
      then: [{ status: 'unknown_location' }],
    },
    {
      name: 'unknown sku and unknown location: unknown_variant comes first',
      when: [{ type: 'sale', key: 's1', sku: 'NOPE', location: 'NOWHERE', quantity: 1 }],
      then: [{ status: 'unknown_variant' }],
    },
    {
      name: 'a movement on a bundle is invalid (a bundle holds no stock); unknown location comes first',
      when: [
        { type: 'receipt', key: 'r1', sku: 'KIT', location: 'WH1', quantity: 1 },
        { type: 'reserve', key: 'r2', sku: 'KIT', location: 'WH1', quantity: 1 },
        { type: 'receipt', key: 'r3', sku: 'KIT', location: 'NOWHERE', quantity: 1 },
      ],
      then: [
        { status: 'invalid', detail: /bundle/ },
        { status: 'invalid', detail: /bundle/ },
        { status: 'unknown_location' },
      ],
      movements: [],
    },
    {
      name: `occurredAt up to sourceClockSkewMsMax (${limits.sourceClockSkewMsMax} ms) ahead is accepted; 1 ms more is invalid`,
      when: [
        {
          type: 'receipt',
          key: 'r1',
          sku: 'A',
          location: 'WH1',
          quantity: 1,
          occurredAt: T0 + limits.sourceClockSkewMsMax,
        },
        {
          type: 'receipt',
          key: 'r2',
          sku: 'A',
          location: 'WH1',
          quantity: 1,
          occurredAt: T0 + limits.sourceClockSkewMsMax + 1,
        },
        {
          type: 'sale',
          key: 's2',
          sku: 'A',
          location: 'WH1',
          quantity: 1,
          occurredAt: T0 + limits.sourceClockSkewMsMax + 1,
        },
      ],
      then: [
        { status: 'applied', level: { on_hand: 1 } },
        { status: 'invalid', detail: /future/ },
        { status: 'invalid', detail: /future/ },
      ],
      movements: [{ type: 'receipt', at: A1, occurredAt: T0 + limits.sourceClockSkewMsMax }],
    },
  ]);
});

const pendingHold = (
  extra: Partial<{ quantity: number; expiresAt: number | null; createdAt: number; id: string }> = {},
) => ({
  id: extra.id ?? 'res_1',
  at: A1,
  quantity: extra.quantity ?? 4,
  expiresAt: extra.expiresAt ?? null,
  ...(extra.createdAt === undefined ? {} : { createdAt: extra.createdAt }),
});

describe('reservations: reserve, commit, release', () => {
  table([
    {
      name: 'reserve within available creates a pending reservation with its expiry',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 4, expiresInSeconds: 60 }],
      then: [
        {
          status: 'applied',
          level: { on_hand: 5, reserved: 4, available: 1 },
          reservation: {
            id: 'res_new_1',
            key: 'h1',
            status: 'pending',
            quantity: 4,
            committed_quantity: 0,
            expires_at: iso(T0 + 60 * SECOND),
            created_at: iso(T0),
            resolved_at: null,
          },
        },
      ],
      movements: [{ type: 'reserve', at: A1, deltas: { reserved: 4 }, guarded: true, reservationId: 'res_new_1' }],
      reservations: { res_new_1: { created: true, status: 'pending', expiresAt: T0 + 60 * SECOND, createdAt: T0 } },
      levels: { [A1]: { reserved: 4, held: 4 } },
    },
    {
      name: 'reserve of exactly the available units leaves available at zero; without expiry it never expires',
      given: { levels: { [A1]: { onHand: 5, reserved: 2 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 3 }],
      then: [{ status: 'applied', level: { available: 0 }, reservation: { expires_at: null } }],
    },
    {
      name: 'reserve beyond available is insufficient: no reservation, no movement',
      given: { levels: { [A1]: { onHand: 5, reserved: 2 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 4 }],
      then: [{ status: 'insufficient', detail: /available 3/ }],
      movements: [],
      reservationWrites: 0,
    },
    {
      name: 'reserve when an oversell left available negative is insufficient',
      given: { levels: { [A1]: { onHand: -1 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 1 }],
      then: [{ status: 'insufficient' }],
    },
    {
      name: 'two reserves in one batch: the second is judged after the first',
      given: { levels: { [A1]: { onHand: 7 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'reserve', key: 'h2', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'reserve', key: 'h3', sku: 'A', location: 'WH1', quantity: 2 },
      ],
      then: [
        { status: 'applied', reservation: { id: 'res_new_1' } },
        { status: 'insufficient' },
        { status: 'applied', level: { available: 0 }, reservation: { id: 'res_new_2' } },
      ],
    },
    {
      name: 'full commit: the units stay reserved as an order',
      given: { now: T0, levels: { [A1]: { onHand: 10, reserved: 4 } }, reservations: [pendingHold()] },
      when: [{ type: 'commit', key: 'c1', reservationId: 'res_1' }],
      then: [
        {
          status: 'applied',
          level: { reserved: 4, available: 6 },
          reservation: { status: 'committed', committed_quantity: 4, resolved_at: iso(T0) },
        },
      ],
      movements: [{ type: 'commit', at: A1, deltas: { reserved: 0 }, reservationId: 'res_1' }],
      reservations: { res_1: { created: false, status: 'committed', committedQuantity: 4, resolvedAt: T0 } },
    },
    {
      name: 'partial commit keeps the committed units reserved and releases the rest; they ship like an order',
      given: { levels: { [A1]: { onHand: 10, reserved: 4 } }, reservations: [pendingHold()] },
      when: [
        { type: 'commit', key: 'c1', reservationId: 'res_1', quantity: 1 },
        { type: 'shipment', key: 'sh1', sku: 'A', location: 'WH1', quantity: 1 },
      ],
      then: [
        {
          status: 'applied',
          level: { reserved: 1, available: 9 },
          reservation: { status: 'committed', committed_quantity: 1, quantity: 4 },
        },
        { status: 'applied', level: { on_hand: 9, reserved: 0, available: 9 } },
      ],
      movements: [
        { type: 'commit', at: A1, deltas: { reserved: -3 } },
        { type: 'shipment', at: A1, deltas: { reserved: -1, onHand: -1 } },
      ],
    },
    {
      name: 'commit of more than the reservation holds is invalid and leaves it pending',
      given: { levels: { [A1]: { onHand: 10, reserved: 4 } }, reservations: [pendingHold()] },
      when: [
        { type: 'commit', key: 'c1', reservationId: 'res_1', quantity: 5 },
        { type: 'release', key: 'x1', reservationId: 'res_1' },
      ],
      then: [
        { status: 'invalid', detail: /holds 4/ },
        { status: 'applied', reservation: { status: 'released' } },
      ],
    },
    {
      name: 'release gives the held units back',
      given: { levels: { [A1]: { onHand: 10, reserved: 4 } }, reservations: [pendingHold()] },
      when: [{ type: 'release', key: 'x1', reservationId: 'res_1' }],
      then: [
        {
          status: 'applied',
          level: { reserved: 0, available: 10 },
          reservation: { status: 'released', committed_quantity: 0 },
        },
      ],
      movements: [{ type: 'release', at: A1, deltas: { reserved: -4 } }],
    },
    {
      name: 'a reservation resolves at most once: commit/release after commit or release is reservation_closed',
      given: {
        levels: { [A1]: { onHand: 10, reserved: 4 } },
        reservations: [
          { id: 'res_c', at: A1, quantity: 4, status: 'committed', committedQuantity: 4 },
          { id: 'res_r', at: A1, quantity: 2, status: 'released' },
        ],
      },
      when: [
        { type: 'commit', key: 'c1', reservationId: 'res_c' },
        { type: 'release', key: 'c2', reservationId: 'res_c' },
        { type: 'commit', key: 'c3', reservationId: 'res_r' },
        { type: 'release', key: 'c4', reservationId: 'res_r' },
      ],
      then: [
        { status: 'reservation_closed', detail: /already committed/ },
        { status: 'reservation_closed' },
        { status: 'reservation_closed', detail: /already released/ },
        { status: 'reservation_closed' },
      ],
      movements: [],
    },
    {
      name: 'commit then release of the same reservation in one batch: the second is reservation_closed',
      given: { levels: { [A1]: { onHand: 10, reserved: 4 } }, reservations: [pendingHold()] },
      when: [
        { type: 'commit', key: 'c1', reservationId: 'res_1', quantity: 2 },
        { type: 'release', key: 'x1', reservationId: 'res_1' },
      ],
      then: [{ status: 'applied', level: { reserved: 2 } }, { status: 'reservation_closed' }],
      reservationWrites: 1,
    },
    {
      name: 'unknown reservation id is unknown_reservation',
      when: [
        { type: 'commit', key: 'c1', reservationId: 'res_missing' },
        { type: 'release', key: 'x1', reservationId: 'res_missing' },
      ],
      then: [{ status: 'unknown_reservation' }, { status: 'unknown_reservation' }],
    },
    {
      name: 'reserve and commit in one batch: the reservation is found and written once, as created',
      given: { levels: { [A1]: { onHand: 3 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 3, expiresInSeconds: 600 },
        { type: 'commit', key: 'c1', reservationId: 'res_new_1', quantity: 2 },
      ],
      then: [
        { status: 'applied' },
        { status: 'applied', level: { reserved: 2, available: 1 }, reservation: { status: 'committed' } },
      ],
      reservations: { res_new_1: { created: true, status: 'committed', committedQuantity: 2 } },
      reservationWrites: 1,
    },
  ]);
});

describe('reservations by channel: the pool less what others hold, placed in priority order', () => {
  const channel = (locations: string[], fence = { units: 0, percent: 0 }) => ({
    code: 'web',
    locations: locations.map((code) => ({ code })),
    fence,
  });
  table([
    {
      name: 'whole at the first location in priority order that holds the quantity',
      given: { levels: { [A1]: { onHand: 2 }, [A2]: { onHand: 5 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH2', quantity: 2, channel: channel(['WH2', 'WH1']) }],
      then: [
        { status: 'applied', level: { available: 3 }, reservation: { id: 'res_new_1', location: 'WH2', quantity: 2 } },
      ],
      movements: [{ type: 'reserve', at: A2, deltas: { reserved: 2 }, guarded: true, reservationId: 'res_new_1' }],
      levels: { [A2]: { reserved: 2, held: 2 } },
    },
    {
      name: 'the first location short, the second whole: placed whole at the second, not split',
      given: { levels: { [A1]: { onHand: 2 }, [A2]: { onHand: 5 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 4, channel: channel(['WH1', 'WH2']) }],
      then: [{ status: 'applied', reservation: { location: 'WH2', quantity: 4 } }],
      movements: [{ type: 'reserve', at: A2, deltas: { reserved: 4 }, guarded: true }],
    },
    {
      name: 'no location holds it but the pool does: one part per location, in priority order',
      given: { levels: { [A1]: { onHand: 3 }, [A2]: { onHand: 4 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH2', quantity: 6, channel: channel(['WH2', 'WH1']) }],
      then: [
        { status: 'applied', level: { available: 0 }, reservation: { id: 'res_new_1', location: 'WH2', quantity: 4 } },
      ],
      movements: [
        { type: 'reserve', at: A2, deltas: { reserved: 4 }, guarded: true, reservationId: 'res_new_1' },
        { type: 'reserve', at: A1, deltas: { reserved: 2 }, guarded: true, reservationId: 'res_new_2' },
      ],
      reservations: {
        res_new_1: { created: true, quantity: 4, locationCode: 'WH2' },
        res_new_2: { created: true, quantity: 2, locationCode: 'WH1' },
      },
      levels: { [A1]: { reserved: 2, held: 2 }, [A2]: { reserved: 4, held: 4 } },
    },
    {
      name: 'the pool short: insufficient, nothing written',
      given: { levels: { [A1]: { onHand: 3 }, [A2]: { onHand: 4 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 8, channel: channel(['WH1', 'WH2']) }],
      then: [{ status: 'insufficient', detail: /channel web may sell 7 of A \(pool 7/ }],
      movements: [],
      reservationWrites: 0,
    },
    {
      name: 'units and a percentage ring-fenced for other channels are held back from the pool',
      given: { levels: { [A1]: { onHand: 6 }, [A2]: { onHand: 4 } } },
      when: [
        // pool 10: floor(10 x 80%) - 2 = 6 may be sold; then pool 4: floor(4 x 80%) - 2 = 1
        {
          type: 'reserve',
          key: 'h1',
          sku: 'A',
          location: 'WH1',
          quantity: 7,
          channel: channel(['WH1', 'WH2'], { units: 2, percent: 20 }),
        },
        {
          type: 'reserve',
          key: 'h2',
          sku: 'A',
          location: 'WH1',
          quantity: 6,
          channel: channel(['WH1', 'WH2'], { units: 2, percent: 20 }),
        },
        {
          type: 'reserve',
          key: 'h3',
          sku: 'A',
          location: 'WH1',
          quantity: 2,
          channel: channel(['WH1', 'WH2'], { units: 2, percent: 20 }),
        },
      ],
      then: [
        { status: 'insufficient', detail: /may sell 6 of A \(pool 10, 4 held for others\)/ },
        { status: 'applied', reservation: { location: 'WH1', quantity: 6 } },
        { status: 'insufficient', detail: /may sell 1 of A \(pool 4, 3 held for others\)/ },
      ],
    },
    {
      name: 'a negative level gives nothing and takes nothing from the pool',
      given: { levels: { [A1]: { onHand: -3 }, [A2]: { onHand: 2 } } },
      when: [{ type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 2, channel: channel(['WH1', 'WH2']) }],
      then: [{ status: 'applied', reservation: { location: 'WH2' } }],
    },
    {
      name: 'a store without a fresh count does not serve the channel (pickup rule)',
      given: { levels: { [A1]: { onHand: 5, lastCountAt: T0 - 2 * MINUTE }, [A2]: { onHand: 1 } } },
      when: [
        {
          type: 'reserve',
          key: 'h1',
          sku: 'A',
          location: 'WH1',
          quantity: 2,
          channel: {
            code: 'web',
            locations: [{ code: 'WH1', countMaxAgeMs: MINUTE }, { code: 'WH2' }],
            fence: { units: 0, percent: 0 },
          },
        },
      ],
      then: [{ status: 'insufficient', detail: /pool 1/ }],
    },
    {
      name: 'reservations by channel in one batch each see the ones before: the last unit once',
      given: { levels: { [A1]: { onHand: 1 }, [A2]: { onHand: 1 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 1, channel: channel(['WH1', 'WH2']) },
        { type: 'reserve', key: 'h2', sku: 'A', location: 'WH1', quantity: 1, channel: channel(['WH1', 'WH2']) },
        { type: 'reserve', key: 'h3', sku: 'A', location: 'WH1', quantity: 1, channel: channel(['WH1', 'WH2']) },
      ],
      then: [
        { status: 'applied', reservation: { location: 'WH1' } },
        { status: 'applied', reservation: { location: 'WH2' } },
        { status: 'insufficient' },
      ],
    },
    {
      name: 'an unknown candidate location is unknown_location',
      given: { levels: { [A1]: { onHand: 5 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 1, channel: channel(['WH1', 'NOWHERE']) },
      ],
      then: [{ status: 'unknown_location', detail: /NOWHERE/ }],
    },
  ]);

  it('a split answer lists every part with its level; a replay gives it back byte for byte', () => {
    const command = {
      type: 'reserve' as const,
      key: 'h1',
      sku: 'A',
      location: 'WH1',
      quantity: 5,
      expiresInSeconds: 60,
      channel: channel(['WH1', 'WH2']),
    };
    const first = apply({ levels: { [A1]: { onHand: 3 }, [A2]: { onHand: 3 } } }, [command]);
    const answer = first.answers[0]!;
    assert.deepEqual(
      answer.parts?.map((part) => [
        part.reservation.id,
        part.reservation.location,
        part.reservation.quantity,
        part.level.available,
      ]),
      [
        ['res_new_1', 'WH1', 3, 0],
        ['res_new_2', 'WH2', 2, 1],
      ],
    );
    assert.deepEqual(answer.reservation, answer.parts?.[0]?.reservation);
    assert.equal(first.writes.answers.length, 1);
    const again = apply({ answers: { h1: { payloadHash: 'hash:h1', answer } } }, [command]);
    assert.deepEqual(again.answers[0], { ...answer, status: 'exists', replayed: true });
  });
});

describe('reservations: logical expiry', () => {
  table([
    {
      name: 'commit exactly at expiresAt is reservation_expired (the hold is expired on that touch)',
      given: { now: T0, levels: { [A1]: { onHand: 10, reserved: 4 } }, reservations: [pendingHold({ expiresAt: T0 })] },
      when: [{ type: 'commit', key: 'c1', reservationId: 'res_1' }],
      then: [{ status: 'reservation_expired', detail: new RegExp(iso(T0).replace(/\./g, '\\.')) }],
      movements: [{ type: 'expire', at: A1, deltas: { reserved: -4 }, occurredAt: T0, reservationId: 'res_1' }],
      reservations: { res_1: { status: 'expired', resolvedAt: T0, created: false } },
      levels: { [A1]: { reserved: 0 } },
    },
    {
      name: 'commit 1 ms before expiresAt is applied',
      given: {
        now: T0,
        levels: { [A1]: { onHand: 10, reserved: 4 } },
        reservations: [pendingHold({ expiresAt: T0 + 1 })],
      },
      when: [{ type: 'commit', key: 'c1', reservationId: 'res_1' }],
      then: [{ status: 'applied', reservation: { status: 'committed' } }],
      movements: [{ type: 'commit', at: A1 }],
    },
    {
      name: 'release after expiry is reservation_expired; an expiry already written answers the same',
      given: {
        levels: { [A1]: { onHand: 10, reserved: 4 } },
        reservations: [
          pendingHold({ expiresAt: T0 - MINUTE }),
          { id: 'res_old', at: A1, quantity: 1, status: 'expired', expiresAt: T0 - 60 * MINUTE },
        ],
      },
      when: [
        { type: 'release', key: 'x1', reservationId: 'res_1' },
        { type: 'commit', key: 'c2', reservationId: 'res_old' },
      ],
      then: [{ status: 'reservation_expired' }, { status: 'reservation_expired' }],
      movements: [{ type: 'expire', at: A1, occurredAt: T0 - MINUTE }],
    },
    {
      name: 'expiry on first touch: a request sees the units of a due hold as available',
      given: {
        levels: { [A1]: { onHand: 5, reserved: 5 } },
        reservations: [pendingHold({ quantity: 5, expiresAt: T0 - MINUTE })],
      },
      when: [{ type: 'reserve', key: 'h2', sku: 'A', location: 'WH1', quantity: 5 }],
      then: [{ status: 'applied', level: { reserved: 5, available: 0, version: 3 } }],
      movements: [
        { type: 'expire', at: A1, deltas: { reserved: -5 }, occurredAt: T0 - MINUTE, reservationId: 'res_1' },
        { type: 'reserve', at: A1, deltas: { reserved: 5 }, reservationId: 'res_new_1' },
      ],
      reservations: { res_1: { status: 'expired' }, res_new_1: { status: 'pending', created: true } },
    },
    {
      name: 'expiry order is (expiresAt, createdAt); holds not yet due stay pending',
      given: {
        levels: { [A1]: { onHand: 20, reserved: 10 } },
        reservations: [
          { id: 'res_c', at: A1, quantity: 3, expiresAt: T0 - 3 * MINUTE, createdAt: T0 - 20 * MINUTE },
          { id: 'res_a', at: A1, quantity: 1, expiresAt: T0 - 5 * MINUTE, createdAt: T0 - 10 * MINUTE },
          { id: 'res_b', at: A1, quantity: 2, expiresAt: T0 - 5 * MINUTE, createdAt: T0 - 30 * MINUTE },
          { id: 'res_d', at: A1, quantity: 4, expiresAt: T0 + 1, createdAt: T0 - 40 * MINUTE },
        ],
      },
      when: [{ type: 'tidy', at: A1 }],
      then: [],
      movements: [
        { type: 'expire', at: A1, reservationId: 'res_b', deltas: { reserved: -2 }, occurredAt: T0 - 5 * MINUTE },
        { type: 'expire', at: A1, reservationId: 'res_a', deltas: { reserved: -1 }, occurredAt: T0 - 5 * MINUTE },
        { type: 'expire', at: A1, reservationId: 'res_c', deltas: { reserved: -3 }, occurredAt: T0 - 3 * MINUTE },
      ],
      reservationWrites: 3,
      levels: { [A1]: { reserved: 4, version: 4 } },
    },
    {
      name: 'tidy with nothing due writes nothing and answers nothing',
      given: { levels: { [A1]: { onHand: 5, reserved: 4 } }, reservations: [pendingHold({ expiresAt: T0 + SECOND })] },
      when: [{ type: 'tidy', at: A1 }],
      then: [],
      movements: [],
      reservationWrites: 0,
    },
    {
      name: 'only touched levels expire their holds',
      given: {
        levels: { [A1]: { onHand: 5 }, 'B@WH1': { onHand: 5, reserved: 2 } },
        reservations: [{ id: 'res_b', at: 'B@WH1', quantity: 2, expiresAt: T0 - MINUTE }],
      },
      when: [{ type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 1 }],
      then: [{ status: 'applied' }],
      movements: [{ type: 'receipt', at: A1 }],
      reservationWrites: 0,
    },
    {
      name: "a transfer's destination leg expires the destination's due holds before it lands",
      given: {
        levels: { [A1]: { onHand: 5 }, 'A@WH2': { onHand: 2, reserved: 2 } },
        reservations: [{ id: 'res_w2', at: 'A@WH2', quantity: 2, expiresAt: T0 - MINUTE }],
      },
      when: [{ type: 'transfer_out', key: 't1', sku: 'A', location: 'WH1', quantity: 5, toLocation: 'WH2' }],
      then: [{ status: 'applied', movements: 2 }],
      movements: [
        { type: 'transfer_out', at: A1, deltas: { onHand: -5 } },
        { type: 'expire', at: 'A@WH2', deltas: { reserved: -2 }, reservationId: 'res_w2' },
        { type: 'transfer_out', at: 'A@WH2', deltas: { inTransit: 5 } },
      ],
      levels: { 'A@WH2': { reserved: 0, inTransit: 5, version: 3 } },
    },
  ]);
});

const storedApplied: CommandAnswer = {
  key: 'k1',
  status: 'applied',
  movement_ids: [7],
  level: {
    sku: 'A',
    location: 'WH1',
    on_hand: 5,
    reserved: 0,
    available: 5,
    damaged: 0,
    quarantine: 0,
    in_transit: 0,
    version: 1,
  },
};

describe('idempotency', () => {
  table([
    {
      name: "a key in the sys: namespace (onhand's own movements, e.g. expiries) is refused and not stored",
      given: { levels: { [A1]: { onHand: 1 } } },
      when: [{ type: 'receipt', key: 'sys:expire:res_1', sku: 'A', location: 'WH1', quantity: 5 }],
      then: [{ status: 'invalid', detail: /reserved for onhand/ }],
      movements: [],
    },
    {
      name: 'same key, same payload as a stored answer: the first answer replayed as exists, nothing written',
      given: { answers: { k1: { payloadHash: 'hash:k1', answer: storedApplied } } },
      when: [{ type: 'receipt', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 }],
      then: [{ status: 'exists', replayed: true, level: storedApplied.level!, movements: 1 }],
      movements: [],
    },
    {
      name: 'a stored refusal is replayed as the refusal, even when the stock is now there',
      given: {
        levels: { [A1]: { onHand: 100 } },
        answers: {
          k1: { payloadHash: 'hash:k1', answer: { key: 'k1', status: 'insufficient', detail: 'available 0' } },
        },
      },
      when: [{ type: 'reserve', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 }],
      then: [{ status: 'insufficient', replayed: true, detail: /^available 0$/ }],
      movements: [],
      reservationWrites: 0,
    },
    {
      name: 'same key, different payload: conflict, and nothing changes (not even for an unknown sku)',
      given: { answers: { k1: { payloadHash: 'hash:k1', answer: storedApplied } } },
      when: [
        { type: 'receipt', key: 'k1', sku: 'A', location: 'WH1', quantity: 6, payloadHash: 'other' },
        { type: 'receipt', key: 'k1', sku: 'NOPE', location: 'WH1', quantity: 5, payloadHash: 'other2' },
      ],
      then: [{ status: 'conflict', detail: /different payload/ }, { status: 'conflict' }],
      movements: [],
    },
    {
      name: 'in-batch duplicate key, same payload: applied once, the second is the first answer replayed',
      when: [
        { type: 'receipt', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'receipt', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 },
      ],
      then: [
        { status: 'applied', level: { on_hand: 5, version: 1 } },
        { status: 'exists', replayed: true, level: { on_hand: 5, version: 1 } },
      ],
      movements: [{ type: 'receipt', at: A1 }],
    },
    {
      name: 'in-batch duplicate of a refusal stays a refusal although stock arrived in between',
      when: [
        { type: 'reserve', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 100 },
        { type: 'reserve', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 },
      ],
      then: [{ status: 'insufficient' }, { status: 'applied' }, { status: 'insufficient', replayed: true }],
      reservationWrites: 0,
    },
    {
      name: 'in-batch same key, different payload: conflict, the first stands',
      when: [
        { type: 'receipt', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'receipt', key: 'k1', sku: 'A', location: 'WH1', quantity: 50, payloadHash: 'other' },
      ],
      then: [{ status: 'applied', level: { on_hand: 5 } }, { status: 'conflict' }],
      levels: { [A1]: { onHand: 5 } },
    },
    {
      name: 'a replayed reserve does not reserve again',
      given: { levels: { [A1]: { onHand: 10 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 4 },
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 4 },
      ],
      then: [
        { status: 'applied', reservation: { id: 'res_new_1' } },
        { status: 'exists', replayed: true, reservation: { id: 'res_new_1' }, level: { reserved: 4 } },
      ],
      levels: { [A1]: { reserved: 4 } },
      reservationWrites: 1,
    },
  ]);

  it('a replay is the stored answer byte for byte, except the status and the replayed flag', () => {
    const outcome = apply({ answers: { k1: { payloadHash: 'hash:k1', answer: storedApplied } } }, [
      { type: 'receipt', key: 'k1', sku: 'A', location: 'WH1', quantity: 5 },
    ]);
    const { status, replayed, ...rest } = outcome.answers[0]!;
    const { status: storedStatus, ...storedRest } = storedApplied;
    assert.equal(status, 'exists');
    assert.equal(storedStatus, 'applied');
    assert.equal(replayed, true);
    assert.equal(JSON.stringify(rest), JSON.stringify(storedRest));
  });
});

describe('group judgement', () => {
  table([
    {
      name: 'each command is judged on its own: refusals in a batch do not affect the others',
      given: { levels: { [A1]: { onHand: 5 }, 'B@WH1': { onHand: 1, lastCountAt: T0 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 4 },
        { type: 'reserve', key: 'h2', sku: 'A', location: 'WH1', quantity: 4 },
        { type: 'sale', key: 's1', sku: 'NOPE', location: 'WH1', quantity: 1 },
        { type: 'count', key: 'n1', sku: 'B', location: 'WH1', onHand: 0, occurredAt: T0 - MINUTE },
        { type: 'commit', key: 'c1', reservationId: 'res_none' },
        { type: 'receipt', key: 'r1', sku: 'A', location: 'WH1', quantity: 10 },
        { type: 'reserve', key: 'h3', sku: 'A', location: 'WH1', quantity: 4 },
        { type: 'sale', key: 's2', sku: 'B', location: 'WH1', quantity: 1 },
      ],
      then: [
        { status: 'applied', level: { available: 1 } },
        { status: 'insufficient' },
        { status: 'unknown_variant' },
        { status: 'stale' },
        { status: 'unknown_reservation' },
        { status: 'applied', level: { on_hand: 15, available: 11 } },
        { status: 'applied', level: { reserved: 8, available: 7 }, reservation: { id: 'res_new_2' } },
        { status: 'applied', level: { on_hand: 0 } },
      ],
      levels: { [A1]: { onHand: 15, reserved: 8, version: 4 }, 'B@WH1': { onHand: 0, version: 2 } },
    },
  ]);
});

/** A snapshot as a store would load it after an earlier outcome (levels and reservations written). */
function afterWrites(levels: LevelWrite[], reservations: ReservationState[]) {
  const at = (variantId: number, locationId: number) =>
    `${variantId === 1 ? 'A' : 'B'}@${locationId === 10 ? 'WH1' : 'WH2'}`;
  return {
    levels: Object.fromEntries(levels.map(({ level }) => [at(level.variantId, level.locationId), { ...level }])),
    reservations: reservations.map((reservation) => ({
      id: reservation.id,
      at: at(reservation.variantId, reservation.locationId),
      quantity: reservation.quantity,
      status: reservation.status,
      committedQuantity: reservation.committedQuantity,
      expiresAt: reservation.expiresAt,
      createdAt: reservation.createdAt,
    })),
  };
}

describe('holds are not orders: cancellation and shipment take only reserved - held (regression: BUG-1)', () => {
  // Found by these tables (then CORE BUG-1) and fixed in 5c66372: cancellation and shipment were
  // judged against `reserved`, which includes units held by pending reservations; they could take
  // a hold's units, the hold's release/commit/expiry then subtracted them again, reserved went
  // below zero and the core threw - and, through a store, threw on every later touch of the level
  // (the expiry is retried each time), with getStock over-reporting available.
  table([
    {
      name: 'a cancellation cannot take the units of a pending reservation',
      given: { levels: { [A1]: { onHand: 10 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 5, expiresInSeconds: 60 },
        { type: 'cancellation', key: 'f1', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'release', key: 'x1', reservationId: 'res_new_1' },
      ],
      then: [
        { status: 'applied', level: { reserved: 5 } },
        { status: 'invalid', detail: /reserved for orders is 0/ },
        { status: 'applied', level: { reserved: 0, available: 10 } },
      ],
      levels: { [A1]: { reserved: 0, held: 0 } },
    },
    {
      name: 'a shipment cannot take the units of a pending reservation',
      given: { levels: { [A1]: { onHand: 10 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'shipment', key: 'f1', sku: 'A', location: 'WH1', quantity: 1 },
      ],
      then: [{ status: 'applied' }, { status: 'invalid', detail: /reserved for orders is 0/ }],
      levels: { [A1]: { onHand: 10, reserved: 5, held: 5 } },
    },
    {
      name: 'orders and holds side by side: only the order part can be cancelled or shipped',
      given: { levels: { [A1]: { onHand: 10, reserved: 7 } }, reservations: [pendingHold({ quantity: 4 })] },
      when: [
        { type: 'cancellation', key: 'c1', sku: 'A', location: 'WH1', quantity: 4 },
        { type: 'shipment', key: 's1', sku: 'A', location: 'WH1', quantity: 3 },
        { type: 'cancellation', key: 'c2', sku: 'A', location: 'WH1', quantity: 1 },
        { type: 'release', key: 'x1', reservationId: 'res_1' },
      ],
      then: [
        { status: 'invalid', detail: /reserved for orders is 3/ },
        { status: 'applied', level: { on_hand: 7, reserved: 4 } },
        { status: 'invalid', detail: /reserved for orders is 0/ },
        { status: 'applied', level: { reserved: 0, available: 7 } },
      ],
    },
    {
      name: 'a committed reservation becomes an order: its committed units can be shipped, the hold ends',
      given: { levels: { [A1]: { onHand: 10 } } },
      when: [
        { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 5 },
        { type: 'commit', key: 'c1', reservationId: 'res_new_1', quantity: 3 },
        { type: 'shipment', key: 's1', sku: 'A', location: 'WH1', quantity: 3 },
      ],
      then: [
        { status: 'applied' },
        { status: 'applied', level: { reserved: 3 } },
        { status: 'applied', level: { on_hand: 7, reserved: 0 } },
      ],
      levels: { [A1]: { held: 0, reserved: 0 } },
    },
    {
      name: 'an order fact reserving beyond on_hand is still an order (not a hold)',
      given: { levels: { [A1]: { onHand: 1, reserved: 1 } }, reservations: [pendingHold({ quantity: 1 })] },
      when: [
        { type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 2 },
        { type: 'cancellation', key: 'c1', sku: 'A', location: 'WH1', quantity: 2 },
      ],
      then: [
        { status: 'applied', oversold: 2, level: { reserved: 3, available: -2 } },
        { status: 'applied', level: { reserved: 1 } },
      ],
      levels: { [A1]: { held: 1 } },
    },
  ]);

  it('after an expiry the level keeps taking commands (the expiry ends only the hold)', () => {
    const first = apply({ levels: { [A1]: { onHand: 10 } } }, [
      { type: 'order', key: 'o1', sku: 'A', location: 'WH1', quantity: 2 },
      { type: 'reserve', key: 'h1', sku: 'A', location: 'WH1', quantity: 5, expiresInSeconds: 60 },
      { type: 'cancellation', key: 'f1', sku: 'A', location: 'WH1', quantity: 5 },
    ]);
    assert.deepEqual(
      first.answers.map((answer) => answer.status),
      ['applied', 'applied', 'invalid'],
    );
    const later = {
      now: T0 + 61 * SECOND,
      ...afterWrites(
        first.writes.levels,
        first.writes.reservations.map(({ reservation }) => reservation),
      ),
    };
    const row: Row = {
      name: 'later',
      given: later,
      when: [
        { type: 'receipt', key: 'r9', sku: 'A', location: 'WH1', quantity: 1 },
        { type: 'cancellation', key: 'f2', sku: 'A', location: 'WH1', quantity: 2 },
      ],
      then: [
        { status: 'applied', level: { on_hand: 11, reserved: 2, available: 9 } },
        { status: 'applied', level: { reserved: 0 } },
      ],
      levels: { [A1]: { held: 0 } },
    };
    runRow(row);
  });
});

describe('precedence when several verdicts apply (verdictStatuses order)', () => {
  table([
    {
      // Regression (then CORE BUG-2, fixed in 5c66372): the future check ran before the lookups.
      name: 'unknown sku with an occurredAt far in the future is unknown_variant',
      when: [
        {
          type: 'receipt',
          key: 'r1',
          sku: 'NOPE',
          location: 'WH1',
          quantity: 1,
          occurredAt: T0 + limits.sourceClockSkewMsMax + 1,
        },
      ],
      then: [{ status: 'unknown_variant' }],
    },
    {
      name: 'unknown location with an occurredAt far in the future is unknown_location',
      when: [
        {
          type: 'receipt',
          key: 'r1',
          sku: 'A',
          location: 'NOWHERE',
          quantity: 1,
          occurredAt: T0 + limits.sourceClockSkewMsMax + 1,
        },
      ],
      then: [{ status: 'unknown_location' }],
    },
    {
      name: 'unknown reservation with an occurredAt far in the future is unknown_reservation',
      when: [
        { type: 'release', key: 'x1', reservationId: 'res_none', occurredAt: T0 + limits.sourceClockSkewMsMax + 1 },
      ],
      then: [{ status: 'unknown_reservation' }],
    },
    {
      name: 'a known reservation with an occurredAt far in the future is invalid (before expired/closed)',
      given: { levels: { [A1]: { onHand: 10, reserved: 4 } }, reservations: [pendingHold({ expiresAt: T0 - MINUTE })] },
      when: [{ type: 'commit', key: 'c1', reservationId: 'res_1', occurredAt: T0 + limits.sourceClockSkewMsMax + 1 }],
      then: [{ status: 'invalid', detail: /future/ }],
    },
    {
      // NOTE for the core owner: verdicts.ts lists `invalid` before `reservation_closed` and
      // `reservation_expired`, but an over-commit of a closed/expired reservation answers
      // closed/expired. The answer is the more useful one; the list (or a comment) should say so.
      name: 'over-commit of a committed reservation answers reservation_closed (not invalid)',
      given: {
        levels: { [A1]: { onHand: 10, reserved: 4 } },
        reservations: [{ id: 'res_c', at: A1, quantity: 4, status: 'committed', committedQuantity: 4 }],
      },
      when: [{ type: 'commit', key: 'c1', reservationId: 'res_c', quantity: 9 }],
      then: [{ status: 'reservation_closed' }],
    },
  ]);
});

describe('coverage', () => {
  it('the tables above produce every verdict status', () => {
    // Runs last in this file (node:test runs a file's tests in order).
    assert.deepEqual([...seenStatuses].sort(), [...verdictStatuses].sort());
  });
});
