import type { EpochMs } from '../../core/clock.js';
import { reservationView, type ReservationView } from '../../core/ledger/apply-commands.js';
import type {
  FeedPage,
  LevelListing,
  MovementView,
  Page,
  ReservationListStatus,
  StockListPage,
  StockListQuery,
  StockView,
  VerifyReport,
} from '../ledger-store.js';
import { listReservations, movementFeed } from './sql-lists.js';
import { listStockPage } from './sql-stock-list.js';
import { compareLevels, levelMissingSql, reservationFromRow, type ReservationRow } from '../rows.js';
import {
  bundleStockView,
  CursorError,
  decodeCursor,
  movementView,
  pageOf,
  stockView,
  type IncomingRow,
  type LevelRow,
  type MovementRow,
} from '../views.js';
import type { SqlExecutor } from './sql-executor.js';

export const movementSelect = `
  SELECT m.*, v.sku AS sku, l.code AS location_code, c.code AS counterpart_code
  FROM movements m
  JOIN variants v ON v.id = m.variant_id
  JOIN locations l ON l.id = m.location_id
  LEFT JOIN locations c ON c.id = m.counterpart_location_id`;

export const reservationSelect = `
  SELECT r.*, v.sku AS sku, l.code AS location_code
  FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id`;

/**
 * The ledger slice's reads and checks, one SQL text for both engines: stock, movements,
 * reservations, oversells, the levels the sweeper tidies, verify. Each engine's ledger extends
 * it with its own applyBatch (the hot path) and answer pruning (which index makes it cheap
 * differs).
 */
export abstract class SqlLedgerViews {
  constructor(protected readonly views: SqlExecutor) {}

  private async levelRows(variantId: number, now: EpochMs): Promise<LevelRow[]> {
    return this.views.all<LevelRow>(
      `SELECT l.code AS location_code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.version, lv.last_count_at,
         COALESCE((SELECT sum(r.quantity) FROM reservations r WHERE r.variant_id = lv.variant_id AND r.location_id = lv.location_id
           AND r.status = 'pending' AND r.expires_at IS NOT NULL AND r.expires_at <= $1), 0) AS due_held
       FROM levels lv JOIN locations l ON l.id = lv.location_id WHERE lv.variant_id = $2 ORDER BY l.code${this.views.dialect.byteOrder}`,
      [now, variantId],
    );
  }

  /**
   * Available units of plain variants per location code (holds past their expiry count as
   * released), in one query for all of them; a bundle or an unknown sku maps to null (read
   * getStock). For routing channel order lines, which the ledger then judges under its locks.
   */
  async availableByLocation(skus: readonly string[], now: EpochMs): Promise<Map<string, Map<string, number> | null>> {
    const result = new Map<string, Map<string, number> | null>(skus.map((sku) => [sku, null]));
    if (skus.length === 0) return result;
    const rows = await this.views.all<{
      sku: string;
      code: string | null;
      available: number;
      is_bundle: number | boolean;
    }>(
      `SELECT v.sku, l.code, lv.on_hand - lv.reserved + COALESCE((SELECT sum(r.quantity) FROM reservations r
           WHERE r.variant_id = lv.variant_id AND r.location_id = lv.location_id AND r.status = 'pending'
             AND r.expires_at IS NOT NULL AND r.expires_at <= $1), 0) AS available, v.is_bundle
       FROM variants v LEFT JOIN levels lv ON lv.variant_id = v.id LEFT JOIN locations l ON l.id = lv.location_id
       WHERE v.sku ${this.views.dialect.anyOf(2, 'text')}`,
      [now, [...new Set(skus)]],
    );
    for (const row of rows) {
      if (row.is_bundle === 1 || row.is_bundle === true) continue;
      const sku = String(row.sku);
      let levels = result.get(sku);
      if (levels === null || levels === undefined) {
        levels = new Map();
        result.set(sku, levels);
      }
      if (row.code !== null) levels.set(String(row.code), Number(row.available));
    }
    return result;
  }

  async getStock(sku: string, now: EpochMs): Promise<StockView | null> {
    const byteOrder = this.views.dialect.byteOrder;
    const variant = await this.views.get<{ id: number; sku: string; name: string; is_bundle: number }>(
      'SELECT id, sku, name, is_bundle FROM variants WHERE sku = $1',
      [sku],
    );
    if (!variant) return null;
    if (variant.is_bundle === 1) {
      const components = await this.views.all<{ id: number; sku: string; quantity: number }>(
        `SELECT v.id, v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
         WHERE b.bundle_id = $1 ORDER BY v.sku${byteOrder}`,
        [variant.id],
      );
      const withLevels = [];
      for (const component of components)
        withLevels.push({ ...component, levels: await this.levelRows(component.id, now) });
      return bundleStockView(variant, withLevels);
    }
    const incoming = await this.views.all<IncomingRow>(
      `SELECT pol.purchase_order_id, pol.line, l.code AS location_code, pol.quantity_ordered - pol.quantity_received AS quantity, pol.expected_at
       FROM purchase_order_lines pol JOIN purchase_orders po ON po.id = pol.purchase_order_id JOIN locations l ON l.id = pol.location_id
       WHERE pol.variant_id = $1 AND po.status = 'open' AND pol.quantity_ordered > pol.quantity_received
       ORDER BY pol.expected_at IS NULL, pol.expected_at, pol.purchase_order_id${byteOrder}, pol.line`,
      [variant.id],
    );
    return stockView(variant, await this.levelRows(variant.id, now), incoming);
  }

  async listStock(query: StockListQuery, now: EpochMs): Promise<StockListPage> {
    return listStockPage(this.views, query, now);
  }

