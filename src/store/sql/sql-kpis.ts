import type { EpochMs } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import { dispatchSql, latencyPercentiles } from '../dispatch-sql.js';
import type { ChannelKpis, ChannelStanding, KpiPort, Kpis } from '../kpis-port.js';
import type { SqlExecutor } from './sql-executor.js';

/**
 * A movement written for a channel order line: its command key is `<line key>:<step>:<index>`
 * and its source reference the line's order id (src/ingest/order-line-intake.ts). The order id
 * narrows the join to one order's lines, the key prefix picks the line.
 */
const lineOf = (movement: string) =>
  `JOIN order_lines ol ON ol.order_id = ${movement}.source_reference
     AND substr(${movement}.command_key, 1, length(ol.line_key) + 1) = ol.line_key || ':'`;

/**
 * Listings per channel and, of them, those in drift as src/core/drift.ts judges it: no push
 * pending, and the channel last seen showing more (or less) than it acknowledged. Deactivated
 * listings are left out (docs/LISTS.md): they are neither pushed nor counted.
 */
const driftSql = `SELECT channel_id, count(*) AS listings,
    sum(CASE WHEN dispatch_state <> 'pending' AND channel_quantity > pushed_quantity THEN 1 ELSE 0 END) AS more,
    sum(CASE WHEN dispatch_state <> 'pending' AND channel_quantity < pushed_quantity THEN 1 ELSE 0 END) AS less
  FROM listing_quantities
  WHERE listing_id NOT IN (SELECT id FROM listings WHERE deactivated_at IS NOT NULL)
  GROUP BY channel_id`;

const rate = (part: number, whole: number) => (whole === 0 ? null : part / whole);

function driftFigures(row: Record<string, unknown> | undefined) {
  const listings = Number(row?.listings ?? 0);
  const driftMore = Number(row?.more ?? 0);
  const driftLess = Number(row?.less ?? 0);
  return { listings, driftMore, driftLess, driftRate: rate(driftMore + driftLess, listings) };
}

/**
 * The KPIs, one SQL text for both engines (a cold path: an operator's or a dashboard's read).
 * Windowed figures come from the movements recorded in the window and the push-latency samples
 * still kept; queue, dead letters and the inbox are as they stand at the window's end.
 */
export class SqlKpis implements KpiPort {
  constructor(private readonly views: SqlExecutor) {}

  async standing(now: EpochMs): Promise<ChannelStanding[]> {
    const channels = await this.views.all(dispatchSql.status, [now]);
    const inbox = await this.byChannel(
      `SELECT channel_id, count(*) AS lines FROM order_lines WHERE status = 'blocked' GROUP BY channel_id`,
      [],
    );
    const drift = await this.byChannel(driftSql, []);
    return channels.map((row) => {
      const status = dispatchSql.statusFromRow(row, now, { p50: null, p95: null });
      const { listings, driftMore, driftLess } = driftFigures(drift.get(Number(row.channel_id)));
      return {
        channel: status.channel,
        platform: status.platform,
        queueDepth: status.queueDepth,
        oldestPendingAgeMs: status.oldestPendingAgeMs,
        deadLetters: status.deadLetters,
        inbox: Number(inbox.get(Number(row.channel_id))?.lines ?? 0),
        listings,
        driftMore,
        driftLess,
      };
    });
  }

