import type { ChannelOrderLine } from './channel-connector.js';

/**
 * The intake side of the connector port: what a platform sends us (webhooks) or lets us read
 * (order polling), turned into platform-neutral intake events. A connector implements the
 * parts its platform has: Shopify signs webhooks, Bol.com is polled. Everything around these
 * members (finding the channel, the lease, the cursor, the ledger commands) lives in
 * src/ingest/ and is the same for every platform.
 */

/** One webhook delivery as the HTTP layer received it: the raw body bytes, before any parsing. */
export interface WebhookDelivery {
  /** The exact bytes received: a signature is computed over these, never over re-serialised JSON. */
  body: Buffer;
  /** Node's lower-cased request headers. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Whether a delivery is authentic and meant for this connection. */
export type WebhookCheck = { ok: true } | { ok: false; reason: string };

/** What one delivery means, whatever the platform. */
export type IntakeEvent =
  /** Order, cancellation or return lines: ledger facts keyed by the business event. */
  | { kind: 'lines'; lines: ChannelOrderLine[] }
  /**
   * What the channel shows now for an item this connection pushes (our own push's echo, or an
   * edit made on the platform): never a ledger fact, only compared with the desired quantity.
   */
  | { kind: 'level'; externalId: string; quantity: number | null }
  /** A topic, or a location, this connection does not turn into anything. */
  | { kind: 'ignored'; reason: string }
  /** Authentic but malformed: it will not improve on a retry. */
  | { kind: 'invalid'; reason: string };

/** One bounded poll: the lines seen and the position to continue from. */
export interface OrderPollBatch {
  lines: ChannelOrderLine[];
  /** Opaque to ingest; saved only after the lines are applied, so a crash re-reads and the keys dedupe. */
  cursor: string;
  /** A request failed; the lines and cursor are still valid (partial progress). */
  error?: string;
}

export interface WebhookIntake {
  /** Signature (and account) check on the raw bytes, before anything is parsed. Never throws. */
  verifyWebhook(delivery: WebhookDelivery): WebhookCheck;
  /** Call only after verifyWebhook said ok. Never throws: a bad shape is `invalid`. */
  parseWebhook(delivery: WebhookDelivery): IntakeEvent;
}

export interface OrderPollIntake {
  /** Pause between two polls of this connection. */
  readonly pollIntervalMs: number;
  /** Poll from `cursor` (null = from the start). May throw on a cursor it cannot read. */
  pollOrders(cursor: string | null, signal?: AbortSignal): Promise<OrderPollBatch>;
}

/**
 * The business-event key of an order line, `<platform>:<account>:<part>...:<kind>`: built
 * from what the platform says happened (order, line, refund ids), never from a delivery or a
 * poll, so a redelivery, a re-poll or two pollers map to the same key.
 */
export function businessEventKey(
  platform: string,
  account: string,
  parts: readonly string[],
  kind: ChannelOrderLine['kind'],
): string {
  return [platform, account, ...parts, kind].join(':');
}
