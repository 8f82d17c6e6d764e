import type { LevelState } from '../core/ledger/level.js';
import {
  appliedAnswer,
  type MovementRecord,
  type PurchaseOrderLineState,
  type ReservationState,
  type StoredAnswer,
  type WriteSet,
} from '../core/ledger/apply-commands.js';
import type { TokenRecord, TokenScope, VerifyReport } from './ledger-store.js';
import type { MovementRow } from './views.js';

/** Row <-> domain mapping shared by both adapters (same column names in both schemas). */

export interface ReservationRow {
  id: string;
  key: string;
  variant_id: number;
  location_id: number;
  sku: string;
  location_code: string;
  quantity: number;
  committed_quantity: number;
  status: ReservationState['status'];
  expires_at: number | null;
  created_at: number;
  resolved_at: number | null;
  channel: string | null;
}

export function reservationFromRow(row: ReservationRow): ReservationState {
  return {
    id: row.id,
    key: row.key,
    variantId: row.variant_id,
    locationId: row.location_id,
    sku: row.sku,
    locationCode: row.location_code,
    quantity: row.quantity,
    committedQuantity: row.committed_quantity,
    status: row.status,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
    ...(row.channel ? { channel: row.channel } : {}),
  };
}

export function tokenFromRow(row: Record<string, unknown>): TokenRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    scope: row.scope as TokenScope,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

export function levelFromRow(row: Record<string, unknown>): LevelState {
  return {
    variantId: Number(row.variant_id),
    locationId: Number(row.location_id),
    onHand: Number(row.on_hand),
    reserved: Number(row.reserved),
    damaged: Number(row.damaged ?? 0),
    quarantine: Number(row.quarantine ?? 0),
    inTransit: Number(row.in_transit ?? 0),
    held: Number(row.held ?? 0),
    velocityRate: Number(row.velocity ?? 0),
    velocityAt: row.velocity_at === null || row.velocity_at === undefined ? null : Number(row.velocity_at),
    version: Number(row.version ?? 0),
    lastCountAt: row.last_count_at === null ? null : Number(row.last_count_at),
    lastCountSourceVersion:
      row.last_count_source_version === null || row.last_count_source_version === undefined
        ? null
        : Number(row.last_count_source_version),
  };
}

/**
 * A level's values in the column order both engines' level inserts take: variant, location,
 * on_hand, reserved, damaged, quarantine, in_transit, held, version, last_count_at,
 * last_count_source_version, velocity, velocity_at.
 */
export function levelValues(level: LevelState): SqlValue[] {
  return [
    level.variantId,
    level.locationId,
    level.onHand,
    level.reserved,
    level.damaged,
    level.quarantine,
    level.inTransit,
    level.held,
    level.version,
    level.lastCountAt,
    level.lastCountSourceVersion,
    level.velocityRate,
    level.velocityAt,
  ];
}

export function purchaseOrderLineFromRow(row: Record<string, unknown>): PurchaseOrderLineState {
  return {
    purchaseOrderId: row.purchase_order_id as string,
    line: Number(row.line),
    variantId: Number(row.variant_id),
    locationId: Number(row.location_id),
    quantityOrdered: Number(row.quantity_ordered),
    quantityReceived: Number(row.quantity_received),
    expectedAt: row.expected_at === null ? null : Number(row.expected_at),
    status: row.status as PurchaseOrderLineState['status'],
  };
}

/** A value bound to a statement or written to a COPY line. */
export type SqlValue = string | number | null;

/**
 * Column values of a movement, in the order both stores insert them, appended to `out`: a
 * multi-row INSERT binds one flat list and a COPY writes one line, with no array per row.
 */
export function pushMovementValues(movement: MovementRecord, out: SqlValue[]): void {
  const { deltas, after } = movement;
  out.push(
    movement.id,
    movement.commandKey,
    movement.leg,
    movement.type,
    movement.variantId,
    movement.locationId,
    movement.version,
    deltas.onHand,
    deltas.reserved,
    deltas.damaged,
    deltas.quarantine,
    deltas.inTransit,
    after.onHand,
    after.reserved,
    after.damaged,
    after.quarantine,
    after.inTransit,
    movement.guarded ? 1 : 0,
    movement.oversold,
    movement.occurredAt,
    movement.recordedAt,
    movement.reason,
    movement.sourceSystem,
    movement.sourceReference,
    movement.reservationId,
    movement.purchaseOrderId,
    movement.purchaseOrderLine,
    movement.counterpartLocationId,
    movement.payloadHash,
  );
}

/** Columns of an inserted reservation, in the order of {@link pushReservationValues}. */
export const reservationInsertColumns = [
  'id',
  'key',
  'variant_id',
  'location_id',
  'quantity',
  'committed_quantity',
  'status',
  'expires_at',
  'created_at',
  'resolved_at',
  'channel',
] as const;