  async kpis(window: { from: EpochMs; to: EpochMs }): Promise<Kpis> {
    const { from, to } = window;
    const channels = await this.views.all(dispatchSql.status, [to]);
    const booked = await this.byChannel(
      `SELECT ol.channel_id, count(DISTINCT ol.line_key) AS lines,
         count(DISTINCT CASE WHEN m.oversold > 0 THEN m.command_key END) AS oversells,
         sum(m.oversold) AS units
       FROM movements m ${lineOf('m')}
       WHERE m.type = 'order' AND m.recorded_at >= $1 AND m.recorded_at <= $2
       GROUP BY ol.channel_id`,
      [from, to],
    );
    const cancelled = await this.byChannel(
      `SELECT ol.channel_id, count(DISTINCT ol.line_key) AS lines
       FROM movements m ${lineOf('m')}
       WHERE m.type = 'cancellation' AND m.recorded_at >= $1 AND m.recorded_at <= $2
         AND EXISTS (SELECT 1 FROM movements o WHERE o.type = 'order' AND o.oversold > 0 AND o.id < m.id
           AND o.source_reference = m.source_reference
           AND substr(o.command_key, 1, length(ol.line_key) + 1) = ol.line_key || ':')
       GROUP BY ol.channel_id`,
      [from, to],
    );
    const inbox = await this.byChannel(
      `SELECT channel_id, count(*) AS lines FROM order_lines WHERE status = 'blocked' GROUP BY channel_id`,
      [],
    );
    const drift = await this.byChannel(driftSql, []);
    const kept = await this.views.get<{ since: number | null }>('SELECT min(at) AS since FROM push_samples');
    const allSamples: number[] = [];
    const out: ChannelKpis[] = [];
    for (const row of channels) {
      const id = Number(row.channel_id);
      const status = dispatchSql.statusFromRow(row, to, { p50: null, p95: null });
      const samples = (
        await this.views.all<{ latency_ms: number }>(
          'SELECT latency_ms FROM push_samples WHERE channel_id = $1 AND at >= $2 AND at <= $3 ORDER BY id DESC LIMIT $4',
          [id, from, to, limits.kpiLatencySamplesMax],
        )
      ).map((sample) => Number(sample.latency_ms));
      allSamples.push(...samples);
      const latency = latencyPercentiles(samples);
      const lines = Number(booked.get(id)?.lines ?? 0);
      const oversells = Number(booked.get(id)?.oversells ?? 0);
      out.push({
        channel: status.channel,
        platform: status.platform,
        linesBooked: lines,
        oversells,
        oversoldUnits: Number(booked.get(id)?.units ?? 0),
        oversellRate: lines === 0 ? null : oversells / lines,
        stockCancellations: Number(cancelled.get(id)?.lines ?? 0),
        latencySamples: samples.length,
        latencyP50Ms: latency.p50,
        latencyP95Ms: latency.p95,
        queueDepth: status.queueDepth,
        oldestPendingAgeMs: status.oldestPendingAgeMs,
        deadLetters: status.deadLetters,
        inbox: Number(inbox.get(id)?.lines ?? 0),
        ...driftFigures(drift.get(id)),
      });
    }
    const sum = (
      field:
        | 'linesBooked'
        | 'oversells'
        | 'oversoldUnits'
        | 'stockCancellations'
        | 'queueDepth'
        | 'deadLetters'
        | 'inbox'
        | 'listings'
        | 'driftMore'
        | 'driftLess',
    ) => out.reduce((total, channel) => total + channel[field], 0);
    const latency = latencyPercentiles(allSamples);
    const oldest = out.map((channel) => channel.oldestPendingAgeMs).filter((age): age is number => age !== null);
    const linesBooked = sum('linesBooked');
    return {
      from,
      to,
      latencySince: kept?.since === null || kept?.since === undefined ? null : Number(kept.since),
      totals: {
        linesBooked,
        oversells: sum('oversells'),
        oversoldUnits: sum('oversoldUnits'),
        oversellRate: linesBooked === 0 ? null : sum('oversells') / linesBooked,
        stockCancellations: sum('stockCancellations'),
        latencySamples: allSamples.length,
        latencyP50Ms: latency.p50,
        latencyP95Ms: latency.p95,
        queueDepth: sum('queueDepth'),
        oldestPendingAgeMs: oldest.length === 0 ? null : Math.max(...oldest),
        deadLetters: sum('deadLetters'),
        inbox: sum('inbox'),
        listings: sum('listings'),
        driftMore: sum('driftMore'),
        driftLess: sum('driftLess'),
        driftRate: rate(sum('driftMore') + sum('driftLess'), sum('listings')),
      },
      channels: out,
    };
  }

  private async byChannel(sql: string, params: readonly unknown[]): Promise<Map<number, Record<string, unknown>>> {
    const rows = await this.views.all(sql, params);
    return new Map(rows.map((row) => [Number(row.channel_id), row]));
  }
}
