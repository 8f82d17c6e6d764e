import { z } from 'zod';
import { type OrderLineEvent, type OrderLineFact, orderLineKey, type RestockType } from '../channel-intake.js';
import { wooItemId } from './woocommerce-ids.js';

/**
 * WooCommerce orders (and their refunds) as order-line events: every event about line item
 * `<id>` of order `<order>` is about the line `woocommerce:<account>:<order>:<id>`.
 *
 * WooCommerce has no shipments or cancellations of its own: an order has ONE status, and the
 * stock meaning of each is decided here (docs/channels/woocommerce.md, Order statuses):
 *
 * | status                           | `ordered` (eventId `order`) | `fulfilled` (eventId `complete`)      |
 * |----------------------------------|-----------------------------|---------------------------------------|
 * | pending, processing, on-hold     | line quantity: RESERVE      | inactive (active once completed)      |
 * | any other (a plugin's own)       | line quantity: RESERVE      | inactive (active once completed)      |
 * | completed                        | line quantity               | active: SHIP what was not refunded    |
 * | refunded                         | line quantity               | active once completed, else inactive  |
 * | cancelled, failed                | 0: RELEASE                  | inactive                              |
 * | trash                            | 0 unless it was completed   | active when it was completed          |
 * | checkout-draft                   | no events (a cart, not an order) |                                  |
 *
 * "Once completed": `date_completed_gmt` is set. An order set back from completed to processing
 * stays shipped, as its stock stays reduced in WooCommerce; cancelled or failed afterwards
 * releases it, as WooCommerce then puts the stock back.
 *
 * Both facts carry the order's `date_modified_gmt` as version, so a status that changes back
 * (failed -> processing after a new payment, completed -> processing) is followed: the later
 * version wins in the fold, whatever order the deliveries arrive in. A cancellation is therefore
 * an `ordered` of 0, not a `cancelled` fact, which the fold never takes back.
 *
 * Refunds come from `GET /orders/<id>/refunds` (an order body lists only their ids): one
 * `refunded` fact per refund line item, eventId `refund:<refund line item id>`, on the order
 * line named by the refund line's `_refunded_item_id` meta. WooCommerce records restocking per
 * ORDER line, as the cumulative `_restock_refunded_items` meta (wc_restock_refunded_items): a
 * line without it restocked nothing (the safe reading: a unit wrongly taken as gone cannot be
 * oversold, one wrongly taken as back could); with it, the
 * oldest refunds are the restocked ones, up to that count (a line refunded both with and without
 * restock may see the two swapped: only the count is recorded). A restocked refund made before
 * the order was completed is `cancel` (the units never left), one made after it `return` (back
 * into quarantine); one not restocked is `no_restock` (unshipped units are gone, shipped ones stay
 * shipped). A completed order ships its quantity less the units refunded before completion.
 *
 * Timestamps `*_gmt` are UTC without a zone ("2017-03-22T16:28:08"). Bodies are PHP's JSON: ids
 * and quantities may arrive as numbers or as numeric strings, empty objects as `[]`.
 */

const releasingStatuses = new Set(['cancelled', 'failed']);

