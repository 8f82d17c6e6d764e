/**
 * The drift model (src/core/drift.ts): a listing drifted when the channel shows something else
 * than it acknowledged with no push pending; more is repaired at once, less only once two reads
 * a grace apart agree or an order poll that started after the read was recorded; dead letters
 * are reported, never repaired.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeDrift, type ListingSyncState, needsRepair } from '../../src/core/drift.js';

const grace = 60_000;
const base: ListingSyncState = {
  listingId: '1',
  desired: 5,
  acknowledged: 5,
  acknowledgedAt: 1_000,
  pushPending: false,
  dead: false,
  shown: 5,
  shownAt: 2_000,
  shownSince: 2_000,
  intakeCaughtUpAt: null,
};

const cases: [string, Partial<ListingSyncState>, string, boolean][] = [
  ['shows what it acknowledged', {}, 'consistent', false],
  ['never seen', { shown: null, shownAt: null, shownSince: null }, 'consistent', false],
  ['never acknowledged', { acknowledged: null, acknowledgedAt: null, shown: 3 }, 'consistent', false],
  ['a push is pending', { pushPending: true, shown: 9 }, 'in-flight', false],
  ['shows more, one read', { shown: 8 }, 'drift more confirmed', true],
  ['shows less, one read', { shown: 3 }, 'drift less unconfirmed', false],
  [
    'shows less, two reads inside the grace',
    { shown: 3, shownSince: 2_000, shownAt: 2_000 + grace - 1 },
    'drift less unconfirmed',
    false,
  ],
  [
    'shows less, two reads a grace apart',
    { shown: 3, shownSince: 2_000, shownAt: 2_000 + grace },
    'drift less confirmed',
    true,
  ],
  [
    'shows less, one read, a poll started before the read was recorded',
    { shown: 3, intakeCaughtUpAt: 1_999 },
    'drift less unconfirmed',
    false,
  ],
  [
    'shows less, one read, a poll started at the read was recorded',
    { shown: 3, intakeCaughtUpAt: 2_000 },
    'drift less unconfirmed',
    false,
  ],
  [
    'shows less, one read, a poll started after the read was recorded',
    { shown: 3, intakeCaughtUpAt: 2_001 },
    'drift less confirmed',
    true,
  ],
  [
    'shows less, agreeing reads, a poll started between them was recorded',
    { shown: 3, shownSince: 2_000, shownAt: 5_000, intakeCaughtUpAt: 3_000 },
    'drift less confirmed',
    true,
  ],
  [
    'shows less, a poll recorded but the value changed after it',
    { shown: 3, shownSince: 4_000, shownAt: 5_000, intakeCaughtUpAt: 3_000 },
    'drift less unconfirmed',
    false,
  ],
  [
    'shows less, no time for the first read',
    { shown: 3, shownSince: null, intakeCaughtUpAt: 9_000 },
    'drift less unconfirmed',
    false,
  ],
  ['shows more, a poll recorded', { shown: 8, intakeCaughtUpAt: 9_000 }, 'drift more confirmed', true],
  [
    'dead letter showing less, caught up',
    { dead: true, shown: 3, intakeCaughtUpAt: 9_000 },
    'drift less confirmed dead',
    false,
  ],
  ['shows 0 after acknowledging 5, agreed', { shown: 0, shownSince: 0, shownAt: grace }, 'drift less confirmed', true],
  ['dead letter showing more', { dead: true, pushPending: true, shown: 9 }, 'drift more confirmed dead', false],
];

describe('judgeDrift', () => {
  for (const [name, change, expected, repair] of cases) {
    it(name, () => {
      const verdict = judgeDrift({ ...base, ...change }, grace);
      const label =
        verdict.state === 'drift'
          ? `drift ${verdict.direction} ${verdict.confirmed ? 'confirmed' : 'unconfirmed'}${verdict.dead ? ' dead' : ''}`
          : verdict.state;
      assert.equal(label, expected);
      assert.equal(needsRepair(verdict), repair);
    });
  }

  it('carries what was shown and acknowledged', () => {
    assert.deepEqual(judgeDrift({ ...base, shown: 2 }, grace), {
      state: 'drift',
      direction: 'less',
      shown: 2,
      acknowledged: 5,
      confirmed: false,
      dead: false,
    });
  });
});
