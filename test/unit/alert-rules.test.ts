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
  orderSilenceMs: 60 * minute,
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
  ['orders silent', { lastOrderLineAt: now - 61 * minute }, {}, ['order_silence']],
  ['never an order', { lastOrderLineAt: null }, {}, []],
  ['silence rule off', { lastOrderLineAt: now - 600 * minute }, { orderSilenceMs: null }, []],
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
