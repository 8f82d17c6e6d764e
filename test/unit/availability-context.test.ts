import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeListings } from '../../src/core/availability/recompute.js';
import type { LevelState } from '../../src/core/ledger/level.js';
import { availabilityConfig, buildContext, type ComponentRow } from '../../src/store/availability-rows.js';

// A bundle (id 10: 2 x A + 1 x B) listed on one channel whose dynamic buffer follows sales velocity.
const config = availabilityConfig({
  configVersion: 1,
  ruleRow: { version: 1, rules: { defaults: { buffer: { dynamic: { safety_factor: 2, ceiling: 50 } } } } },
  channels: [
    {
      id: 1,
      code: 'bol',
      name: 'Bol.com',
      platform: 'bol',
      push_latency_p95_ms: 4000,
      settings: '{}',
      created_at: 0,
      updated_at: 0,
    },
  ],
  links: [{ channel_id: 1, code: 'WH1', kind: 'warehouse', priority: 0 }],
  locations: [{ id: 1, code: 'WH1', kind: 'warehouse' }],
});
const now = 1_800_000_000_000;
const level = (variantId: number, onHand: number, velocityRate: number): LevelState => ({
  variantId,
  locationId: 1,
  onHand,
  reserved: 0,
  damaged: 0,
  quarantine: 0,
  inTransit: 0,
  held: 0,
  velocityRate,
  velocityAt: now,
  version: 1,
  lastCountAt: null,
  lastCountSourceVersion: null,
});
const components: ComponentRow[] = [
  { bundle_id: 10, component_id: 1, component_sku: 'A', quantity: 2 },
  { bundle_id: 10, component_id: 2, component_sku: 'B', quantity: 1 },
];
const contextWith = (rows: readonly ComponentRow[]) =>
  buildContext(config, {
    variants: [
      { id: 1, sku: 'A', is_bundle: 0 },
      { id: 2, sku: 'B', is_bundle: 0 },
      { id: 10, sku: 'KIT', is_bundle: 1 },
    ],
    components: rows,
    listings: [{ id: 8, variant_id: 10, channel_code: 'bol', rank: 0 }],
    levels: [level(1, 200, 0.5), level(2, 100, 0.25)],
    incoming: [],
    current: [],
  });

describe('availability context', () => {
  it('counts a bundle component once when its rows are given twice (touched bundle and containing bundle)', () => {
    const once = contextWith(components);
    // What a ledger batch passes when it touches both the bundle and one of its components.
    const twice = contextWith([...components, ...components]);
    assert.deepEqual(twice.variants.get(10)?.components, once.variants.get(10)?.components);
    assert.deepEqual(twice.bundlesByComponent.get(1), [10]);
    const quantity = (context: ReturnType<typeof contextWith>) =>
      computeListings(context, [10], (id) => context.levels.get(id) ?? [], now, true)[0]!.result;
    // 0.75 units/s x 4 s x 2 = 6 units of dynamic buffer, not 12.
    assert.equal(quantity(once).quantity, 100 - 6);
    assert.deepEqual(quantity(twice), quantity(once));
  });
});
