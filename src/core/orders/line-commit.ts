import { emptyLocationEffect, type LineEffect } from './line-effect.js';
import type { LineState } from './line-state.js';

/**
 * A checkout's reservation by channel, committed as a channel order line: the ledger keeps the
 * committed units reserved as order units (core/ledger/reservation-judges.ts), and the line
 * takes them over as units it already holds, so the channel's own order event for the line
 * finds them held and books nothing again.
 *
 * Each committed part (a reservation by channel split over locations commits part by part) is
 * kept in the state under its reservation id: a part taken twice changes nothing, and the
 * parts accumulate whatever order they come in.
 */
export interface CommittedPart {
  reservationId: string;
  /** The onhand location the part held its units at. */
  location: string;
  /** Units committed (the reservation's committed quantity). */
  quantity: number;
}

/**
 * The version of the `ordered` entry the committed parts stand for while the channel has not
 * reported the line: below any version a channel reports (bol 0, Shopify's updated_at), so the
 * channel's own figure always wins the fold, whichever arrives first.
 */
export const committedOrderVersion = -1;

export type CommitTaken =
  /** The part is already in the line: nothing changes. */
  | { kind: 'known' }
  /** The line's state and applied effect with the part: its units are held at its location. */
  | { kind: 'taken'; state: LineState; applied: LineEffect };

/**
 * The line with one committed part taken over. The applied effect grows by the part's units
 * reserved at its location, because the ledger holds them there for this line already; the
 * state records the part, and stands for an order of the committed units until the channel
 * reports its own. What the line held before (the channel's event came first) is then more than
 * its open units, and the next effect releases the difference like any excess.
 */
export function takeCommittedPart(state: LineState, applied: LineEffect, part: CommittedPart, at: number): CommitTaken {
  if (state.committed?.[part.reservationId] !== undefined) return { kind: 'known' };
  const committed = { ...state.committed, [part.reservationId]: { location: part.location, quantity: part.quantity } };
  let units = 0;
  for (const entry of Object.values(committed)) units += entry.quantity;
  const ordered =
    state.ordered === null || state.ordered.version <= committedOrderVersion
      ? { quantity: units, version: committedOrderVersion, fulfilledBy: 'merchant' as const, locationId: null }
      : state.ordered;
  const next: LineState = { ...state, ordered, committed, lastEventAt: Math.max(state.lastEventAt, at) };
  const grown: LineEffect = {};
  for (const [code, entry] of Object.entries(applied)) grown[code] = { ...entry };
  if (part.quantity > 0) {
    const entry = grown[part.location] ?? emptyLocationEffect();
    entry.reserved += part.quantity;
    grown[part.location] = entry;
  }
  return { kind: 'taken', state: next, applied: grown };
}
