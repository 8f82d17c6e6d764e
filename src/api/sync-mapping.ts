import type { RateLimitStatus } from '../connectors/channel-connector.js';
import type { ChannelSyncStatus, DeadLetter, ReconcileRunRecord } from '../store/outbox-port.js';
import { iso } from './iso-time.js';
import type { ChannelSyncStatusView, DeadLetterView, LastReconcileView, RateBudgetView } from './sync-schemas.js';

/**
 * The sync part of the API's mapping (see src/http/api-mapping.ts): snake_case JSON with RFC 3339 times
 * at the edge, camelCase with epoch milliseconds in the port. `onhand status --json` and
 * `onhand dead-letters --json` print the same views.
 */

/**
 * `budget` is what the channel's connector in this process reports (null when it is not
 * connected here): the store knows the queue, only the running connector knows the budget.
 */
export function syncStatusView(
  status: ChannelSyncStatus,
  budget: RateLimitStatus | null = null,
): ChannelSyncStatusView {
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
    waiting_grace: status.waitingGrace,
    last_error: status.lastError,
    rate_budget: budget === null ? null : rateBudgetView(budget),
    last_reconcile: status.lastReconcile === null ? null : lastReconcileView(status.lastReconcile),
  };
}

/** null for a budget without a finite capacity (a connector that models no limit). */
export function rateBudgetView(budget: RateLimitStatus): RateBudgetView | null {
  if (!Number.isFinite(budget.capacity)) return null;
  const capacity = Math.max(0, budget.capacity);
  const available = Math.min(capacity, Math.max(0, budget.available));
  const inUse = capacity === 0 ? 0 : ((capacity - available) / capacity) * 100;
  return { available, capacity, in_use_percent: Math.round(inUse * 10) / 10 };
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
