import type { EpochMs } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { ChannelSyncStatus, DeadLetter, DispatchResult, DispatchRow } from './outbox-port.js';

/**
 * SQL of the dispatch side, shared by both engines. The hot statements (claim, results, the
 * drift notice) are written with `?` placeholders, each used once and in order, run by each
 * engine's outbox; `numbered()` turns them into `$1, $2...` for PostgreSQL. The cold ones
 * (status, dead letters, cursors) use `$n` and run on the shared executor
 * (sql/sql-outbox-views.ts).
 */
/**
 * The error a stale compare-and-set leaves on its row: the sync status counts the rows holding it
 * (and no other error) as waiting out the drift grace, so both statements use this one text.
 * No quote in it: it is written into the SQL text.
 */
const staleCompareError = 'channel quantity changed meanwhile (compare-and-set)';

/** `sql` with its `?` placeholders replaced, in order: the first by `value(0)`, the next by `value(1)`... */
export function placed(sql: string, value: (index: number) => string): string {
  let index = 0;
  return sql.replace(/\?/g, () => value(index++));
}

export function numbered(sql: string): string {
  return placed(sql, (index) => `$${index + 1}`);
}

/**
 * Urgency (push first what risks an oversell; docs/RELIABILITY.md, section 10): 0 when the channel shows stock and
 * desired is 0, 1 when it shows more than desired (or we do not know what it shows), 2 when the
 * push only raises a quantity. What it shows = what it last answered, else what we last pushed.
 *
 * The expression is also the second column of the index `listing_quantities_claim` (migration
 * 0017 on both engines); a unit test holds the migrations to this text. Its columns are
 * unqualified because an index expression cannot name a table alias; in the claim's join they
 * still mean listing_quantities' columns, as listings has none of these names.
 */
export const urgencyExpression = `CASE
    WHEN quantity = 0 AND COALESCE(channel_quantity, pushed_quantity, 1) > 0 THEN 0
    WHEN COALESCE(channel_quantity, pushed_quantity, quantity + 1) > quantity THEN 1
    ELSE 2 END`;

/** The urgency classes, most urgent first: a claim takes them in this order. */
export const urgencyClasses = [0, 1, 2] as const;

/**
 * The claim of one urgency class. Params: channel id, now (due), now (claim expiry), lease
 * epoch, limit. A claim made under an older epoch shields nothing: its owner was fenced out when
 * the lease changed hands, so a dead process's rows are taken over with the lease (<= TTL), not
 * after the claim period.
 *
 * Why one statement per class and not one ORDER BY urgency over all: with the class fixed, both
 * planners seek `listing_quantities_claim` at (channel, class, due_at <= now) and read the due
 * rows already in (due_at, listing_id) order, stopping at the limit. One ordered walk of the
 * whole index would also avoid the sort, but it reads every pending row that is not due yet
 * (a channel in backoff: all of them) on each idle poll. Taking the classes in order, each up to
 * what the previous ones left of the limit, gives the same rows in the same order as
 * `ORDER BY urgency, due_at, listing_id LIMIT n`.
 */
function claimOfClass(urgency: (typeof urgencyClasses)[number]): string {
  return `SELECT lq.listing_id, l.external_id, l.external_location_id, lq.quantity, lq.desired_version, lq.channel_quantity,
      lq.attempts, lq.pending_since, lq.preorder_quantity, lq.preorder_earliest_at, lq.preorder_latest_at, lq.due_at,
      ${urgency} AS urgency
    FROM listing_quantities lq JOIN listings l ON l.id = lq.listing_id
    WHERE lq.channel_id = ? AND ${urgencyExpression} = ${urgency} AND ${claimable}
    ORDER BY lq.due_at, lq.listing_id
    LIMIT ?`;
}

/**
 * A row a claim may take: pending, due, and not held by a live claim of the current epoch.
 * Params: now (due), now (claim expiry), lease epoch.
 */
const claimable = `lq.dispatch_state = 'pending' AND lq.due_at <= ?
      AND (lq.claimed_until IS NULL OR lq.claimed_until <= ? OR lq.claimed_epoch <> ?)`;

