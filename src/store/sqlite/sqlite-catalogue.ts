import type Database from 'better-sqlite3';
import type { EpochMs } from '../../core/clock.js';
import { checkVariantUpsert } from '../../core/catalogue.js';
import {
  CatalogueError,
  type CataloguePort,
  type LocationInput,
  type PurchaseOrderInput,
  type PurchaseOrderRecord,
  type UpsertReport,
  type VariantInput,
} from '../ledger-store.js';
import type { SqliteAvailability } from './sqlite-availability.js';
import { SqlCatalogueViews } from '../sql/sql-catalogue-views.js';
import {
  deleteBundleComponents,
  deletePurchaseOrderLines,
  locationsByCode,
  purchaseOrderHeaderParams,
  purchaseOrderLinesForRewrite,
  type StoredPurchaseOrderLine,
  upsertPurchaseOrderHeader,
  variantFacts,
  variantFactsFromRows,
  variantsBySku,
} from '../sql/sql-catalogue-writes.js';
import type { SqliteExecutor } from './sqlite-executor.js';

/** The catalogue slice on SQLite: each write is one IMMEDIATE transaction that also recomputes the listings it affects. */
export class SqliteCatalogue extends SqlCatalogueViews implements CataloguePort {
  constructor(
    private readonly db: Database.Database,
    private readonly availability: SqliteAvailability,
    private readonly sql: SqliteExecutor,
  ) {
    super(sql);
  }

  async upsertVariants(variants: readonly VariantInput[], now: EpochMs): Promise<UpsertReport> {
    const db = this.db;
    const run = db.transaction(() => {
      const skus = new Set<string>();
      for (const variant of variants) {
        skus.add(variant.sku);
        for (const component of variant.components ?? []) skus.add(component.sku);
      }
      const facts = variantFactsFromRows(this.sql.allNow(variantFacts(this.sql.dialect), [[...skus]]));
      const problems = checkVariantUpsert(variants, facts);
      if (problems.length > 0) throw new CatalogueError('variants rejected; nothing was changed', problems);
      const upsert = db.prepare<unknown[], { id: number; created: number }>(
        `INSERT INTO variants (sku, name, barcode, product_group, attributes, is_bundle, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, barcode = excluded.barcode,
           product_group = excluded.product_group, attributes = excluded.attributes,
           is_bundle = excluded.is_bundle, updated_at = excluded.updated_at
         RETURNING id, created_at = ${Number(now)} AS created`,
      );
      let created = 0;
      let updated = 0;
      const ids = new Map<string, number>();
      for (const variant of variants) {
        const row = upsert.get(
          variant.sku,
          variant.name,
          variant.barcode ?? null,
          variant.productGroup ?? null,
          JSON.stringify(variant.attributes ?? {}),
          (variant.components?.length ?? 0) > 0 ? 1 : 0,
          now,
          now,
        )!;
        ids.set(variant.sku, row.id);
        if (row.created === 1) created += 1;
        else updated += 1;
      }
      const idOf = db.prepare<[string], { id: number }>('SELECT id FROM variants WHERE sku = ?');
      this.sql.runNow(deleteBundleComponents(this.sql.dialect), [[...ids.values()]]);
      for (const variant of variants) {
        const bundleId = ids.get(variant.sku)!;
        for (const component of variant.components ?? []) {
          db.prepare('INSERT INTO bundle_components (bundle_id, component_id, quantity) VALUES (?, ?, ?)').run(
            bundleId,
            idOf.get(component.sku)!.id,
            component.quantity,
          );
        }
      }
      this.availability.recomputeNow([...ids.values()], now);
      return { created, updated };
    });
    return run.immediate();
  }

