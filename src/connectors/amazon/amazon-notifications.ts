import type { OrderLineEvent } from '../channel-intake.js';
import type { OrderStatus } from './amazon-client.js';
import { amazonOrderItemEvents, parseAmazonTime } from './amazon-order-events.js';

/**
 * Amazon's notifications (docs/channels/amazon.md, Notifications): Amazon delivers them to an
 * Amazon SQS queue (or EventBridge) the seller's application subscribed, never to an HTTP
 * endpoint of ours, and signs nothing (the queue's IAM policy is the authentication). So they
 * come in through a SOURCE shaped like SQS: receive a batch, delete what was handled. The
 * connector polls getOrders by default; a source, when configured, is drained at the start of
 * every poll and makes a change visible without waiting for getOrders' one request a minute.
 *
 * At-least-once: SQS may deliver a message twice, and a message is deleted only once the events
 * it produced are recorded (its receipt handle travels in the poll cursor and is deleted by the
 * next poll, after ingest saved that cursor). Each notification is deduplicated by
 * `NotificationMetadata.NotificationId`; the events repeat harmlessly anyway (the fold keys
 * them by line and business event).
 */

/** One message as SQS ReceiveMessage returns it. */
export interface QueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
}

/** The subset of SQS the connector uses: ReceiveMessage and DeleteMessageBatch. */
export interface AmazonNotificationSource {
  receive(maxMessages: number, signal?: AbortSignal): Promise<QueueMessage[]>;
  delete(receiptHandles: readonly string[], signal?: AbortSignal): Promise<void>;
}

export type ParsedNotification =
  | { kind: 'order'; notificationId: string; events: OrderLineEvent[] }
  | { kind: 'level'; notificationId: string; sku: string; quantity: number; fulfillmentChannelCode: string }
  | { kind: 'ignored'; notificationId: string | null; reason: string };

interface Envelope {
  NotificationType?: unknown;
  EventTime?: unknown;
  Payload?: Record<string, unknown>;
  NotificationMetadata?: { NotificationId?: unknown };
}

const orderStatuses: readonly OrderStatus[] = [
  'Pending',
  'Unshipped',
  'PartiallyShipped',
  'Shipped',
  'Canceled',
  'Unfulfillable',
  'InvoiceUnconfirmed',
  'PendingAvailability',
];

/**
 * A notification body (schemas/notifications/*.json) turned into what it means for onhand. Never
 * throws: a bad shape is `ignored` with the reason. Notifications of another seller are ignored.
 */
export function parseAmazonNotification(body: string, sellerId: string, now: number): ParsedNotification {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(body) as Envelope;
  } catch {
    return { kind: 'ignored', notificationId: null, reason: 'not JSON' };
  }
  const notificationId =
    typeof envelope.NotificationMetadata?.NotificationId === 'string'
      ? envelope.NotificationMetadata.NotificationId
      : null;
  if (notificationId === null)
    return { kind: 'ignored', notificationId, reason: 'no NotificationMetadata.NotificationId' };
  const eventTime = parseAmazonTime(typeof envelope.EventTime === 'string' ? envelope.EventTime : null, now);
  const payload = envelope.Payload ?? {};
  switch (envelope.NotificationType) {
    case 'LISTINGS_ITEM_MFN_QUANTITY_CHANGE': {
      const { SellerId, Sku, Quantity, FulfillmentChannelCode } = payload as Record<string, unknown>;
      if (SellerId !== sellerId) return { kind: 'ignored', notificationId, reason: 'another seller' };
      if (typeof Sku !== 'string' || typeof Quantity !== 'number')
        return { kind: 'ignored', notificationId, reason: 'no Sku/Quantity' };
      return {
        kind: 'level',
        notificationId,
        sku: Sku,
        quantity: Quantity,
        fulfillmentChannelCode: typeof FulfillmentChannelCode === 'string' ? FulfillmentChannelCode : 'DEFAULT',
      };
    }
    case 'ORDER_CHANGE': {
      const change = payload.OrderChangeNotification as Record<string, unknown> | undefined;
      if (change === undefined || change.SellerId !== sellerId)
        return {
          kind: 'ignored',
          notificationId,
          reason: change === undefined ? 'no OrderChangeNotification' : 'another seller',
        };
      const summary = change.Summary as Record<string, unknown> | undefined;
      const orderId = change.AmazonOrderId;
      const status = summary?.OrderStatus as OrderStatus | undefined;
      const items = summary?.OrderItems;
      if (
        typeof orderId !== 'string' ||
        status === undefined ||
        !orderStatuses.includes(status) ||
        !Array.isArray(items)
      )
        return { kind: 'ignored', notificationId, reason: 'no order summary with items' };
      const trigger = change.OrderChangeTrigger as { TimeOfOrderChange?: unknown } | undefined;
      const changedAt = parseAmazonTime(
        typeof trigger?.TimeOfOrderChange === 'string' ? trigger.TimeOfOrderChange : null,
        eventTime,
      );
      const figures = {
        orderId,
        status,
        fulfillmentChannel: summary?.FulfillmentType === 'AFN' ? ('AFN' as const) : ('MFN' as const),
        updatedAt: changedAt,
        purchasedAt: parseAmazonTime(
          typeof summary?.PurchaseDate === 'string' ? summary.PurchaseDate : null,
          changedAt,
        ),
      };
      const events: OrderLineEvent[] = [];
      for (const raw of items as Record<string, unknown>[]) {
        if (typeof raw.OrderItemId !== 'string' || typeof raw.Quantity !== 'number') continue;
        events.push(
          ...amazonOrderItemEvents(sellerId, figures, {
            orderItemId: raw.OrderItemId,
            sellerSku: typeof raw.SellerSKU === 'string' ? raw.SellerSKU : null,
            asin: null,
            quantityOrdered: raw.Quantity,
            quantityShipped: typeof raw.QuantityShipped === 'number' ? raw.QuantityShipped : 0,
          }),
        );
      }
      return { kind: 'order', notificationId, events };
    }
    default:
      return { kind: 'ignored', notificationId, reason: `notification type ${String(envelope.NotificationType)}` };
  }
}
