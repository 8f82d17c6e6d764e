/**
 * Random channel order-line lifecycles and the reference model of what they do to stock, for
 * the order-lifecycle property tests (test/unit/order-line-fold.test.ts on the pure fold,
 * test/simulation/order-lifecycle.test.ts through the intake on both stores).
 *
 * The model is written from the platform semantics (docs/channels/shopify.md, "Order
 * lifecycle"), independently of src/core/orders: it reads the final set of events of a line
 * and says, per location, what the line holds reserved, has taken off on_hand and has put in
 * quarantine, for a channel whose pool is `pool` (priority order) where the first location
 * that `has(variant)` stock takes every open unit.
 */
import fc from 'fast-check';
import type { LineFactEvent, RestockType } from '../../src/core/orders/line-events.js';

export interface Lifecycle {
  line: string;
  variant: string;
  /** Platform location where the line was sold (point of sale), or null. */
  soldAt: string | null;
  events: LineFactEvent[];
}

/** Platform location ids of the test channel and the onhand codes they map to. */
export const platformLocations = { pA: 'A', pB: 'B' } as const;
type PlatformLocation = keyof typeof platformLocations;

const platformLocation = fc.constantFrom<PlatformLocation>('pA', 'pB');
const restock = fc.constantFrom<RestockType>('cancel', 'return', 'legacy_restock', 'no_restock');

export function lifecycle(line: string, variants: readonly string[]): fc.Arbitrary<Lifecycle> {
  return fc
    .record({
      variant: fc.constantFrom(...variants),
      soldAt: fc.option(platformLocation, { freq: 4 }),
      quantity: fc.integer({ min: 1, max: 5 }),
      edit: fc.option(fc.integer({ min: 0, max: 6 }), { freq: 3 }),
      cancel: fc.boolean(),
      fulfilments: fc.array(
        fc.record({
          location: platformLocation,
          quantity: fc.integer({ min: 1, max: 3 }),
          voided: fc.boolean(),
        }),
        { maxLength: 2 },
      ),
      refunds: fc.array(
        fc.record({
          quantity: fc.integer({ min: 1, max: 2 }),
          restock,
          location: fc.option(platformLocation, { freq: 2 }),
        }),
        { maxLength: 2 },
      ),
      returns: fc.array(
        fc.record({ quantity: fc.integer({ min: 1, max: 2 }), location: fc.option(platformLocation, { freq: 2 }) }),
        { maxLength: 1 },
      ),
    })
    .map((draw) => {
      const events: LineFactEvent[] = [];
      const soldAt = draw.soldAt ?? null;
      const ordered = (quantity: number, version: number): LineFactEvent => ({
        eventId: 'order',
        occurredAt: 1000 + version,
        fact: { kind: 'ordered', quantity, version, fulfilledBy: 'merchant', locationId: soldAt },
      });
      events.push(ordered(draw.quantity, 1));
      if (draw.edit !== null) events.push(ordered(draw.edit, 2));
      if (draw.cancel)
        events.push({ eventId: 'cancel', occurredAt: 1003, fact: { kind: 'cancelled', quantity: null } });
      draw.fulfilments.forEach((fulfilment, index) => {
        const base = {
          kind: 'fulfilled' as const,
          quantity: fulfilment.quantity,
          locationId: fulfilment.location,
          source: 'channel' as const,
        };
        events.push({ eventId: `f${index}`, occurredAt: 1004, fact: { ...base, active: true, version: 1 } });
        if (fulfilment.voided)
          events.push({ eventId: `f${index}`, occurredAt: 1005, fact: { ...base, active: false, version: 2 } });
      });
      draw.refunds.forEach((refund, index) => {
        events.push({
          eventId: `r${index}`,
          occurredAt: 1006,
          fact: { kind: 'refunded', quantity: refund.quantity, restock: refund.restock, locationId: refund.location },
        });
      });
      draw.returns.forEach((back, index) => {
        events.push({
          eventId: `b${index}`,
          occurredAt: 1007,
          fact: { kind: 'returned', quantity: back.quantity, locationId: back.location },
        });
      });
      return { line: '', variant: draw.variant, soldAt, events };
    })
    .map((drawn) => ({ ...drawn, line }));
}

/** The events of several lines as deliveries: a permutation, with duplicates, in batches of 1-3. */
export function deliveries<T>(items: readonly T[]): fc.Arbitrary<T[][]> {
  return fc
    .tuple(
      fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length }),
      fc.array(fc.nat({ max: Math.max(0, items.length - 1) }), { maxLength: Math.min(6, items.length) }),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: items.length * 2, maxLength: items.length * 2 }),
    )
    .map(([order, duplicates, sizes]) => {
      const sequence = [...order];
      for (const index of duplicates) sequence.splice((index * 7) % (sequence.length + 1), 0, items[index]!);
      const batches: T[][] = [];
      let at = 0;
      for (const size of sizes) {
        if (at >= sequence.length) break;
        batches.push(sequence.slice(at, at + size));
        at += size;
      }
      if (at < sequence.length) batches.push(sequence.slice(at));
      return batches;
    });
}

