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
import type { PostgresAvailability } from './postgres-availability.js';
import { toColumns, unnestInsert, type PostgresPool } from './postgres-pool.js';
import { SqlCatalogueViews } from '../sql/sql-catalogue-views.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
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
import { PostgresExecutor } from './postgres-executor.js';

/** The catalogue slice on PostgreSQL: set-based upserts, each write one transaction that recomputes the listings it affects. */
export class PostgresCatalogue extends SqlCatalogueViews implements CataloguePort {
  constructor(
    private readonly db: PostgresPool,
    private readonly availability: PostgresAvailability,
    views: SqlExecutor,
  ) {
    super(views);
  }

  async upsertVariants(variants: readonly VariantInput[], now: EpochMs): Promise<UpsertReport> {
    return this.db.transaction(async (client) => {
      const skus = new Set<string>();
      for (const variant of variants) {
        skus.add(variant.sku);
        for (const component of variant.components ?? []) skus.add(component.sku);
      }
      // Serialise catalogue writers: bundle rules read other rows.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('onhand_catalogue'))");
      const sql = new PostgresExecutor(client);
      const facts = variantFactsFromRows(await sql.all(variantFacts(sql.dialect), [[...skus]]));
      const problems = checkVariantUpsert(variants, facts);
      if (problems.length > 0) throw new CatalogueError('variants rejected; nothing was changed', problems);
      const upserted = await client.query<{ id: number; sku: string; created: boolean }>(
        `INSERT INTO variants (sku, name, barcode, product_group, attributes, is_bundle, created_at, updated_at)
         SELECT u.sku, u.name, u.barcode, u.product_group, u.attributes::jsonb, u.is_bundle, $7, $7
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[])
           AS u(sku, name, barcode, product_group, attributes, is_bundle)
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, barcode = excluded.barcode, product_group = excluded.product_group,
           attributes = excluded.attributes, is_bundle = excluded.is_bundle, updated_at = excluded.updated_at
         RETURNING id, sku, (xmax = 0) AS created`,
        [
          variants.map((variant) => variant.sku),
          variants.map((variant) => variant.name),
          variants.map((variant) => variant.barcode ?? null),
          variants.map((variant) => variant.productGroup ?? null),
          variants.map((variant) => JSON.stringify(variant.attributes ?? {})),
          variants.map((variant) => ((variant.components?.length ?? 0) > 0 ? 1 : 0)),
          now,
        ],
      );
      const bundleIds = upserted.rows.map((row) => row.id);
      await sql.run(deleteBundleComponents(sql.dialect), [bundleIds]);
      const componentRows = variants.flatMap((variant) =>
        (variant.components ?? []).map((component) => [variant.sku, component.sku, component.quantity] as const),
      );
      if (componentRows.length > 0) {
        await client.query(
          `INSERT INTO bundle_components (bundle_id, component_id, quantity)
           SELECT b.id, c.id, u.quantity FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(bundle, component, quantity)
           JOIN variants b ON b.sku = u.bundle JOIN variants c ON c.sku = u.component`,
          toColumns(componentRows, 3),
        );
      }
      await this.availability.recomputeVariants(
        client,
        upserted.rows.map((row) => row.id).sort((a, b) => a - b),
        now,
      );
      const created = upserted.rows.filter((row) => row.created).length;
      return { created, updated: upserted.rows.length - created };
    });
  }

  async upsertLocations(locations: readonly LocationInput[], now: EpochMs): Promise<UpsertReport> {
    const seen = new Set<string>();
    const problems: { path: string; message: string }[] = [];
    locations.forEach((location, index) => {
      if (seen.has(location.code))
        problems.push({ path: `/locations/${index}/code`, message: `code ${location.code} appears twice` });
      seen.add(location.code);
    });
    if (problems.length > 0) throw new CatalogueError('locations rejected; nothing was changed', problems);
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<{ created: boolean }>(
        `INSERT INTO locations (code, name, kind, created_at, updated_at)
         SELECT u.code, u.name, u.kind, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(code, name, kind)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, updated_at = excluded.updated_at
         RETURNING (xmax = 0) AS created`,
        [
          locations.map((location) => location.code),
          locations.map((location) => location.name),
          locations.map((location) => location.kind),
          now,
        ],
      );
      await this.availability.bumpConfig(client); // codes and kinds are cached with the channels
      const created = rows.filter((row) => row.created).length;
      return { created, updated: rows.length - created };
    });
  }

  async upsertPurchaseOrder(order: PurchaseOrderInput, now: EpochMs): Promise<PurchaseOrderRecord> {
    await this.db.transaction(async (client) => {
      const problems: { path: string; message: string }[] = [];
      const sql = new PostgresExecutor(client);
      const variantBySku = new Map(
        (
          await sql.all<{ id: number; sku: string; is_bundle: number }>(variantsBySku(sql.dialect), [
            order.lines.map((line) => line.sku),
          ])
        ).map((row) => [row.sku, row]),
      );
      const locationByCode = new Map(
        (
          await sql.all<{ id: number; code: string }>(locationsByCode(sql.dialect), [
            order.lines.map((line) => line.location),
          ])
        ).map((row) => [row.code, row]),
      );
      const numbers = new Set<number>();
      const resolved = order.lines.map((line, index) => {
        const variant = variantBySku.get(line.sku);
        const location = locationByCode.get(line.location);
        if (!variant) problems.push({ path: `/lines/${index}/sku`, message: `unknown sku ${line.sku}` });
        else if (variant.is_bundle === 1)
          problems.push({ path: `/lines/${index}/sku`, message: `${line.sku} is a bundle; order its components` });
        if (!location)
          problems.push({ path: `/lines/${index}/location`, message: `unknown location ${line.location}` });
        if (numbers.has(line.line))
          problems.push({ path: `/lines/${index}/line`, message: `line ${line.line} appears twice` });
        numbers.add(line.line);
        return { ...line, variantId: variant?.id ?? 0, locationId: location?.id ?? 0 };
      });
      await sql.run(upsertPurchaseOrderHeader, purchaseOrderHeaderParams(order, now));
      const existing = await sql.all<StoredPurchaseOrderLine>(purchaseOrderLinesForRewrite(sql.dialect), [order.id]);
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
      const received = new Map(existing.map((line) => [line.line, line.quantity_received]));
      await sql.run(deletePurchaseOrderLines, [order.id]);
      // One unnest statement for all lines: one round trip (SQLite runs one prepared statement per line).
      if (resolved.length > 0) {
        await client.query(
          unnestInsert('purchase_order_lines', [
            ['purchase_order_id', 'text'],
            ['line', 'bigint'],
            ['variant_id', 'bigint'],
            ['location_id', 'bigint'],
            ['quantity_ordered', 'bigint'],
            ['quantity_received', 'bigint'],
            ['expected_at', 'bigint'],
          ]),
          toColumns(
            resolved.map((line) => [
              order.id,
              line.line,
              line.variantId,
              line.locationId,
              line.quantity,
              received.get(line.line) ?? 0,
              line.expectedAt,
            ]),
            7,
          ),
        );
      }
      // Pre-order offers follow incoming stock.
      const variantIds = [
        ...new Set([...resolved.map((line) => line.variantId), ...existing.map((line) => line.variant_id)]),
      ].sort((a, b) => a - b);
      await this.availability.recomputeVariants(client, variantIds, now);
    });
    return (await this.getPurchaseOrder(order.id))!;
  }
}
