import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IntakeEvent, WebhookCheck, WebhookDelivery } from '../channel-intake.js';
import { shopifyWebhookToEvents } from './shopify-order-events.js';

/**
 * Shopify webhooks in: signature check on the raw bytes, then the delivery as order-line events
 * (shopify-order-events.ts) whose line keys and event ids come from the BUSINESS event (shop,
 * order, line, refund or fulfilment), never from X-Shopify-Webhook-Id (docs/RELIABILITY.md,
 * section 1: dedupe on the delivery id would re-apply a business event Shopify sends twice under
 * two delivery ids).
 *
 * Facts followed (docs/channels/shopify.md, Webhooks; the promise is docs/RELIABILITY.md, section 15):
 * - X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(raw body, app client secret)); a rotated secret
 *   "can take up to an hour" to be used, so the previous secret is accepted alongside.
 * - Retries (8 over 4 hours) carry the original payload; deliveries are unordered and may repeat.
 * - Payloads are the REST resources: Order, Fulfillment, Refund, InventoryLevel. REST ids are 64-bit integers,
 *   beyond JavaScript's 2^53 - parseShopifyWebhookBody keeps long ones exact as strings.
 */

// ---------------------------------------------------------------------------------------------
// Signature

/** Secrets tried per delivery: current + previous during a rotation, with room to spare. */
const secretsMax = 4;
/** base64 of exactly 32 bytes: 43 characters and one '='. */
const base64Digest = /^[A-Za-z0-9+/]{43}=$/;

/**
 * True only if `hmacHeader` is the base64 HMAC-SHA256 of `rawBody` under one of `secrets`.
 * Never throws: a malformed header must be a 401, never a RangeError that becomes a 500:
 * 1. the header must be canonical base64 of exactly 32 bytes - anything else (hex, wrong length,
 *    whitespace, a second header joined with a comma, non-canonical padding bits) is rejected
 *    before any comparison, which leaks only the public length;
 * 2. the digest for each secret is compared with crypto.timingSafeEqual, equal lengths
 *    guaranteed by step 1, and all secrets are tried (no early exit on a match);
 * 3. an empty body is rejected: Shopify never sends one, and it is the one input every secret
 *    signs the same way for everybody who can guess nothing else.
 */
export function verifyShopifyWebhook(
  rawBody: Buffer,
  hmacHeader: string | undefined,
  secrets: readonly string[],
): boolean {
  try {
    if (!Buffer.isBuffer(rawBody) || rawBody.length === 0) return false;
    if (typeof hmacHeader !== 'string' || !base64Digest.test(hmacHeader)) return false;
    const received = Buffer.from(hmacHeader, 'base64');
    // Canonical only: two header strings that decode to the same bytes (the 2 spare bits of the
    // last character) must not both verify.
    if (received.length !== 32 || received.toString('base64') !== hmacHeader) return false;
    if (!Array.isArray(secrets)) return false;
    let matched = false;
    for (const secret of secrets.slice(0, secretsMax)) {
      if (typeof secret !== 'string' || secret.length === 0) continue;
      const expected = createHmac('sha256', secret).update(rawBody).digest();
      if (timingSafeEqual(expected, received)) matched = true;
    }
    return matched;
  } catch {
    return false;
  }
}

/** The signature Shopify would send (for the simulator and tests). */
export function signShopifyWebhook(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

// ---------------------------------------------------------------------------------------------
// Headers and body

export interface ShopifyWebhookHeaders {
  topic: string | null;
  hmac: string | undefined;
  shopDomain: string | null;
  /** Per delivery: dedupes deliveries, never business events. */
  webhookId: string | null;
  /** Shared by duplicates of one event. */
  eventId: string | null;
  /** Unsigned, so informational only: never trusted for ordering or keys. */
  triggeredAt: string | null;
  apiVersion: string | null;
}

/** Read Shopify's headers from Node's lower-cased header object; a repeated header counts as absent. */
export function readShopifyWebhookHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): ShopifyWebhookHeaders {
  const one = (name: string): string | null => {
    const value = headers[name];
    return typeof value === 'string' && value.length <= 1000 ? value : null;
  };
  return {
    topic: one('x-shopify-topic'),
    hmac: one('x-shopify-hmac-sha256') ?? undefined,
    shopDomain: one('x-shopify-shop-domain'),
    webhookId: one('x-shopify-webhook-id'),
    eventId: one('x-shopify-event-id'),
    triggeredAt: one('x-shopify-triggered-at'),
    apiVersion: one('x-shopify-api-version'),
  };
}

