/**
 * Goal: the Google Merchant Center mapping both ways is what docs/channels/google-merchant-center.md
 * says: a quantity and a pre-order offer become an availability (and date), and what Google shows
 * reads back as a quantity that equals the one sent exactly when the availability agrees with it.
 * Method: table cases over the pure functions, then every (quantity, shown) pair of a small range.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availabilityFor, shownQuantity } from '../../src/connectors/gmc/gmc-availability.js';

const now = Date.UTC(2026, 11, 6);
const day = 86_400_000;
const sent = (quantity: number) => [{ name: 'onhand_quantity', value: String(quantity) }];

describe('gmc availability: push side', () => {
  const cases: [string, Parameters<typeof availabilityFor>, ReturnType<typeof availabilityFor>][] = [
    ['stock -> in stock', [3, null, 'PREORDER', now], { availability: 'IN_STOCK' }],
    ['none -> out of stock', [0, null, 'PREORDER', now], { availability: 'OUT_OF_STOCK' }],
    [
      'none with an offer -> preorder at the latest date',
      [0, { quantity: 4, earliestAt: now + 2 * day, latestAt: now + 9 * day }, 'PREORDER', now],
      { availability: 'PREORDER', availabilityDate: new Date(now + 9 * day).toISOString() },
    ],
    [
      'backorder by setting, the earliest date when no latest',
      [0, { quantity: 4, earliestAt: now + 2 * day, latestAt: null }, 'BACKORDER', now],
      { availability: 'BACKORDER', availabilityDate: new Date(now + 2 * day).toISOString() },
    ],
    [
      'stock wins over an offer',
      [1, { quantity: 4, earliestAt: now + day, latestAt: now + day }, 'PREORDER', now],
      { availability: 'IN_STOCK' },
    ],
    [
      'an offer of 0 units',
      [0, { quantity: 0, earliestAt: now + day, latestAt: now + day }, 'PREORDER', now],
      { availability: 'OUT_OF_STOCK' },
    ],
    [
      'an offer without a date',
      [0, { quantity: 4, earliestAt: null, latestAt: null }, 'PREORDER', now],
      { availability: 'OUT_OF_STOCK' },
    ],
    [
      'an overdue offer',
      [0, { quantity: 4, earliestAt: now - day, latestAt: now - day }, 'PREORDER', now],
      { availability: 'OUT_OF_STOCK' },
    ],
    [
      'an offer over a year ahead',
      [0, { quantity: 4, earliestAt: now + 366 * day, latestAt: now + 366 * day }, 'PREORDER', now],
      { availability: 'OUT_OF_STOCK' },
    ],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.deepEqual(availabilityFor(...input), expected));
});

describe('gmc availability: read side', () => {
  it('reads what was sent where Google agrees, 1 or 0 where it does not', () => {
    assert.equal(shownQuantity('IN_STOCK', sent(7)), 7);
    assert.equal(shownQuantity('LIMITED_AVAILABILITY', sent(2)), 2);
    assert.equal(shownQuantity('IN_STOCK', sent(0)), 1);
    assert.equal(shownQuantity('IN_STOCK', undefined), 1);
    assert.equal(shownQuantity('OUT_OF_STOCK', sent(7)), 0);
    assert.equal(shownQuantity('PREORDER', sent(0)), 0);
    assert.equal(shownQuantity(undefined, sent(3)), 0);
    assert.equal(
      shownQuantity('IN_STOCK', [{ name: 'onhand_quantity', value: '-2' }]),
      1,
      'a value not a count is ignored',
    );
  });

  it('drift is seen exactly when the availability disagrees with the quantity acknowledged', () => {
    const shown = ['IN_STOCK', 'LIMITED_AVAILABILITY', 'OUT_OF_STOCK', 'PREORDER', 'BACKORDER'];
    for (let acknowledged = 0; acknowledged <= 5; acknowledged++)
      for (const availability of shown) {
        const read = shownQuantity(availability, sent(acknowledged));
        const agrees = acknowledged > 0 === (availability === 'IN_STOCK' || availability === 'LIMITED_AVAILABILITY');
        assert.equal(read === acknowledged, agrees, `${availability} over ${acknowledged} read as ${read}`);
        if (!agrees)
          assert.equal(read > acknowledged, acknowledged === 0, 'sellable over 0 reads as more: repaired at once');
      }
  });
});
