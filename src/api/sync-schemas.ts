import { Type, type Static } from '@sinclair/typebox';
import { limits } from '../core/limits.js';
import { Closed, Limit, Nullable, Timestamp } from './schema-primitives.js';

/**
 * Request and response schemas of the sync routes (status, dead letters, redrive), in the style
 * of src/http/schemas.ts: every request object closed, every string and number bounded.
 */

/** Most dead letters one redrive moves back to pending (core/limits.ts says why). */
export const redriveLimitMax = limits.redriveLimitMax;

const ChannelCode = Type.String({
  minLength: 1,
  maxLength: limits.codeLengthMax,
  description: 'Channel code, e.g. `bol`, `shop-nl`',
});
const Count = Type.Integer({ minimum: 0 });
const Milliseconds = Nullable(Type.Number({ minimum: 0 }));

// --- status ----------------------------------------------------------------------------------

export const LastReconcileView = Type.Object({
  mode: Type.Union([Type.Literal('targeted'), Type.Literal('full')]),
  started_at: Timestamp,
  finished_at: Timestamp,
  read: Type.Integer({ minimum: 0, description: 'Listings read back' }),
  unknown: Type.Integer({ minimum: 0, description: 'Of them, listings the channel did not know' }),
  drift_more: Type.Integer({ minimum: 0, description: 'Drifted listings after the read: the channel showing more' }),
  drift_less: Type.Integer({ minimum: 0, description: 'The channel showing less (confirmed or not)' }),
  unconfirmed: Type.Integer({
    minimum: 0,
    description: 'Of drift_less, those awaiting a second read (or an order poll after the read)',
  }),
  dead: Type.Integer({ minimum: 0, description: 'Dead letters in drift (left to redrive)' }),
  repairs: Type.Integer({ minimum: 0, description: 'Repairs the pass queued' }),
  read_errors: Type.Integer({ minimum: 0, description: 'Listings whose read failed' }),
  first_read_error: Nullable(Type.String()),
});
export type LastReconcileView = Static<typeof LastReconcileView>;

export const RateBudgetView = Type.Object({
  available: Type.Number({ minimum: 0, description: 'Requests (or cost points) the platform would accept now' }),
  capacity: Type.Number({ minimum: 0 }),
  in_use_percent: Type.Number({ minimum: 0, maximum: 100, description: 'Share of the capacity in use, 0 to 100' }),
});
export type RateBudgetView = Static<typeof RateBudgetView>;

export const ChannelSyncStatusView = Type.Object({
  channel: Type.String(),
  platform: Type.String(),
  queue_depth: Type.Integer({
    description: 'Listings whose newest desired quantity the channel has not acknowledged yet (dead letters excluded)',
  }),
  oldest_pending_age_ms: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Age of the oldest unacknowledged change; null when nothing is pending',
  }),
  last_success_at: Nullable(Timestamp),
  consecutive_failures: Count,
  dead_letters: Count,
  push_latency_p50_ms: Milliseconds,
  push_latency_p95_ms: Milliseconds,
  lease_owner: Type.Union([Type.String(), Type.Null()], {
    description: 'The process pushing this channel now; null when none holds the lease',
  }),
  waiting_grace: Type.Integer({
    minimum: 0,
    description:
      'Of queue_depth, listings held back on purpose by the drift grace (the channel shows less; a sale may be on its way)',
  }),
  last_error: Type.Union([Type.String(), Type.Null()], {
    description: 'The error of the listing retried most recently (pending or dead letter); null when none failed',
  }),
  rate_budget: Type.Union([RateBudgetView, Type.Null()], {
    description:
      "The channel's rate budget as this process's connector sees it; null when the channel is not connected in this process",
  }),
  last_reconcile: Type.Union([LastReconcileView, Type.Null()], {
    description:
      'The last reconcile pass of the channel (dry runs are not kept), from any process; null before the first',
  }),
});
export type ChannelSyncStatusView = Static<typeof ChannelSyncStatusView>;

export const SyncStatusView = Type.Object({ channels: Type.Array(ChannelSyncStatusView) });
export type SyncStatusView = Static<typeof SyncStatusView>;

// --- dead letters ----------------------------------------------------------------------------

export const DeadLetterQuery = Closed({ channel: Type.Optional(ChannelCode), limit: Limit });
export type DeadLetterQuery = Static<typeof DeadLetterQuery>;

export const DeadLetterView = Type.Object({
  listing_id: Type.String(),
  channel: Type.String(),
  sku: Type.String(),
  external_id: Type.String(),
  quantity: Type.Integer({ description: 'The newest desired quantity, pushed on redrive' }),
  attempts: Count,
  last_error: Nullable(Type.String()),
  since: Type.Union([Timestamp, Type.Null()], {
    description: 'Commit time of the oldest change the channel has not acknowledged',
  }),
});
export type DeadLetterView = Static<typeof DeadLetterView>;

export const DeadLetterList = Type.Object({ items: Type.Array(DeadLetterView) });
export type DeadLetterList = Static<typeof DeadLetterList>;

export const RedriveBody = Closed({
  channel: Type.Optional(ChannelCode),
  limit: Type.Integer({
    minimum: 1,
    maximum: redriveLimitMax,
    description: 'Most dead letters to move back to pending',
  }),
});
export type RedriveBody = Static<typeof RedriveBody>;

export const RedriveResult = Type.Object({ redriven: Count });
export type RedriveResult = Static<typeof RedriveResult>;
