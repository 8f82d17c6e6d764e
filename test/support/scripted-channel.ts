/**
 * A sales channel in memory for dispatch tests: shows a quantity per external id, applies
 * pushes with compare-and-set, and fails on demand (a mode for the whole channel, or
 * `permanent` for chosen offers).
 */
import type { ChannelConnector, PushItem, PushOutcome } from '../../src/connectors/channel-connector.js';

export class ScriptedChannel implements ChannelConnector {
  readonly platform = 'custom';
  readonly shown = new Map<string, number>();
  readonly log: PushItem[] = [];
  mode: 'up' | 'down' | 'throttled' = 'up';
  /** Offers answered `permanent` (unknown offer). */
  readonly permanent = new Set<string>();

  constructor(readonly maxBatchSize = 100) {}

  async pushLevels(items: readonly PushItem[]): Promise<PushOutcome[]> {
    return items.map((item) => {
      this.log.push(item);
      if (this.permanent.has(item.externalId))
        return { listingId: item.listingId, status: 'permanent', reason: 'unknown offer' };
      if (this.mode === 'down') return { listingId: item.listingId, status: 'retry', reason: '503 from the channel' };
      if (this.mode === 'throttled')
        return { listingId: item.listingId, status: 'retry', reason: '429', retryAfterMs: 60_000 };
      const shows = this.shown.get(item.externalId);
      if (item.expectedChannelQuantity !== null && shows !== undefined && shows !== item.expectedChannelQuantity) {
        return { listingId: item.listingId, status: 'stale', channelQuantity: shows, reason: 'compare mismatch' };
      }
      this.shown.set(item.externalId, item.quantity);
      return { listingId: item.listingId, status: 'ok', channelQuantity: item.quantity };
    });
  }

  async readLevels(items: readonly Pick<PushItem, 'listingId' | 'externalId' | 'externalLocationId'>[]) {
    return items.map((item) => ({ listingId: item.listingId, quantity: this.shown.get(item.externalId) ?? null }));
  }

  rateLimit() {
    return { available: Number.POSITIVE_INFINITY, capacity: Number.POSITIVE_INFINITY, waitMs: 0 };
  }
}
