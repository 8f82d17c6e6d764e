import {
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
 * Customer orders, cancellations and refunds (the simulator's own test API, not Shopify's), with
 * the REST Order and Refund payloads their webhooks carry (docs/channels/shopify.md, Webhooks).
 */
export class OrderBook {
  constructor(private readonly shop: ShopState) {}

  /**
   * A customer order: `available` drops at the location (Shopify commits the units), then
   * orders/create and inventory_levels/update are sent. Refuses to oversell unless asked
   * (a storefront stops selling at 0 unless "continue selling when out of stock" is on).
   */
  createOrder(options: {
    lines: { inventoryItemId: string; quantity: number }[];
    locationId?: string;
    allowOversell?: boolean;
  }): { orderId: string; lineItemIds: string[] } {
    const locationId = numericId(options.locationId ?? this.shop.defaultLocationId, 'Location');
    if (locationId === null || !this.shop.locations.has(locationId)) throw new SimulatorError('unknown location');
    if (options.lines.length === 0) throw new SimulatorError('an order needs lines');
    const lines: OrderLine[] = options.lines.map((line) => {
      const itemId = numericId(line.inventoryItemId, 'InventoryItem');
      const level = itemId === null ? undefined : this.shop.items.get(itemId)?.levels.get(locationId);
      if (itemId === null || !level)
        throw new SimulatorError(`${line.inventoryItemId} is not stocked at the order's location`);
      if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0)
        throw new SimulatorError('line quantity must be a positive integer');
      if (!options.allowOversell && level.available < line.quantity)
        throw new SimulatorError(
          `insufficient stock for ${line.inventoryItemId}: ${level.available} < ${line.quantity}`,
        );
      return { id: 14_000_000_000_000 + this.shop.nextId(), itemId, quantity: line.quantity, refunded: 0 };
    });
    const number = 1000 + this.shop.orders.size + 1;
    const now = this.shop.wallNow();
    const order: Order = {
      id: 5_600_000_000_000 + this.shop.nextId(),
      number,
      locationId,
      createdAt: now,
      updatedAt: now,
      cancelledAt: null,
      lines,
      refunds: [],
    };
    this.shop.orders.set(order.id, order);
    for (const line of lines) {
      const level = this.shop.items.get(line.itemId)!.levels.get(locationId)!;
      this.shop.setLevel(line.itemId, locationId, level.available - line.quantity, 'order', null);
    }
    this.shop.emit('orders/create', this.#orderPayload(order));
    return { orderId: gid('Order', order.id), lineItemIds: lines.map((line) => gid('LineItem', line.id)) };
  }

  /** Cancel an order; with `restock` (default) the units not yet refunded go back to `available`. */
  cancelOrder(orderId: string, options: { restock?: boolean } = {}): void {
    const order = this.#order(orderId);
    if (order.cancelledAt !== null) throw new SimulatorError('order already cancelled');
    order.cancelledAt = order.updatedAt = this.shop.wallNow();
    if (options.restock ?? true) {
      for (const line of order.lines) {
        const open = line.quantity - line.refunded;
        if (open <= 0) continue;
        const level = this.shop.items.get(line.itemId)!.levels.get(order.locationId)!;
        this.shop.setLevel(line.itemId, order.locationId, level.available + open, 'cancel', null);
      }
    }
    this.shop.emit('orders/cancelled', this.#orderPayload(order));
  }

  /** A refund of some units; `return` and `cancel` restock them at the order's location. */
  refundOrder(
    orderId: string,
    options: { lines: { lineItemId: string; quantity: number; restockType?: RestockType }[] },
  ): { refundId: string } {
    const order = this.#order(orderId);
    const now = this.shop.wallNow();
    const refund: Refund = { id: 9_200_000_000_000 + this.shop.nextId(), orderId: order.id, createdAt: now, lines: [] };
    for (const requested of options.lines) {
      const lineId = numericId(requested.lineItemId, 'LineItem');
      const line = order.lines.find((candidate) => candidate.id === lineId);
      if (!line) throw new SimulatorError(`unknown line item ${requested.lineItemId}`);
      if (
        !Number.isSafeInteger(requested.quantity) ||
        requested.quantity <= 0 ||
        requested.quantity > line.quantity - line.refunded
      )
        throw new SimulatorError('refund quantity exceeds what is left on the line');
      line.refunded += requested.quantity;
      refund.lines.push({
        id: 10_000_000_000_000 + this.shop.nextId(),
        lineItemId: line.id,
        quantity: requested.quantity,
        restockType: requested.restockType ?? 'return',
        locationId: order.locationId,
      });
    }
    order.refunds.push(refund);
    order.updatedAt = now;
    for (const line of refund.lines) {
      if (line.restockType === 'no_restock') continue;
      const itemId = order.lines.find((candidate) => candidate.id === line.lineItemId)!.itemId;
      const level = this.shop.items.get(itemId)!.levels.get(line.locationId)!;
      this.shop.setLevel(itemId, line.locationId, level.available + line.quantity, 'refund', null);
    }
    this.shop.emit('refunds/create', this.#refundPayload(order, refund));
    return { refundId: gid('Refund', refund.id) };
  }

  #order(orderId: string): Order {
    const id = numericId(orderId, 'Order');
    const order = id === null ? undefined : this.shop.orders.get(id);
    if (!order) throw new SimulatorError(`unknown order ${orderId}`);
    return order;
  }

  /** REST Order, trimmed to the fields an inventory app reads (docs/channels/shopify.md, Webhooks). */
  #orderPayload(order: Order): Record<string, unknown> {
    return {
      id: order.id,
      admin_graphql_api_id: gid('Order', order.id),
      name: `#${order.number}`,
      order_number: order.number,
      created_at: new Date(order.createdAt).toISOString(),
      updated_at: new Date(order.updatedAt).toISOString(),
      cancelled_at: order.cancelledAt === null ? null : new Date(order.cancelledAt).toISOString(),
      cancel_reason: order.cancelledAt === null ? null : 'customer',
      currency: 'EUR',
      financial_status: 'paid',
      fulfillment_status: null,
      line_items: order.lines.map((line) => this.#linePayload(line)),
      refunds: order.refunds.map((refund) => this.#refundPayload(order, refund)),
    };
  }

  #linePayload(line: OrderLine): Record<string, unknown> {
    const item = this.shop.items.get(line.itemId)!;
    return {
      id: line.id,
      admin_graphql_api_id: gid('LineItem', line.id),
      variant_id: item.variantId,
      product_id: item.productId,
      sku: item.sku,
      name: item.sku,
      title: item.sku,
      quantity: line.quantity,
      current_quantity: line.quantity - line.refunded,
      fulfillable_quantity: line.quantity - line.refunded,
      fulfillment_status: null,
      variant_inventory_management: 'shopify',
      requires_shipping: true,
      price: '10.00',
    };
  }

  /** REST Refund (docs/channels/shopify.md, Webhooks; the field list is [unverified]). */
  #refundPayload(order: Order, refund: Refund): Record<string, unknown> {
    return {
      id: refund.id,
      admin_graphql_api_id: gid('Refund', refund.id),
      order_id: order.id,
      created_at: new Date(refund.createdAt).toISOString(),
      processed_at: new Date(refund.createdAt).toISOString(),
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
