import type { EpochMs } from '../../core/clock.js';
import type { StockListPage, StockListQuery, StockListRow } from '../ledger-store.js';
import { CursorError } from '../views.js';
import type { SqlExecutor } from './sql-executor.js';

/**
 * The stock grid (`GET /v1/stock`): plain variants (a bundle has no levels of its own; its
 * stock is on its own page), keyset-paged by sku or by (available, sku), one SQL text for both
 * engines.
 *
 * Method, in two steps:
 * 1. the page's keys: one query over `variants` with the figure it filters and sorts on as a
 *    correlated sum over the variant's levels (primary-key lookups). Sorted by sku it walks the
 *    sku index and stops after limit + 1 rows; sorted by available it computes the sum for every
 *    variant the filters keep (bench/README.md, Stock grid, has the figures at 250,000 variants).
 *    The key is `on_hand - reserved` as stored: holds past their expiry are released in it by the
 *    sweeper within a second, so the order may lag the shown figure by that long;
 * 2. the page's details for those variants only, three queries: the levels (with expired holds
 *    counted as released, as every other stock view does), the incoming purchase order units,
 *    and each listing's desired and shown quantities.
 */

interface StockCursor {
  sort: 'sku' | 'available';
  sku: string;
  available?: number;
}

export function encodeStockCursor(cursor: StockCursor): string {
  return Buffer.from(JSON.stringify(['s', cursor.sort, cursor.sku, cursor.available ?? null]), 'utf8').toString(
    'base64url',
  );
}

function decodeStockCursor(text: string | undefined, sort: StockCursor['sort']): StockCursor | null {
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('cursor is not one this server issued');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== 's' || typeof parsed[2] !== 'string')
    throw new CursorError('cursor is not one this server issued');
  if (parsed[1] !== sort) throw new CursorError(`cursor was issued for sort=${String(parsed[1])}, not sort=${sort}`);
  if (sort === 'available' && !Number.isSafeInteger(parsed[3]))
    throw new CursorError('cursor is not one this server issued');
  return sort === 'available' ? { sort, sku: parsed[2], available: parsed[3] } : { sort, sku: parsed[2] };
}

