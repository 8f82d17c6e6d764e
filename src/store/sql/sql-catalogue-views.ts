import type {
  ActiveFilter,
  LocationRecord,
  Page,
  PurchaseOrderRecord,
  PurchaseOrderStatus,
  VariantRecord,
} from '../ledger-store.js';
import { activeCondition, inactiveAmong, listPurchaseOrders } from './sql-lists.js';
import { jsonValue, type SqlExecutor } from './sql-executor.js';

/**
 * The catalogue slice's reads, one SQL text for both engines. Each engine's catalogue extends
 * it with its writes (each one transaction that also recomputes the listings it affects).
 */
export abstract class SqlCatalogueViews {
  constructor(protected readonly views: SqlExecutor) {}

  async getVariant(sku: string): Promise<VariantRecord | null> {
    const row = await this.views.get('SELECT * FROM variants WHERE sku = $1', [sku]);
    return row ? (await this.variantsFromRows([row]))[0]! : null;
  }

  async getVariants(skus: readonly string[]): Promise<VariantRecord[]> {
    if (skus.length === 0) return [];
    const rows = await this.views.all(`SELECT * FROM variants WHERE sku ${this.views.dialect.anyOf(1, 'text')}`, [
      [...skus],
    ]);
    return this.variantsFromRows(rows);
  }

  /** Variants ordered by sku (byte order), after `afterSku`. */
  async listVariants(options: {
    afterSku?: string | undefined;
    limit: number;
    active?: ActiveFilter | undefined;
  }): Promise<VariantRecord[]> {
    const c = this.views.dialect.byteOrder;
    const active = activeCondition('variants', options.active);
    const rows = await this.views.all(
      `SELECT * FROM variants WHERE sku${c} > $1 AND ${active} ORDER BY sku${c} LIMIT $2`,
      [options.afterSku ?? '', options.limit],
    );
    return this.variantsFromRows(rows);
  }

  /** The rows with their bundle components, read in one statement for the whole page. */
  private async variantsFromRows(rows: Record<string, unknown>[]): Promise<VariantRecord[]> {
    if (rows.length === 0) return [];
    const components = await this.views.all<{ bundle_id: number; sku: string; quantity: number }>(
      `SELECT b.bundle_id, v.sku, b.quantity FROM bundle_components b JOIN variants v ON v.id = b.component_id
       WHERE b.bundle_id ${this.views.dialect.anyOf(1, 'bigint')} ORDER BY v.sku${this.views.dialect.byteOrder}`,
      [rows.map((row) => Number(row.id))],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      sku: row.sku as string,
      name: row.name as string,
      barcode: (row.barcode as string | null) ?? null,
      productGroup: (row.product_group as string | null) ?? null,
      attributes: jsonValue<Record<string, string>>(row.attributes),
      isBundle: Number(row.is_bundle) === 1,
      components: components
        .filter((component) => Number(component.bundle_id) === Number(row.id))
        .map((component) => ({ sku: component.sku, quantity: Number(component.quantity) })),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      deactivatedAt:
        row.deactivated_at === null || row.deactivated_at === undefined ? null : Number(row.deactivated_at),
    }));
  }

  async listLocations(options: { active?: ActiveFilter | undefined } = {}): Promise<LocationRecord[]> {
    const rows = await this.views.all<{
      id: number;
      code: string;
      name: string;
      kind: LocationRecord['kind'];
      created_at: number;
      updated_at: number;
      deactivated_at: number | null;
    }>(
      `SELECT * FROM locations WHERE ${activeCondition('locations', options.active)} ORDER BY code${this.views.dialect.byteOrder}`,
    );
    return rows.map((row) => ({
      id: row.id,
      code: row.code,
      name: row.name,
      kind: row.kind,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      deactivatedAt: row.deactivated_at === null ? null : Number(row.deactivated_at),
    }));
  }

  async listPurchaseOrders(options: {
    status?: PurchaseOrderStatus | undefined;
    sku?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  }): Promise<Page<PurchaseOrderRecord>> {
    return listPurchaseOrders(this.views, options);
  }

  async inactiveAmong(refs: { skus: readonly string[]; locations: readonly string[] }): Promise<{
    skus: string[];
    locations: string[];
  }> {
    return inactiveAmong(this.views, refs);
  }

  async getPurchaseOrder(id: string): Promise<PurchaseOrderRecord | null> {
    const header = await this.views.get<{
      id: string;
      supplier: string | null;
      status: PurchaseOrderRecord['status'];
      created_at: number;
      updated_at: number;
    }>('SELECT * FROM purchase_orders WHERE id = $1', [id]);
    if (!header) return null;
    const lines = await this.views.all<{
      line: number;
      sku: string;
      code: string;
      quantity_ordered: number;
      quantity_received: number;
      expected_at: number | null;
    }>(
      `SELECT pol.line, v.sku, l.code, pol.quantity_ordered, pol.quantity_received, pol.expected_at
       FROM purchase_order_lines pol JOIN variants v ON v.id = pol.variant_id JOIN locations l ON l.id = pol.location_id
       WHERE pol.purchase_order_id = $1 ORDER BY pol.line`,
      [id],
    );
    return {
      id: header.id,
      supplier: header.supplier,
      status: header.status,
      createdAt: header.created_at,
      updatedAt: header.updated_at,
      lines: lines.map((line) => ({
        line: line.line,
        sku: line.sku,
        location: line.code,
        quantityOrdered: line.quantity_ordered,
        quantityReceived: line.quantity_received,
        incoming: header.status === 'open' ? Math.max(0, line.quantity_ordered - line.quantity_received) : 0,
        expectedAt: line.expected_at,
      })),
    };
  }
}
