/** What the shop holds: locations, inventory items with their levels, orders, and every level change. */

export interface Level {
  available: number;
  updatedAt: number;
}

export interface Item {
  id: number;
  variantId: number;
  productId: number;
  sku: string;
  levels: Map<number, Level>;
}

export interface OrderLine {
  id: number;
  itemId: number;
  /** Units ever on the line (REST `quantity`): an edit that adds units raises it, one that removes them does not. */
  quantity: number;
  /** Units an order edit removed. */
  removed: number;
  /** Units refunded, whatever the restock type. */
  refunded: number;
  /** Units in fulfilments that are not cancelled. */
  fulfilled: number;
}

export interface Order {
  id: number;
  number: number;
  /** Where the order's units are committed (and, for a point-of-sale order, where it was sold). */
  locationId: number;
  /** Taken at a point of sale: the REST order then names `location_id`. */
  pointOfSale: boolean;
  createdAt: number;
  updatedAt: number;
  cancelledAt: number | null;
  lines: OrderLine[];
  refunds: Refund[];
  fulfillments: Fulfillment[];
}

export interface Refund {
  id: number;
  orderId: number;
  createdAt: number;
  lines: { id: number; lineItemId: number; quantity: number; restockType: RestockType; locationId: number | null }[];
}

export interface Fulfillment {
  id: number;
  orderId: number;
  locationId: number;
  status: 'success' | 'cancelled';
  createdAt: number;
  updatedAt: number;
  lines: { lineItemId: number; quantity: number }[];
}

/** RefundLineItem.restock_type; `legacy_restock` is what refunds from before restock types read as. */
export type RestockType = 'return' | 'cancel' | 'legacy_restock' | 'no_restock';

/** Units still on a line (REST `current_quantity`): ordered, minus edits' removals and refunds. */
export const currentQuantity = (line: OrderLine): number => line.quantity - line.removed - line.refunded;

/** One change of a level, whoever made it: for tests that check nothing was applied twice. */
export interface LevelWrite {
  inventoryItemId: string;
  locationId: string;
  before: number;
  after: number;
  source: 'api' | 'order' | 'order-edit' | 'fulfillment' | 'cancel' | 'refund' | 'edit';
  idempotencyKey: string | null;
  /** Wall-clock time of the write (bench:propagation measures latency with it). */
  at: number;
}

export class SimulatorError extends Error {}

/** The highest `firstId`: every id type's base plus it stays a 16-digit id (numericId) and a safe integer. */
export const maxFirstId = 1_000_000_000_000_000;

export const gid = (type: string, id: number) => `gid://shopify/${type}/${id}`;

export function numericId(value: unknown, type: string): number | null {
  if (typeof value !== 'string') return null;
  const match = new RegExp(`^gid://shopify/${type}/([1-9][0-9]{0,15})$`).exec(value);
  const id = match ? Number(match[1]) : Number.NaN;
  return Number.isSafeInteger(id) ? id : null;
}

export type ShopEmit = (topic: string, payload: Record<string, unknown>) => void;

export class ShopState {
  /** Every level change, oldest first (bounded to the last 100,000). */
  readonly writes: LevelWrite[] = [];
  readonly items = new Map<number, Item>();
  readonly locations = new Map<number, string>();
  readonly orders = new Map<number, Order>();
  #nextId = 1;
  /** The shop's first location, created with the shop. */
  readonly defaultLocationId: string;

  constructor(
    readonly wallNow: () => number,
    readonly emit: ShopEmit,
  ) {
    this.defaultLocationId = this.addLocation('Main warehouse');
  }

  /** One counter for every id the shop hands out, so ids never collide across types. */
  nextId(): number {
    return this.#nextId++;
  }

  /**
   * Ids handed out from now on start at `first` (never lower than the next one). A shop started
   * again with a later `first` gives its new orders, lines, fulfilments and refunds ids the
   * earlier run never gave, while the locations created with the shop keep theirs.
   */
  skipIdsTo(first: number): void {
    if (!Number.isSafeInteger(first) || first < 1 || first > maxFirstId)
      throw new SimulatorError(`firstId must be a whole number from 1 to ${maxFirstId}`);
    this.#nextId = Math.max(this.#nextId, first);
  }

  addLocation(name = `Location ${this.locations.size + 1}`): string {
    const id = 65_000_000_000 + this.nextId();
    this.locations.set(id, name);
    return gid('Location', id);
  }

  /**
   * A product variant with its inventory item, stocked at the given locations
   * (`{ [locationGid]: available }`; default: 0 at the first location). Returns the gids.
   */
  addItem(options: { sku: string; levels?: Record<string, number>; inventoryItemId?: string }): {
    inventoryItemId: string;
    variantId: string;
    sku: string;
  } {
    const serial = this.nextId();
    // A given inventory item gid (the demo keeps its listings' ids stable across restarts).
    const fixed = options.inventoryItemId === undefined ? null : numericId(options.inventoryItemId, 'InventoryItem');
    if (options.inventoryItemId !== undefined && (fixed === null || this.items.has(fixed)))
      throw new SimulatorError(`bad or duplicate inventory item ${options.inventoryItemId}`);
    const item: Item = {
      id: fixed ?? 44_000_000_000_000 + serial,
      variantId: 45_000_000_000_000 + serial,
      productId: 8_000_000_000_000 + serial,
      sku: options.sku,
      levels: new Map(),
    };
    const levels = options.levels ?? { [this.defaultLocationId]: 0 };
    for (const [locationGid, available] of Object.entries(levels)) {
      const locationId = numericId(locationGid, 'Location');
      if (locationId === null || !this.locations.has(locationId))
        throw new SimulatorError(`unknown location ${locationGid}`);
      item.levels.set(locationId, { available, updatedAt: this.wallNow() });
    }
    this.items.set(item.id, item);
    return {
      inventoryItemId: gid('InventoryItem', item.id),
      variantId: gid('ProductVariant', item.variantId),
      sku: item.sku,
    };
  }

  /** The level of an item at a location; null when the item is unknown or not stocked there. */
  level(inventoryItemId: string, locationId: string): Level | null {
    const itemId = numericId(inventoryItemId, 'InventoryItem');
    const locationNumber = numericId(locationId, 'Location');
    if (itemId === null || locationNumber === null) return null;
    return this.items.get(itemId)?.levels.get(locationNumber) ?? null;
  }

  setLevel(
    itemId: number,
    locationId: number,
    available: number,
    source: LevelWrite['source'],
    idempotencyKey: string | null,
  ): void {
    const level = this.items.get(itemId)!.levels.get(locationId)!;
    const before = level.available;
    level.available = available;
    level.updatedAt = this.wallNow();
    this.writes.push({
      inventoryItemId: gid('InventoryItem', itemId),
      locationId: gid('Location', locationId),
      before,
      after: available,
      source,
      idempotencyKey,
      at: level.updatedAt,
    });
    if (this.writes.length > 100_000) this.writes.shift();
    if (before !== available) {
      this.emit('inventory_levels/update', {
        inventory_item_id: itemId,
        location_id: locationId,
        available,
        updated_at: new Date(level.updatedAt).toISOString(),
        admin_graphql_api_id: `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${itemId}`,
      });
    }
  }
}
