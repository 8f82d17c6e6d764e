import type { EpochMs } from '../../core/clock.js';
import { reservationView, type ReservationView } from '../../core/ledger/apply-commands.js';
import {
  decodeFeedCursor,
  decodePurchaseOrderCursor,
  decodeReservationCursor,
  encodeFeedCursor,
  encodePurchaseOrderCursor,
  encodeReservationCursor,
} from '../list-cursors.js';
import type {
  ActiveFilter,
  FeedPage,
  MovementView,
  Page,
  PurchaseOrderRecord,
  PurchaseOrderStatus,
  ReservationListStatus,
} from '../ledger-store.js';
import { reservationFromRow, type ReservationRow } from '../rows.js';
import { CursorError, movementView, type MovementRow } from '../views.js';
import type { SqlExecutor } from './sql-executor.js';

/**
 * The lists users page through, one SQL text for both engines. Every page is a keyset page
 * (WHERE key after the cursor ORDER BY key LIMIT n + 1, the extra row telling whether another
 * page exists) walked along an index of migration 0014, so a page costs the same at row 10 as
 * at row 10 million. The plans were read with EXPLAIN QUERY PLAN (SQLite) and EXPLAIN
 * (PostgreSQL) and are quoted in docs/LISTS.md.
 */

function refused(): CursorError {
  return new CursorError('cursor is not one this server issued');
}

/** `active=true|false|all` as a condition on `alias.deactivated_at`. */
export function activeCondition(alias: string, active: ActiveFilter | undefined): string {
  if (active === 'all') return '1 = 1';
  return active === 'false' ? `${alias}.deactivated_at IS NOT NULL` : `${alias}.deactivated_at IS NULL`;
}

/**
 * Reservations newest first. Each status reads one range of `reservations_status_created`
 * (`all` of `reservations_created`, a sku of `reservations_variant_created`); `expired` is two
 * statuses (expired, and pending past its expiry, as GET /v1/reservations/{id} shows it), so it
 * reads both ranges, each at most a page, and merges them: an OR in one statement made SQLite
 * merge two indexes and sort the whole result (EXPLAIN QUERY PLAN: MULTI-INDEX OR, USE TEMP
 * B-TREE FOR ORDER BY).
 */
export async function listReservations(
  sql: SqlExecutor,
  options: {
    status: ReservationListStatus;
    sku?: string | undefined;
    location?: string | undefined;
    channel?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  },
  now: EpochMs,
): Promise<Page<ReservationView>> {
  const after = options.cursor === undefined ? null : decodeReservationCursor(options.cursor);
  if (after === null && options.cursor !== undefined) throw refused();
  const range = (status: 'pending-live' | 'pending-due' | 'committed' | 'released' | 'expired' | null) =>
    reservationRange(sql, options, after, status, now);
  let rows: ReservationRow[];
  switch (options.status) {
    case 'active':
      rows = await range('pending-live');
      break;
    case 'expired':
      rows = newestFirst([...(await range('expired')), ...(await range('pending-due'))]).slice(0, options.limit + 1);
      break;
    case 'all':
      rows = await range(null);
      break;
    default:
      rows = await range(options.status);
  }
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => reservationView(reservationFromRow(normalReservation(row)), now)),
    next_cursor: rows.length > options.limit && last ? encodeReservationCursor(Number(last.created_at), last.id) : null,
  };
}

/** The order of the page: created_at, then id in byte order, both descending. */
function newestFirst(rows: ReservationRow[]): ReservationRow[] {
  return rows.sort(
    (a, b) => Number(b.created_at) - Number(a.created_at) || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id)),
  );
}

