import type { ChannelSyncStatus, DeadLetter, ReconcileRunRecord } from '../store/outbox-port.js';
import { iso } from './iso-time.js';
import type { ChannelSyncStatusView, DeadLetterView, LastReconcileView } from './sync-schemas.js';

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
    last_reconcile: status.lastReconcile === null ? null : lastReconcileView(status.lastReconcile),
  };
}

export function lastReconcileView(run: ReconcileRunRecord): LastReconcileView {
  return {
    mode: run.mode,
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
    read: run.read,
    unknown: run.unknown,
    drift_more: run.driftMore,
    drift_less: run.driftLess,
    unconfirmed: run.unconfirmed,
    dead: run.dead,
    repairs: run.repairs,
    read_errors: run.readErrors,
    first_read_error: run.firstReadError,
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
