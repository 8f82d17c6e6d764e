/**
 * The platform-neutral facts a channel reports about one of its order lines. Connectors turn
 * their platform's payloads into these (src/connectors/channel-intake.ts); the fold in
 * line-state.ts merges them into the line's state whatever order they arrive in.
 *
 * Platform location ids (`locationId`) are the platform's own (a Shopify Location gid); the
 * intake maps them to onhand location codes before the effect is computed.
 */

/** Who ships the line: the merchant from its own locations, or the marketplace (bol FBB, Amazon FBA). */
export type FulfilledBy = 'merchant' | 'marketplace';

/** Shopify's refund restock types (RefundLineItem.restock_type), which other platforms map onto. */
export type RestockType = 'cancel' | 'return' | 'legacy_restock' | 'no_restock';

/** Who may report a line's shipments for stock: the channel's own fulfilments, or an outside system through the API. */
export type ShipmentSource = 'channel' | 'api';

export type OrderLineFact =
  /**
   * The line as ordered or as edited later: `quantity` units. The greater `version` (the
   * order's updated_at, or a platform revision) wins. `locationId` is where the platform says
   * the line is sold from (a point-of-sale order), if it names one.
   */
  | { kind: 'ordered'; quantity: number; version: number; fulfilledBy: FulfilledBy; locationId: string | null }
  /**
   * Units cancelled. `quantity: null` cancels every unit not fulfilled and not refunded (a
   * whole-order cancellation); a number is the total cancelled so far under this event id
   * (bol's quantityCancelled), so a larger figure under the same id supersedes a smaller one.
   */
  | { kind: 'cancelled'; quantity: number | null }
  /**
   * A fulfilment (shipment) of `quantity` units from `locationId`; `active: false` once the
   * platform says it was cancelled or failed. The greater `version` wins. `source` says who
   * reported it (absent = the channel).
   */
  | {
      kind: 'fulfilled';
      quantity: number;
      locationId: string | null;
      active: boolean;
      version: number;
      source?: ShipmentSource | undefined;
    }
  /** A refund of `quantity` units with Shopify's restock semantics, restocked at `locationId` if named. */
  | { kind: 'refunded'; quantity: number; restock: RestockType; locationId: string | null }
  /** Units the customer sent back (a platform return), into quarantine at `locationId` if named. */
  | { kind: 'returned'; quantity: number; locationId: string | null }
  /**
   * An event about the line that onhand does not understand (a Shopify restock type or
   * fulfilment status it does not know, an unknown kind, text no store may hold), with the
   * reason. It changes no stock: it holds the whole line in the intake inbox until an operator
   * dismisses it (line-state.ts, `notUnderstood`), so the line is never applied halfway.
   */
  | { kind: 'not_understood'; reason: string };

/** One fact about one line, named by the business event it comes from. */
export interface LineFactEvent {
  /** Unique per business event within the line (a fulfilment id, a refund line id, `order`). */
  eventId: string;
  /** When it happened at the source (epoch ms). */
  occurredAt: number;
  fact: OrderLineFact;
}
