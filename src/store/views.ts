import type { EpochMs } from '../core/clock.js';
import type { MovementView, Page, StockLocationView, StockView, IncomingView } from './ledger-store.js';

/**
 * Row shapes both adapters read, and the code that turns them into API views, so the two
 * engines answer byte for byte alike.
 */

export interface MovementRow {
  id: number;
  command_key: string;
  leg: number;
  type: string;
  sku: string;
  location_code: string;
  counterpart_code: string | null;
  d_on_hand: number;
  d_reserved: number;
  d_damaged: number;
  d_quarantine: number;
  d_in_transit: number;
  on_hand: number;
  reserved: number;
  damaged: number;
  quarantine: number;
  in_transit: number;
  version: number;
  oversold: number;
  reason: string | null;
  source_system: string | null;
  source_reference: string | null;
  reservation_id: string | null;
  purchase_order_id: string | null;
  purchase_order_line: number | null;
  occurred_at: number;
  recorded_at: number;
}

export function movementView(row: MovementRow): MovementView {
  return {
    id: Number(row.id),
    key: row.command_key,
    leg: Number(row.leg),
    type: row.type,
    sku: row.sku,
    location: row.location_code,
    counterpart_location: row.counterpart_code,
    quantities: {
      on_hand: Number(row.d_on_hand),
      reserved: Number(row.d_reserved),
      damaged: Number(row.d_damaged),
      quarantine: Number(row.d_quarantine),
      in_transit: Number(row.d_in_transit),
    },
    resulting: {
      on_hand: Number(row.on_hand),
      reserved: Number(row.reserved),
      available: Number(row.on_hand) - Number(row.reserved),
      damaged: Number(row.damaged),
      quarantine: Number(row.quarantine),
      in_transit: Number(row.in_transit),
    },
    version: Number(row.version),
    oversold: Number(row.oversold),
    reason: row.reason,
    source: { system: row.source_system, reference: row.source_reference },
    reservation_id: row.reservation_id,
    purchase_order:
      row.purchase_order_id === null ? null : { id: row.purchase_order_id, line: Number(row.purchase_order_line) },
    occurred_at: new Date(Number(row.occurred_at)).toISOString(),
    recorded_at: new Date(Number(row.recorded_at)).toISOString(),
  };
}

/** Cursor over movement ids, newest first. Opaque to clients. */
export function encodeCursor(id: number): string {
  return Buffer.from(`m:${id}`).toString('base64url');
}

/** Returns null for a cursor this server did not make. */
export function decodeCursor(cursor: string | undefined): number | null | 'invalid' {
  if (cursor === undefined) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^m:(\d{1,15})$/.exec(text);
  return match ? Number(match[1]) : 'invalid';
}

export class CursorError extends Error {
  readonly code = 'ONH_ERR_CURSOR';
}

export function pageOf<T extends { id: number }>(
  rows: T[],
  limit: number,
  map: (row: T) => MovementView,
): Page<MovementView> {
  const items = rows.slice(0, limit).map(map);
  const last = items[items.length - 1];
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}

export interface LevelRow {
  location_code: string;
  on_hand: number;
  reserved: number;
  damaged: number;
  quarantine: number;
  in_transit: number;
  version: number;
  last_count_at: number | null;
  /** Units held by pending reservations already past their expiry (logically released). */
  due_held: number;
}

export interface IncomingRow {
  purchase_order_id: string;
  line: number;
  location_code: string;
  quantity: number;
  expected_at: number | null;
}

export interface ComponentLevels {
  sku: string;
  quantity: number;
  levels: LevelRow[];
}

function locationView(row: LevelRow, incoming: number): StockLocationView {
  const reserved = Number(row.reserved) - Number(row.due_held);
  return {
    location: row.location_code,
    on_hand: Number(row.on_hand),
    reserved,
    available: Number(row.on_hand) - reserved,
    damaged: Number(row.damaged),
    quarantine: Number(row.quarantine),
    in_transit: Number(row.in_transit),
    version: Number(row.version),
    last_count_at: row.last_count_at === null ? null : new Date(Number(row.last_count_at)).toISOString(),
    incoming,
  };
}

