import type { ChannelSyncStatus, DeadLetter } from '../store/outbox-port.js';
import { iso } from './iso-time.js';
import type { ChannelSyncStatusView, DeadLetterView } from './sync-schemas.js';

/**
 * The sync part of the API's mapping (see src/http/api-mapping.ts): snake_case JSON with RFC 3339 times
 * at the edge, camelCase with epoch milliseconds in the port. `onhand status --json` and
 * `onhand dead-letters --json` print the same views.
 */

export function syncStatusView(status: ChannelSyncStatus): ChannelSyncStatusView {
  return {
    channel: status.channel,
    platform: status.platform,
    queue_depth: status.queueDepth,
    oldest_pending_age_ms: status.oldestPendingAgeMs,
    last_success_at: status.lastSuccessAt === null ? null : iso(status.lastSuccessAt),
    consecutive_failures: status.consecutiveFailures,
    dead_letters: status.deadLetters,
    push_latency_p50_ms: status.pushLatencyP50Ms,
    push_latency_p95_ms: status.pushLatencyP95Ms,
    lease_owner: status.leaseOwner,
  };
}

export function deadLetterView(letter: DeadLetter): DeadLetterView {
  return {
    listing_id: letter.listingId,
    channel: letter.channel,
    sku: letter.sku,
    external_id: letter.externalId,
    quantity: letter.quantity,
    attempts: letter.attempts,
    last_error: letter.lastError,
    since: letter.since === null ? null : iso(letter.since),
  };
}
