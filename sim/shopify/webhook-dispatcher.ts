import { createHmac, randomUUID } from 'node:crypto';
import { mulberry32 } from '../prng.js';
import { type ShopifyFaults, type ShopStats, type WebhookDeliveryOrder, webhookRetryDelaysMs } from './shop-options.js';
import type { WebhookScheduler } from './webhook-scheduler.js';

export interface WebhookDeliveryRecord {
  webhookId: string;
  eventId: string;
  topic: string;
  attempt: number;
  status: number | 'error';
}

interface WebhookEvent {
  eventId: string;
  topic: string;
  body: string;
  triggeredAt: string;
}

export interface WebhookDispatcherOptions {
  shopDomain: string;
  appSecret: string;
  webhookApiVersion: string;
  webhookUrl: string | null;
  scheduler: WebhookScheduler;
  random: () => number;
  faults: () => ShopifyFaults;
  stats: ShopStats;
  wallNow: () => number;
  deliveryOrder?: WebhookDeliveryOrder;
}

/**
 * Webhooks (orders/create, -updated, -cancelled, fulfillments/create, -update, refunds/create,
 * inventory_levels/update): REST-shaped payloads signed X-Shopify-Hmac-Sha256, retried 8 times
 * over about 4 hours, unordered, and duplicated on demand (docs/channels/shopify.md, Webhooks).
 *
 * Delivery order: `in-order` starts each delivery as its event is emitted (the faults' delay
 * and duplicate rate still apply). `{ shuffle: seed, duplicates: p }` holds the events emitted
 * in one turn of the event loop, adds a second delivery of each with probability p, shuffles
 * them with a PRNG seeded by `seed`, then starts them in that order; each delivery is signed and
 * retried like any other.
 */
export class WebhookDispatcher {
  /** Every webhook delivery attempt, oldest first (bounded to the last 100,000). */
  readonly deliveries: WebhookDeliveryRecord[] = [];
  /** Every event emitted (bounded to the last 100,000), whether or not a URL was set. */
  readonly events: { eventId: string; topic: string; payload: unknown }[] = [];

