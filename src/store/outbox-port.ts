import type { EpochMs } from '../core/clock.js';
import type { DriftVerdict, ListingSyncState } from '../core/drift.js';

/**
 * The outbox slice of the storage port (`store.outbox`): the storage side of propagation,
 * implemented by both stores. The outbox row is the
 * listing's `listing_quantities` row: the newest desired quantity, written in the ledger
 * transaction; these methods claim due rows for a channel, record what the channel answered,
 * and report.
 *
 * Fencing: a channel's push loop runs in the process holding the channel's lease; every claim
 * and every result carries the lease epoch, and a write with an older epoch changes nothing
 * (a paused former owner cannot overwrite newer state).
 */

export interface DispatchRow {
  listingId: string;
  externalId: string;
  externalLocationId: string | null;
  quantity: number;
  desiredVersion: number;
  channelQuantity: number | null;
  attempts: number;
  /** Oldest unacknowledged change (commit time), for latency. */
  pendingSince: EpochMs | null;
  /** The stored pre-order offer beside the quantity; null when none (connectors that show availability use it). */
  preorder?: { quantity: number; earliestAt: EpochMs | null; latestAt: EpochMs | null } | null;
}

export type DispatchResult =
  | { listingId: string; desiredVersion: number; status: 'ok'; channelQuantity: number; pushedQuantity: number }
  | { listingId: string; desiredVersion: number; status: 'stale'; channelQuantity: number | null }
  | { listingId: string; desiredVersion: number; status: 'retry'; dueAt: EpochMs; error: string; dead: boolean }
  | { listingId: string; desiredVersion: number; status: 'permanent'; error: string };

export interface ChannelSyncStatus {
  channel: string;
  platform: string;
  queueDepth: number;
  oldestPendingAgeMs: number | null;
  lastSuccessAt: EpochMs | null;
  consecutiveFailures: number;
  deadLetters: number;
  pushLatencyP50Ms: number | null;
  pushLatencyP95Ms: number | null;
  leaseOwner: string | null;
  /**
   * Of `queueDepth`, the listings held back on purpose by the drift grace: the channel shows
   * less than desired (perhaps a sale whose order has not arrived), so the push that would raise
   * it waits `limits.driftGraceMs` for the order to lower the desired quantity first. The rest
   * are queued: due now, or retried after a failure.
   */
  waitingGrace: number;
  /** The error of the listing retried most recently (pending or dead), as the platform or the connector said it; null when none failed. */
  lastError: string | null;
  /** The last reconcile pass of the channel that was not a dry run (kept in the store); null before the first. */
  lastReconcile: ReconcileRunRecord | null;
}

/** What a reconcile pass did, kept per channel (the last one replaces the one before). */
export interface ReconcileRunRecord {
  mode: 'targeted' | 'full';
  startedAt: EpochMs;
  finishedAt: EpochMs;
  /** Listings read back, and of them those the channel did not know. */
  read: number;
  unknown: number;
  /** Drifted listings after the read: showing more, less (of which not yet confirmed), dead letters. */
  driftMore: number;
  driftLess: number;
  unconfirmed: number;
  dead: number;
  /** Repairs queued. */
  repairs: number;
  /** Listings whose read failed, and the first reason. */
  readErrors: number;
  firstReadError: string | null;
}

export interface DeadLetter {
  listingId: string;
  channel: string;
  sku: string;
  externalId: string;
  quantity: number;
  attempts: number;
  lastError: string | null;
  since: EpochMs | null;
}

/** A listing whose channel shows something else than it acknowledged (src/core/drift.ts). */
export interface DriftEntry {
  listingId: string;
  sku: string;
  externalId: string;
  /** When the ledger last computed the desired quantity (`state.desired`). */
  desiredAt: EpochMs;
  state: ListingSyncState;
  verdict: Extract<DriftVerdict, { state: 'drift' }>;
}

/** What a read-back saw one listing showing. */
export interface ChannelLevelRead {
  listingId: string;
  shown: number;
}

/** A repair a reconcile pass queued: the channel showed `shown` (from), the push sets `desired` (to). */
export interface RepairRecord {
  channel: string;
  listingId: string;
  sku: string;
  at: EpochMs;
  direction: 'more' | 'less';
  shown: number;
  acknowledged: number;
  desired: number;
}

/** A listing a targeted reconcile pass reads back. */
export interface ReconcileTarget {
  id: string;
  sku: string;
  externalId: string;
  externalLocationId: string | null;
}

