import { canonicalJson } from '../canonical-json.js';
import type { FulfilledBy, LineFactEvent, RestockType, ShipmentSource } from './line-events.js';

/**
 * The known state of one channel order line: every fact reported about it, merged. The merge
 * is a join: commutative, associative and idempotent, so any permutation of a line's events,
 * with duplicates and redeliveries, folds to the same state (test/unit/order-line-fold.test.ts
 * checks this as a property). Each kind keeps one entry per event id:
 *
 * - ordered: one per line; the greater version wins (an edit), ties by the canonical payload;
 * - cancelled: the larger quantity wins, `null` (everything open) above any number;
 * - fulfilled: the greater version wins (a fulfilment later cancelled), ties by the payload;
 * - refunded, returned: a refund line is immutable; two different payloads under one id are
 *   ordered by their canonical form, so the choice does not depend on arrival.
 */
export interface LineState {
  ordered: { quantity: number; version: number; fulfilledBy: FulfilledBy; locationId: string | null } | null;
  cancels: Record<string, number | null>;
  fulfilments: Record<
    string,
    { quantity: number; locationId: string | null; active: boolean; version: number; source: ShipmentSource }
  >;
  refunds: Record<string, { quantity: number; restock: RestockType; locationId: string | null }>;
  returns: Record<string, { quantity: number; locationId: string | null }>;
  /** The latest source time of any fact folded in. */
  lastEventAt: number;
  /**
   * Parts of a checkout's reservation by channel committed as this line, by reservation id
   * (line-commit.ts); absent on a line no checkout committed. Not a channel fact: the fold
   * keeps it as it is.
   */
  committed?: Record<string, { location: string; quantity: number }>;
  /**
   * Events not understood (`not_understood` facts), by event id, then by reason: `held` keeps
   * the line in the intake inbox, `dismissed` once an operator set it aside (dismissNotUnderstood).
   * Dismissed wins the merge, so a redelivery of a dismissed event does not hold the line again,
   * while a different reason under the same id does. Absent on a line without any.
   */
  notUnderstood?: Record<string, Record<string, 'held' | 'dismissed'>>;
}

export function emptyLineState(): LineState {
  return { ordered: null, cancels: {}, fulfilments: {}, refunds: {}, returns: {}, lastEventAt: 0 };
}

/** The later of two versioned entries; ties broken by the canonical payload, so the merge commutes. */
function later<T extends { version: number }>(a: T | undefined, b: T): T {
  if (a === undefined) return b;
  if (a.version !== b.version) return a.version > b.version ? a : b;
  return canonicalJson(a) >= canonicalJson(b) ? a : b;
}

function larger<T>(a: T | undefined, b: T): T {
  if (a === undefined) return b;
  return canonicalJson(a) >= canonicalJson(b) ? a : b;
}

/** Folds events into a state; returns a new state (the input is not changed). */
export function foldLine(state: LineState, events: readonly LineFactEvent[]): LineState {
  const next: LineState = {
    ordered: state.ordered,
    cancels: { ...state.cancels },
    fulfilments: { ...state.fulfilments },
    refunds: { ...state.refunds },
    returns: { ...state.returns },
    lastEventAt: state.lastEventAt,
  };
  if (state.committed !== undefined) next.committed = { ...state.committed };
  if (state.notUnderstood !== undefined) next.notUnderstood = { ...state.notUnderstood };
  for (const { eventId, occurredAt, fact } of events) {
    if (occurredAt > next.lastEventAt) next.lastEventAt = occurredAt;
    switch (fact.kind) {
      case 'ordered': {
        const entry = {
          quantity: fact.quantity,
          version: fact.version,
          fulfilledBy: fact.fulfilledBy,
          locationId: fact.locationId,
        };
        next.ordered = next.ordered === null ? entry : later(next.ordered, entry);
        break;
      }
      case 'cancelled': {
        const known = next.cancels[eventId];
        next.cancels[eventId] =
          known === null || fact.quantity === null
            ? null
            : known === undefined
              ? fact.quantity
              : Math.max(known, fact.quantity);
        break;
      }
      case 'fulfilled':
        next.fulfilments[eventId] = later(next.fulfilments[eventId], {
          quantity: fact.quantity,
          locationId: fact.locationId,
          active: fact.active,
          version: fact.version,
          source: fact.source ?? 'channel',
        });
        break;
      case 'refunded':
        next.refunds[eventId] = larger(next.refunds[eventId], {
          quantity: fact.quantity,
          restock: fact.restock,
          locationId: fact.locationId,
        });
        break;
      case 'returned':
        next.returns[eventId] = larger(next.returns[eventId], { quantity: fact.quantity, locationId: fact.locationId });
        break;
      case 'not_understood': {
        const marks = { ...next.notUnderstood?.[eventId] };
        marks[fact.reason] ??= 'held';
        next.notUnderstood = { ...next.notUnderstood, [eventId]: marks };
        break;
      }
    }
  }
  return next;
}

/**
 * Why the line is held in the intake inbox for an event not understood, or null: the first
 * held mark in event id order, with the count of the others. A line held so applies nothing
 * until every mark is dismissed.
 */
