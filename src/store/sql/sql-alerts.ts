import type { AlertDetail, AlertRule } from '../../core/alerts.js';
import type { EpochMs } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import type { AlertPort, AlertRecord, ChannelActivity } from '../alerts-port.js';
import type { SqlExecutor } from './sql-executor.js';

const columns = 'id, rule, channel, opened_at, resolved_at, detail';

function recordFromRow(row: Record<string, unknown>): AlertRecord {
  return {
    id: String(row.id),
    rule: row.rule as AlertRule,
    channel: row.channel as string,
    openedAt: Number(row.opened_at),
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
    detail: JSON.parse(row.detail as string) as AlertDetail,
  };
}

/**
 * The alert slice, one SQL text for both engines (a cold path: one evaluation round every
 * limits.alertIntervalMs). The unique partial index `alerts_one_open` is what makes an alert
 * fire once among several processes: the insert of a second open alert does nothing.
 */
export class SqlAlerts implements AlertPort {
  constructor(private readonly sql: SqlExecutor) {}

  async channelActivity(): Promise<ChannelActivity[]> {
    const rows = await this.sql.all(
      // A deactivated channel takes no orders and no pushes: no rule watches it (docs/LISTS.md).
      `SELECT c.code,
         (SELECT count(*) FROM listings l WHERE l.channel_id = c.id AND l.deactivated_at IS NULL) AS listings,
         (SELECT max(ol.created_at) FROM order_lines ol WHERE ol.channel_id = c.id) AS last_line
       FROM channels c WHERE c.deactivated_at IS NULL ORDER BY c.code`,
    );
    return rows.map((row) => ({
      channel: row.code as string,
      listings: Number(row.listings),
      lastOrderLineAt: row.last_line === null ? null : Number(row.last_line),
    }));
  }

  async usualOrderGap(channel: string): Promise<{ usualOrderGapMs: number | null; orderGaps: number }> {
    // The newest distinct creation times on the (channel_id, created_at) index, the gaps between
    // neighbours, and the first gap at or above the percentile's rank.
    const row = await this.sql.get(
      `WITH ch AS (SELECT id FROM channels WHERE code = $1),
       recent AS (
         SELECT DISTINCT o.created_at AS at FROM order_lines o
         WHERE o.channel_id = (SELECT id FROM ch)
           AND o.created_at >= (SELECT max(created_at) FROM order_lines WHERE channel_id = (SELECT id FROM ch)) - $2
         ORDER BY o.created_at DESC LIMIT $3),
       gaps AS (SELECT at - lag(at) OVER (ORDER BY at) AS gap FROM recent),
       ranked AS (
         SELECT gap, row_number() OVER (ORDER BY gap) AS pos, count(*) OVER () AS n FROM gaps WHERE gap IS NOT NULL)
       SELECT gap, n FROM ranked WHERE pos * 100 >= n * $4 ORDER BY pos LIMIT 1`,
      [channel, limits.alertOrderGapWindowMs, limits.alertOrderGapLinesMax, limits.alertOrderGapPercentile],
    );
    return row === undefined
      ? { usualOrderGapMs: null, orderGaps: 0 }
      : { usualOrderGapMs: Number(row.gap), orderGaps: Number(row.n) };
  }

  async openCounts(): Promise<{ rule: AlertRule; open: number }[]> {
    const rows = await this.sql.all(
      'SELECT rule, count(*) AS open FROM alerts WHERE resolved_at IS NULL GROUP BY rule ORDER BY rule',
    );
    return rows.map((row) => ({ rule: row.rule as AlertRule, open: Number(row.open) }));
  }

  async open(
    alert: { rule: AlertRule; channel: string; detail: AlertDetail },
    now: EpochMs,
  ): Promise<AlertRecord | null> {
    const row = await this.sql.get(
      `INSERT INTO alerts (rule, channel, opened_at, resolved_at, detail) VALUES ($1, $2, $3, NULL, $4)
       ON CONFLICT DO NOTHING RETURNING ${columns}`,
      [alert.rule, alert.channel, now, JSON.stringify(alert.detail)],
    );
    return row === undefined ? null : recordFromRow(row);
  }

  async resolve(id: string, now: EpochMs): Promise<AlertRecord | null> {
    const row = await this.sql.get(
      `UPDATE alerts SET resolved_at = CASE WHEN opened_at > $2 THEN opened_at ELSE $2 END
       WHERE id = $1 AND resolved_at IS NULL RETURNING ${columns}`,
      [Number(id), now],
    );
    return row === undefined ? null : recordFromRow(row);
  }

  async list(options: { status: 'open' | 'resolved' | 'all'; limit: number }): Promise<AlertRecord[]> {
    const where = { open: 'WHERE resolved_at IS NULL', resolved: 'WHERE resolved_at IS NOT NULL', all: '' }[
      options.status
    ];
    const rows = await this.sql.all(
      `SELECT ${columns} FROM alerts ${where} ORDER BY opened_at DESC, id DESC LIMIT $1`,
      [options.limit],
    );
    return rows.map(recordFromRow);
  }
}