function incomingView(rows: IncomingRow[]): IncomingView[] {
  return rows.map((row) => ({
    purchase_order: row.purchase_order_id,
    line: Number(row.line),
    location: row.location_code,
    quantity: Number(row.quantity),
    expected_at: row.expected_at === null ? null : new Date(Number(row.expected_at)).toISOString(),
  }));
}

function totals(locations: StockLocationView[]): StockView['total'] {
  const total = { on_hand: 0, reserved: 0, available: 0, damaged: 0, quarantine: 0, in_transit: 0, incoming: 0 };
  for (const location of locations) {
    total.on_hand += location.on_hand;
    total.reserved += location.reserved;
    total.available += location.available;
    total.damaged += location.damaged;
    total.quarantine += location.quarantine;
    total.in_transit += location.in_transit;
    total.incoming += location.incoming;
  }
  return total;
}

/** Stock of a plain variant. */
export function stockView(
  variant: { sku: string; name: string },
  levels: LevelRow[],
  incoming: IncomingRow[],
): StockView {
  const incomingByLocation = new Map<string, number>();
  for (const row of incoming) {
    incomingByLocation.set(row.location_code, (incomingByLocation.get(row.location_code) ?? 0) + Number(row.quantity));
  }
  const codes = new Set([...levels.map((row) => row.location_code), ...incomingByLocation.keys()]);
  const byCode = new Map(levels.map((row) => [row.location_code, row]));
  const locations = [...codes].sort().map((code) =>
    locationView(
      byCode.get(code) ?? {
        location_code: code,
        on_hand: 0,
        reserved: 0,
        damaged: 0,
        quarantine: 0,
        in_transit: 0,
        version: 0,
        last_count_at: null,
        due_held: 0,
      },
      incomingByLocation.get(code) ?? 0,
    ),
  );
  return {
    sku: variant.sku,
    name: variant.name,
    is_bundle: false,
    locations,
    total: totals(locations),
    incoming: incomingView(incoming),
  };
}

/**
 * Stock of a bundle: it holds none of its own; per location, what its components allow
 * (min over components of floor(available / quantity per kit)). Only `available` and
 * `on_hand` are meaningful for a kit; the other buckets are zero.
 */
export function bundleStockView(variant: { sku: string; name: string }, components: ComponentLevels[]): StockView {
  const codes = new Set<string>();
  for (const component of components) for (const level of component.levels) codes.add(level.location_code);
  const locations: StockLocationView[] = [...codes].sort().map((code) => {
    let kitsAvailable = Number.POSITIVE_INFINITY;
    let kitsOnHand = Number.POSITIVE_INFINITY;
    for (const component of components) {
      const level = component.levels.find((row) => row.location_code === code);
      const view = level ? locationView(level, 0) : undefined;
      kitsAvailable = Math.min(kitsAvailable, Math.floor(Math.max(0, view?.available ?? 0) / component.quantity));
      kitsOnHand = Math.min(kitsOnHand, Math.floor(Math.max(0, view?.on_hand ?? 0) / component.quantity));
    }
    if (!Number.isFinite(kitsAvailable)) kitsAvailable = 0;
    if (!Number.isFinite(kitsOnHand)) kitsOnHand = 0;
    return {
      location: code,
      on_hand: kitsOnHand,
      reserved: 0,
      available: kitsAvailable,
      damaged: 0,
      quarantine: 0,
      in_transit: 0,
      version: 0,
      last_count_at: null,
      incoming: 0,
    };
  });
  return {
    sku: variant.sku,
    name: variant.name,
    is_bundle: true,
    components: components.map((component) => ({ sku: component.sku, quantity: component.quantity })),
    locations,
    total: totals(locations),
    incoming: [],
  };
}

export function isoOrNull(ms: EpochMs | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
