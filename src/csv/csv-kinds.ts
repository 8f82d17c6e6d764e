import { limits } from '../core/limits.js';
import type { ListingInput, MappingInput } from '../store/availability-store.js';
import { type LocationInput, type LocationKind, locationKinds, type VariantInput } from '../store/ledger-store.js';
import { type ColumnSpec, type CsvRow, type RowError, readCsvTable } from './csv-records.js';

/**
 * The import kinds, their columns (docs/csv.md) and the check of one row, turning it into what
 * the matching bulk API takes: `PUT /v1/variants`, `PUT /v1/locations`, a count of
 * `POST /v1/movements`, a line of `PUT /v1/purchase-orders/{id}`, `PUT /v1/listings`,
 * `PUT /v1/listing-mappings`. Pure: a row is judged on its own text and on the rows before it
 * (a key repeated in the file); what the store knows is checked when applying
 * (src/api/csv-import.ts).
 */

export const importKinds = ['variants', 'locations', 'stock', 'purchase-orders', 'listings', 'mappings'] as const;
export type ImportKind = (typeof importKinds)[number];

export function isImportKind(text: string): text is ImportKind {
  return (importKinds as readonly string[]).includes(text);
}

/** A count from the `stock` kind: on_hand at a location set absolutely through the ledger. */
export interface StockCountItem {
  sku: string;
  location: string;
  onHand: number;
  countedAt?: number | undefined;
  sourceVersion?: number | undefined;
  note?: string | undefined;
}

/** One row of the `purchase-orders` kind: a line of a purchase order. */
export interface PurchaseOrderLineItem {
  purchaseOrder: string;
  supplier: string | null;
  status: 'open' | 'closed' | 'cancelled';
  line: number;
  sku: string;
  location: string;
  quantity: number;
  expectedAt: number | null;
}

export interface ItemOf {
  variants: VariantInput;
  locations: LocationInput;
  stock: StockCountItem;
  'purchase-orders': PurchaseOrderLineItem;
  listings: ListingInput;
  mappings: MappingInput;
}

/** A row turned into its item, with the line it came from. */
export interface LineItem<K extends ImportKind> {
  line: number;
  item: ItemOf[K];
}

export const columnSpecs: Record<ImportKind, ColumnSpec> = {
  variants: { required: ['sku', 'name'], optional: ['barcode', 'product_group', 'attributes', 'components'] },
  locations: { required: ['code', 'name', 'kind'], optional: [] },
  stock: {
    required: ['sku', 'location', 'on_hand'],
    optional: ['counted_at', 'source_version', 'note'],
    // The stock export's read-only columns: an exported file imports as it is.
    ignored: ['name', 'reserved', 'available', 'damaged', 'quarantine', 'in_transit', 'last_count_at'],
  },
  'purchase-orders': {
    required: ['purchase_order', 'line', 'sku', 'location', 'quantity'],
    optional: ['supplier', 'status', 'expected_at'],
  },
  listings: {
    required: ['channel', 'external_id'],
    optional: ['sku', 'barcode', 'external_location_id', 'external_refs', 'rank'],
  },
  mappings: { required: ['channel', 'external_id', 'sku'], optional: [] },
};

/** Listing bounds of src/api/availability-schemas.ts. */
const listingRankMax = 1_000_000;
const externalRefsMax = 20;

class RowChecker {
  readonly errors: RowError[] = [];
  constructor(private readonly row: CsvRow) {}

  private fail(column: string, reason: string): undefined {
    this.errors.push({ line: this.row.line, column, reason });
    return undefined;
  }

  /** The trimmed text of an optional column; undefined when absent or empty. */
  optional(column: string, lengthMax: number = limits.codeLengthMax): string | undefined {
    const value = this.row.fields[column]?.trim();
    if (value === undefined || value === '') return undefined;
    if (value.length > lengthMax) return this.fail(column, `is longer than ${lengthMax} characters`);
    return value;
  }

  required(column: string, lengthMax: number = limits.codeLengthMax): string | undefined {
    const value = this.row.fields[column]?.trim();
    if (value === undefined || value === '') return this.fail(column, 'is empty; a value is required');
    return this.optional(column, lengthMax);
  }

  integer(column: string, min: number, max: number, required: boolean): number | undefined {
    const text = required ? this.required(column, 32) : this.optional(column, 32);
    if (text === undefined) return undefined;
    if (!/^-?\d+$/.test(text)) return this.fail(column, `must be a whole number, not ${JSON.stringify(text)}`);
    const value = Number(text);
    if (value < min || value > max) return this.fail(column, `must be between ${min} and ${max}`);
    return value;
  }

