/**
 * The alert rules (src/core/alerts.ts): each condition holds on its own figures and not on its
 * neighbours'; an alert fires once when its condition starts, stays quiet while it holds, and
 * resolves once when it ends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AlertThresholds,
  type ChannelFigures,
  type OpenAlertRef,
  alertConditions,
  alertTransitions,
} from '../../src/core/alerts.js';

const now = Date.UTC(2026, 11, 6, 12);
const minute = 60_000;
const thresholds: AlertThresholds = {
  driftPercent: 1,
  oldestPendingMs: 5 * minute,
  failingMs: 15 * minute,
  deadLetters: true,
  orderSilence: { floorMs: 10 * minute, factor: 3, gapsMin: 20 },
};
const calm: ChannelFigures = {
  channel: 'bol',
  listings: 1000,
  drifted: 0,
  oldestPendingAgeMs: null,
  consecutiveFailures: 0,
  lastSuccessAt: now - minute,
  deadLetters: 0,
  lastOrderLineAt: now - minute,
  usualOrderGapMs: 20 * minute,
  orderGaps: 50,
};

const cases: [string, Partial<ChannelFigures>, Partial<AlertThresholds>, string[]][] = [
  ['calm', {}, {}, []],
  ['drift at the threshold', { drifted: 10 }, {}, []],
  ['drift above it', { drifted: 11 }, {}, ['drift']],
  ['drift rule off', { drifted: 500 }, { driftPercent: null }, []],
  ['no listings', { listings: 0, drifted: 0 }, {}, []],
  ['pending, young', { oldestPendingAgeMs: 5 * minute }, {}, []],
  ['pending, old', { oldestPendingAgeMs: 5 * minute + 1 }, {}, ['oldest_pending']],
  [
    'failing, not long enough',
    { consecutiveFailures: 3, lastSuccessAt: now - 14 * minute, oldestPendingAgeMs: 60 * 1000 },
    { oldestPendingMs: null },
    [],
  ],
  [
    'failing since the last success',
    { consecutiveFailures: 3, lastSuccessAt: now - 15 * minute, oldestPendingAgeMs: 20 * minute },
    { oldestPendingMs: null },
    ['connection_failing'],
  ],
  [
    'failing since a change younger than the last success is old',
    { consecutiveFailures: 3, lastSuccessAt: now - 60 * minute, oldestPendingAgeMs: 2 * minute },
    {},
    [],
  ],
  [
    'failing, never a success',
    { consecutiveFailures: 1, lastSuccessAt: null, oldestPendingAgeMs: 16 * minute },
    { oldestPendingMs: null },
    ['connection_failing'],
  ],
  ['dead letters', { deadLetters: 1 }, {}, ['dead_letters']],
  ['dead letters rule off', { deadLetters: 4 }, { deadLetters: false }, []],
  ['orders silent past 3 usual gaps', { lastOrderLineAt: now - 61 * minute }, {}, ['order_silence']],
  ['orders silent for exactly 3 usual gaps', { lastOrderLineAt: now - 60 * minute }, {}, []],
  [
    'frequent orders: a short silence fires',
    { usualOrderGapMs: 4 * minute, lastOrderLineAt: now - 13 * minute },
    {},
    ['order_silence'],
  ],
  [
    'slow orders: the same silence does not',
    { usualOrderGapMs: 6 * 60 * minute, lastOrderLineAt: now - 13 * minute },
    {},
    [],
  ],
  [
    'slow orders: fires past its own 3 gaps',
    { usualOrderGapMs: 6 * 60 * minute, lastOrderLineAt: now - 18 * 60 * minute - 1 },
    {},
    ['order_silence'],
  ],
  ['a tiny usual gap stops at the floor', { usualOrderGapMs: 1000, lastOrderLineAt: now - 10 * minute }, {}, []],
  [
    'past the floor with a tiny usual gap',
    { usualOrderGapMs: 1000, lastOrderLineAt: now - 10 * minute - 1 },
    {},
    ['order_silence'],
  ],
  ['too few gaps: no alert however long the silence', { orderGaps: 19, lastOrderLineAt: now - 600 * minute }, {}, []],
  ['exactly the gaps needed', { orderGaps: 20, lastOrderLineAt: now - 600 * minute }, {}, ['order_silence']],
  ['no usual gap known', { usualOrderGapMs: null, orderGaps: 0, lastOrderLineAt: now - 600 * minute }, {}, []],
  ['never an order', { lastOrderLineAt: null, usualOrderGapMs: null, orderGaps: 0 }, {}, []],
  ['silence rule off', { lastOrderLineAt: now - 600 * minute }, { orderSilence: null }, []],
  [
    'several at once',
    { drifted: 50, deadLetters: 2, oldestPendingAgeMs: 30 * minute },
    {},
    ['drift', 'oldest_pending', 'dead_letters'],
  ],
];

describe('alert conditions', () => {
  for (const [name, figures, limits, expected] of cases)
    it(name, () => {
      const found = alertConditions([{ ...calm, ...figures }], { ...thresholds, ...limits }, now);
      assert.deepEqual(
        found.map((condition) => condition.rule),
        expected,
      );
      for (const condition of found) assert.equal(condition.channel, 'bol');
    });
});

describe('order silence detail', () => {
  it('names the usual gap and the limit it was judged against', () => {
    const [found] = alertConditions(
      [{ ...calm, usualOrderGapMs: 4 * minute, orderGaps: 30, lastOrderLineAt: now - 13 * minute }],
      thresholds,
      now,
    );
    assert.deepEqual(found?.detail, {
      silent_ms: 13 * minute,
      last_order_line_at: new Date(now - 13 * minute).toISOString(),
      usual_gap_ms: 4 * minute,
      gaps: 30,
      threshold_ms: 12 * minute,
    });
  });
});

describe('alert transitions', () => {
  it('fires once when a condition starts, nothing while it holds, resolves once when it ends', () => {
    const open: OpenAlertRef[] = [];
    const step = (figures: Partial<ChannelFigures>, at: number) => {
      const change = alertTransitions(open, [{ ...calm, ...figures }], thresholds, at);
      for (const fired of change.fire)
        open.push({ id: String(open.length + 1), rule: fired.rule, channel: fired.channel });
      for (const resolved of change.resolve) open.splice(open.indexOf(resolved), 1);
      return { fired: change.fire.map((c) => c.rule), resolved: change.resolve.map((c) => c.rule) };
    };
    assert.deepEqual(step({}, now), { fired: [], resolved: [] });
    assert.deepEqual(step({ deadLetters: 1 }, now + 1), { fired: ['dead_letters'], resolved: [] });
    assert.deepEqual(step({ deadLetters: 3 }, now + 2), { fired: [], resolved: [] });
    assert.deepEqual(step({ deadLetters: 3 }, now + 3), { fired: [], resolved: [] });
    assert.deepEqual(step({}, now + 4), { fired: [], resolved: ['dead_letters'] });
    assert.deepEqual(step({}, now + 5), { fired: [], resolved: [] });
    assert.deepEqual(step({ deadLetters: 1 }, now + 6), { fired: ['dead_letters'], resolved: [] });
  });

  it('keeps channels apart and resolves the alerts of a channel that is gone', () => {
    const open: OpenAlertRef[] = [{ id: '1', rule: 'dead_letters', channel: 'shop' }];
    const change = alertTransitions(open, [{ ...calm, deadLetters: 2 }], thresholds, now);
    assert.deepEqual(
      change.fire.map((c) => [c.rule, c.channel]),
      [['dead_letters', 'bol']],
    );
    assert.deepEqual(change.resolve, open);
  });
});
