import { randomUUID } from 'node:crypto';
import type { AmazonNotificationSource, QueueMessage } from '../../src/connectors/amazon/amazon-notifications.js';

/**
 * A local stand-in for the Amazon SQS queue Amazon delivers notifications to (no AWS account is
 * reachable here): ReceiveMessage hides a message for `visibilityTimeoutMs`, DeleteMessageBatch
 * removes it, an undeleted message comes back (at-least-once, as SQS). `duplicateEvery` delivers
 * every n-th message twice, as SQS standard queues may.
 */
export class InMemoryNotificationQueue implements AmazonNotificationSource {
  private readonly messages: { messageId: string; body: string; invisibleUntil: number; receipt: string | null }[] = [];
  duplicateEvery = 0;
  private sent = 0;
  received = 0;
  deleted = 0;

  constructor(
    private readonly now: () => number = Date.now,
    readonly visibilityTimeoutMs = 30_000,
  ) {}

  /** Amazon publishes one notification (its JSON). */
  publish(notification: unknown): void {
    const body = JSON.stringify(notification);
    this.sent++;
    this.messages.push({ messageId: randomUUID(), body, invisibleUntil: 0, receipt: null });
    if (this.duplicateEvery > 0 && this.sent % this.duplicateEvery === 0)
      this.messages.push({ messageId: randomUUID(), body, invisibleUntil: 0, receipt: null });
  }

  get depth(): number {
    return this.messages.length;
  }

  async receive(maxMessages: number): Promise<QueueMessage[]> {
    const now = this.now();
    const out: QueueMessage[] = [];
    for (const message of this.messages) {
      if (out.length >= maxMessages) break;
      if (message.invisibleUntil > now) continue;
      message.receipt = randomUUID();
      message.invisibleUntil = now + this.visibilityTimeoutMs;
      out.push({ messageId: message.messageId, receiptHandle: message.receipt, body: message.body });
    }
    this.received += out.length;
    return out;
  }

  async delete(receiptHandles: readonly string[]): Promise<void> {
    const handles = new Set(receiptHandles);
    for (let index = this.messages.length - 1; index >= 0; index--) {
      const receipt = this.messages[index]!.receipt;
      if (receipt !== null && handles.has(receipt)) {
        this.messages.splice(index, 1);
        this.deleted++;
      }
    }
  }
}