export function notUnderstoodReason(state: LineState): string | null {
  const held: string[] = [];
  for (const eventId of Object.keys(state.notUnderstood ?? {}).sort())
    for (const reason of Object.keys(state.notUnderstood![eventId]!).sort())
      if (state.notUnderstood![eventId]![reason] === 'held') held.push(`event ${eventId}: ${reason}`);
  if (held.length === 0) return null;
  const more = held.length > 1 ? ` (and ${held.length - 1} more)` : '';
  return `not understood: ${held[0]}${more}; the line waits until the event is dismissed`;
}

/** The state with every held mark dismissed (the operator's decision); null when none was held. */
export function dismissNotUnderstood(state: LineState): LineState | null {
  if (notUnderstoodReason(state) === null) return null;
  const notUnderstood: NonNullable<LineState['notUnderstood']> = {};
  for (const [eventId, marks] of Object.entries(state.notUnderstood ?? {}))
    notUnderstood[eventId] = Object.fromEntries(Object.keys(marks).map((reason) => [reason, 'dismissed' as const]));
  return { ...state, notUnderstood };
}

/** Two states mean the same (a delivery that taught nothing new). */
export function sameLineState(a: LineState, b: LineState): boolean {
  return canonicalJson({ ...a, lastEventAt: 0 }) === canonicalJson({ ...b, lastEventAt: 0 });
}

/**
 * The line's units by what became of them, from the state alone (no locations yet):
 * - `open`: ordered units not cancelled, not fulfilled, not refunded: held reserved;
 * - `shipped`: fulfilled units per platform location (null = not named);
 * - `writtenOff`: unfulfilled units refunded without restock: gone, like a shipment;
 * - `returned`: units back in quarantine per platform location (null = not named).
 *
 * Refunds judged by the line's fulfilment state, as Shopify defines them: `cancel` takes
 * unfulfilled units back; `return` takes fulfilled units back; `legacy_restock` is a return for
 * as many units as were fulfilled and not yet returned, a cancel for the rest; `no_restock`
 * takes nothing back: on fulfilled units it changes nothing, on unfulfilled units they are
 * gone (written off). A whole-line cancellation releases what is still open.
 */
export interface LineUnits {
  ordered: number;
  open: number;
  shipped: { locationId: string | null; quantity: number }[];
  writtenOff: number;
  returned: { locationId: string | null; quantity: number }[];
  fulfilledBy: FulfilledBy;
  /** Where the platform says the line is sold from, if anywhere. */
  orderedAt: string | null;
}

export function lineUnits(state: LineState, shipmentSource: ShipmentSource = 'channel'): LineUnits {
  const ordered = state.ordered?.quantity ?? 0;
  const shipped = new Map<string | null, number>();
  let fulfilled = 0;
  for (const id of Object.keys(state.fulfilments).sort()) {
    const entry = state.fulfilments[id]!;
    if (!entry.active || entry.source !== shipmentSource || entry.quantity <= 0) continue;
    shipped.set(entry.locationId, (shipped.get(entry.locationId) ?? 0) + entry.quantity);
    fulfilled += entry.quantity;
  }
  let cancelUnits = 0;
  let returnUnits = 0;
  let noRestock = 0;
  const returned = new Map<string | null, number>();
  const returnAt = (locationId: string | null, quantity: number) => {
    if (quantity <= 0) return;
    returned.set(locationId, (returned.get(locationId) ?? 0) + quantity);
    returnUnits += quantity;
  };
  let legacy: { locationId: string | null; quantity: number }[] = [];
  for (const id of Object.keys(state.refunds).sort()) {
    const refund = state.refunds[id]!;
    if (refund.restock === 'cancel') cancelUnits += refund.quantity;
    else if (refund.restock === 'return') returnAt(refund.locationId, refund.quantity);
    else if (refund.restock === 'no_restock') noRestock += refund.quantity;
    else legacy.push({ locationId: refund.locationId, quantity: refund.quantity });
  }
  for (const id of Object.keys(state.returns).sort()) {
    const back = state.returns[id]!;
    returnAt(back.locationId, back.quantity);
  }
  // legacy_restock: a return while fulfilled units are not yet returned, then a cancel.
  for (const refund of legacy) {
    const returnable = Math.max(0, Math.min(refund.quantity, fulfilled - returnUnits));
    returnAt(refund.locationId, returnable);
    cancelUnits += refund.quantity - returnable;
  }
  legacy = [];
  const unfulfilled = Math.max(0, ordered - fulfilled - cancelUnits);
  const writtenOff = Math.min(noRestock, unfulfilled);
  const cancelledAll = Object.values(state.cancels).some((value) => value === null);
  const cancelledUnits = Object.values(state.cancels).reduce<number>((sum, value) => sum + (value ?? 0), 0);
  const open = cancelledAll ? 0 : Math.max(0, unfulfilled - writtenOff - cancelledUnits);
  return {
    ordered,
    open,
    shipped: [...shipped].map(([locationId, quantity]) => ({ locationId, quantity })),
    writtenOff,
    returned: [...returned].map(([locationId, quantity]) => ({ locationId, quantity })),
    fulfilledBy: state.ordered?.fulfilledBy ?? 'merchant',
    orderedAt: state.ordered?.locationId ?? null,
  };
}
