import { emptyLocationEffect, type LineEffect, type LocationEffect } from './line-effect.js';

/**
 * The ledger facts that take a line from the effect already applied to the target effect, in
 * an order every step of which the ledger accepts: releases first, then stock coming back
 * (returns, quarantine back to on_hand), then reservations, then shipments (which consume the
 * reservations just made). Per location, in buckets:
 * reserved = reserved, on_hand = -(shipped + writtenOff), quarantine = returned.
 */
export type LineMove =
  | { type: 'cancellation'; location: string; quantity: number }
  | { type: 'return'; location: string; quantity: number; to: 'quarantine' | 'on_hand' }
  | { type: 'status'; location: string; quantity: number; from: 'quarantine'; to: 'on_hand' }
  /** `moved`: units the line held elsewhere, moving here; not a new sale. */
  | { type: 'order'; location: string; quantity: number; moved?: true }
  | { type: 'shipment'; location: string; quantity: number };

const phase: Record<LineMove['type'], number> = { cancellation: 0, status: 1, return: 2, order: 3, shipment: 4 };

export function lineMoves(applied: LineEffect, target: LineEffect): LineMove[] {
  const moves: LineMove[] = [];
  const codes = [...new Set([...Object.keys(applied), ...Object.keys(target)])].sort();
  for (const location of codes) {
    const before: LocationEffect = applied[location] ?? emptyLocationEffect();
    const after: LocationEffect = target[location] ?? emptyLocationEffect();
    const dReserved = after.reserved - before.reserved;
    let dOnHand = before.shipped + before.writtenOff - (after.shipped + after.writtenOff);
    const dQuarantine = after.returned - before.returned;
    if (dQuarantine > 0) moves.push({ type: 'return', location, quantity: dQuarantine, to: 'quarantine' });
    if (dQuarantine < 0) {
      moves.push({ type: 'status', location, quantity: -dQuarantine, from: 'quarantine', to: 'on_hand' });
      dOnHand += dQuarantine;
    }
    let reserve = dReserved;
    if (dOnHand < 0) {
      moves.push({ type: 'shipment', location, quantity: -dOnHand });
      reserve += -dOnHand;
    } else if (dOnHand > 0) moves.push({ type: 'return', location, quantity: dOnHand, to: 'on_hand' });
    if (reserve > 0) moves.push({ type: 'order', location, quantity: reserve });
    if (reserve < 0) moves.push({ type: 'cancellation', location, quantity: -reserve });
  }
  moves.sort((a, b) => phase[a.type] - phase[b.type] || (a.location < b.location ? -1 : 1));
  return markMoved(applied, target, moves);
}

/** Units a line has taken from stock in any way: held, shipped or written off. */
function taken(effect: LineEffect): number {
  let units = 0;
  for (const entry of Object.values(effect)) units += entry.reserved + entry.shipped + entry.writtenOff;
  return units;
}

/**
 * Orders beyond the units the line takes anew are the line's own units changing location: they
 * are marked `moved` (split where an order is part new, part moved), so the ledger counts a sale
 * and judges an oversell once per unit, not again each time a fulfilment moves it.
 */
function markMoved(applied: LineEffect, target: LineEffect, moves: LineMove[]): LineMove[] {
  let fresh = Math.max(0, taken(target) - taken(applied));
  const out: LineMove[] = [];
  for (const move of moves) {
    if (move.type !== 'order') {
      out.push(move);
      continue;
    }
    const now = Math.min(fresh, move.quantity);
    fresh -= now;
    if (now > 0) out.push({ type: 'order', location: move.location, quantity: now });
    if (move.quantity > now)
      out.push({ type: 'order', location: move.location, quantity: move.quantity - now, moved: true });
  }
  return out;
}

/** The effect after some of the moves were applied (the ones the ledger answered applied). */
export function applyMoves(applied: LineEffect, moves: readonly LineMove[]): LineEffect {
  const next: LineEffect = {};
  for (const [code, entry] of Object.entries(applied)) next[code] = { ...entry };
  const at = (code: string) => {
    next[code] ??= emptyLocationEffect();
    return next[code]!;
  };
  for (const move of moves) {
    const entry = at(move.location);
    switch (move.type) {
      case 'cancellation':
        entry.reserved -= move.quantity;
        break;
      case 'order':
        entry.reserved += move.quantity;
        break;
      case 'shipment':
        // A shipment consumes reservation and on_hand; which of shipped / writtenOff it was is
        // kept by the caller's target (see settleEffect).
        entry.reserved -= move.quantity;
        entry.shipped += move.quantity;
        break;
      case 'return':
        if (move.to === 'quarantine') entry.returned += move.quantity;
        else entry.shipped -= move.quantity;
        break;
      case 'status':
        entry.returned -= move.quantity;
        entry.shipped -= move.quantity;
        break;
    }
  }
  return next;
}

/** Bucket deltas of an effect at a location: what it does to the ledger's levels. */
export function effectBuckets(entry: LocationEffect): { reserved: number; onHand: number; quarantine: number } {
  return { reserved: entry.reserved, onHand: 0 - entry.shipped - entry.writtenOff || 0, quarantine: entry.returned };
}
