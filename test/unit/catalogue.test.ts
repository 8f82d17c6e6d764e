/**
 * Goal: the catalogue rules of a bulk variant upsert (src/core/catalogue.ts checkVariantUpsert):
 * a sku once per request; a bundle's components exist, are distinct, are not bundles, are not
 * the bundle itself; stock history or being a component forbids becoming a bundle.
 * Method: a table of (stored facts, request) -> exact list of problems (path + message).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkVariantUpsert,
  type CatalogueProblem,
  type ExistingVariantFacts,
  type VariantUpsertItem,
} from '../../src/core/catalogue.js';
import { limits } from '../../src/core/limits.js';

function facts(...list: (Partial<ExistingVariantFacts> & { sku: string })[]): Map<string, ExistingVariantFacts> {
  return new Map(
    list.map((each) => [each.sku, { isBundle: false, usedAsComponent: false, hasMovements: false, ...each }]),
  );
}

/** Stored: plain A and B (A is a component of KIT), bundle KIT = 2 x A, plain MOVED with stock history. */
const stored = facts(
  { sku: 'A', usedAsComponent: true },
  { sku: 'B' },
  { sku: 'KIT', isBundle: true },
  { sku: 'MOVED', hasMovements: true },
);

interface Row {
  name: string;
  existing?: Map<string, ExistingVariantFacts>;
  request: VariantUpsertItem[];
  problems: CatalogueProblem[];
}

const rows: Row[] = [
  { name: 'plain variants, new and existing, are fine', request: [{ sku: 'A' }, { sku: 'NEW' }], problems: [] },
  {
    name: 'a bundle of stored plain variants is fine',
    request: [
      {
        sku: 'KIT2',
        components: [
          { sku: 'A', quantity: 1 },
          { sku: 'B', quantity: 3 },
        ],
      },
    ],
    problems: [],
  },
  {
    name: 'a bundle of components created in the same request is fine, in any order',
    request: [{ sku: 'KIT2', components: [{ sku: 'C', quantity: 1 }] }, { sku: 'C' }],
    problems: [],
  },
  { name: 'an empty component list means a plain variant', request: [{ sku: 'B', components: [] }], problems: [] },
  {
    name: 'the stored bundle re-upserted with other plain components is fine',
    request: [{ sku: 'KIT', components: [{ sku: 'B', quantity: 1 }] }],
    problems: [],
  },
  {
    name: 'duplicate sku in one request',
    request: [{ sku: 'NEW' }, { sku: 'B' }, { sku: 'NEW' }],
    problems: [{ path: '/variants/2/sku', message: 'sku NEW appears twice' }],
  },
  {
    name: 'a bundle containing itself',
    request: [{ sku: 'SELF', components: [{ sku: 'SELF', quantity: 1 }] }],
    problems: [{ path: '/variants/0/components/0', message: 'a bundle cannot contain itself' }],
  },
  {
    name: 'an unknown component (neither stored nor in the request)',
    request: [
      {
        sku: 'KIT2',
        components: [
          { sku: 'A', quantity: 1 },
          { sku: 'GHOST', quantity: 1 },
        ],
      },
    ],
    problems: [{ path: '/variants/0/components/1', message: 'unknown component sku GHOST' }],
  },
  {
    name: 'a nested bundle: a stored bundle as a component',
    request: [{ sku: 'KIT2', components: [{ sku: 'KIT', quantity: 1 }] }],
    problems: [{ path: '/variants/0/components/0', message: 'component KIT is itself a bundle' }],
  },
  {
    name: 'a nested bundle: a component that becomes a bundle in the same request',
    request: [
      { sku: 'OUTER', components: [{ sku: 'INNER', quantity: 1 }] },
      { sku: 'INNER', components: [{ sku: 'B', quantity: 2 }] },
    ],
    problems: [{ path: '/variants/0/components/0', message: 'component INNER is itself a bundle' }],
  },
  {
    name: 'a stored bundle made plain in the same request may be a component',
    request: [{ sku: 'KIT' }, { sku: 'KIT2', components: [{ sku: 'KIT', quantity: 1 }] }],
    problems: [],
  },
  {
    name: 'a component turned bundle (A is a component of KIT)',
    request: [{ sku: 'A', components: [{ sku: 'B', quantity: 1 }] }],
    problems: [{ path: '/variants/0/components', message: 'A is a component of a bundle: it cannot become a bundle' }],
  },
  {
    name: 'a variant with stock movements cannot become a bundle',
    request: [{ sku: 'MOVED', components: [{ sku: 'B', quantity: 1 }] }],
    problems: [{ path: '/variants/0/components', message: 'MOVED has stock movements: it cannot become a bundle' }],
  },
  {
    name: 'the same component twice in one bundle',
    request: [
      {
        sku: 'KIT2',
        components: [
          { sku: 'B', quantity: 1 },
          { sku: 'B', quantity: 2 },
        ],
      },
    ],
    problems: [{ path: '/variants/0/components/1', message: 'component B appears twice' }],
  },
  {
    name: `more than ${limits.bundleComponentsMax} components`,
    existing: facts(...Array.from({ length: limits.bundleComponentsMax + 1 }, (_, index) => ({ sku: `P${index}` }))),
    request: [
      {
        sku: 'BIG',
        components: Array.from({ length: limits.bundleComponentsMax + 1 }, (_, index) => ({
          sku: `P${index}`,
          quantity: 1,
        })),
      },
    ],
    problems: [{ path: '/variants/0/components', message: `at most ${limits.bundleComponentsMax} components` }],
  },
  {
    name: 'every problem of a request is reported, each at its own path',
    request: [
      {
        sku: 'X',
        components: [
          { sku: 'X', quantity: 1 },
          { sku: 'KIT', quantity: 1 },
        ],
      },
      { sku: 'X' },
      { sku: 'A', components: [{ sku: 'NOPE', quantity: 1 }] },
    ],
    problems: [
      { path: '/variants/1/sku', message: 'sku X appears twice' },
      { path: '/variants/0/components/0', message: 'a bundle cannot contain itself' },
      { path: '/variants/0/components/1', message: 'component KIT is itself a bundle' },
      { path: '/variants/2/components', message: 'A is a component of a bundle: it cannot become a bundle' },
      { path: '/variants/2/components/0', message: 'unknown component sku NOPE' },
    ],
  },
];

describe('catalogue: checkVariantUpsert', () => {
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(checkVariantUpsert(row.request, row.existing ?? stored), row.problems);
    });
  }

  it('is pure: the request and the stored facts are not changed', () => {
    const request: VariantUpsertItem[] = [{ sku: 'KIT2', components: [{ sku: 'KIT', quantity: 1 }] }, { sku: 'KIT2' }];
    const before = structuredClone({ request, stored });
    checkVariantUpsert(request, stored);
    assert.deepEqual({ request, stored }, before);
  });
});
