import {
  currentQuantity,
  type Fulfillment,
  gid,
  numericId,
  type Order,
  type OrderLine,
  type Refund,
  type RestockType,
  type ShopState,
  SimulatorError,
} from './shop-state.js';

/**
 * Customer orders through their life: created (online or at a point of sale), edited, fulfilled
 * from a location, a fulfilment cancelled, refunded with a restock type, cancelled. This is the
 * simulator's own test API, not Shopify's; each change emits the webhooks Shopify would, with
 * the REST Order, Fulfillment and Refund payloads (docs/channels/shopify.md, Order lifecycle).
 *
 * Stock, as `available` shows it: an order commits its units at the order's location; a
 * fulfilment from another location moves that commitment there (and back when it is cancelled);
 * an edit commits added units and, with restock, gives removed ones back; a refund restocked as
 * cancel, return or legacy_restock adds its units at the refund line's location; cancelling the
 * order with restock gives back the units not fulfilled.
 */
export class OrderBook {
  constructor(private readonly shop: ShopState) {}

  /**
   * A customer order: `available` drops at the location (Shopify commits the units), then
   * orders/create and inventory_levels/update are sent. Refuses to oversell unless asked
   * (a storefront stops selling at 0 unless "continue selling when out of stock" is on).
   * `pointOfSale`: sold at the location's point of sale, so the order names `location_id`.
   */
  createOrder(options: {
    lines: { inventoryItemId: string; quantity: number }[];
    locationId?: string;
    pointOfSale?: boolean;
    allowOversell?: boolean;
  }): { orderId: string; lineItemIds: string[] } {
    const locationId = this.#location(options.locationId ?? this.shop.defaultLocationId);
    if (options.lines.length === 0) throw new SimulatorError('an order needs lines');
    const lines: OrderLine[] = options.lines.map((line) => {
      const itemId = numericId(line.inventoryItemId, 'InventoryItem');
      const level = itemId === null ? undefined : this.shop.items.get(itemId)?.levels.get(locationId);
      if (itemId === null || !level)
        throw new SimulatorError(`${line.inventoryItemId} is not stocked at the order's location`);
      positive(line.quantity, 'line quantity');
      if (!options.allowOversell && level.available < line.quantity)
        throw new SimulatorError(
          `insufficient stock for ${line.inventoryItemId}: ${level.available} < ${line.quantity}`,
        );
      return {
        id: 14_000_000_000_000 + this.shop.nextId(),
        itemId,
        quantity: line.quantity,
        removed: 0,
        refunded: 0,
        fulfilled: 0,
      };
    });
    const number = 1000 + this.shop.orders.size + 1;
    const now = this.shop.wallNow();
    const order: Order = {
      id: 5_600_000_000_000 + this.shop.nextId(),
      number,
      locationId,
      pointOfSale: options.pointOfSale ?? false,
      createdAt: now,
      updatedAt: now,
      cancelledAt: null,
      lines,
      refunds: [],
      fulfillments: [],
    };
    this.shop.orders.set(order.id, order);
    for (const line of lines) this.#adjust(line.itemId, locationId, -line.quantity, 'order');
    this.shop.emit('orders/create', this.#orderPayload(order));
    return { orderId: gid('Order', order.id), lineItemIds: lines.map((line) => gid('LineItem', line.id)) };
  }

  /**
   * An order edit setting a line's current quantity (never below its fulfilled units): added
   * units are committed at the order's location, removed ones go back to `available` unless
   * `restock` is false. Sends orders/updated, where `current_quantity` shows the edit.
   */
  editLineQuantity(
    orderId: string,
    lineItemId: string,
    quantity: number,
    options: { restock?: boolean; allowOversell?: boolean } = {},
  ): void {
    const order = this.#openOrder(orderId);
    const line = this.#line(order, lineItemId);
    if (!Number.isSafeInteger(quantity) || quantity < line.fulfilled)
      throw new SimulatorError(`a line can be edited down to its ${line.fulfilled} fulfilled units, not below`);
    const delta = quantity - currentQuantity(line);
    if (delta === 0) return;
    const level = this.shop.items.get(line.itemId)!.levels.get(order.locationId)!;
    if (delta > 0 && !options.allowOversell && level.available < delta)
      throw new SimulatorError(`insufficient stock to add ${delta}: ${level.available} available`);
    if (delta > 0) line.quantity += delta;
    else line.removed -= delta;
    if (delta > 0 || (options.restock ?? true)) this.#adjust(line.itemId, order.locationId, -delta, 'order-edit');
    order.updatedAt = this.shop.wallNow();
    this.shop.emit('orders/updated', this.#orderPayload(order));
  }

  /**
   * A fulfilment (shipment) from `locationId` (default: the order's location) of the given
   * units (default: every unit not yet fulfilled). Sends fulfillments/create, then
   * orders/updated with the fulfilment embedded.
   */
  fulfillOrder(
    orderId: string,
    options: { locationId?: string; lines?: { lineItemId: string; quantity: number }[] } = {},
  ): { fulfillmentId: string } {
    const order = this.#openOrder(orderId);
    const locationId = this.#location(options.locationId ?? gid('Location', order.locationId));
    const requested =
      options.lines?.map((entry) => ({ line: this.#line(order, entry.lineItemId), quantity: entry.quantity })) ??
      order.lines
        .map((line) => ({ line, quantity: currentQuantity(line) - line.fulfilled }))
        .filter((entry) => entry.quantity > 0);
    if (requested.length === 0) throw new SimulatorError('nothing left to fulfil');
    for (const { line, quantity } of requested) {
      positive(quantity, 'fulfilment quantity');
      if (quantity > currentQuantity(line) - line.fulfilled)
        throw new SimulatorError('fulfilment quantity exceeds the units not yet fulfilled');
      if (!this.shop.items.get(line.itemId)!.levels.has(locationId))
        throw new SimulatorError(`${gid('InventoryItem', line.itemId)} is not stocked at the fulfilment location`);
    }
    const now = this.shop.wallNow();
    const fulfillment: Fulfillment = {
      id: 7_300_000_000_000 + this.shop.nextId(),
      orderId: order.id,
      locationId,
      status: 'success',
      createdAt: now,
      updatedAt: now,
      lines: requested.map(({ line, quantity }) => ({ lineItemId: line.id, quantity })),
    };
    for (const { line, quantity } of requested) {
      line.fulfilled += quantity;
      this.#moveCommitment(line.itemId, order.locationId, locationId, quantity);
    }
    order.fulfillments.push(fulfillment);
    order.updatedAt = now;
    this.shop.emit('fulfillments/create', this.#fulfillmentPayload(order, fulfillment));
    this.shop.emit('orders/updated', this.#orderPayload(order));
    return { fulfillmentId: gid('Fulfillment', fulfillment.id) };
  }

  /** Cancel a fulfilment: its units are unfulfilled again. Sends fulfillments/update (status cancelled), then orders/updated. */
  cancelFulfillment(fulfillmentId: string): void {
    const id = numericId(fulfillmentId, 'Fulfillment');
    const order = [...this.shop.orders.values()].find((candidate) =>
      candidate.fulfillments.some((fulfillment) => fulfillment.id === id),
    );
    const fulfillment = order?.fulfillments.find((candidate) => candidate.id === id);
    if (!order || !fulfillment) throw new SimulatorError(`unknown fulfilment ${fulfillmentId}`);
    if (fulfillment.status === 'cancelled') throw new SimulatorError('fulfilment already cancelled');
    fulfillment.status = 'cancelled';
    fulfillment.updatedAt = order.updatedAt = this.shop.wallNow();
    for (const entry of fulfillment.lines) {
      const line = order.lines.find((candidate) => candidate.id === entry.lineItemId)!;
      line.fulfilled -= entry.quantity;
      this.#moveCommitment(line.itemId, fulfillment.locationId, order.locationId, entry.quantity);
    }
    this.shop.emit('fulfillments/update', this.#fulfillmentPayload(order, fulfillment));
    this.shop.emit('orders/updated', this.#orderPayload(order));
  }

  /** Cancel an order; with `restock` (default) the units not fulfilled go back to `available`. */
  cancelOrder(orderId: string, options: { restock?: boolean } = {}): void {
    const order = this.#openOrder(orderId);
    order.cancelledAt = order.updatedAt = this.shop.wallNow();
    if (options.restock ?? true) {
      for (const line of order.lines) {
        const open = currentQuantity(line) - line.fulfilled;
        if (open > 0) this.#adjust(line.itemId, order.locationId, open, 'cancel');
      }
    }
    this.shop.emit('orders/cancelled', this.#orderPayload(order));
  }

  /**
   * A refund of some units. `restockType` (default return) cancel, return and legacy_restock put
   * the units back at `locationId` (default: the order's location); no_restock names no location
   * and changes no level. Sends refunds/create, then orders/updated with the refund embedded.
   */
  refundOrder(
    orderId: string,
    options: { lines: { lineItemId: string; quantity: number; restockType?: RestockType; locationId?: string }[] },
  ): { refundId: string } {
    const order = this.#order(orderId);
    const now = this.shop.wallNow();
    const refund: Refund = { id: 9_200_000_000_000 + this.shop.nextId(), orderId: order.id, createdAt: now, lines: [] };
    const planned = options.lines.map((requested) => {
      const line = this.#line(order, requested.lineItemId);
      const restockType = requested.restockType ?? 'return';
      if (!['return', 'cancel', 'legacy_restock', 'no_restock'].includes(restockType))
        throw new SimulatorError(`unknown restock type ${restockType}`);
      const locationId =
        restockType === 'no_restock' ? null : this.#location(requested.locationId ?? gid('Location', order.locationId));
      if (locationId !== null && !this.shop.items.get(line.itemId)!.levels.has(locationId))
        throw new SimulatorError(`${gid('InventoryItem', line.itemId)} is not stocked at the restock location`);
      return { line, quantity: requested.quantity, restockType, locationId };
    });
    for (const { line, quantity } of planned) {
      positive(quantity, 'refund quantity');
      const sameLine = planned.filter((entry) => entry.line === line).reduce((sum, entry) => sum + entry.quantity, 0);
      if (sameLine > currentQuantity(line))
        throw new SimulatorError('refund quantity exceeds what is left on the line');
    }
    for (const { line, quantity, restockType, locationId } of planned) {
      line.refunded += quantity;
      refund.lines.push({
        id: 10_000_000_000_000 + this.shop.nextId(),
        lineItemId: line.id,
        quantity,
        restockType,
        locationId,
      });
      if (locationId !== null) this.#adjust(line.itemId, locationId, quantity, 'refund');
    }
    order.refunds.push(refund);
    order.updatedAt = now;
    this.shop.emit('refunds/create', this.#refundPayload(order, refund));
    this.shop.emit('orders/updated', this.#orderPayload(order));
    return { refundId: gid('Refund', refund.id) };
  }

  #order(orderId: string): Order {
    const id = numericId(orderId, 'Order');
    const order = id === null ? undefined : this.shop.orders.get(id);
    if (!order) throw new SimulatorError(`unknown order ${orderId}`);
    return order;
  }

  #openOrder(orderId: string): Order {
    const order = this.#order(orderId);
    if (order.cancelledAt !== null) throw new SimulatorError('order already cancelled');
    return order;
  }

  #line(order: Order, lineItemId: string): OrderLine {
    const id = numericId(lineItemId, 'LineItem');
    const line = order.lines.find((candidate) => candidate.id === id);
    if (!line) throw new SimulatorError(`unknown line item ${lineItemId}`);
    return line;
  }

  #location(locationGid: string): number {
    const id = numericId(locationGid, 'Location');
    if (id === null || !this.shop.locations.has(id)) throw new SimulatorError(`unknown location ${locationGid}`);
    return id;
  }

  #adjust(itemId: number, locationId: number, delta: number, source: 'order' | 'order-edit' | 'cancel' | 'refund') {
    const level = this.shop.items.get(itemId)!.levels.get(locationId)!;
    this.shop.setLevel(itemId, locationId, level.available + delta, source, null);
  }

  /** Committed units follow the location that ships them. */
  #moveCommitment(itemId: number, from: number, to: number, quantity: number): void {
    if (from === to) return;
    const levels = this.shop.items.get(itemId)!.levels;
    this.shop.setLevel(itemId, from, levels.get(from)!.available + quantity, 'fulfillment', null);
    this.shop.setLevel(itemId, to, levels.get(to)!.available - quantity, 'fulfillment', null);
  }

  /** REST Order, trimmed to the fields an inventory app reads (docs/channels/shopify.md, Order lifecycle). */
  #orderPayload(order: Order): Record<string, unknown> {
    const open = order.lines.reduce((sum, line) => sum + currentQuantity(line) - line.fulfilled, 0);
    const shipped = order.lines.reduce((sum, line) => sum + line.fulfilled, 0);
    return {
      id: order.id,
      admin_graphql_api_id: gid('Order', order.id),
      name: `#${order.number}`,
      order_number: order.number,
      created_at: iso(order.createdAt),
      updated_at: iso(order.updatedAt),
      cancelled_at: order.cancelledAt === null ? null : iso(order.cancelledAt),
      cancel_reason: order.cancelledAt === null ? null : 'customer',
      location_id: order.pointOfSale ? order.locationId : null,
      source_name: order.pointOfSale ? 'pos' : 'web',
      currency: 'EUR',
      financial_status: order.refunds.length > 0 ? 'partially_refunded' : 'paid',
      fulfillment_status: shipped === 0 ? null : open === 0 ? 'fulfilled' : 'partial',
      line_items: order.lines.map((line) => this.#linePayload(line)),
      fulfillments: order.fulfillments.map((fulfillment) => this.#fulfillmentPayload(order, fulfillment)),
      refunds: order.refunds.map((refund) => this.#refundPayload(order, refund)),
    };
  }

  #linePayload(line: OrderLine, quantity = line.quantity): Record<string, unknown> {
    const item = this.shop.items.get(line.itemId)!;
    const current = currentQuantity(line);
    return {
      id: line.id,
      admin_graphql_api_id: gid('LineItem', line.id),
      variant_id: item.variantId,
      product_id: item.productId,
      sku: item.sku,
      name: item.sku,
      title: item.sku,
      quantity,
      current_quantity: current,
      fulfillable_quantity: Math.max(0, current - line.fulfilled),
      fulfillment_status: line.fulfilled === 0 ? null : line.fulfilled >= current ? 'fulfilled' : 'partial',
      variant_inventory_management: 'shopify',
      requires_shipping: true,
      price: '10.00',
    };
  }

  /** REST Fulfillment: its line_items are the order's line items with the fulfilled quantity. */
  #fulfillmentPayload(order: Order, fulfillment: Fulfillment): Record<string, unknown> {
    return {
      id: fulfillment.id,
      admin_graphql_api_id: gid('Fulfillment', fulfillment.id),
      order_id: order.id,
      name: `#${order.number}.${order.fulfillments.indexOf(fulfillment) + 1}`,
      status: fulfillment.status,
      location_id: fulfillment.locationId,
      created_at: iso(fulfillment.createdAt),
      updated_at: iso(fulfillment.updatedAt),
      service: 'manual',
      shipment_status: null,
      tracking_company: null,
      tracking_number: null,
      tracking_numbers: [],
      tracking_url: null,
      tracking_urls: [],
      line_items: fulfillment.lines.map((entry) =>
        this.#linePayload(order.lines.find((line) => line.id === entry.lineItemId)!, entry.quantity),
      ),
    };
  }

  /** REST Refund (docs/channels/shopify.md, Order lifecycle). */
  #refundPayload(order: Order, refund: Refund): Record<string, unknown> {
    return {
      id: refund.id,
      admin_graphql_api_id: gid('Refund', refund.id),
      order_id: order.id,
      created_at: iso(refund.createdAt),
      processed_at: iso(refund.createdAt),
      note: null,
      restock: refund.lines.some((line) => line.restockType !== 'no_restock'),
      refund_line_items: refund.lines.map((line) => ({
        id: line.id,
        line_item_id: line.lineItemId,
        location_id: line.locationId,
        quantity: line.quantity,
        restock_type: line.restockType,
        subtotal: (line.quantity * 10).toFixed(2),
        total_tax: '0.00',
        line_item: this.#linePayload(order.lines.find((candidate) => candidate.id === line.lineItemId)!),
      })),
    };
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

function positive(quantity: number, what: string): void {
  if (!Number.isSafeInteger(quantity) || quantity <= 0) throw new SimulatorError(`${what} must be a positive integer`);
}