  time(column: string): number | undefined {
    const text = this.optional(column, 64);
    if (text === undefined) return undefined;
    // RFC 3339 with a zone, as the JSON API takes it.
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text) ? Date.parse(text) : NaN;
    if (!Number.isFinite(ms))
      return this.fail(
        column,
        `must be an RFC 3339 time with a zone (2026-03-01T09:00:00Z), not ${JSON.stringify(text)}`,
      );
    return ms;
  }

  /** `name=value|name=value`: a name holds neither `=` nor `|`, a value no `|`. */
  pairs(column: string, max: number, valueLengthMax: number): Record<string, string> | undefined {
    const text = this.optional(column, limits.csvFieldLengthMax);
    if (text === undefined) return undefined;
    const pairs: Record<string, string> = {};
    const parts = text.split('|');
    if (parts.length > max) return this.fail(column, `holds ${parts.length} pairs; at most ${max}`);
    for (const part of parts) {
      const at = part.indexOf('=');
      const name = at < 0 ? '' : part.slice(0, at).trim();
      if (name === '') return this.fail(column, `${JSON.stringify(part)} is not name=value`);
      if (name.length > limits.codeLengthMax)
        return this.fail(column, `name ${name.slice(0, 20)}... is longer than ${limits.codeLengthMax} characters`);
      if (Object.hasOwn(pairs, name)) return this.fail(column, `names ${name} twice`);
      const value = part.slice(at + 1);
      if (value.length > valueLengthMax)
        return this.fail(column, `the value of ${name} is longer than ${valueLengthMax} characters`);
      pairs[name] = value;
    }
    return pairs;
  }

  /** `SKU:quantity|SKU:quantity`. */
  components(column: string): { sku: string; quantity: number }[] | undefined {
    const text = this.optional(column, limits.csvFieldLengthMax);
    if (text === undefined) return undefined;
    const parts = text.split('|');
    if (parts.length > limits.bundleComponentsMax)
      return this.fail(column, `holds ${parts.length} components; at most ${limits.bundleComponentsMax}`);
    const components: { sku: string; quantity: number }[] = [];
    for (const part of parts) {
      const match = /^(.+):\s*(\d+)$/.exec(part.trim());
      const sku = match?.[1]?.trim() ?? '';
      const quantity = Number(match?.[2]);
      if (!match || sku === '') return this.fail(column, `${JSON.stringify(part)} is not SKU:quantity`);
      if (sku.length > limits.codeLengthMax)
        return this.fail(column, `component sku is longer than ${limits.codeLengthMax} characters`);
      if (quantity < 1 || quantity > limits.quantityMax)
        return this.fail(column, `component ${sku}: quantity must be between 1 and ${limits.quantityMax}`);
      components.push({ sku, quantity });
    }
    return components;
  }

  oneOf<T extends string>(column: string, values: readonly T[], fallback?: T): T | undefined {
    const text = fallback === undefined ? this.required(column) : this.optional(column);
    if (text === undefined) return fallback;
    if (!(values as readonly string[]).includes(text))
      return this.fail(column, `must be one of ${values.join(', ')}, not ${JSON.stringify(text)}`);
    return text as T;
  }
}

type RowReader<K extends ImportKind> = (check: RowChecker) => ItemOf[K] | undefined;

