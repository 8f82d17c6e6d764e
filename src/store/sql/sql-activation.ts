import type { ActivationKind, ActivationRecord } from '../ledger-store.js';

/**
 * Deactivation's statements, one SQL text for both engines; each engine runs them in one
 * transaction of its own (the SQLite writer synchronously, PostgreSQL on the transaction's
 * client) and then recomputes what the change affects. What each kind's deactivation does is
 * stated in docs/LISTS.md; in short:
 * - a variant: its listings are set to 0 and queued (the channels stop selling it), and it is
 *   left out of every recompute until it is activated again;
 * - a location: left out of every channel's pool (a recompute of all listings follows);
 * - a channel: its queued pushes are dropped and its listings are left out of every recompute;
 * - a listing: its queued push is dropped and it is left out of every recompute and of drift.
 */

const tables: Record<ActivationKind, { table: string; key: string }> = {
  variant: { table: 'variants', key: 'sku' },
  location: { table: 'locations', key: 'code' },
  channel: { table: 'channels', key: 'code' },
  listing: { table: 'listings', key: 'id' },
};

/**
 * The listings whose desired quantity is computed and pushed, read with {@link computedListing}:
 * `l` the listing, `c` its channel, `lv` its variant. The variant is joined, not tested by a
 * NOT EXISTS: SQLite ran that as a correlated subquery per listing row, and the bulk
 * recompute's range read cost 25% more per row than before the filter; joined, 16% more
 * (bench/README.md, Availability).
 */
export const computedListings =
  'listings l JOIN channels c ON c.id = l.channel_id JOIN variants lv ON lv.id = l.variant_id';

/** A listing whose desired quantity is computed and pushed: it, its channel and its variant are active. */
export const computedListing = 'l.deactivated_at IS NULL AND c.deactivated_at IS NULL AND lv.deactivated_at IS NULL';

/** The key parameter of a kind: listing ids are integers in the tables, text in the API. */
export function activationKey(kind: ActivationKind, ref: string): string | number {
  return kind === 'listing' ? Number(ref) : ref;
}

/** Parameter 1: the sku, code or listing id. Locked on PostgreSQL against a concurrent change. */
export function activationState(kind: ActivationKind, lockRows: string): string {
  const { table, key } = tables[kind];
  return `SELECT id, deactivated_at, deactivated_by FROM ${table} WHERE ${key} = $1${lockRows}`;
}

export interface ActivationStateRow {
  id: number;
  deactivated_at: number | null;
  deactivated_by: string | null;
}

/** Parameters: id, deactivated_at (null to activate), deactivated_by. */
export function setActivation(kind: ActivationKind): string {
  return `UPDATE ${tables[kind].table} SET deactivated_at = $2, deactivated_by = $3 WHERE id = $1`;
}

/** Parameters: kind, ref, action, actor, at. */
export const insertActivationEvent =
  'INSERT INTO activation_events (kind, ref, action, actor, at) VALUES ($1, $2, $3, $4, $5)';

const listingsOf = (kind: 'channel' | 'listing'): string =>
  kind === 'channel' ? 'SELECT id FROM listings WHERE channel_id = $1' : 'SELECT id FROM listings WHERE id = $1';

/**
 * Drop the queued pushes of a channel's listings or of one listing (parameter 1: its id): the
 * row keeps its desired quantity, marked done so no dispatcher claims it.
 */
export function stopPushes(kind: 'channel' | 'listing'): string {
  return `UPDATE listing_quantities SET dispatch_state = 'done'
    WHERE dispatch_state = 'pending' AND listing_id IN (${listingsOf(kind)})`;
}

/**
 * Queue again what was dropped by {@link stopPushes} and not acknowledged since (parameter 1:
 * the id, 2: now); a recompute then queues whatever changed meanwhile.
 */
export function resumePushes(kind: 'channel' | 'listing'): string {
  return `UPDATE listing_quantities SET dispatch_state = 'pending', due_at = $2, pending_since = COALESCE(pending_since, $2)
    WHERE dispatch_state = 'done' AND pushed_version < desired_version AND listing_id IN (${listingsOf(kind)})`;
}

/**
 * A deactivated variant's listings (on active channels) show 0: parameter 1 the variant id, 2
 * now. Written like a recompute that changed the quantity (availability-rows.ts,
 * outboxOnConflict): a new desired version, queued now unless a retry is waiting.
 */