  async listMovements(
    sku: string,
    options: { location?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<Page<MovementView> | null> {
    const before = decodeCursor(options.cursor);
    if (before === 'invalid') throw new CursorError('cursor is not one this server issued');
    const variant = await this.views.get<{ id: number }>('SELECT id FROM variants WHERE sku = $1', [sku]);
    if (!variant) return null;
    const rows = await this.views.all<MovementRow>(
      `${movementSelect} WHERE m.variant_id = $1 AND m.id < $2 ${options.location === undefined ? '' : 'AND l.code = $4'}
       ORDER BY m.id DESC LIMIT $3`,
      [
        variant.id,
        before ?? Number.MAX_SAFE_INTEGER,
        options.limit + 1,
        ...(options.location === undefined ? [] : [options.location]),
      ],
    );
    return pageOf(rows, options.limit, movementView);
  }

  async listLevels(options: {
    after?: { sku: string; location: string } | undefined;
    skus?: readonly string[] | undefined;
    limit: number;
  }): Promise<LevelListing[]> {
    const byteOrder = this.views.dialect.byteOrder;
    const { after, skus } = options;
    const params: unknown[] = [options.limit];
    const where: string[] = [];
    if (after) {
      params.push(after.sku, after.location);
      where.push(`(v.sku${byteOrder} > $2 OR (v.sku = $2 AND l.code${byteOrder} > $3))`);
    }
    if (skus) {
      params.push([...skus]);
      where.push(`v.sku ${this.views.dialect.anyOf(params.length, 'text')}`);
    }
    const rows = await this.views.all<Record<string, unknown>>(
      `SELECT v.sku, l.code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.last_count_at
       FROM levels lv JOIN variants v ON v.id = lv.variant_id JOIN locations l ON l.id = lv.location_id
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY v.sku${byteOrder}, l.code${byteOrder} LIMIT $1`,
      params,
    );
    return rows.map((row) => ({
      sku: String(row.sku),
      location: String(row.code),
      onHand: Number(row.on_hand),
      reserved: Number(row.reserved),
      damaged: Number(row.damaged),
      quarantine: Number(row.quarantine),
      inTransit: Number(row.in_transit),
      lastCountAt: row.last_count_at === null ? null : Number(row.last_count_at),
    }));
  }

  async listMovementsRecorded(options: {
    since?: EpochMs | undefined;
    until?: EpochMs | undefined;
    afterId?: number | undefined;
    limit: number;
  }): Promise<MovementView[]> {
    const rows = await this.views.all<MovementRow>(
      `${movementSelect} WHERE m.id > $1 AND m.recorded_at >= $2 AND m.recorded_at < $3 ORDER BY m.id LIMIT $4`,
      [options.afterId ?? 0, options.since ?? 0, options.until ?? Number.MAX_SAFE_INTEGER, options.limit],
    );
    return rows.map(movementView);
  }

  async getReservation(id: string, now: EpochMs): Promise<ReservationView | null> {
    const row = await this.views.get<ReservationRow>(`${reservationSelect} WHERE r.id = $1`, [id]);
    return row ? reservationView(reservationFromRow(row), now) : null;
  }

  async listReservations(
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
    return listReservations(this.views, options, now);
  }

  async movementFeed(options: {
    since?: EpochMs | undefined;
    until?: EpochMs | undefined;
    type?: string | undefined;
    location?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  }): Promise<FeedPage<MovementView>> {
    return movementFeed(this.views, options);
  }

  async listOversells(options: { cursor?: string | undefined; limit: number }): Promise<Page<MovementView>> {
    const before = decodeCursor(options.cursor);
    if (before === 'invalid') throw new CursorError('cursor is not one this server issued');
    const rows = await this.views.all<MovementRow>(
      `${movementSelect} WHERE m.oversold > 0 AND m.id < $1 ORDER BY m.id DESC LIMIT $2`,
      [before ?? Number.MAX_SAFE_INTEGER, options.limit + 1],
    );
    return pageOf(rows, options.limit, movementView);
  }

  async dueReservationLevels(now: EpochMs, limit: number): Promise<{ variantId: number; locationId: number }[]> {
    const rows = await this.views.all<{ variant_id: number; location_id: number }>(
      `SELECT DISTINCT variant_id, location_id FROM reservations
       WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY variant_id, location_id LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => ({ variantId: row.variant_id, locationId: row.location_id }));
  }

  async verify(): Promise<VerifyReport> {
    const rows = await this.views.all<Record<string, number | string>>(
      `SELECT v.sku, l.code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.version,
         COALESCE(m.on_hand, 0) AS m_on_hand, COALESCE(m.reserved, 0) AS m_reserved, COALESCE(m.damaged, 0) AS m_damaged,
         COALESCE(m.quarantine, 0) AS m_quarantine, COALESCE(m.in_transit, 0) AS m_in_transit, COALESCE(m.n, 0) AS m_version,
         lv.held, COALESCE((SELECT sum(r.quantity) FROM reservations r WHERE r.variant_id = lv.variant_id AND r.location_id = lv.location_id
           AND r.status = 'pending'), 0) AS m_held
       FROM levels lv JOIN variants v ON v.id = lv.variant_id JOIN locations l ON l.id = lv.location_id
       LEFT JOIN (SELECT variant_id, location_id, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved, sum(d_damaged) AS damaged,
                    sum(d_quarantine) AS quarantine, sum(d_in_transit) AS in_transit, count(*) AS n
                  FROM movements GROUP BY variant_id, location_id) m
         ON m.variant_id = lv.variant_id AND m.location_id = lv.location_id`,
    );
    const counted = await this.views.get<{ n: number }>('SELECT count(*) AS n FROM movements');
    const orphans = await this.views.all<Record<string, number | string>>(levelMissingSql);
    return compareLevels(rows, orphans, Number(counted!.n));
  }
}
