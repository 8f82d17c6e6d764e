import { createHash } from 'node:crypto';
import { limits } from '../core/limits.js';
import { jsonFaults } from '../core/json-bounds.js';
import type { OrderLineEvent } from '../connectors/channel-intake.js';

/**
 * An order-line event the intake cannot take as it is (an unknown fact kind, a quantity out of
 * bounds, text no store may hold) becomes a `not_understood` event of its line, so that it waits
 * in the intake inbox with its reason instead of being lost (src/ingest/order-line-intake.ts).
 *
 * Its text is stored, and some of it indexed (the line key, the order id; a PostgreSQL index
 * entry holds at most 2,704 bytes), so every text is made storable first: the characters no
 * store holds (U+0000, a lone surrogate) are written as visible `\uXXXX` escapes, and a text
 * that was escaped or is longer than its bound ends with `#` and 16 hex digits of the original's
 * SHA-256 (after `…` where it was cut), so two keys that differ only where they were escaped or
 * cut stay two keys. Text that is already storable and within its bound is kept as it is: a
 * refused event of a good line lands on that line.
 */

/** Longest stored line key of such an event: the step suffix `:<step>:<index>` still fits an idempotency key. */
export const storableLineKeyLengthMax = limits.idempotencyKeyLengthMax - 24;

// U+0000 (built from its code, the one control character meant here), or a UTF-16 half
// without its partner: json-bounds.ts refuses both.
const unstorable = new RegExp(
  `${String.fromCharCode(0)}|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]`,
  'g',
);

/** `text` as a store holds it: escaped and at most `lengthMax` UTF-16 units (at most 4 bytes each). */
export function storableText(text: unknown, lengthMax: number): string {
  const original = typeof text === 'string' ? text : String(text);
  const escaped = original.replace(unstorable, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped === original && escaped.length <= lengthMax) return escaped;
  // Over the UTF-16 units, so a lone surrogate hashes as itself (as UTF-8 it would become U+FFFD).
  const hash = createHash('sha256').update(Buffer.from(original, 'utf16le')).digest('hex').slice(0, 16);
  if (escaped.length + 17 <= lengthMax) return `${escaped}#${hash}`;
  let cut = escaped.slice(0, Math.max(0, lengthMax - 18));
  // Never end on the first half of a surrogate pair: that would be a lone surrogate again.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…#${hash}`;
}

/**
 * The event as its line's `not_understood` event: the keys and the item made storable, the
 * reason bounded. Never throws, whatever the connector handed over.
 */
export function notUnderstoodEvent(event: OrderLineEvent, reason: string): OrderLineEvent {
  const text = (value: unknown) => storableText(value, limits.textLengthMax);
  const orNull = (value: unknown) => (value === null || value === undefined ? null : text(value));
  const item = (event.item ?? {}) as Partial<OrderLineEvent['item']>;
  return {
    lineKey: storableText(event.lineKey, storableLineKeyLengthMax),
    eventId: text(event.eventId),
    orderId: text(event.orderId),
    lineId: text(event.lineId),
    item: { externalId: text(item.externalId ?? ''), sku: orNull(item.sku), barcode: orNull(item.barcode) },
    occurredAt: Number.isSafeInteger(event.occurredAt) && event.occurredAt >= 0 ? event.occurredAt : 0,
    fact: { kind: 'not_understood', reason: text(reason) },
  };
}

/**
 * Why the intake cannot fold `event` (it is then kept as a `not_understood` event of its line),
 * or null when it can.
 */
export function validEvent(event: OrderLineEvent): string | null {
  const fault = jsonFaults(event, { depthMax: limits.requestJsonDepthMax, faultsMax: 1 })[0];
  if (fault) return `${fault.path} ${fault.message}`;
  const fact = event.fact as { kind?: unknown; quantity?: unknown };
  if (!['ordered', 'cancelled', 'fulfilled', 'refunded', 'returned', 'not_understood'].includes(String(fact.kind)))
    return `unknown order line event kind ${JSON.stringify(String(fact.kind)).slice(0, 60)}`;
  if (fact.kind === 'not_understood' && typeof (fact as { reason?: unknown }).reason !== 'string')
    return 'a not_understood event without a reason';
  if (
    fact.kind !== 'not_understood' &&
    fact.quantity !== null &&
    !(Number.isSafeInteger(fact.quantity) && (fact.quantity as number) >= 0)
  )
    return 'quantity is not a whole number of units';
  if ((fact.quantity as number) > limits.quantityMax) return `quantity above ${limits.quantityMax}`;
  if (event.lineKey.length > limits.idempotencyKeyLengthMax - 24) return 'line key too long';
  // Each is stored (PostgreSQL indexes order_id and the unmapped item's external id, and an
  // index entry holds at most 2,704 bytes): bounded here, so both engines answer alike.
  const texts = {
    eventId: event.eventId,
    orderId: event.orderId,
    lineId: event.lineId,
    'item.externalId': event.item.externalId,
    'item.sku': event.item.sku,
    'item.barcode': event.item.barcode,
    'fact.locationId': (event.fact as { locationId?: unknown }).locationId,
    'fact.reason': (event.fact as { reason?: unknown }).reason,
  };
  for (const [name, text] of Object.entries(texts))
    if (typeof text === 'string' && text.length > limits.textLengthMax)
      return `${name} longer than ${limits.textLengthMax} characters`;
  return null;
}