  #webhookUrl: string | null;
  readonly #cancelTimers = new Set<() => void>();
  readonly #deliveryAbort = new AbortController();
  #deliveriesInFlight = 0;
  #deliveriesScheduled = 0;
  #idleWaiters: (() => void)[] = [];
  #shuffle: { random: () => number; duplicates: number } | null = null;
  /** Events emitted this turn, waiting to be shuffled. */
  #held: WebhookEvent[] = [];
  #flushPending = false;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.#webhookUrl = options.webhookUrl;
    this.setDeliveryOrder(options.deliveryOrder ?? 'in-order');
  }

  /** How later events are delivered (see the class comment); a shuffle restarts from its seed. */
  setDeliveryOrder(order: WebhookDeliveryOrder): void {
    if (order === 'in-order') {
      this.#shuffle = null;
      return;
    }
    if (!Number.isSafeInteger(order.shuffle)) throw new RangeError('deliveryOrder.shuffle must be an integer seed');
    if (!(order.duplicates >= 0 && order.duplicates <= 1))
      throw new RangeError('deliveryOrder.duplicates must be a probability in 0..1');
    this.#shuffle = { random: mulberry32(order.shuffle), duplicates: order.duplicates };
  }

  /** Cancel pending retries and abort deliveries in flight. */
  halt(): void {
    for (const cancel of this.#cancelTimers) cancel();
    this.#cancelTimers.clear();
    this.#deliveriesScheduled = 0;
    this.#deliveriesInFlight -= this.#held.length;
    this.#held = [];
    this.#deliveryAbort.abort();
  }

  subscribeWebhooks(url: string | null): void {
    this.#webhookUrl = url;
  }

  /**
   * Resolves when no delivery is running and (unless `includeScheduled` is false) no retry is
   * waiting. With a manual scheduler, advance it to let retries run.
   */
  webhooksIdle(options: { includeScheduled?: boolean } = {}): Promise<void> {
    const includeScheduled = options.includeScheduled ?? true;
    const idle = () => this.#deliveriesInFlight === 0 && (!includeScheduled || this.#deliveriesScheduled === 0);
    if (idle()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (idle()) resolve();
        else this.#idleWaiters.push(check);
      };
      this.#idleWaiters.push(check);
    });
  }

  notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  emit(topic: string, payload: Record<string, unknown>): void {
    const event: WebhookEvent = {
      eventId: randomUUID(),
      topic,
      body: JSON.stringify(payload),
      triggeredAt: new Date(this.options.wallNow()).toISOString(),
    };
    this.events.push({ eventId: event.eventId, topic, payload });
    if (this.events.length > 100_000) this.events.shift();
    if (this.#webhookUrl === null) return;
    if (this.#shuffle !== null) {
      this.#hold(event);
      return;
    }
    this.#startDelivery(event);
    // A duplicate: the same event (same Event-Id, same bytes) under a second delivery id.
    if (this.options.random() < this.options.faults().webhookDuplicateRate) this.#startDelivery(event);
  }

  #hold(event: WebhookEvent): void {
    this.#held.push(event);
    this.#deliveriesInFlight += 1; // webhooksIdle waits for held events too
    if (this.#flushPending) return;
    this.#flushPending = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushPending = false;
    const held = this.#held;
    this.#held = [];
    this.#deliveriesInFlight -= held.length;
    const shuffle = this.#shuffle;
    if (this.#deliveryAbort.signal.aborted) {
      this.notifyIdle();
      return;
    }
    if (shuffle === null) {
      for (const event of held) this.#startDelivery(event);
      this.notifyIdle();
      return;
    }
    const batch: WebhookEvent[] = [];
    for (const event of held) {
      batch.push(event);
      // A duplicate: the same event (same Event-Id, same bytes) under a second delivery id.
      if (shuffle.random() < shuffle.duplicates) batch.push(event);
    }
    for (let index = batch.length - 1; index > 0; index -= 1) {
      const other = Math.floor(shuffle.random() * (index + 1));
      [batch[index], batch[other]] = [batch[other]!, batch[index]!];
    }
    for (const event of batch) this.#startDelivery(event);
    this.notifyIdle();
  }

  #startDelivery(event: WebhookEvent): void {
    const delivery = { webhookId: randomUUID(), event, attempt: 0 };
    const delay =
      this.options.faults().webhookDelayMsMax > 0
        ? Math.floor(this.options.random() * this.options.faults().webhookDelayMsMax)
        : 0;
    this.#deliveriesInFlight += 1;
    const run = () => {
      this.#deliveriesInFlight -= 1;
      void this.#attempt(delivery);
    };
    if (delay > 0) setTimeout(run, delay).unref();
    else queueMicrotask(run);
  }

  async #attempt(delivery: { webhookId: string; event: WebhookEvent; attempt: number }): Promise<void> {
    const url = this.#webhookUrl;
    if (url === null || this.#deliveryAbort.signal.aborted) return this.notifyIdle();
    delivery.attempt += 1;
    this.#deliveriesInFlight += 1;
    this.options.stats.webhookAttempts += 1;
    const { event } = delivery;
    let status: number | 'error' = 'error';
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Shopify-Captain-Hook',
          'X-Shopify-Topic': event.topic,
          'X-Shopify-Hmac-Sha256': createHmac('sha256', this.options.appSecret).update(event.body).digest('base64'),
          'X-Shopify-Shop-Domain': this.options.shopDomain,
          'X-Shopify-API-Version': this.options.webhookApiVersion,
          'X-Shopify-Webhook-Id': delivery.webhookId,
          'X-Shopify-Event-Id': event.eventId,
          'X-Shopify-Triggered-At': event.triggeredAt,
        },
        body: event.body,
        // 1 s to connect and 5 s in total [2nd]; one overall deadline here.
        signal: AbortSignal.any([AbortSignal.timeout(5_000), this.#deliveryAbort.signal]),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch {
      status = 'error';
    }
    this.#deliveriesInFlight -= 1;
    this.deliveries.push({
      webhookId: delivery.webhookId,
      eventId: event.eventId,
      topic: event.topic,
      attempt: delivery.attempt,
      status,
    });
    if (this.deliveries.length > 100_000) this.deliveries.shift();
    if (typeof status === 'number' && status >= 200 && status < 300) {
      this.options.stats.webhooksDelivered += 1;
    } else if (delivery.attempt <= webhookRetryDelaysMs.length && !this.#deliveryAbort.signal.aborted) {
      // Retried with the original payload, Webhook-Id and Triggered-At [doc].
      this.#deliveriesScheduled += 1;
      const cancel = this.options.scheduler.schedule(
        () => {
          this.#cancelTimers.delete(cancel);
          this.#deliveriesScheduled -= 1;
          void this.#attempt(delivery);
        },
        webhookRetryDelaysMs[delivery.attempt - 1]!,
      );
      this.#cancelTimers.add(cancel);
    } else {
      this.options.stats.webhooksAbandoned += 1;
    }
    this.notifyIdle();
  }
}