/** A WooCommerce integer: a number, or the digits of one as a string (PHP's mixed encoding). */
const wooInt = z.preprocess(
  (value) => (typeof value === 'string' && /^-?[0-9]{1,16}$/.test(value) ? Number(value) : value),
  z.number().int().min(-1_000_000_000).max(Number.MAX_SAFE_INTEGER),
);
const wooId = wooInt.pipe(z.number().int().positive());
/** "2017-03-22T16:28:08" (UTC, no zone) or with one. */
const gmtTime = z
  .string()
  .max(40)
  .transform((text) => Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`))
  .refine((ms) => Number.isFinite(ms), 'a date-time');
/** PHP encodes an empty array as `[]` and an empty map as `[]` too: either is an empty list. */
const list = <T extends z.ZodType>(item: T, max: number) =>
  z.preprocess(
    (value) =>
      value === null || value === undefined
        ? []
        : typeof value === 'object' && !Array.isArray(value)
          ? Object.values(value as object)
          : value,
    z.array(item).max(max),
  );
const meta = z.object({ key: z.string().max(255), value: z.unknown() }).passthrough();

const lineItemSchema = z
  .object({
    id: wooId,
    product_id: wooInt.nullable().optional(),
    variation_id: wooInt.nullable().optional(),
    quantity: wooInt,
    sku: z.string().max(255).nullable().optional(),
    meta_data: list(meta, 1_000).optional(),
  })
  .passthrough();

export const wooOrderSchema = z
  .object({
    id: wooId,
    status: z.string().min(1).max(60),
    date_created_gmt: gmtTime,
    date_modified_gmt: gmtTime.nullable().optional(),
    date_completed_gmt: gmtTime.nullable().optional(),
    line_items: list(lineItemSchema, 1_000),
    refunds: list(z.object({ id: wooInt }).passthrough(), 1_000).optional(),
  })
  .passthrough();

export const wooRefundSchema = z
  .object({
    id: wooId,
    date_created_gmt: gmtTime,
    line_items: list(
      z
        .object({
          id: wooId,
          product_id: wooInt.nullable().optional(),
          variation_id: wooInt.nullable().optional(),
          quantity: wooInt,
          meta_data: list(meta, 1_000).optional(),
        })
        .passthrough(),
      1_000,
    ),
  })
  .passthrough();

export type WooOrder = z.output<typeof wooOrderSchema>;
export type WooRefund = z.output<typeof wooRefundSchema>;
type LineItem = z.output<typeof lineItemSchema>;

export type WooOrderEvents = { ok: true; events: OrderLineEvent[] } | { ok: false; reason: string };

function reasonOf(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).map(String).join('.');
  return issue ? `${prefix}${path || '(root)'}: ${issue.message}` : 'invalid payload';
}

function metaNumber(entries: readonly { key: string; value: unknown }[] | undefined, key: string): number | null {
  const found = entries?.find((entry) => entry.key === key);
  if (found === undefined) return null;
  const value = typeof found.value === 'string' ? Number(found.value) : found.value;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

/**
 * One order as events. `refunds` are the order's refunds when they were read (a poll or a
 * refresh); `undefined` for a webhook body, which lists refund ids only: the refunded facts then
 * come with the next poll, and a shipment of a line with refunds is left to it too (how many
 * units shipped depends on the refunds made before completion).
 */
export function wooOrderEvents(account: string, payload: unknown, refundPayloads?: readonly unknown[]): WooOrderEvents {
  try {
    const parsed = wooOrderSchema.safeParse(payload);
    if (!parsed.success) return { ok: false, reason: reasonOf(parsed.error) };
    const order = parsed.data;
    const refunds: WooRefund[] = [];
    for (const [index, raw] of (refundPayloads ?? []).entries()) {
      const refund = wooRefundSchema.safeParse(raw);
      if (!refund.success) return { ok: false, reason: reasonOf(refund.error, `refunds.${index}.`) };
      refunds.push(refund.data);
    }
    if (order.status === 'checkout-draft') return { ok: true, events: [] };
    const orderId = String(order.id);
    const version = order.date_modified_gmt ?? order.date_created_gmt;
    const completedAt = order.date_completed_gmt ?? null;
    // Once completed, shipped, unless cancelled or failed afterwards (WooCommerce then puts the
    // stock back); a completed order set back to processing keeps its stock reduced in WooCommerce too.
    const shipped = (completedAt !== null || order.status === 'completed') && !releasingStatuses.has(order.status);
    const released = releasingStatuses.has(order.status) || (order.status === 'trash' && !shipped);
    const refundsKnown = refundPayloads !== undefined;
    const hasRefunds = (order.refunds?.length ?? 0) > 0 || refunds.length > 0;
    const events: OrderLineEvent[] = [];
    const lines = new Map<number, LineItem>();
    const add = (line: LineItem, eventId: string, occurredAt: number, fact: OrderLineFact) => {
      const lineId = String(line.id);
      events.push({
        lineKey: orderLineKey('woocommerce', account, orderId, lineId),
        eventId,
        orderId,
        lineId,
        item: {
          externalId: wooItemId(line.product_id ?? 0, line.variation_id),
          sku: line.sku ? line.sku : null,
          barcode: null,
        },
        occurredAt,
        fact,
      });
    };

    // Refund lines per order line, oldest refund first; the units refunded before completion.
    const refundLines = new Map<number, { refundId: number; lineId: number; at: number; quantity: number }[]>();
    for (const refund of [...refunds].sort((a, b) => a.id - b.id))
      for (const refundLine of refund.line_items) {
        const quantity = Math.abs(refundLine.quantity);
        if (quantity === 0) continue;
        const orderLineId =
          metaNumber(refundLine.meta_data, '_refunded_item_id') ??
          order.line_items.find(
            (line) =>
              (line.product_id ?? 0) === (refundLine.product_id ?? 0) &&
              (line.variation_id ?? 0) === (refundLine.variation_id ?? 0),
          )?.id;
        if (orderLineId === undefined || orderLineId === null) continue;
        const entries = refundLines.get(orderLineId) ?? [];
        entries.push({ refundId: refund.id, lineId: refundLine.id, at: refund.date_created_gmt, quantity });
        refundLines.set(orderLineId, entries);
      }

    for (const line of order.line_items) {
      if (!line.product_id || line.product_id <= 0) continue; // a line without a product holds no stock
      lines.set(line.id, line);
      const quantity = Math.max(0, line.quantity);
      add(line, 'order', version, {
        kind: 'ordered',
        quantity: released ? 0 : quantity,
        version,
        fulfilledBy: 'merchant',
        locationId: null,
      });
      const refunded = refundLines.get(line.id) ?? [];
      if (!(shipped && hasRefunds && !refundsKnown)) {
        const before =
          completedAt === null
            ? 0
            : refunded.filter((entry) => entry.at < completedAt).reduce((n, e) => n + e.quantity, 0);
        add(line, 'complete', shipped ? (completedAt ?? version) : version, {
          kind: 'fulfilled',
          quantity: shipped ? Math.max(0, quantity - before) : quantity,
          locationId: null,
          active: shipped,
          version,
        });
      }
      // Absent: none restocked (WooCommerce writes it when it restocks).
      const restocked = metaNumber(line.meta_data, '_restock_refunded_items') ?? 0;
      let counted = 0;
      for (const entry of refunded) {
        counted += entry.quantity;
        const back = counted <= restocked;
        // Made in the second of completion: taken as after it (a return, into quarantine: it cannot oversell).
        const beforeShipping = completedAt === null || entry.at < completedAt;
        const restock: RestockType = !back ? 'no_restock' : beforeShipping ? 'cancel' : 'return';
        add(line, `refund:${entry.lineId}`, entry.at, {
          kind: 'refunded',
          quantity: entry.quantity,
          restock,
          locationId: null,
        });
      }
    }
    return { ok: true, events };
  } catch (error) {
    return { ok: false, reason: `unexpected: ${error instanceof Error ? error.message.slice(0, 200) : 'error'}` };
  }
}

/** The order's `date_modified_gmt` in ms (or its creation), or null when the body is not an order. */
export function wooOrderModifiedAt(payload: unknown): number | null {
  const parsed = wooOrderSchema.safeParse(payload);
  if (!parsed.success) return null;
  return parsed.data.date_modified_gmt ?? parsed.data.date_created_gmt;
}

/** Whether the order body lists refunds (their lines are read from /orders/<id>/refunds). */
export function wooOrderHasRefunds(payload: unknown): boolean {
  const parsed = wooOrderSchema.safeParse(payload);
  return parsed.success && (parsed.data.refunds?.length ?? 0) > 0;
}
