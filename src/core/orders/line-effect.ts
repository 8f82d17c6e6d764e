import type { LineUnits } from './line-state.js';

/**
 * What a line's state means at onhand's locations: per location code, the units the line holds
 * reserved, has shipped, has written off and has had returned. The intake keeps the effect it
 * has applied to the ledger beside the state, and writes only the difference (line-commands.ts).
 *
 * Location choices are sticky: units already reserved, shipped or returned at a location stay
 * there unless the platform says otherwise, so a later event never moves stock for no reason.
 */
export interface LocationEffect {
  reserved: number;
  shipped: number;
  writtenOff: number;
  returned: number;
}

export type LineEffect = Record<string, LocationEffect>;

export interface RoutingContext {
  /** The channel's own (merchant) locations, highest priority first. */
  pool: readonly string[];
  /** The channel's marketplace-fulfilment location, if it has one. */
  marketplaceLocation: string | null;
  /** A platform location id as an onhand location code; undefined when unknown. */
  resolveLocation: (platformLocationId: string) => string | undefined;
  /** Available units of the line's variant at a location now (routing only; the ledger judges). */
  available: (code: string) => number;
}

export type EffectResult =
  | { kind: 'effect'; effect: LineEffect; pool: readonly string[] }
  /** Marketplace-fulfilled with no marketplace location: recorded for information only. */
  | { kind: 'info'; reason: string }
  /** Cannot be applied yet (an unknown location): kept in the intake inbox. */
  | { kind: 'blocked'; reason: string };

export function emptyLocationEffect(): LocationEffect {
  return { reserved: 0, shipped: 0, writtenOff: 0, returned: 0 };
}

function at(effect: LineEffect, code: string): LocationEffect {
  let entry = effect[code];
  if (entry === undefined) {
    entry = emptyLocationEffect();
    effect[code] = entry;
  }
  return entry;
}

/** Locations in a stable order: the pool's priority first, then the rest by code. */
function ordered(pool: readonly string[], codes: Iterable<string>): string[] {
  const rank = new Map(pool.map((code, index) => [code, index]));
  return [...new Set(codes)].sort(
    (a, b) => (rank.get(a) ?? pool.length) - (rank.get(b) ?? pool.length) || (a < b ? -1 : a > b ? 1 : 0),
  );
}

/**
 * Units with no named location, spread sticky: first where this kind was already applied
 * (`previous`), then where the line holds units reserved, then at `fallback`.
 */
function spread(
  quantity: number,
  previous: ReadonlyMap<string, number>,
  reserved: ReadonlyMap<string, number>,
  fallback: string,
  order: (codes: Iterable<string>) => string[],
): Map<string, number> {
  const out = new Map<string, number>();
  let left = quantity;
  for (const source of [previous, reserved]) {
    for (const code of order(source.keys())) {
      if (left === 0) break;
      const take = Math.min(left, Math.max(0, (source.get(code) ?? 0) - (out.get(code) ?? 0)));
      if (take > 0) out.set(code, (out.get(code) ?? 0) + take);
      left -= take;
    }
  }
  if (left > 0) out.set(fallback, (out.get(fallback) ?? 0) + left);
  return out;
}

/**
 * The effect a line's units should have, given what was applied before (for stickiness) and
 * the channel's routing context. Routing of newly open units:
 * 1. where the platform says the line is sold (a point-of-sale location);
 * 2. else the highest-priority pool location whose available covers them all;
 * 3. else split over the pool in priority order, each taking what it has available;
 * 4. what is still short goes to the first pool location: the pool as a whole is short, and
 *    the ledger records that as a true oversell against the pool.
 * When fewer units are open than held, units are released first where the line just shipped,
 * then from the lowest-priority location.
 */