export interface OutboxPort {
  /** Take or renew the channel's lease; returns the epoch held, or null when another live owner has it. */
  acquireLease(channel: string, owner: string, now: EpochMs, ttlMs: number): Promise<number | null>;
  releaseLease(channel: string, owner: string): Promise<void>;
  /**
   * Claim up to `limit` due rows of the channel, most urgent first: the channel shows more than
   * desired (above all desired 0) before what only raises a quantity. Claimed rows are not
   * claimable again until `now + claimMs` (a crashed pusher's claims come back by themselves).
   */
  claimDue(channel: string, epoch: number, now: EpochMs, limit: number, claimMs: number): Promise<DispatchRow[]>;
  /** Record the answers; ignored entirely when `epoch` is no longer the channel's lease epoch. */
  recordResults(channel: string, epoch: number, results: readonly DispatchResult[], now: EpochMs): Promise<boolean>;
  syncStatus(now: EpochMs): Promise<ChannelSyncStatus[]>;
  listDeadLetters(options: { channel?: string | undefined; limit: number }): Promise<DeadLetter[]>;
  /**
   * The channel reports what it shows now (Shopify inventory_levels/update, a read-back). Equal
   * to the desired quantity: nothing to do (our own push's echo, or consistent). More than
   * desired: an oversell risk, pushed back at once. Less: possibly a sale whose order has not
   * reached us yet, so the fix waits `graceMs` (reconciliation must never re-expose sold stock).
   * Returns what it concluded; `unknown` when no listing has this external id.
   */
  noticeChannelLevel(
    channel: string,
    externalId: string,
    shown: number,
    now: EpochMs,
    graceMs: number,
  ): Promise<'consistent' | 'drift' | 'unknown'>;
  /** An order poller's saved position for the channel, or null. */
  loadCursor(channel: string): Promise<string | null>;
  /**
   * Save it, after the lines it returned are applied, with when the poll that returned them
   * began when it caught up (`pollStartedAt`, the batch's `caughtUpTo`): the channel's order
   * intake has then caught up to that moment, which confirms a drift read before it
   * (src/core/drift.ts). Without it the last such moment is kept.
   */
  saveCursor(channel: string, cursor: string, now: EpochMs, pollStartedAt?: EpochMs): Promise<void>;
  /** The listing a channel knows by this id (for order lines), or null. */
  listingByExternalId(channel: string, externalId: string): Promise<{ listingId: string; sku: string } | null>;
  /** Delete push-latency samples recorded before `before` (the sweeper keeps the last hour). */
  pruneSamples(before: EpochMs): Promise<number>;
  /** Move up to `limit` dead letters back to pending (due now, attempts reset); returns how many. */
  redrive(options: { channel?: string | undefined; limit: number }, now: EpochMs): Promise<number>;
  /**
   * Record what a read-back saw, per listing of the channel: the value, when it was seen, and
   * since when the channel has shown that same value. A listing whose push was acknowledged at
   * or after `readAt` (when the read started) is left alone: the read predates the push.
   * Returns how many listings were recorded.
   */
  recordChannelLevels(
    channel: string,
    reads: readonly ChannelLevelRead[],
    readAt: EpochMs,
    now: EpochMs,
  ): Promise<number>;
  /**
   * The channel's drifted listings (judged by src/core/drift.ts with `graceMs`), in listing id
   * order, after `afterId`, at most `limit`.
   */
  listDrift(
    channel: string,
    options: { graceMs: number; afterId?: string | undefined; limit: number },
  ): Promise<DriftEntry[]>;
  /**
   * Listings of the channel a targeted pass reads back, in id order after `afterId`: those
   * pushed or whose desired quantity changed at or after `since`, and those in drift now.
   */
  listReconcileTargets(
    channel: string,
    options: { since: EpochMs; afterId?: string | undefined; limit: number },
  ): Promise<ReconcileTarget[]>;
  /**
   * Queue a drifted listing's push again, due now, and record the repair; only while the row
   * is still as judged (no push pending, the channel still seen showing `shown`, the same
   * acknowledged value). Returns the record, or null when the row changed meanwhile.
   */
  requeueRepair(channel: string, entry: DriftEntry, now: EpochMs): Promise<RepairRecord | null>;
  /** Keep a pass's summary as the channel's last reconcile run (replacing the one before). */
  recordReconcileRun(channel: string, run: ReconcileRunRecord): Promise<void>;
  /** The newest recorded repairs, of one channel or all, newest first. */
  listRepairs(options: { channel?: string | undefined; limit: number }): Promise<RepairRecord[]>;
}