/** 16 digits in a row somewhere in the body: only then can a number literal be too long to be exact. */
const longDigitRun = /\d{16}/;

/**
 * JSON.parse, except that integer literals too long to be exact doubles (16+ digits) become
 * strings, so 64-bit REST ids survive. Strings in the JSON are matched first by the pattern, so
 * digits inside them are never touched. A body without 16 digits in a row holds no such literal
 * and is parsed as it is: the rewrite scans every string of the body and costs more than the
 * parse (today's REST ids have 10 to 14 digits). Call after verifyShopifyWebhook, on the same bytes.
 */
export function parseShopifyWebhookBody(
  rawBody: Buffer,
): { ok: true; payload: unknown } | { ok: false; reason: string } {
  try {
    const text = rawBody.toString('utf8');
    const exact = !longDigitRun.test(text)
      ? text
      : text.replace(/"(?:[^"\\]|\\.)*"|(-?\d{16,})(?![\d.eE])/g, (match, digits: string | undefined) =>
          digits === undefined ? match : `"${digits}"`,
        );
    return { ok: true, payload: JSON.parse(exact) as unknown };
  } catch (error) {
    return {
      ok: false,
      reason: `body is not JSON: ${error instanceof Error ? error.message.slice(0, 200) : 'parse error'}`,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The connector port's webhook intake (channel-intake.ts)

export interface ShopifyWebhookConnection {
  /** The connection's shop; X-Shopify-Shop-Domain must name it. */
  shopDomain: string;
  /** The location this connection pushes to: level updates elsewhere are ignored. */
  locationId: string | null;
  /** Current secret first, then the previous one during a rotation. */
  secrets: readonly string[];
}

/**
 * 1. the HMAC over the raw bytes, with the current or the previous secret, before anything is
 *    parsed; 2. X-Shopify-Shop-Domain (unsigned, so only after 1) must be this connection's shop.
 */
export function checkShopifyDelivery(delivery: WebhookDelivery, connection: ShopifyWebhookConnection): WebhookCheck {
  const headers = readShopifyWebhookHeaders(delivery.headers);
  if (!verifyShopifyWebhook(delivery.body, headers.hmac, connection.secrets))
    return { ok: false, reason: 'X-Shopify-Hmac-Sha256 does not verify' };
  if ((headers.shopDomain ?? '').toLowerCase() !== connection.shopDomain.toLowerCase())
    return { ok: false, reason: "X-Shopify-Shop-Domain is not this channel's shop" };
  return { ok: true };
}

/** A verified delivery as a platform-neutral intake event. */
export function shopifyDeliveryToEvent(delivery: WebhookDelivery, connection: ShopifyWebhookConnection): IntakeEvent {
  const headers = readShopifyWebhookHeaders(delivery.headers);
  const parsed = parseShopifyWebhookBody(delivery.body);
  if (!parsed.ok) return { kind: 'invalid', reason: parsed.reason };
  const event = shopifyWebhookToEvents(headers.topic ?? '', parsed.payload, connection.shopDomain);
  switch (event.kind) {
    case 'lines':
      return { kind: 'lines', events: event.events };
    case 'level':
      if (event.available === null || event.locationId !== connection.locationId)
        return { kind: 'ignored', reason: `${event.topic}: not a level this connection pushes` };
      return { kind: 'level', externalId: event.inventoryItemId, quantity: event.available };
    case 'ignored':
      return { kind: 'ignored', reason: `topic ${event.topic}` };
    case 'invalid':
      return { kind: 'invalid', reason: event.reason };
  }
}