const readers: { [K in ImportKind]: RowReader<K> } = {
  variants: (check) => {
    const sku = check.required('sku');
    const name = check.required('name', limits.textLengthMax);
    const barcode = check.optional('barcode');
    const productGroup = check.optional('product_group');
    const attributes = check.pairs('attributes', limits.variantAttributesMax, limits.textLengthMax);
    const components = check.components('components');
    if (sku === undefined || name === undefined) return undefined;
    return {
      sku,
      name,
      barcode: barcode ?? null,
      productGroup: productGroup ?? null,
      attributes: attributes ?? {},
      components: components ?? [],
    };
  },
  locations: (check) => {
    const code = check.required('code');
    const name = check.required('name', limits.textLengthMax);
    const kind = check.oneOf<LocationKind>('kind', locationKinds);
    if (code === undefined || name === undefined || kind === undefined) return undefined;
    return { code, name, kind };
  },
  stock: (check) => {
    const sku = check.required('sku');
    const location = check.required('location');
    const onHand = check.integer('on_hand', 0, limits.countOnHandMax, true);
    const countedAt = check.time('counted_at');
    const sourceVersion = check.integer('source_version', 0, Number.MAX_SAFE_INTEGER, false);
    const note = check.optional('note', limits.textLengthMax);
    if (sku === undefined || location === undefined || onHand === undefined) return undefined;
    return { sku, location, onHand, countedAt, sourceVersion, note };
  },
  'purchase-orders': (check) => {
    const purchaseOrder = check.required('purchase_order');
    const supplier = check.optional('supplier', limits.textLengthMax);
    const status = check.oneOf('status', ['open', 'closed', 'cancelled'] as const, 'open');
    const line = check.integer('line', 1, Number.MAX_SAFE_INTEGER, true);
    const sku = check.required('sku');
    const location = check.required('location');
    const quantity = check.integer('quantity', 1, limits.quantityMax, true);
    const expectedAt = check.time('expected_at');
    if (
      purchaseOrder === undefined ||
      status === undefined ||
      line === undefined ||
      sku === undefined ||
      location === undefined ||
      quantity === undefined
    )
      return undefined;
    return {
      purchaseOrder,
      supplier: supplier ?? null,
      status,
      line,
      sku,
      location,
      quantity,
      expectedAt: expectedAt ?? null,
    };
  },
  listings: (check) => {
    const channel = check.required('channel');
    const externalId = check.required('external_id');
    const sku = check.optional('sku');
    const barcode = check.optional('barcode');
    const externalLocationId = check.optional('external_location_id');
    const externalRefs = check.pairs('external_refs', externalRefsMax, limits.codeLengthMax);
    const rank = check.integer('rank', 0, listingRankMax, false);
    if (channel === undefined || externalId === undefined) return undefined;
    return {
      channel,
      externalId,
      sku,
      barcode,
      externalLocationId: externalLocationId ?? null,
      externalRefs: externalRefs ?? {},
      rank: rank ?? 100,
    };
  },
  mappings: (check) => {
    const channel = check.required('channel');
    const externalId = check.required('external_id');
    const sku = check.required('sku');
    if (channel === undefined || externalId === undefined || sku === undefined) return undefined;
    return { channel, externalId, sku };
  },
};

/** What makes two rows of a kind the same thing: a second row with the same key is refused. */
const keyOf: { [K in ImportKind]: (item: ItemOf[K]) => [column: string, key: string] } = {
  variants: (item) => ['sku', item.sku],
  locations: (item) => ['code', item.code],
  stock: (item) => ['location', `${item.sku}\u0000${item.location}`],
  'purchase-orders': (item) => ['line', `${item.purchaseOrder}\u0000${item.line}`],
  listings: (item) => ['external_id', `${item.channel}\u0000${item.externalId}`],
  mappings: (item) => ['external_id', `${item.channel}\u0000${item.externalId}`],
};

export interface CheckedFile<K extends ImportKind> {
  kind: K;
  /** Data rows in the file, good and bad. */
  rows: number;
  items: LineItem<K>[];
  errors: RowError[];
}

/**
 * Check every row of a file of `kind`: one pass, nothing applied. A row that repeats an
 * earlier row's key (a sku twice, a purchase order line twice) is refused, naming that line;
 * the rows of one purchase order must agree on its supplier and status.
 */
export function checkCsvFile<K extends ImportKind>(kind: K, text: string): CheckedFile<K> {
  const table = readCsvTable(text, columnSpecs[kind]);
  const errors = [...table.errors];
  const items: LineItem<K>[] = [];
  const firstLine = new Map<string, number>();
  const orders = new Map<string, PurchaseOrderLineItem & { firstLine: number }>();
  const reader = readers[kind] as RowReader<K>;
  for (const row of table.rows) {
    const check = new RowChecker(row);
    const item = reader(check);
    if (check.errors.length > 0 || item === undefined) {
      errors.push(...check.errors);
      continue;
    }
    const [column, key] = keyOf[kind](item);
    const earlier = firstLine.get(key);
    if (earlier !== undefined) {
      errors.push({ line: row.line, column, reason: `repeats line ${earlier}` });
      continue;
    }
    if (kind === 'purchase-orders') {
      const line = item as PurchaseOrderLineItem;
      const order = orders.get(line.purchaseOrder);
      if (order && order.supplier !== line.supplier) {
        errors.push({
          line: row.line,
          column: 'supplier',
          reason: `differs from line ${order.firstLine} of the order`,
        });
        continue;
      }
      if (order && order.status !== line.status) {
        errors.push({ line: row.line, column: 'status', reason: `differs from line ${order.firstLine} of the order` });
        continue;
      }
      if (!order) orders.set(line.purchaseOrder, { ...line, firstLine: row.line });
    }
    firstLine.set(key, row.line);
    items.push({ line: row.line, item });
  }
  return { kind, rows: table.rowCount, items, errors };
}