export function lineEffect(units: LineUnits, applied: LineEffect, context: RoutingContext): EffectResult {
  const marketplace = units.fulfilledBy === 'marketplace';
  if (marketplace && context.marketplaceLocation === null)
    return { kind: 'info', reason: 'fulfilled by the marketplace and the channel has no marketplace location' };
  const pool = marketplace ? [context.marketplaceLocation!] : context.pool;
  const first = pool[0];
  if (first === undefined) return { kind: 'blocked', reason: 'the channel has no locations' };
  const order = (codes: Iterable<string>) => ordered(pool, codes);

  const unknown: string[] = [];
  const resolve = (platformId: string | null): string | null => {
    if (platformId === null) return null;
    if (marketplace) return first;
    const code = context.resolveLocation(platformId);
    if (code === undefined) unknown.push(platformId);
    return code ?? null;
  };
  const orderedAt = resolve(units.orderedAt);

  const previous = (field: keyof LocationEffect) =>
    new Map(
      Object.entries(applied)
        .filter(([, entry]) => entry[field] > 0)
        .map(([code, entry]) => [code, entry[field]] as const),
    );
  const heldBefore = previous('reserved');
  // Where units with no named location go when the line holds none: where it is sold, else
  // where its open units would be routed.
  const home =
    orderedAt ??
    order(heldBefore.keys())[0] ??
    pool.find((code) => context.available(code) >= Math.max(1, units.open)) ??
    first;
  const effect: LineEffect = {};

  // Shipped: named locations as named; the rest sticky.
  let unnamedShipped = 0;
  const namedShipped = new Map<string, number>();
  for (const entry of units.shipped) {
    const code = resolve(entry.locationId);
    if (code === null) unnamedShipped += entry.quantity;
    else namedShipped.set(code, (namedShipped.get(code) ?? 0) + entry.quantity);
  }
  if (unknown.length > 0) return { kind: 'blocked', reason: `unknown platform location ${unknown[0]}` };
  for (const [code, quantity] of namedShipped) at(effect, code).shipped += quantity;
  const shippedBefore = new Map(
    [...previous('shipped')].map(([code, quantity]) => [code, Math.max(0, quantity - (namedShipped.get(code) ?? 0))]),
  );
  for (const [code, quantity] of spread(unnamedShipped, shippedBefore, heldBefore, home, order))
    at(effect, code).shipped += quantity;
  for (const [code, quantity] of spread(units.writtenOff, previous('writtenOff'), heldBefore, home, order))
    at(effect, code).writtenOff += quantity;

  // Returned: named as named; the rest where the line first shipped from (pool order), else home.
  let unnamedReturned = 0;
  for (const entry of units.returned) {
    const code = resolve(entry.locationId);
    if (code === null) unnamedReturned += entry.quantity;
    else at(effect, code).returned += entry.quantity;
  }
  if (unknown.length > 0) return { kind: 'blocked', reason: `unknown platform location ${unknown[0]}` };
  const shippedFrom = order(Object.keys(effect).filter((code) => effect[code]!.shipped > 0))[0];
  if (unnamedReturned > 0) at(effect, shippedFrom ?? home).returned += unnamedReturned;

  // Reserved: sticky, released where the line just shipped, then from the lowest priority.
  const held = new Map(heldBefore);
  let total = [...held.values()].reduce((sum, value) => sum + value, 0);
  if (total > units.open) {
    const justShipped = order(
      Object.keys(effect).filter(
        (code) =>
          effect[code]!.shipped + effect[code]!.writtenOff >
          (applied[code]?.shipped ?? 0) + (applied[code]?.writtenOff ?? 0),
      ),
    );
    const releaseOrder = [...justShipped, ...order(held.keys()).reverse()];
    for (const code of releaseOrder) {
      if (total === units.open) break;
      const take = Math.min(held.get(code) ?? 0, total - units.open);
      if (take > 0) held.set(code, held.get(code)! - take);
      total -= take;
    }
  } else if (total < units.open) {
    let need = units.open - total;
    const add = (code: string, quantity: number) => {
      held.set(code, (held.get(code) ?? 0) + quantity);
      need -= quantity;
    };
    if (orderedAt !== null) add(orderedAt, need);
    else {
      const whole = pool.find((code) => context.available(code) >= need);
      if (whole !== undefined) add(whole, need);
      else {
        for (const code of pool) {
          if (need === 0) break;
          const take = Math.min(need, Math.max(0, context.available(code)));
          if (take > 0) add(code, take);
        }
        if (need > 0) add(first, need);
      }
    }
  }
  for (const [code, quantity] of held) if (quantity > 0) at(effect, code).reserved += quantity;
  for (const code of Object.keys(effect)) {
    const entry = effect[code]!;
    if (entry.reserved === 0 && entry.shipped === 0 && entry.writtenOff === 0 && entry.returned === 0)
      delete effect[code];
  }
  return { kind: 'effect', effect, pool };
}
