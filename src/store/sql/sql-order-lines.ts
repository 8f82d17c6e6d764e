import { limits } from '../../core/limits.js';
import type { Page, SideWrite } from '../ledger-store.js';
import { decodeOrderLineCursor, encodeOrderLineCursor } from '../list-cursors.js';
import { CursorError } from '../views.js';
import type { OrderLinePort, OrderLineRecord, OrderLineStatus } from '../order-lines-port.js';
import { deleteUnmappedItem, rememberUnmappedItem } from './sql-availability-writes.js';
import { jsonValue, type SqlExecutor } from './sql-executor.js';

const columns = `c.code AS channel, o.line_key, o.order_id, o.line_id, o.item, o.sku, o.state, o.applied,
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
    seq: Number(row.seq),
    version: Number(row.version),
    status: String(row.status) as OrderLineStatus,
    reason: row.reason === null ? null : String(row.reason),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The order-line slice, one SQL text for both engines. */
/** One statement of a batch written in one transaction. */
export interface SqlStatement {
  sql: string;
  params: unknown[];
}

/** Runs statements in one transaction, in order; resolves to each one's changed-row count. */
export type SqlWriteBatch = (statements: readonly SqlStatement[]) => Promise<number[]>;

export class SqlOrderLines implements OrderLinePort {
  constructor(
    private readonly sql: SqlExecutor,
    private readonly writeBatch: SqlWriteBatch,
  ) {}

  async getLine(channel: string, lineKey: string): Promise<OrderLineRecord | null> {
    const row = await this.sql.get(
      `SELECT ${columns} FROM order_lines o JOIN channels c ON c.id = o.channel_id WHERE c.code = $1 AND o.line_key = $2`,
      [channel, lineKey],
    );
    return row ? fromRow(row) : null;
  }

  async getLines(channel: string, lineKeys: readonly string[]): Promise<Map<string, OrderLineRecord>> {
    if (lineKeys.length === 0) return new Map();
    const rows = await this.sql.all(
      `SELECT ${columns} FROM order_lines o JOIN channels c ON c.id = o.channel_id
       WHERE c.code = $1 AND o.line_key ${this.sql.dialect.anyOf(2, 'text')}`,
      [channel, [...new Set(lineKeys)]],
    );
    return new Map(rows.map((row) => [String(row.line_key), fromRow(row)]));
  }

  /** Saves waiting for the write in flight; each resolves with its own compare-and-set result. */
  private readonly queue: {
    record: OrderLineRecord;
    resolve: (written: boolean) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private flushing = false;

  /**
   * Saves are group-committed: those that arrive while a write is in flight go together in the
   * next transaction (one fsync for many lines), each with its own version check, so a line that
   * lost its compare-and-set does not fail the others.
   */
  saveLine(record: OrderLineRecord): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, limits.orderLineWriteBatchMax);
        const statements: SqlStatement[] = [];
        const writeAt: number[] = [];
        for (const { record } of batch) {
          writeAt.push(statements.length);
          statements.push(this.writeStatement(record));
          const note = this.unmappedStatement(record);
          if (note) statements.push(note);
        }
        try {
          const counts = await this.writeBatch(statements);
          for (const [index, entry] of batch.entries()) entry.resolve(counts[writeAt[index]!] === 1);
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  lineWrites(record: OrderLineRecord): SideWrite[] {
    const note = this.unmappedStatement(record);
    return [{ ...this.writeStatement(record), expectRows: 1 }, ...(note ? [note] : [])];
  }

  private writeStatement(record: OrderLineRecord): SqlStatement {
    const values = [
      record.channel,
      record.lineKey,
      record.orderId,
      record.lineId,
      JSON.stringify(record.item),
      record.sku,
      JSON.stringify(record.state),
      JSON.stringify(record.applied),
      record.seq,
      record.status,
      record.reason,
      record.updatedAt,
    ];
    if (record.version === 0)
      return {
        sql: `INSERT INTO order_lines (channel_id, line_key, order_id, line_id, item, sku, state, applied, seq,
           version, status, reason, created_at, updated_at)
         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $12 FROM channels WHERE code = $1
         ON CONFLICT (channel_id, line_key) DO NOTHING`,
        params: values,
      };
    return {
      sql: `UPDATE order_lines SET order_id = $3, line_id = $4, item = $5, sku = $6, state = $7, applied = $8,
         seq = $9, status = $10, reason = $11, updated_at = $12, version = version + 1
       WHERE channel_id = (SELECT id FROM channels WHERE code = $1) AND line_key = $2 AND version = $13`,
      params: [...values, record.version],
    };
  }

  /**
   * An order line whose item matches no variant shows in GET /v1/unmapped too, until it is
   * matched (its first step).
   */
  private unmappedStatement(record: OrderLineRecord): SqlStatement | null {
    const channelId = '(SELECT id FROM channels WHERE code = $1)';
    if (record.sku === null && record.status === 'blocked')
      return {
        sql: rememberUnmappedItem.replace('VALUES ($1,', `VALUES (${channelId},`),
        params: [
          record.channel,
          record.item.externalId,
          record.item.sku,
          record.item.barcode,
          `order line ${record.lineKey}: ${record.reason ?? 'unmapped'}`.slice(0, 500),
          record.updatedAt,
        ],
      };
    if (record.sku !== null && record.seq === 1)
      return {
        sql: deleteUnmappedItem.replace('channel_id = $1', `channel_id = ${channelId}`),
        params: [record.channel, record.item.externalId],
      };
    return null;
  }

  async channelsOfLines(
    lines: readonly { orderId: string; lineKey: string }[],
  ): Promise<{ channel: string; orderId: string; lineKey: string }[]> {
    if (lines.length === 0) return [];
    const orderIds = [...new Set(lines.map((line) => line.orderId))];
    const lineKeys = [...new Set(lines.map((line) => line.lineKey))];
    const list = (values: readonly string[], from: number) => values.map((_, index) => `$${from + index}`).join(', ');
    // channel_id IN (every channel) lets both engines use order_lines_order (channel_id, order_id).
    const rows = await this.sql.all(
      `SELECT c.code AS channel, o.order_id, o.line_key FROM order_lines o JOIN channels c ON c.id = o.channel_id
       WHERE o.channel_id IN (SELECT id FROM channels) AND o.order_id IN (${list(orderIds, 1)})
         AND o.line_key IN (${list(lineKeys, orderIds.length + 1)})
       ORDER BY c.code${this.sql.dialect.byteOrder}`,
      [...orderIds, ...lineKeys],
    );
    const wanted = new Set(lines.map((line) => `${line.orderId}\u0000${line.lineKey}`));
    return rows
      .map((row) => ({ channel: String(row.channel), orderId: String(row.order_id), lineKey: String(row.line_key) }))
      .filter((line) => wanted.has(`${line.orderId}\u0000${line.lineKey}`));
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
    limit: number;
  }): Promise<{ channel: string; lineKey: string }[]> {
    const text = this.sql.dialect.name === 'postgres' ? '$1::text' : '$1';
    const rows = await this.sql.all<{ channel: string; line_key: string }>(
      `SELECT c.code AS channel, o.line_key FROM order_lines o JOIN channels c ON c.id = o.channel_id
       WHERE o.status = 'blocked' AND (${text} IS NULL OR c.code = ${text})
       ORDER BY o.updated_at LIMIT $2`,
      [options.channel ?? null, options.limit],
    );
    return rows.map((row) => ({ channel: String(row.channel), lineKey: String(row.line_key) }));
  }

  async staleOpenOrders(channel: string, options: { updatedBefore: number; limit: number }): Promise<string[]> {
    const rows = await this.sql.all<{ order_id: string }>(
      `SELECT o.order_id, min(o.updated_at) AS since FROM order_lines o JOIN channels c ON c.id = o.channel_id
       WHERE c.code = $1 AND o.status = 'open' AND o.updated_at < $2
       GROUP BY o.order_id ORDER BY since, o.order_id LIMIT $3`,
      [channel, options.updatedBefore, options.limit],
    );
    return rows.map((row) => String(row.order_id));
  }

  /**
   * Newest first, a keyset page: WHERE (created_at, channel, line key) before the cursor ORDER
   * BY the same key LIMIT n + 1, the extra row telling whether another page exists. The filters
   * are plain conditions; the page reads `order_lines_channel_created` when a channel is named.
   */
  async listLines(options: {
    sku?: string | undefined;
    channel?: string | undefined;
    status: OrderLineStatus | 'all';
    cursor?: string | undefined;
    limit: number;
  }): Promise<Page<OrderLineRecord>> {
    const after = options.cursor === undefined ? null : decodeOrderLineCursor(options.cursor);
    if (after === null && options.cursor !== undefined) throw new CursorError('cursor is not one this server issued');
    const c = this.sql.dialect.byteOrder;
    const params: unknown[] = [options.limit + 1];
    const where: string[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (options.status !== 'all') where.push(`o.status = ${param(options.status)}`);
    if (options.sku !== undefined) where.push(`o.sku = ${param(options.sku)}`);
    if (options.channel !== undefined) where.push(`c.code = ${param(options.channel)}`);
    if (after)
      where.push(
        `(o.created_at, c.code${c}, o.line_key${c}) < (${param(after.createdAt)}, ${param(after.channel)}${c}, ${param(after.lineKey)}${c})`,
      );
    const rows = await this.sql.all(
      `SELECT ${columns} FROM order_lines o JOIN channels c ON c.id = o.channel_id
       ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
       ORDER BY o.created_at DESC, c.code${c} DESC, o.line_key${c} DESC LIMIT $1`,
      params,
    );
    const items = rows.slice(0, options.limit).map(fromRow);
    const last = items.at(-1);
    return {
      items,
      next_cursor:
        rows.length > options.limit && last ? encodeOrderLineCursor(last.createdAt, last.channel, last.lineKey) : null,
    };
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