export interface Buckets {
  reserved: number;
  onHand: number;
  quarantine: number;
}

/**
 * What one line does to stock at each location code, from the FINAL set of its events. The
 * semantics, stated plainly:
 * - the latest `ordered` version is the line's quantity;
 * - a fulfilment counts with its latest version, unless voided; its units left `on_hand`;
 * - refund `return` and a platform return put units in quarantine; `cancel` frees unshipped units; `legacy_restock`
 *   is a return for units shipped and not yet returned, a cancel for the rest; `no_restock`
 *   makes unshipped units gone (off on_hand) and leaves shipped ones alone;
 * - a cancellation frees every unit still open;
 * - open units are reserved where the line was sold, else at the first pool location with
 *   stock; gone units leave from the same place; unnamed returns land where the line first
 *   shipped from (pool order), else where it was sold, else the first pool location.
 */
export function modelEffect(
  life: Lifecycle,
  pool: readonly string[],
  hasStock: (variant: string, code: string) => boolean,
): Map<string, Buckets> {
  const latest = new Map<string, LineFactEvent>();
  for (const event of life.events) {
    const key = `${event.fact.kind}:${event.eventId}`;
    const known = latest.get(key);
    const version = (e: LineFactEvent) => ('version' in e.fact ? e.fact.version : 0);
    if (!known || version(event) > version(known)) latest.set(key, event);
  }
  const facts = [...latest.values()].map((event) => event.fact);
  let quantity = 0;
  let cancelled = false;
  const shippedAt = new Map<string, number>();
  let shipped = 0;
  const refunds: Extract<LineFactEvent['fact'], { kind: 'refunded' }>[] = [];
  const returns: Extract<LineFactEvent['fact'], { kind: 'returned' }>[] = [];
  for (const fact of facts) {
    if (fact.kind === 'ordered') quantity = fact.quantity;
    if (fact.kind === 'cancelled') cancelled = true;
    if (fact.kind === 'fulfilled' && fact.active) {
      const code = platformLocations[fact.locationId as PlatformLocation];
      shippedAt.set(code, (shippedAt.get(code) ?? 0) + fact.quantity);
      shipped += fact.quantity;
    }
    if (fact.kind === 'refunded') refunds.push(fact);
    if (fact.kind === 'returned') returns.push(fact);
  }
  const soldAt = life.soldAt === null ? null : platformLocations[life.soldAt as PlatformLocation];
  const home = soldAt ?? pool.find((code) => hasStock(life.variant, code)) ?? pool[0]!;
  const firstShipped = pool.find((code) => (shippedAt.get(code) ?? 0) > 0);
  const out = new Map<string, Buckets>();
  const at = (code: string) => {
    if (!out.has(code)) out.set(code, { reserved: 0, onHand: 0, quarantine: 0 });
    return out.get(code)!;
  };
  for (const [code, units] of shippedAt) at(code).onHand -= units;
  let freed = 0;
  let returned = 0;
  let gone = 0;
  const returnAt = (location: string | null, units: number) => {
    if (units <= 0) return;
    const code = location === null ? (firstShipped ?? home) : platformLocations[location as PlatformLocation];
    at(code).quarantine += units;
    returned += units;
  };
  // Refunds by restock type, in event-id order, legacy ones judged after the plain returns.
  const byId = [...refunds];
  for (const refund of byId) if (refund.restock === 'cancel') freed += refund.quantity;
  for (const refund of byId) if (refund.restock === 'return') returnAt(refund.locationId, refund.quantity);
  for (const back of returns) returnAt(back.locationId, back.quantity);
  for (const refund of byId) {
    if (refund.restock !== 'legacy_restock') continue;
    const back = Math.max(0, Math.min(refund.quantity, shipped - returned));
    returnAt(refund.locationId, back);
    freed += refund.quantity - back;
  }
  const noRestock = byId.filter((refund) => refund.restock === 'no_restock').reduce((n, r) => n + r.quantity, 0);
  const unshipped = Math.max(0, quantity - shipped - freed);
  gone = Math.min(noRestock, unshipped);
  const open = cancelled ? 0 : unshipped - gone;
  if (gone > 0) at(home).onHand -= gone;
  if (open > 0) at(home).reserved += open;
  return out;
}