/** One range of at most a page plus one, newest first, after the cursor. */
async function reservationRange(
  sql: SqlExecutor,
  options: { sku?: string | undefined; location?: string | undefined; channel?: string | undefined; limit: number },
  after: { createdAt: number; id: string } | null,
  status: 'pending-live' | 'pending-due' | 'committed' | 'released' | 'expired' | null,
  now: EpochMs,
): Promise<ReservationRow[]> {
  const c = sql.dialect.byteOrder;
  const params: unknown[] = [options.limit + 1];
  const where: string[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (status === 'pending-live')
    where.push(`r.status = 'pending' AND (r.expires_at IS NULL OR r.expires_at > ${param(now)})`);
  else if (status === 'pending-due') where.push(`r.status = 'pending' AND r.expires_at <= ${param(now)}`);
  else if (status !== null) where.push(`r.status = ${param(status)}`);
  if (options.sku !== undefined)
    where.push(`r.variant_id = (SELECT id FROM variants WHERE sku = ${param(options.sku)})`);
  if (options.location !== undefined)
    where.push(`r.location_id = (SELECT id FROM locations WHERE code = ${param(options.location)})`);
  if (options.channel !== undefined) where.push(`r.channel = ${param(options.channel)}`);
  if (after) where.push(`(r.created_at, r.id${c}) < (${param(after.createdAt)}, ${param(after.id)}${c})`);
  return sql.all<ReservationRow>(
    `SELECT r.*, v.sku AS sku, l.code AS location_code
     FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id
     ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
     ORDER BY r.created_at DESC, r.id${c} DESC LIMIT $1`,
    params,
  );
}

function normalReservation(row: ReservationRow): ReservationRow {
  return {
    ...row,
    variant_id: Number(row.variant_id),
    location_id: Number(row.location_id),
    quantity: Number(row.quantity),
    committed_quantity: Number(row.committed_quantity),
    expires_at: row.expires_at === null ? null : Number(row.expires_at),
    created_at: Number(row.created_at),
    resolved_at: row.resolved_at === null ? null : Number(row.resolved_at),
  };
}

/**
 * The feed, in the dialect's visibility order (sql-executor.ts, `movementFeed`):
 * 1. the start is the cursor, else the last movement recorded before `since` (the feed starts
 *    right after it, so a movement recorded at `since` is never missed), else the beginning;
 * 2. one range scan of the feed index from there, filtered by type and location;
 * 3. the page stops before the first movement recorded at or after `until`.
 */
export async function movementFeed(
  sql: SqlExecutor,
  options: {
    since?: EpochMs | undefined;
    until?: EpochMs | undefined;
    type?: string | undefined;
    location?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  },
): Promise<FeedPage<MovementView>> {
  const feed = sql.dialect.movementFeed;
  let start: { xact: string; id: number } | null = null;
  if (options.cursor !== undefined) {
    start = decodeFeedCursor(options.cursor);
    if (start === null) throw refused();
  } else if (options.since !== undefined) {
    const before = await sql.get<{ xact: string; id: number }>(
      `SELECT ${feed.xact} AS xact, m.id FROM movements m WHERE m.recorded_at < $1 ORDER BY m.recorded_at DESC, m.id DESC LIMIT 1`,
      [options.since],
    );
    if (before) start = { xact: String(before.xact), id: Number(before.id) };
  }
  const params: unknown[] = [options.limit + 1];
  const where: string[] = [];
  if (start) {
    params.push(start.xact, start.id);
    where.push(feed.after(2, 3));
  }
  if (options.type !== undefined) {
    params.push(options.type);
    where.push(`m.type = $${params.length}`);
  }
  if (options.location !== undefined) {
    params.push(options.location);
    where.push(`m.location_id = (SELECT id FROM locations WHERE code = $${params.length})`);
  }
  const rows = await sql.all<MovementRow & { feed_xact: string }>(
    `SELECT m.*, ${feed.xact} AS feed_xact, v.sku AS sku, l.code AS location_code, c.code AS counterpart_code
     FROM movements m
     JOIN variants v ON v.id = m.variant_id
     JOIN locations l ON l.id = m.location_id
     LEFT JOIN locations c ON c.id = m.counterpart_location_id
     WHERE ${where.length === 0 ? '1 = 1' : where.join(' AND ')} ${feed.settled}
     ORDER BY ${feed.order} LIMIT $1`,
    params,
  );
  let page = rows.slice(0, options.limit);
  let reachedUntil = false;
  if (options.until !== undefined) {
    const cut = page.findIndex((row) => Number(row.recorded_at) >= options.until!);
    if (cut >= 0) {
      page = page.slice(0, cut);
      reachedUntil = true;
    }
  }
  const last = page[page.length - 1];
  const position = last ? encodeFeedCursor(String(last.feed_xact), Number(last.id)) : (options.cursor ?? null);
  const hasMore = !reachedUntil && rows.length > options.limit;
  return {
    items: page.map(movementView),
    next_cursor: reachedUntil ? null : (position ?? (start ? encodeFeedCursor(start.xact, start.id) : null)),
    has_more: hasMore,
  };
}

export async function listPurchaseOrders(
  sql: SqlExecutor,
  options: {
    status?: PurchaseOrderStatus | undefined;
    sku?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  },
): Promise<Page<PurchaseOrderRecord>> {
  const c = sql.dialect.byteOrder;
  const after = options.cursor === undefined ? null : decodePurchaseOrderCursor(options.cursor);
  if (after === null && options.cursor !== undefined) throw refused();
  const params: unknown[] = [options.limit + 1];
  const where: string[] = [];
  if (options.status !== undefined) {
    params.push(options.status);
    where.push(`po.status = $${params.length}`);
  }
  if (options.sku !== undefined) {
    params.push(options.sku);
    where.push(`EXISTS (SELECT 1 FROM purchase_order_lines pol WHERE pol.purchase_order_id = po.id
      AND pol.variant_id = (SELECT id FROM variants WHERE sku = $${params.length}))`);
  }
  if (after !== null) {
    params.push(after);
    where.push(`po.id${c} > $${params.length}${c}`);
  }
  const headers = await sql.all<{
    id: string;
    supplier: string | null;
    status: PurchaseOrderStatus;
    created_at: number;
    updated_at: number;
  }>(
    `SELECT po.* FROM purchase_orders po ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
     ORDER BY po.id${c} LIMIT $1`,
    params,
  );
  const page = headers.slice(0, options.limit);
  const lines =
    page.length === 0
      ? []
      : await sql.all<{
          purchase_order_id: string;
          line: number;
          sku: string;
          code: string;
          quantity_ordered: number;
          quantity_received: number;
          expected_at: number | null;
        }>(
          `SELECT pol.purchase_order_id, pol.line, v.sku, l.code, pol.quantity_ordered, pol.quantity_received, pol.expected_at
           FROM purchase_order_lines pol JOIN variants v ON v.id = pol.variant_id JOIN locations l ON l.id = pol.location_id
           WHERE pol.purchase_order_id ${sql.dialect.anyOf(1, 'text')} ORDER BY pol.purchase_order_id${c}, pol.line`,
          [page.map((header) => header.id)],
        );
  const last = page[page.length - 1];
  return {
    items: page.map((header) => ({
      id: header.id,
      supplier: header.supplier,
      status: header.status,
      createdAt: Number(header.created_at),
      updatedAt: Number(header.updated_at),
      lines: lines
        .filter((line) => line.purchase_order_id === header.id)
        .map((line) => ({
          line: Number(line.line),
          sku: line.sku,
          location: line.code,
          quantityOrdered: Number(line.quantity_ordered),
          quantityReceived: Number(line.quantity_received),
          incoming:
            header.status === 'open' ? Math.max(0, Number(line.quantity_ordered) - Number(line.quantity_received)) : 0,
          expectedAt: line.expected_at === null ? null : Number(line.expected_at),
        })),
    })),
    next_cursor: headers.length > options.limit && last ? encodePurchaseOrderCursor(last.id) : null,
  };
}

export async function inactiveAmong(
  sql: SqlExecutor,
  refs: { skus: readonly string[]; locations: readonly string[] },
): Promise<{ skus: string[]; locations: string[] }> {
  const skus =
    refs.skus.length === 0
      ? []
      : await sql.all<{ sku: string }>(
          `SELECT sku FROM variants WHERE sku ${sql.dialect.anyOf(1, 'text')} AND deactivated_at IS NOT NULL`,
          [[...new Set(refs.skus)]],
        );
  const locations =
    refs.locations.length === 0
      ? []
      : await sql.all<{ code: string }>(
          `SELECT code FROM locations WHERE code ${sql.dialect.anyOf(1, 'text')} AND deactivated_at IS NOT NULL`,
          [[...new Set(refs.locations)]],
        );
  return { skus: skus.map((row) => row.sku), locations: locations.map((row) => row.code) };
}
