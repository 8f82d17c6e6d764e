import { createHmac } from 'node:crypto';
import type { IdSource } from '../core/clock.js';
import { limits } from '../core/limits.js';

/** The header carrying the signature: base64 HMAC-SHA256 of the raw body with the shared secret. */
export const signatureHeader = 'x-onhand-signature';
/** The header carrying the delivery id: the same on every attempt of one delivery. */
export const deliveryHeader = 'x-onhand-delivery';

export function signBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

export interface AlertWebhookOptions {
  url: string;
  /** The signing key; read here only, never logged. */
  secret: { reveal(): string };
  ids: IdSource;
  /** @default limits.alertWebhookAttemptsMax */
  attemptsMax?: number;
  /** Delay before the first retry, doubled per attempt. @default limits.alertWebhookRetryDelayMs */
  retryDelayMs?: number;
  /** @default limits.outboundRequestTimeoutMs */
  timeoutMs?: number;
  /** @default limits.alertWebhookDeliveryMsMax */
  deliveryMsMax?: number;
  /** @default limits.alertWebhookQueueMax */
  queueMax?: number;
  onDelivered?: (delivery: { id: string; attempts: number; status: number }) => void;
  onFailed?: (delivery: { id: string; attempts: number; reason: string }) => void;
}

interface Delivery {
  id: string;
  body: string;
}

/**
 * Signed outbound delivery of alert events, in the background: `send` queues and returns the
 * delivery id at once, so the evaluation loop never waits on the receiver. One delivery at a
 * time, in order; a 5xx answer, a timeout or a network error is retried with a doubling delay,
 * within a number of attempts and a total time; any other answer ends the delivery (2xx
 * delivered, 4xx refused). Every attempt carries the same body, signature and delivery id, so a
 * receiver can drop a repeat.
 */
export class AlertWebhook {
  private readonly queue: Delivery[] = [];
  private draining: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: AlertWebhookOptions) {}

  /** Queue an event; returns its delivery id. Beyond the queue bound the oldest waiting delivery is dropped. */
  send(event: unknown): string {
    const id = this.options.ids.next('dlv');
    if (this.abort.signal.aborted) return id;
    this.queue.push({ id, body: JSON.stringify({ delivery_id: id, ...(event as object) }) });
    const queueMax = this.options.queueMax ?? limits.alertWebhookQueueMax;
    while (this.queue.length > queueMax) {
      const dropped = this.queue.shift();
      if (dropped)
        this.options.onFailed?.({ id: dropped.id, attempts: 0, reason: 'dropped: too many deliveries waiting' });
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return id;
  }

  /** Resolves once every queued delivery has ended (delivered or given up). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stop: the delivery in progress is abandoned, the waiting ones dropped. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.queue.length = 0;
    await this.draining;
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.deliver(next);
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const attemptsMax = this.options.attemptsMax ?? limits.alertWebhookAttemptsMax;
    const deadline = Date.now() + (this.options.deliveryMsMax ?? limits.alertWebhookDeliveryMsMax);
    const signature = signBody(delivery.body, this.options.secret.reveal());
    let delay = this.options.retryDelayMs ?? limits.alertWebhookRetryDelayMs;
    let reason = 'no attempt';
    let made = 0;
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      if (this.abort.signal.aborted) return;
      const left = deadline - Date.now();
      if (left <= 0) break;
      made = attempt;
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [signatureHeader]: signature,
            [deliveryHeader]: delivery.id,
            'user-agent': 'onhand-alerts',
          },
          body: delivery.body,
          redirect: 'manual',
          signal: AbortSignal.any([
            this.abort.signal,
            AbortSignal.timeout(Math.min(left, this.options.timeoutMs ?? limits.outboundRequestTimeoutMs)),
          ]),
        });
        await response.body?.cancel();
        if (response.status >= 200 && response.status < 300) {
          this.options.onDelivered?.({ id: delivery.id, attempts: attempt, status: response.status });
          return;
        }
        reason = `HTTP ${response.status}`;
        if (response.status < 500) break; // refused: a repeat would be refused the same way
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      if (attempt === attemptsMax || Date.now() + delay >= deadline) break;
      await this.pause(delay);
      delay *= 2;
    }
    if (!this.abort.signal.aborted) this.options.onFailed?.({ id: delivery.id, attempts: made, reason });
  }

  private pause(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