  async upsertLocations(locations: readonly LocationInput[], now: EpochMs): Promise<UpsertReport> {
    const db = this.db;
    const run = db.transaction(() => {
      const seen = new Set<string>();
      const problems: { path: string; message: string }[] = [];
      locations.forEach((location, index) => {
        if (seen.has(location.code))
          problems.push({ path: `/locations/${index}/code`, message: `code ${location.code} appears twice` });
        seen.add(location.code);
      });
      if (problems.length > 0) throw new CatalogueError('locations rejected; nothing was changed', problems);
      const upsert = db.prepare<unknown[], { created: number }>(
        `INSERT INTO locations (code, name, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, updated_at = excluded.updated_at
         RETURNING created_at = ${Number(now)} AS created`,
      );
      let created = 0;
      for (const location of locations) {
        if (upsert.get(location.code, location.name, location.kind, now, now)!.created === 1) created += 1;
      }
      this.availability.invalidate(); // codes and kinds are cached with the channels
      return { created, updated: locations.length - created };
    });
    return run.immediate();
  }

  async upsertPurchaseOrder(order: PurchaseOrderInput, now: EpochMs): Promise<PurchaseOrderRecord> {
    const db = this.db;
    const run = db.transaction(() => {
      const problems: { path: string; message: string }[] = [];
      const variantBySku = new Map(
        this.sql
          .allNow<{ id: number; sku: string; is_bundle: number }>(variantsBySku(this.sql.dialect), [
            order.lines.map((line) => line.sku),
          ])
          .map((row) => [row.sku, row]),
      );
      const locationByCode = new Map(
        this.sql
          .allNow<{ id: number; code: string }>(locationsByCode(this.sql.dialect), [
            order.lines.map((line) => line.location),
          ])
          .map((row) => [row.code, row]),
      );
      const resolved = order.lines.map((line, index) => {
        const variant = variantBySku.get(line.sku);
        const location = locationByCode.get(line.location);
        if (!variant) problems.push({ path: `/lines/${index}/sku`, message: `unknown sku ${line.sku}` });
        else if (variant.is_bundle === 1)
          problems.push({ path: `/lines/${index}/sku`, message: `${line.sku} is a bundle; order its components` });
        if (!location)
          problems.push({ path: `/lines/${index}/location`, message: `unknown location ${line.location}` });
        return { ...line, variantId: variant?.id ?? 0, locationId: location?.id ?? 0 };
      });
      const numbers = new Set<number>();
      order.lines.forEach((line, index) => {
        if (numbers.has(line.line))
          problems.push({ path: `/lines/${index}/line`, message: `line ${line.line} appears twice` });
        numbers.add(line.line);
      });
      const existing = this.sql.allNow<StoredPurchaseOrderLine>(purchaseOrderLinesForRewrite(this.sql.dialect), [
        order.id,
      ]);
      for (const line of existing) {
        if (line.quantity_received === 0) continue;
        const next = resolved.find((candidate) => candidate.line === line.line);
        if (!next) problems.push({ path: '/lines', message: `line ${line.line} has receipts and cannot be removed` });
        else if (next.variantId !== line.variant_id || next.locationId !== line.location_id) {
          problems.push({
            path: '/lines',
            message: `line ${line.line} has receipts: its sku and location cannot change`,
          });
        }
      }
      if (problems.length > 0) throw new CatalogueError('purchase order rejected; nothing was changed', problems);
      this.sql.runNow(upsertPurchaseOrderHeader, purchaseOrderHeaderParams(order, now));
      const received = new Map(existing.map((line) => [line.line, line.quantity_received]));
      this.sql.runNow(deletePurchaseOrderLines, [order.id]);
      // One prepared statement per line: in-process, a row costs no round trip (PostgreSQL sends one unnest).
      const insert = db.prepare(
        `INSERT INTO purchase_order_lines (purchase_order_id, line, variant_id, location_id, quantity_ordered, quantity_received, expected_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const line of resolved) {
        insert.run(
          order.id,
          line.line,
          line.variantId,
          line.locationId,
          line.quantity,
          received.get(line.line) ?? 0,
          line.expectedAt,
        );
      }
      // Pre-order offers follow incoming stock.
      this.availability.recomputeNow(
        [...new Set([...resolved.map((line) => line.variantId), ...existing.map((line) => line.variant_id)])],
        now,
      );
    });
    run.immediate();
    return (await this.getPurchaseOrder(order.id))!;
  }
}
