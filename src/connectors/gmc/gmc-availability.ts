import type { PushPreorder } from '../channel-connector.js';
import { gmcFacts } from './gmc-limits.js';

/**
 * What onhand's quantities become on Google, a feed of availability rather than of counts
 * (docs/channels/google-merchant-center.md, Availability):
 * - more than 0 on hand to sell -> `IN_STOCK` (a count does not exist on Google's side);
 * - none, with a pre-order offer of at least one unit and a date -> `PREORDER` (or `BACKORDER`, by
 *   the channel's setting) with `availabilityDate` the offer's LATEST expected arrival: no buyer is
 *   promised a date before every unit offered has arrived (a date past or over a year ahead: none);
 * - otherwise `OUT_OF_STOCK`.
 *
 * Beside it the push sends the quantity itself as the custom attribute `onhand_quantity`, which
 * Google keeps with the product but does not serve. Reading it back is what lets drift be judged on
 * availability while the outbox compares quantities (shownQuantity below).
 */

export type GmcAvailability = 'IN_STOCK' | 'OUT_OF_STOCK' | 'PREORDER' | 'BACKORDER' | 'LIMITED_AVAILABILITY';
export type GmcPreorderAs = 'PREORDER' | 'BACKORDER';

export interface GmcAvailabilityAttributes {
  availability: GmcAvailability;
  /** RFC 3339 timestamp; only with PREORDER or BACKORDER. */
  availabilityDate?: string;
}

/** Google takes an availability date up to one year ahead (docs/channels/google-merchant-center.md, Availability). */
const availabilityDateAheadMaxMs = 365 * 86_400_000;

export function availabilityFor(
  quantity: number,
  preorder: PushPreorder | null | undefined,
  preorderAs: GmcPreorderAs,
  now: number,
): GmcAvailabilityAttributes {
  if (quantity > 0) return { availability: 'IN_STOCK' };
  const date = preorder ? (preorder.latestAt ?? preorder.earliestAt) : null;
  // A date already past (a purchase order overdue) or beyond a year would get the product
  // disapproved, and no other date is known: the offer is not shown until it has one.
  if (preorder && preorder.quantity > 0 && date !== null && date > now && date <= now + availabilityDateAheadMaxMs)
    return { availability: preorderAs, availabilityDate: new Date(date).toISOString() };
  return { availability: 'OUT_OF_STOCK' };
}

/** Whether a buyer can order it for delivery from stock now. */
export function sellsFromStock(availability: string | undefined): boolean {
  return availability === 'IN_STOCK' || availability === 'LIMITED_AVAILABILITY';
}

/**
 * The quantity a read-back reports, so that the outbox's comparison of quantities judges
 * availability: where Google's availability agrees with the quantity onhand sent (in stock when it
 * was above 0, not in stock when it was 0), the quantity sent; where it does not, 0 for a product
 * that does not sell from stock, 1 for one that does (above an acknowledged 0: the oversell side,
 * repaired at once). A product without the attribute (never pushed by onhand) reads as 1 or 0.
 */
export function shownQuantity(
  availability: string | undefined,
  customAttributes: readonly { name?: string; value?: string }[] | undefined,
): number {
  const sent = quantityAttribute(customAttributes);
  if (!sellsFromStock(availability)) return 0;
  return sent !== null && sent > 0 ? sent : 1;
}

export function quantityAttribute(
  customAttributes: readonly { name?: string; value?: string }[] | undefined,
): number | null {
  const found = customAttributes?.find((attribute) => attribute.name === gmcFacts.quantityAttribute);
  if (found?.value === undefined || !/^\d{1,10}$/.test(found.value)) return null;
  return Number(found.value);
}