export const zeroVariantListings = `UPDATE listing_quantities SET quantity = 0, preorder_quantity = NULL,
    preorder_earliest_at = NULL, preorder_latest_at = NULL, computed_at = $2,
    desired_version = desired_version + 1,
    pending_since = CASE WHEN dispatch_state = 'done' THEN $2 ELSE COALESCE(pending_since, $2) END,
    due_at = CASE WHEN dispatch_state = 'pending' AND attempts > 0 THEN due_at ELSE $2 END,
    dispatch_state = CASE WHEN dispatch_state = 'dead' THEN 'dead' ELSE 'pending' END
  WHERE variant_id = $1 AND (quantity <> 0 OR preorder_quantity IS NOT NULL)
    AND listing_id IN (SELECT l.id FROM listings l JOIN channels c ON c.id = l.channel_id
                       WHERE l.variant_id = $1 AND l.deactivated_at IS NULL AND c.deactivated_at IS NULL)`;

/** Parameter 1: a listing id. */
export const variantOfListing = 'SELECT variant_id FROM listings WHERE id = $1';

export function activationRecord(
  kind: ActivationKind,
  ref: string,
  changed: boolean,
  state: { deactivatedAt: number | null; deactivatedBy: string | null },
): ActivationRecord {
  return {
    kind,
    ref,
    active: state.deactivatedAt === null,
    changed,
    deactivatedAt: state.deactivatedAt,
    deactivatedBy: state.deactivatedBy,
  };
}

/** One statement of an activation change: a row to read, or a write. */
export type ActivationStep = { get: string; params: unknown[] } | { run: string; params: unknown[] };

export type ActivationFollowUp =
  | { recompute: 'none' }
  | { recompute: 'all' }
  | { recompute: 'variant'; variantId: number };

export type ActivationOutcome = { record: ActivationRecord; followUp: ActivationFollowUp } | null;

/**
 * One activation change as a sequence of statements, each engine's driver running them in its
 * own transaction (SQLite synchronously: an await inside better-sqlite3's transaction would let
 * another write nest in it). Reads the state (locked on PostgreSQL); an unchanged state answers
 * `changed: false` and writes nothing (idempotent); else writes the state, the event and the
 * outbox effects, and says what to recompute once they are written.
 */
export function* activationChange(
  lockRows: string,
  input: { kind: ActivationKind; ref: string; active: boolean; actor: string; now: number },
): Generator<ActivationStep, ActivationOutcome, unknown> {
  const { kind, ref, active, actor, now } = input;
  const row = (yield { get: activationState(kind, lockRows), params: [activationKey(kind, ref)] }) as
    | ActivationStateRow
    | undefined;
  if (!row) return null;
  const current = {
    deactivatedAt: row.deactivated_at === null ? null : Number(row.deactivated_at),
    deactivatedBy: row.deactivated_by,
  };
  if ((current.deactivatedAt === null) === active)
    return { record: activationRecord(kind, ref, false, current), followUp: { recompute: 'none' } };
  const next = active ? { deactivatedAt: null, deactivatedBy: null } : { deactivatedAt: now, deactivatedBy: actor };
  const id = Number(row.id);
  yield { run: setActivation(kind), params: [id, next.deactivatedAt, next.deactivatedBy] };
  yield { run: insertActivationEvent, params: [kind, ref, active ? 'activated' : 'deactivated', actor, now] };
  let followUp: ActivationFollowUp = { recompute: 'none' };
  if (kind === 'variant') {
    if (active) followUp = { recompute: 'variant', variantId: id };
    else yield { run: zeroVariantListings, params: [id, now] };
  } else if (kind === 'location') {
    followUp = { recompute: 'all' };
  } else if (active) {
    yield { run: resumePushes(kind), params: [id, now] };
    if (kind === 'channel') followUp = { recompute: 'all' };
    else {
      const listing = (yield { get: variantOfListing, params: [id] }) as { variant_id: number };
      followUp = { recompute: 'variant', variantId: Number(listing.variant_id) };
    }
  } else {
    yield { run: stopPushes(kind), params: [id] };
  }
  return { record: activationRecord(kind, ref, true, next), followUp };
}