export function pushReservationValues(r: ReservationState, out: SqlValue[]): void {
  out.push(
    r.id,
    r.key,
    r.variantId,
    r.locationId,
    r.quantity,
    r.committedQuantity,
    r.status,
    r.expiresAt,
    r.createdAt,
    r.resolvedAt,
    r.channel ?? null,
  );
}

/** Columns of an inserted stored answer, in the order of {@link pushAnswerValues}. */
export const answerInsertColumns = ['key', 'payload_hash', 'answer', 'recorded_at'] as const;

export function pushAnswerValues(stored: WriteSet['answers'][number], out: SqlValue[]): void {
  out.push(stored.key, stored.payloadHash, JSON.stringify(stored.answer), stored.recordedAt);
}

/** Columns {@link foldedAnswers} reads: a movement with its level's sku and location code. */
export const commandLegColumns = `m.command_key AS key, m.payload_hash, m.leg, m.id, m.on_hand, m.reserved, m.damaged, m.quarantine,
  m.in_transit, m.version, m.oversold, v.sku, l.code`;

export type CommandLegRow = Pick<
  MovementRow,
  'leg' | 'id' | 'sku' | 'on_hand' | 'reserved' | 'damaged' | 'quarantine' | 'in_transit' | 'version' | 'oversold'
> & { key: string; payload_hash: string | null; code: string };

/**
 * Answers of applied commands folded into their movements (see `appliedAnswer`): the legs of
 * every key whose leg 0 carries a payload hash, in leg order. Keys whose movements carry none
 * (a command that changed a reservation, an expiry) have their answer stored apart.
 */
export function foldedAnswers(rows: readonly CommandLegRow[], into: Map<string, StoredAnswer>): void {
  const byKey = new Map<string, CommandLegRow[]>();
  for (const row of rows) {
    const legs = byKey.get(row.key);
    if (legs) legs.push(row);
    else byKey.set(row.key, [row]);
  }
  for (const [key, legs] of byKey) {
    legs.sort((a, b) => Number(a.leg) - Number(b.leg));
    const hash = legs[0]!.payload_hash;
    if (Number(legs[0]!.leg) !== 0 || hash === null || into.has(key)) continue;
    into.set(key, {
      payloadHash: hash,
      answer: appliedAnswer(
        key,
        legs.map((row) => ({
          id: Number(row.id),
          sku: row.sku,
          location: row.code,
          after: {
            onHand: Number(row.on_hand),
            reserved: Number(row.reserved),
            damaged: Number(row.damaged),
            quarantine: Number(row.quarantine),
            inTransit: Number(row.in_transit),
          },
          version: Number(row.version),
          oversold: Number(row.oversold),
        })),
      ),
    });
  }
}

/**
 * Shared by both stores' verify(): movements and reservations whose level row is missing (per
 * variant and location, with `#id` where the variant or location itself is gone).
 */
export const levelMissingSql = `SELECT COALESCE(v.sku, '#' || m.variant_id) AS sku, COALESCE(l.code, '#' || m.location_id) AS code, count(*) AS n
  FROM (SELECT variant_id, location_id FROM movements UNION ALL SELECT variant_id, location_id FROM reservations) m
  LEFT JOIN variants v ON v.id = m.variant_id LEFT JOIN locations l ON l.id = m.location_id
  WHERE NOT EXISTS (SELECT 1 FROM levels lv WHERE lv.variant_id = m.variant_id AND lv.location_id = m.location_id)
  GROUP BY 1, 2`;

/** Shared by both stores' verify(): stored levels against the fold of their movements. */
export function compareLevels(
  rows: Record<string, number | string>[],
  orphans: Record<string, number | string>[],
  movementsChecked: number,
): VerifyReport {
  const mismatches: VerifyReport['mismatches'] = [];
  const fields = [
    ['on_hand', 'm_on_hand'],
    ['reserved', 'm_reserved'],
    ['damaged', 'm_damaged'],
    ['quarantine', 'm_quarantine'],
    ['in_transit', 'm_in_transit'],
    ['held', 'm_held'],
    ['version', 'm_version'],
  ] as const;
  for (const row of rows) {
    for (const [stored, recomputed] of fields) {
      if (Number(row[stored]) !== Number(row[recomputed])) {
        mismatches.push({
          sku: String(row.sku),
          location: String(row.code),
          field: stored,
          stored: Number(row[stored]),
          recomputed: Number(row[recomputed]),
        });
      }
    }
  }
  for (const orphan of orphans) {
    mismatches.push({
      sku: String(orphan.sku),
      location: String(orphan.code),
      field: 'level_missing',
      stored: 0,
      recomputed: Number(orphan.n),
    });
  }
  return { levelsChecked: rows.length, movementsChecked, mismatches };
}
