import { Type, type Static } from '@sinclair/typebox';
import { limits } from '../core/limits.js';
import type { ReconcileSummary } from '../reconcile/reconcile-pass.js';
import type { DriftEntry, RepairRecord } from '../store/outbox-port.js';
import { iso as isoTime } from './iso-time.js';
import { Closed, Limit, Nullable, Timestamp } from './schema-primitives.js';

/**
 * Request and response schemas of the reconcile routes (drift per listing, a pass now), with
 * their mappings from the store and the pass, shared by the HTTP API.
 */

const ChannelCode = Type.String({
  minLength: 1,
  maxLength: limits.codeLengthMax,
  description: 'Channel code, e.g. `bol`, `shop-nl`',
});
const Count = Type.Integer({ minimum: 0 });
const Direction = Type.Union([Type.Literal('more'), Type.Literal('less')], {
  description:
    '`more`: the channel shows more than it acknowledged (oversell risk); `less`: it shows less (lost sales)',
});

// --- drift -----------------------------------------------------------------------------------

export const DriftQuery = Closed({
  channel: ChannelCode,
  after: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,18}$',
      description: 'Listing id: list the listings after it (the last one of a page)',
    }),
  ),
  limit: Limit,
});
export type DriftQuery = Static<typeof DriftQuery>;

export const DriftView = Type.Object({
  listing_id: Type.String(),
  sku: Type.String(),
  external_id: Type.String(),
  direction: Direction,
  desired: Type.Integer({ description: "The ledger's desired quantity" }),
  desired_at: Type.String({ format: 'date-time', description: 'When the ledger last computed the desired quantity' }),
  acknowledged: Type.Integer({
    description:
      'What the channel last acknowledged: the last push, since a push is recorded when the channel acknowledges it (a listing with a push in flight is not in drift)',
  }),
  acknowledged_at: Nullable(Timestamp),
  shown: Type.Integer({ description: 'What the channel was last seen showing' }),
  shown_at: Nullable(Timestamp),
  shown_since: Type.Union([Timestamp, Type.Null()], { description: 'Since when it has been seen showing that value' }),
  confirmed: Type.Boolean({
    description:
      'More: always. Less: two reads at least the grace apart agree, or an order poll that began after the read caught up, so a repair may raise the channel',
  }),
  dead: Type.Boolean({ description: 'A dead letter: reported, not repaired until redriven' }),
});
export const DriftList = Type.Object({ items: Type.Array(DriftView) });
export type DriftList = Static<typeof DriftList>;

const time = (at: number | null) => (at === null ? null : isoTime(at));

export function driftView(entry: DriftEntry): Static<typeof DriftView> {
  return {
    listing_id: entry.listingId,
    sku: entry.sku,
    external_id: entry.externalId,
    direction: entry.verdict.direction,
    desired: entry.state.desired,
    desired_at: isoTime(entry.desiredAt),
    acknowledged: entry.verdict.acknowledged,
    acknowledged_at: time(entry.state.acknowledgedAt),
    shown: entry.verdict.shown,
    shown_at: time(entry.state.shownAt),
    shown_since: time(entry.state.shownSince),
    confirmed: entry.verdict.confirmed,
    dead: entry.verdict.dead,
  };
}

// --- a pass now ------------------------------------------------------------------------------

export const ReconcileBody = Closed({
  channel: Type.Optional(ChannelCode),
  full: Type.Optional(Type.Boolean({ default: false, description: 'Read every listing, not only the recent ones' })),
  dry_run: Type.Optional(Type.Boolean({ default: false, description: 'Read and report; queue no repair' })),
});
export type ReconcileBody = Static<typeof ReconcileBody>;

const RepairView = Type.Object({
  listing_id: Type.String(),
  sku: Type.String(),
  at: Timestamp,
  direction: Direction,
  from: Type.Integer({ description: 'What the channel showed' }),
  acknowledged: Type.Integer(),
  to: Type.Integer({ description: 'The desired quantity the repair pushes' }),
});

export const ReconcileSummaryView = Type.Object({
  channel: Type.String(),
  mode: Type.Union([Type.Literal('targeted'), Type.Literal('full')]),
  dry_run: Type.Boolean(),
  started_at: Timestamp,
  finished_at: Timestamp,
  read: Count,
  read_errors: Count,
  first_read_error: Nullable(Type.String()),
  unknown: Type.Integer({ minimum: 0, description: 'Listings the channel does not know' }),
  drift_more: Count,
  drift_less: Count,
  unconfirmed: Type.Integer({
    minimum: 0,
    description: 'Showing less, awaiting a second read a grace later (or an order poll after the read)',
  }),
  dead: Count,
  repairs: Type.Array(RepairView, { description: 'Queued (or, on a dry run, that would be)' }),
});
export const ReconcileResult = Type.Object({ channels: Type.Array(ReconcileSummaryView) });
export type ReconcileResult = Static<typeof ReconcileResult>;

function repairView(repair: RepairRecord): Static<typeof RepairView> {
  return {
    listing_id: repair.listingId,
    sku: repair.sku,
    at: isoTime(repair.at),
    direction: repair.direction,
    from: repair.shown,
    acknowledged: repair.acknowledged,
    to: repair.desired,
  };
}

export function reconcileSummaryView(summary: ReconcileSummary): Static<typeof ReconcileSummaryView> {
  return {
    channel: summary.channel,
    mode: summary.mode,
    dry_run: summary.dryRun,
    started_at: isoTime(summary.startedAt),
    finished_at: isoTime(summary.finishedAt),
    read: summary.read,
    read_errors: summary.readErrors,
    first_read_error: summary.firstReadError,
    unknown: summary.unknown,
    drift_more: summary.driftMore,
    drift_less: summary.driftLess,
    unconfirmed: summary.unconfirmed,
    dead: summary.dead,
    repairs: summary.repairs.map(repairView),
  };
}
