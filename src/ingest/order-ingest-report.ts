/**
 * What the order-line intake tells its callers of a delivery or poll: the report per delivery
 * (webhooks answer it, metrics count it) and the summary per channel order (the log's one line
 * per order).
 */
export interface OrderIngestReport {
  /** Events received. */
  events: number;
  /** Lines whose ledger effect changed. */
  changed: number;
  /** Lines that learnt nothing new (duplicates, redeliveries). */
  unchanged: number;
  /** Marketplace-fulfilled lines recorded for information only. */
  info: number;
  /** Lines kept in the intake inbox, with the reason. */
  blocked: { lineKey: string; reason: string }[];
  /**
   * Events not understood (an unknown kind, text no store may hold, a quantity out of bounds):
   * each is kept as a `not_understood` event of its line, which holds the line in the intake
   * inbox (`blocked` above) until an operator dismisses it. Keys as stored (not-understood.ts).
   */
  invalid: { lineKey: string; eventId: string; reason: string }[];
  /** Units recorded as true oversells (the channel's whole pool short). */
  oversold: number;
}

export function emptyReport(): OrderIngestReport {
  return { events: 0, changed: 0, unchanged: 0, info: 0, blocked: [], invalid: [], oversold: 0 };
}

/** One channel order of a delivery or poll: its lines and what became of them. */
export interface OrderIngestSummary {
  orderId: string;
  /** Distinct lines of the order in this delivery. */
  lines: number;
  changed: number;
  unchanged: number;
  info: number;
  blocked: number;
  invalid: number;
  /**
   * The order as a whole, the first that holds: `invalid` (an event not understood), `blocked` (a line
   * kept in the inbox), `applied` (a line changed the ledger), `info` (marketplace-fulfilled
   * only), `unchanged` (a redelivery: nothing new).
   */
  outcome: 'invalid' | 'blocked' | 'applied' | 'info' | 'unchanged';
  /** The first reason of a refused event or a blocked line. */
  reason: string | null;
}

export function orderOutcome(order: Omit<OrderIngestSummary, 'outcome'>): OrderIngestSummary['outcome'] {
  if (order.invalid > 0) return 'invalid';
  if (order.blocked > 0) return 'blocked';
  if (order.changed > 0) return 'applied';
  if (order.info > 0) return 'info';
  return 'unchanged';
}