export const dispatchSql = {
  /** The claim's statements, most urgent class first (see {@link claimOfClass}). */
  claims: urgencyClasses.map(claimOfClass),

  /**
   * Whether a claim would find anything: one row the claims could take, by channel code. Params:
   * channel code, now, now, lease epoch. A claim asks this before opening its transaction: on
   * PostgreSQL that transaction's lease lock costs a WAL flush, on SQLite it takes the write
   * lock (an empty claim: about 200 us, against 20 for this read).
   */
  anyClaimable: `SELECT 1 FROM listing_quantities lq
    WHERE lq.channel_id = (SELECT id FROM channels WHERE code = ?) AND ${claimable}
    LIMIT 1`,

  rowToDispatch(row: Record<string, unknown>): DispatchRow {
    return {
      listingId: String(row.listing_id),
      externalId: row.external_id as string,
      externalLocationId: (row.external_location_id as string | null) ?? null,
      quantity: Number(row.quantity),
      desiredVersion: Number(row.desired_version),
      channelQuantity: row.channel_quantity === null ? null : Number(row.channel_quantity),
      attempts: Number(row.attempts),
      pendingSince: row.pending_since === null ? null : Number(row.pending_since),
      preorder:
        row.preorder_quantity === null || row.preorder_quantity === undefined
          ? null
          : {
              quantity: Number(row.preorder_quantity),
              earliestAt: row.preorder_earliest_at === null ? null : Number(row.preorder_earliest_at),
              latestAt: row.preorder_latest_at === null ? null : Number(row.preorder_latest_at),
            },
    };
  },

  /**
   * A latency sample for an acknowledged push of the newest version. Params: channel id, now,
   * now, listing id, desired version.
   */
  sample: `INSERT INTO push_samples (channel_id, latency_ms, at)
    SELECT ?, ? - pending_since, ? FROM listing_quantities WHERE listing_id = ? AND desired_version = ? AND pending_since IS NOT NULL`,

  /** The update for one result, with its parameters in placeholder order. */
  result(result: DispatchResult, now: EpochMs): { sql: string; params: unknown[] } {
    const listingId = Number(result.listingId);
    switch (result.status) {
      case 'ok':
        // Done only if no newer desired value arrived while the push was in flight; else it stays
        // pending (from the newer value's time) and goes out next.
        return {
          sql: `UPDATE listing_quantities SET pushed_quantity = ?, pushed_version = ?, channel_quantity = ?, pushed_at = ?, attempts = 0,
              last_error = NULL, claimed_until = NULL,
              dispatch_state = CASE WHEN desired_version = ? THEN 'done' ELSE dispatch_state END,
              pending_since = CASE WHEN desired_version = ? THEN NULL ELSE computed_at END,
              channel_since = CASE WHEN channel_quantity = CAST(? AS BIGINT) AND channel_since IS NOT NULL THEN channel_since ELSE CAST(? AS BIGINT) END,
              channel_seen_at = CAST(? AS BIGINT)
            WHERE listing_id = ?`,
          params: [
            result.pushedQuantity,
            result.desiredVersion,
            result.channelQuantity,
            now,
            result.desiredVersion,
            result.desiredVersion,
            result.channelQuantity,
            now,
            now,
            listingId,
          ],
        };
      case 'stale':
        // The channel changed meanwhile: remember what it shows and push again with that compare
        // value, at once when it shows more than desired; when it shows less (perhaps a sale
        // whose order has not reached us), after the grace, so the order can lower the desired
        // quantity first and the push never raises the channel over a sale it took.
        return {
          sql: `UPDATE listing_quantities SET channel_quantity = ?, attempts = attempts + 1,
              due_at = CASE WHEN CAST(? AS BIGINT) < quantity THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END, claimed_until = NULL,
              last_error = '${staleCompareError}',
              channel_since = CASE WHEN channel_quantity = CAST(? AS BIGINT) AND channel_since IS NOT NULL THEN channel_since ELSE CAST(? AS BIGINT) END,
              channel_seen_at = CAST(? AS BIGINT)
            WHERE listing_id = ?`,
          params: [
            result.channelQuantity,
            result.channelQuantity,
            now + limits.driftGraceMs,
            now,
            result.channelQuantity,
            now,
            now,
            listingId,
          ],
        };
      case 'retry':
        return {
          sql: `UPDATE listing_quantities SET attempts = attempts + 1, due_at = ?, last_error = ?, claimed_until = NULL,
              dispatch_state = CASE WHEN ? = 1 THEN 'dead' ELSE dispatch_state END WHERE listing_id = ?`,
          params: [result.dueAt, result.error.slice(0, 500), result.dead ? 1 : 0, listingId],
        };
      case 'permanent':
        return {
          sql: `UPDATE listing_quantities SET attempts = attempts + 1, last_error = ?, claimed_until = NULL, dispatch_state = 'dead' WHERE listing_id = ?`,
          params: [result.error.slice(0, 500), listingId],
        };
    }
  },

  /** Params: $1 now. One row per channel. */
  status: `SELECT c.id AS channel_id, c.code, c.platform,
      (SELECT count(*) FROM listing_quantities q WHERE q.channel_id = c.id AND q.dispatch_state = 'pending') AS queue_depth,
      (SELECT min(q.pending_since) FROM listing_quantities q WHERE q.channel_id = c.id AND q.dispatch_state = 'pending') AS oldest_pending,
      (SELECT max(q.pushed_at) FROM listing_quantities q WHERE q.channel_id = c.id) AS last_success,
      (SELECT max(q.attempts) FROM listing_quantities q WHERE q.channel_id = c.id AND q.dispatch_state = 'pending') AS failures,
      (SELECT count(*) FROM listing_quantities q WHERE q.channel_id = c.id AND q.dispatch_state = 'dead') AS dead,
      (SELECT owner FROM channel_leases cl WHERE cl.channel_id = c.id AND cl.expires_at > $1) AS lease_owner,
      (SELECT count(*) FROM listing_quantities q WHERE q.channel_id = c.id AND q.dispatch_state = 'pending'
         AND q.due_at > $1 AND q.channel_quantity IS NOT NULL AND q.channel_quantity < q.quantity
         AND (q.last_error IS NULL OR q.last_error = '${staleCompareError}')) AS grace,
      (SELECT q.last_error FROM listing_quantities q WHERE q.channel_id = c.id AND q.last_error IS NOT NULL
         ORDER BY q.due_at DESC, q.listing_id DESC LIMIT 1) AS last_error
    FROM channels c ORDER BY c.code`,

  statusFromRow(
    row: Record<string, unknown>,
    now: EpochMs,
    latency: { p50: number | null; p95: number | null },
  ): ChannelSyncStatus {
    return {
      channel: row.code as string,
      platform: row.platform as string,
      queueDepth: Number(row.queue_depth),
      oldestPendingAgeMs: row.oldest_pending === null ? null : Math.max(0, now - Number(row.oldest_pending)),
      lastSuccessAt: row.last_success === null ? null : Number(row.last_success),
      consecutiveFailures: row.failures === null ? 0 : Number(row.failures),
      deadLetters: Number(row.dead),
      pushLatencyP50Ms: latency.p50,
      pushLatencyP95Ms: latency.p95,
      leaseOwner: (row.lease_owner as string | null) ?? null,
      waitingGrace: Number(row.grace ?? 0),
      lastError: (row.last_error as string | null) ?? null,
      lastReconcile: null,
    };
  },

  /** Params: $1 limit, $2 channel code (when `byChannel`). */
  dead: (
    byChannel: boolean,
  ) => `SELECT lq.listing_id, c.code, v.sku, l.external_id, lq.quantity, lq.attempts, lq.last_error, lq.pending_since
    FROM listing_quantities lq JOIN listings l ON l.id = lq.listing_id JOIN channels c ON c.id = l.channel_id JOIN variants v ON v.id = l.variant_id
    WHERE lq.dispatch_state = 'dead' ${byChannel ? 'AND c.code = $2' : ''} ORDER BY lq.listing_id LIMIT $1`,

  deadFromRow(row: Record<string, unknown>): DeadLetter {
    return {
      listingId: String(row.listing_id),
      channel: row.code as string,
      sku: row.sku as string,
      externalId: row.external_id as string,
      quantity: Number(row.quantity),
      attempts: Number(row.attempts),
      lastError: (row.last_error as string | null) ?? null,
      since: row.pending_since === null ? null : Number(row.pending_since),
    };
  },

  /**
   * Params, in order: see `noticeLevelParams`. Marks the row pending (unless dead) when the
   * channel shows something else than desired: due now when it shows more, after the grace when less.
   * Also when the channel was seen showing it, and since when it has shown that value (the drift model).
   */
  noticeLevel: `UPDATE listing_quantities SET channel_quantity = ?,
      dispatch_state = CASE WHEN dispatch_state = 'dead' OR quantity = ? THEN dispatch_state ELSE 'pending' END,
      due_at = CASE WHEN dispatch_state = 'dead' OR quantity = ? THEN due_at WHEN ? > quantity THEN ?
                    WHEN dispatch_state = 'pending' THEN due_at ELSE ? END,
      pending_since = CASE WHEN pending_since IS NULL AND dispatch_state <> 'dead' AND quantity <> ? THEN ? ELSE pending_since END,
      channel_since = CASE WHEN channel_quantity = CAST(? AS BIGINT) AND channel_since IS NOT NULL THEN channel_since ELSE CAST(? AS BIGINT) END,
      channel_seen_at = CAST(? AS BIGINT)
    WHERE listing_id = (SELECT l.id FROM listings l JOIN channels c ON c.id = l.channel_id WHERE c.code = ? AND l.external_id = ?)
    RETURNING quantity`,

  noticeLevelParams: (channel: string, externalId: string, shown: number, now: EpochMs, graceMs: number) => [
    shown,
    shown,
    shown,
    shown,
    now,
    now + graceMs,
    shown,
    now,
    shown,
    now,
    now,
    channel,
    externalId,
  ],

  /** Params: $1 channel code. */
  loadCursor: `SELECT cc.cursor FROM channel_cursors cc JOIN channels c ON c.id = cc.channel_id WHERE c.code = $1`,
  /** Params: $1 cursor, $2 now, $3 channel code, $4 when the poll that caught up began (null: keep the last). */
  saveCursor: `INSERT INTO channel_cursors (channel_id, cursor, updated_at, poll_started_at) SELECT id, $1, $2, $4 FROM channels WHERE code = $3
    ON CONFLICT (channel_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at,
      poll_started_at = COALESCE(excluded.poll_started_at, channel_cursors.poll_started_at)`,
  /** Params: $1 channel code. */
  intakeCaughtUpAt: `SELECT cc.poll_started_at FROM channel_cursors cc JOIN channels c ON c.id = cc.channel_id WHERE c.code = $1`,
  /** Params: $1 channel code, $2 external id. */
  listingByExternalId: `SELECT l.id, v.sku FROM listings l JOIN channels c ON c.id = l.channel_id JOIN variants v ON v.id = l.variant_id
    WHERE c.code = $1 AND l.external_id = $2`,

  /** Params: $1 now, $2 limit, $3 channel code (when `byChannel`). */
  redrive: (
    byChannel: boolean,
  ) => `UPDATE listing_quantities SET dispatch_state = 'pending', attempts = 0, due_at = $1, last_error = NULL, claimed_until = NULL
    WHERE listing_id IN (SELECT lq.listing_id FROM listing_quantities lq JOIN channels c ON c.id = lq.channel_id
      WHERE lq.dispatch_state = 'dead' ${byChannel ? 'AND c.code = $3' : ''} ORDER BY lq.listing_id LIMIT $2)`,
};

export function latencyPercentiles(samples: readonly number[]): { p50: number | null; p95: number | null } {
  if (samples.length === 0) return { p50: null, p95: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  return { p50: at(50), p95: at(95) };
}
