import type { EpochMs } from '../../core/clock.js';
import type { ExistingVariantFacts } from '../../core/catalogue.js';
import type { PurchaseOrderInput } from '../ledger-store.js';
import { flag, type SqlDialect } from './sql-executor.js';

/**
 * The catalogue writes' statements that read the same on both engines, with their parameter
 * builders. Each engine runs them inside its own transaction (SQLite synchronously in
 * `db.transaction`, PostgreSQL on the transaction's client) next to the statements it keeps:
 * the bulk upserts of variants, locations, bundle components and purchase order lines, which
 * are one `unnest` statement per batch on PostgreSQL and one prepared statement per row on
 * SQLite (in-process, so a row costs no round trip).
 */

/** What the bundle rules need to know about the variants already stored, one row per sku. */
export const variantFacts = (d: SqlDialect): string =>
  `SELECT v.sku, v.is_bundle,
     EXISTS (SELECT 1 FROM bundle_components b WHERE b.component_id = v.id) AS used,
     EXISTS (SELECT 1 FROM levels l WHERE l.variant_id = v.id AND l.version > 0) AS moved
   FROM variants v WHERE v.sku ${d.anyOf(1, 'text')}`;

export function variantFactsFromRows(rows: readonly Record<string, unknown>[]): Map<string, ExistingVariantFacts> {
  return new Map(
    rows.map((row) => {
      const sku = row.sku as string;
      return [
        sku,
        { sku, isBundle: Number(row.is_bundle) === 1, usedAsComponent: flag(row.used), hasMovements: flag(row.moved) },
      ];
    }),
  );
}

/** Parameter 1: the bundles' ids; their components are written again after it. */
export const deleteBundleComponents = (d: SqlDialect): string =>
  `DELETE FROM bundle_components WHERE bundle_id ${d.anyOf(1, 'bigint')}`;

/** Parameter 1: skus. */
export const variantsBySku = (d: SqlDialect): string =>
  `SELECT id, sku, is_bundle FROM variants WHERE sku ${d.anyOf(1, 'text')}`;

/** Parameter 1: location codes. */
export const locationsByCode = (d: SqlDialect): string =>
  `SELECT id, code FROM locations WHERE code ${d.anyOf(1, 'text')}`;

export const upsertPurchaseOrderHeader = `INSERT INTO purchase_orders (id, supplier, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
  ON CONFLICT (id) DO UPDATE SET supplier = excluded.supplier, status = excluded.status, updated_at = excluded.updated_at`;

export function purchaseOrderHeaderParams(order: PurchaseOrderInput, now: EpochMs): unknown[] {
  return [order.id, order.supplier ?? null, order.status, now];
}

/**
 * Parameter 1: the order's id. Locked on PostgreSQL: a receipt against one of these lines holds
 * the same lock while it adds to quantity_received.
 */
export const purchaseOrderLinesForRewrite = (d: SqlDialect): string =>
  `SELECT line, variant_id, location_id, quantity_received FROM purchase_order_lines WHERE purchase_order_id = $1${d.lockRows}`;

export interface StoredPurchaseOrderLine {
  line: number;
  variant_id: number;
  location_id: number;
  quantity_received: number;
}

/** Parameter 1: the order's id. */
export const deletePurchaseOrderLines = 'DELETE FROM purchase_order_lines WHERE purchase_order_id = $1';