/** LIKE pattern matching `text` anywhere, its own % _ and \ escaped. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
}

interface KeyRow {
  id: number;
  sku: string;
  name: string;
  available: number;
}

export async function listStockPage(sql: SqlExecutor, query: StockListQuery, now: EpochMs): Promise<StockListPage> {
  const byteOrder = sql.dialect.byteOrder;
  const sort = query.sort ?? 'sku';
  const cursor = decodeStockCursor(query.cursor, sort);
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  let locationId: number | null = null;
  if (query.location !== undefined) {
    const location = await sql.get<{ id: number }>('SELECT id FROM locations WHERE code = $1', [query.location]);
    if (!location) return { items: [], next_cursor: null, location_found: false };
    locationId = Number(location.id);
  }
  const atLocation = locationId === null ? '' : ` AND lv.location_id = ${param(locationId)}`;
  const where = ['v.is_bundle = 0'];
  if (query.skuPrefix !== undefined && query.skuPrefix !== '') {
    // A range, so the sku index bounds the walk: every sku starting with the prefix sorts
    // between the prefix and the prefix followed by the highest code point (byte order).
    where.push(`v.sku${byteOrder} >= ${param(query.skuPrefix)}`);
    where.push(`v.sku${byteOrder} < ${param(`${query.skuPrefix}\u{10FFFF}`)}`);
  }
  if (query.q !== undefined && query.q !== '') {
    const pattern = param(containsPattern(query.q));
    where.push(`(lower(v.sku) LIKE ${pattern} ESCAPE '\\' OR lower(v.name) LIKE ${pattern} ESCAPE '\\')`);
  }
  const outer: string[] = [];
  if (query.lowStock) outer.push(`s.available <= ${param(query.lowStockAvailableMax)}`);
  if (cursor && sort === 'sku') outer.push(`s.sku${byteOrder} > ${param(cursor.sku)}`);
  if (cursor && sort === 'available') {
    const available = param(cursor.available);
    outer.push(
      `(s.available > ${available} OR (s.available = ${available} AND s.sku${byteOrder} > ${param(cursor.sku)}))`,
    );
  }
  const order = sort === 'sku' ? `s.sku${byteOrder}` : `s.available, s.sku${byteOrder}`;
  // By sku: a correlated sum per row, so the walk of the sku index stops after limit + 1 rows.
  // By available every variant's sum is needed: one grouped pass over the levels, joined,
  // instead of a lookup per variant (PostgreSQL at 250,000 variants: 2.5 s -> see bench/README.md).
  const available =
    sort === 'sku'
      ? `COALESCE((SELECT sum(lv.on_hand - lv.reserved) FROM levels lv WHERE lv.variant_id = v.id${atLocation}), 0)`
      : 'COALESCE(a.available, 0)';
  const sums =
    sort === 'sku'
      ? ''
      : `LEFT JOIN (SELECT lv.variant_id, sum(lv.on_hand - lv.reserved) AS available FROM levels lv
           WHERE 1 = 1${atLocation} GROUP BY lv.variant_id) a ON a.variant_id = v.id`;
  const rows = await sql.all<KeyRow>(
    `SELECT s.id, s.sku, s.name, s.available FROM (
       SELECT v.id, v.sku, v.name, ${available} AS available
       FROM variants v ${sums} WHERE ${where.join(' AND ')}
     ) s ${outer.length > 0 ? `WHERE ${outer.join(' AND ')}` : ''}
     ORDER BY ${order} LIMIT ${param(query.limit + 1)}`,
    params,
  );
  const keys = rows
    .slice(0, query.limit)
    .map((row) => ({ ...row, id: Number(row.id), available: Number(row.available) }));
  const last = keys[keys.length - 1];
  const next_cursor =
    rows.length > query.limit && last
      ? encodeStockCursor(sort === 'sku' ? { sort, sku: last.sku } : { sort, sku: last.sku, available: last.available })
      : null;
  if (keys.length === 0) return { items: [], next_cursor, location_found: true };
  const ids = keys.map((row) => row.id);
  const onlyLocation = locationId === null ? '' : ' AND lv.location_id = $3';
  const detailParams = (first: unknown[]) => (locationId === null ? first : [...first, locationId]);
  const [levels, incoming, listings] = await Promise.all([
    sql.all<{
      variant_id: number;
      code: string;
      on_hand: number;
      reserved: number;
      due_held: number;
    }>(
      `SELECT lv.variant_id, l.code, lv.on_hand, lv.reserved,
         COALESCE((SELECT sum(r.quantity) FROM reservations r WHERE r.variant_id = lv.variant_id AND r.location_id = lv.location_id
           AND r.status = 'pending' AND r.expires_at IS NOT NULL AND r.expires_at <= $2), 0) AS due_held
       FROM levels lv JOIN locations l ON l.id = lv.location_id
       WHERE lv.variant_id ${sql.dialect.anyOf(1, 'bigint')}${onlyLocation}
       ORDER BY l.code${byteOrder}`,
      detailParams([ids, now]),
    ),
    sql.all<{ variant_id: number; code: string; quantity: number }>(
      `SELECT pol.variant_id, l.code, sum(pol.quantity_ordered - pol.quantity_received) AS quantity
       FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id
         JOIN locations l ON l.id = pol.location_id
       WHERE pol.variant_id ${sql.dialect.anyOf(1, 'bigint')} AND po.status = 'open'
         AND pol.quantity_ordered > pol.quantity_received${locationId === null ? '' : ' AND pol.location_id = $2'}
       GROUP BY pol.variant_id, l.code`,
      locationId === null ? [ids] : [ids, locationId],
    ),
    sql.all<{
      variant_id: number;
      channel: string;
      listing_id: number;
      external_id: string;
      quantity: number;
      channel_quantity: number | null;
      dispatch_state: string;
    }>(
      `SELECT lq.variant_id, c.code AS channel, li.id AS listing_id, li.external_id, lq.quantity, lq.channel_quantity,
         lq.dispatch_state
       FROM listing_quantities lq JOIN listings li ON li.id = lq.listing_id JOIN channels c ON c.id = li.channel_id
       WHERE lq.variant_id ${sql.dialect.anyOf(1, 'bigint')}
       ORDER BY c.code${byteOrder}, li.id`,
      [ids],
    ),
  ]);
  const items = new Map<number, StockListRow>();
  for (const key of keys)
    items.set(key.id, {
      sku: key.sku,
      name: key.name,
      locations: [],
      total: { on_hand: 0, reserved: 0, available: 0, incoming: 0 },
      channels: [],
    });
  const incomingAt = new Map<string, number>();
  for (const row of incoming) incomingAt.set(`${Number(row.variant_id)}\u0000${row.code}`, Number(row.quantity));
  for (const row of levels) {
    const item = items.get(Number(row.variant_id))!;
    const onHand = Number(row.on_hand);
    const reserved = Number(row.reserved) - Number(row.due_held);
    const inbound = incomingAt.get(`${Number(row.variant_id)}\u0000${row.code}`) ?? 0;
    incomingAt.delete(`${Number(row.variant_id)}\u0000${row.code}`);
    item.locations.push({
      location: row.code,
      on_hand: onHand,
      reserved,
      available: onHand - reserved,
      incoming: inbound,
    });
  }
  // Units on order for a location the variant has no level at yet.
  for (const [key, quantity] of incomingAt) {
    const [variantId, code] = key.split('\u0000') as [string, string];
    items
      .get(Number(variantId))!
      .locations.push({ location: code, on_hand: 0, reserved: 0, available: 0, incoming: quantity });
  }
  for (const item of items.values()) {
    item.locations.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
    for (const level of item.locations) {
      item.total.on_hand += level.on_hand;
      item.total.reserved += level.reserved;
      item.total.available += level.available;
      item.total.incoming += level.incoming;
    }
  }
  for (const row of listings) {
    const shown = row.channel_quantity === null ? null : Number(row.channel_quantity);
    const desired = Number(row.quantity);
    items.get(Number(row.variant_id))!.channels.push({
      channel: row.channel,
      listing_id: String(row.listing_id),
      external_id: row.external_id,
      desired,
      shown,
      drift: shown === null ? null : shown - desired,
      state: row.dispatch_state as 'pending' | 'done' | 'dead',
    });
  }
  return { items: [...items.values()], next_cursor, location_found: true };
}
