import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IntakeEvent, WebhookCheck, WebhookDelivery } from '../channel-intake.js';
import { wooOrderEvents } from './woocommerce-order-events.js';

/**
 * WooCommerce webhooks in (docs/channels/woocommerce.md, Webhooks; WC_Webhook::deliver):
 * - `X-WC-Webhook-Signature` = base64(HMAC-SHA256(raw body, secret)), the secret as WooCommerce
 *   uses it: `wp_specialchars_decode($secret, ENT_QUOTES)`, so a secret typed with `&amp;` or
 *   `&#039;` signs with `&` or `'`. Checked on the raw bytes, constant-time, before parsing.
 * - The body is PHP's `wp_json_encode` of the REST resource: `\/` for slashes, `\uXXXX` for
 *   anything beyond ASCII, ids as numbers or strings. JSON.parse reads all of it as it is.
 * - The first delivery of a new webhook is a PING: form-encoded `webhook_id=<id>`, NOT signed.
 *   It must get a 2xx (WooCommerce counts a failure otherwise), and it carries nothing: it is
 *   accepted as authentic only in that exact shape, and changes nothing.
 * - Topics `order.created`, `order.updated`, `order.restored` carry the order; `order.deleted`
 *   carries `{id}` only, so it says nothing about lines: the order poll and the refresh of stale
 *   open orders see the order in the trash (docs/channels/woocommerce.md, Order statuses).
 * - WooCommerce does not retry a failed delivery and disables the webhook after more than 5
 *   failures in a row: the order poll (woocommerce-orders.ts) is what guarantees nothing is
 *   missed; a webhook only makes it sooner.
 * - X-WC-Webhook-Delivery-ID is a hash of the webhook id and the second: not an event id. Line
 *   keys and event ids come from the order, its lines and refunds (woocommerce-order-events.ts).
 */

const secretsMax = 4;
const base64Digest = /^[A-Za-z0-9+/]{43}=$/;
const pingBody = /^webhook_id=[0-9]{1,20}$/;

/** PHP's wp_specialchars_decode(..., ENT_QUOTES): the five entities WordPress encodes. */
export function wooSecretAsUsed(secret: string): string {
  return secret
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;/g, "'")
    .replace(/&#x0*27;/gi, "'")
    .replace(/&amp;/g, '&');
}

/** The signature WooCommerce sends (the simulator and tests use it). */
export function signWooWebhook(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', wooSecretAsUsed(secret)).update(rawBody).digest('base64');
}

/** True only if `signature` is the base64 HMAC-SHA256 of `rawBody` under one of `secrets`. Never throws. */
export function verifyWooSignature(
  rawBody: Buffer,
  signature: string | undefined,
  secrets: readonly string[],
): boolean {
  try {
    if (!Buffer.isBuffer(rawBody) || rawBody.length === 0) return false;
    if (typeof signature !== 'string' || !base64Digest.test(signature)) return false;
    const received = Buffer.from(signature, 'base64');
    if (received.length !== 32 || received.toString('base64') !== signature) return false;
    let matched = false;
    for (const secret of secrets.slice(0, secretsMax)) {
      if (typeof secret !== 'string' || secret.length === 0) continue;
      const expected = createHmac('sha256', wooSecretAsUsed(secret)).update(rawBody).digest();
      if (timingSafeEqual(expected, received)) matched = true;
    }
    return matched;
  } catch {
    return false;
  }
}

function one(headers: WebhookDelivery['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value.length <= 1000 ? value : undefined;
}

/** The unsigned ping of a new webhook: no signature, a form body `webhook_id=<digits>` and nothing else. */
export function isWooPing(delivery: WebhookDelivery): boolean {
  if (delivery.headers['x-wc-webhook-signature'] !== undefined) return false;
  if (!Buffer.isBuffer(delivery.body) || delivery.body.length > 40) return false;
  return pingBody.test(delivery.body.toString('latin1'));
}

export interface WooWebhookConnection {
  /** Order line keys' account (`woocommerce:<account>:...`). */
  account: string;
  /** Current secret first, then the previous one during a rotation. */
  secrets: readonly string[];
}

export function checkWooDelivery(delivery: WebhookDelivery, connection: WooWebhookConnection): WebhookCheck {
  if (isWooPing(delivery)) return { ok: true };
  if (!verifyWooSignature(delivery.body, one(delivery.headers, 'x-wc-webhook-signature'), connection.secrets))
    return { ok: false, reason: 'X-WC-Webhook-Signature does not verify' };
  return { ok: true };
}

/** The order topics; every other topic is accepted and ignored (a webhook may be set up wider). */
export const wooOrderTopics = Object.freeze(['order.created', 'order.updated', 'order.deleted', 'order.restored']);

export function wooDeliveryToEvent(delivery: WebhookDelivery, connection: WooWebhookConnection): IntakeEvent {
  if (isWooPing(delivery)) return { kind: 'ignored', reason: 'the ping of a new webhook' };
  const topic = one(delivery.headers, 'x-wc-webhook-topic') ?? '';
  if (!wooOrderTopics.includes(topic)) return { kind: 'ignored', reason: `topic ${topic.slice(0, 100) || '(none)'}` };
  let payload: unknown;
  try {
    payload = JSON.parse(delivery.body.toString('utf8'));
  } catch (error) {
    return {
      kind: 'invalid',
      reason: `body is not JSON: ${error instanceof Error ? error.message.slice(0, 200) : 'parse error'}`,
    };
  }
  if (topic === 'order.deleted')
    return { kind: 'ignored', reason: 'order.deleted names no lines: the poll sees the order in the trash' };
  const events = wooOrderEvents(connection.account, payload);
  if (!events.ok) return { kind: 'invalid', reason: events.reason };
  return { kind: 'lines', events: events.events };
}
