import type { OrderLinePort, OrderLineRecord, OrderLineStatus } from '../order-lines-port.js';
import { deleteUnmappedItem, rememberUnmappedItem } from './sql-availability-writes.js';
import { jsonValue, type SqlExecutor } from './sql-executor.js';

const columns = `c.code AS channel, o.line_key, o.order_id, o.line_id, o.item, o.sku, o.state, o.applied, o.pending,
  o.seq, o.version, o.status, o.reason, o.created_at, o.updated_at`;

function fromRow(row: Record<string, unknown>): OrderLineRecord {
  return {
    channel: String(row.channel),
    lineKey: String(row.line_key),
    orderId: String(row.order_id),
    lineId: String(row.line_id),
    item: jsonValue(row.item),
    sku: row.sku === null ? null : String(row.sku),
    state: jsonValue(row.state),
    applied: jsonValue(row.applied),
    pending: row.pending === null ? null : jsonValue(row.pending),
    seq: Number(row.seq),
    version: Number(row.version),
    status: String(row.status) as OrderLineStatus,
    reason: row.reason === null ? null : String(row.reason),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The order-line slice, one SQL text for both engines. */
export class SqlOrderLines implements OrderLinePort {
  constructor(private readonly sql: SqlExecutor) {}

  async getLine(channel: string, lineKey: string): Promise<OrderLineRecord | null> {
    const row = await this.sql.get(
      `SELECT ${columns} FROM order_lines o JOIN channels c ON c.id = o.channel_id WHERE c.code = $1 AND o.line_key = $2`,
      [channel, lineKey],
    );
    return row ? fromRow(row) : null;
  }

  async saveLine(record: OrderLineRecord): Promise<boolean> {
    const values = [
      record.channel,
      record.lineKey,
      record.orderId,
      record.lineId,
      JSON.stringify(record.item),
      record.sku,
      JSON.stringify(record.state),
      JSON.stringify(record.applied),
      record.pending === null ? null : JSON.stringify(record.pending),
      record.seq,
      record.status,
      record.reason,
      record.updatedAt,
    ];
    let written: boolean;
    if (record.version === 0) {
      const inserted = await this.sql.run(
        `INSERT INTO order_lines (channel_id, line_key, order_id, line_id, item, sku, state, applied, pending, seq,
           version, status, reason, created_at, updated_at)
         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $13 FROM channels WHERE code = $1
         ON CONFLICT (channel_id, line_key) DO NOTHING`,
        values,
      );
      written = inserted === 1;
    } else {
      const updated = await this.sql.run(
        `UPDATE order_lines SET order_id = $3, line_id = $4, item = $5, sku = $6, state = $7, applied = $8, pending = $9,
         seq = $10, status = $11, reason = $12, updated_at = $13, version = version + 1
       WHERE channel_id = (SELECT id FROM channels WHERE code = $1) AND line_key = $2 AND version = $14`,
        [...values, record.version],
      );
      written = updated === 1;
    }
    if (written) await this.noteUnmapped(record);
    return written;
  }

  /** An order line whose item matches no variant shows in GET /v1/unmapped too, until it is matched. */
  private async noteUnmapped(record: OrderLineRecord): Promise<void> {
    const channel = await this.sql.get<{ id: number }>('SELECT id FROM channels WHERE code = $1', [record.channel]);
    if (!channel) return;
    if (record.sku === null && record.status === 'blocked')
      await this.sql.run(rememberUnmappedItem, [
        Number(channel.id),
        record.item.externalId,
        record.item.sku,
        record.item.barcode,
        `order line ${record.lineKey}: ${record.reason ?? 'unmapped'}`.slice(0, 500),
        record.updatedAt,
      ]);
    else if (record.sku !== null && record.pending?.step === 1)
      await this.sql.run(deleteUnmappedItem, [Number(channel.id), record.item.externalId]);
  }

  async orderLines(channel: string, orderId: string): Promise<OrderLineRecord[]> {
    const rows = await this.sql.all(
      `SELECT ${columns} FROM order_lines o JOIN channels c ON c.id = o.channel_id
       WHERE c.code = $1 AND o.order_id = $2 ORDER BY o.line_key${this.sql.dialect.byteOrder}`,
      [channel, orderId],
    );
    return rows.map(fromRow);
  }

  async inbox(options: { channel?: string | undefined; limit: number; after?: string | undefined }): Promise<{
    lines: OrderLineRecord[];
    next: string | null;
  }> {
    const split = options.after === undefined ? -1 : options.after.indexOf(':');
    const afterAt = split > 0 ? Number(options.after!.slice(0, split)) : -1;
    const afterKey = split > 0 ? options.after!.slice(split + 1) : '';
    const byte = this.sql.dialect.byteOrder;
    const rows = await this.sql.all(
      `SELECT ${columns} FROM order_lines o JOIN channels c ON c.id = o.channel_id
       WHERE o.status = 'blocked' AND ($1::text IS NULL OR c.code = $1)
         AND (o.updated_at > $2 OR (o.updated_at = $2 AND o.line_key${byte} > $3${byte}))
       ORDER BY o.updated_at, o.line_key${byte} LIMIT $4`.replaceAll(
        '$1::text',
        this.sql.dialect.name === 'postgres' ? '$1::text' : '$1',
      ),
      [options.channel ?? null, Number.isFinite(afterAt) ? afterAt : -1, afterKey, options.limit + 1],
    );
    const lines = rows.slice(0, options.limit).map(fromRow);
    const last = lines.at(-1);
    return { lines, next: rows.length > options.limit && last ? `${last.updatedAt}:${last.lineKey}` : null };
  }

  async linesToRetry(options: {
    channel?: string | undefined;
    pendingBefore: number;
    limit: number;
  }): Promise<{ channel: string; lineKey: string }[]> {
    const text = this.sql.dialect.name === 'postgres' ? '$1::text' : '$1';
    const rows = await this.sql.all<{ channel: string; line_key: string }>(
      `SELECT c.code AS channel, o.line_key FROM order_lines o JOIN channels c ON c.id = o.channel_id
       WHERE (o.status = 'blocked' OR (o.pending IS NOT NULL AND o.updated_at < $2)) AND (${text} IS NULL OR c.code = ${text})
       ORDER BY o.updated_at LIMIT $3`,
      [options.channel ?? null, options.pendingBefore, options.limit],
    );
    return rows.map((row) => ({ channel: String(row.channel), lineKey: String(row.line_key) }));
  }

  async countLines(): Promise<{ channel: string; status: OrderLineStatus; lines: number }[]> {
    const rows = await this.sql.all<{ channel: string; status: string; n: number }>(
      `SELECT c.code AS channel, o.status, count(*) AS n FROM order_lines o JOIN channels c ON c.id = o.channel_id
       GROUP BY c.code, o.status ORDER BY c.code, o.status`,
    );
    return rows.map((row) => ({
      channel: String(row.channel),
      status: row.status as OrderLineStatus,
      lines: Number(row.n),
    }));
  }
}
