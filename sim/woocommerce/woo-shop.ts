/**
 * The WooCommerce simulator's shop: products (simple and variable), variations, orders and
 * refunds, with WooCommerce's stock rules (docs/channels/woocommerce.md, Order statuses):
 * - an order reduces the stock of its lines once it is processing, on-hold or completed
 *   (`_reduced_stock` on the line), and a pending order holds it too (WooCommerce's "hold
 *   stock"); cancelled or failed gives back what was reduced;
 * - a refund with restock puts its units back and counts them in the order line's
 *   `_restock_refunded_items` meta; the refund line names its order line in `_refunded_item_id`;
 * - moving an order to the trash changes no stock; `date_modified_gmt` moves on every change, to
 *   the second, and never backwards for one order.
 */

export interface SimProduct {
  id: number;
  type: 'simple' | 'variable';
  sku: string;
  name: string;
  manageStock: boolean;
  stockQuantity: number | null;
  variations: number[];
  modifiedAt: number;
}

export interface SimVariation {
  id: number;
  parentId: number;
  sku: string;
  manageStock: boolean;
  stockQuantity: number | null;
  modifiedAt: number;
}

export interface SimOrderLine {
  id: number;
  productId: number;
  variationId: number;
  quantity: number;
  sku: string;
  name: string;
  /** Units this order took from stock (WooCommerce's `_reduced_stock`). */
  reduced: number;
  /** Units put back by refunds with restock (`_restock_refunded_items`). */
  restocked: number;
}

export interface SimRefund {
  id: number;
  createdAt: number;
  reason: string;
  lines: { id: number; orderLineId: number; productId: number; variationId: number; quantity: number }[];
}

export interface SimOrder {
  id: number;
  status: string;
  createdAt: number;
  modifiedAt: number;
  completedAt: number | null;
  lines: SimOrderLine[];
  refunds: SimRefund[];
  /** Permanently deleted (404 from then on). */
  deleted: boolean;
}

export const orderStatuses = Object.freeze([
  'pending',
  'processing',
  'on-hold',
  'completed',
  'cancelled',
  'refunded',
  'failed',
  'trash',
]);

const holdingStatuses = new Set(['pending', 'processing', 'on-hold', 'completed']);

const gmt = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const second = (ms: number) => Math.floor(ms / 1000) * 1000;

export class WooShop {
  readonly products = new Map<number, SimProduct>();
  readonly variations = new Map<number, SimVariation>();
  readonly orders = new Map<number, SimOrder>();
  private nextPostId: number;
  private nextItemId: number;

  constructor(
    private readonly now: () => number,
    firstId: number,
  ) {
    this.nextPostId = firstId;
    this.nextItemId = firstId;
  }

  // ---- catalogue --------------------------------------------------------------------------

  addProduct(input: { sku: string; quantity?: number | null; manageStock?: boolean; id?: number }): SimProduct {
    const id = input.id ?? this.nextPostId++;
    const product: SimProduct = {
      id,
      type: 'simple',
      sku: input.sku,
      name: `Product ${input.sku}`,
      manageStock: input.manageStock ?? input.quantity !== null,
      stockQuantity: input.quantity ?? null,
      variations: [],
      modifiedAt: second(this.now()),
    };
    this.products.set(id, product);
    return product;
  }

  addVariableProduct(input: {
    sku: string;
    variations: readonly { sku: string; quantity?: number | null; id?: number }[];
    id?: number;
  }): { product: SimProduct; variations: SimVariation[] } {
    const product: SimProduct = {
      id: input.id ?? this.nextPostId++,
      type: 'variable',
      sku: input.sku,
      name: `Product ${input.sku}`,
      manageStock: false,
      stockQuantity: null,
      variations: [],
      modifiedAt: second(this.now()),
    };
    this.products.set(product.id, product);
    const variations = input.variations.map((each) => {
      const variation: SimVariation = {
        id: each.id ?? this.nextPostId++,
        parentId: product.id,
        sku: each.sku,
        manageStock: each.quantity !== null,
        stockQuantity: each.quantity ?? null,
        modifiedAt: second(this.now()),
      };
      this.variations.set(variation.id, variation);
      product.variations.push(variation.id);
      return variation;
    });
    return { product, variations };
  }

  /** The stock holder of an item: a simple product or a variation. */
  holder(productId: number, variationId: number): SimProduct | SimVariation | undefined {
    if (variationId > 0) {
      const variation = this.variations.get(variationId);
      return variation?.parentId === productId ? variation : undefined;
    }
    const product = this.products.get(productId);
    return product?.type === 'simple' ? product : undefined;
  }

  setStock(holder: SimProduct | SimVariation, quantity: number, manageStock = true): void {
    holder.manageStock = manageStock;
    holder.stockQuantity = quantity;
    holder.modifiedAt = second(this.now());
  }

  private adjust(productId: number, variationId: number, delta: number): void {
    const holder = this.holder(productId, variationId);
    if (holder === undefined || !holder.manageStock || holder.stockQuantity === null) return;
    holder.stockQuantity += delta;
    holder.modifiedAt = second(this.now());
  }

  // ---- orders -----------------------------------------------------------------------------

  private touch(order: SimOrder): void {
    order.modifiedAt = Math.max(second(this.now()), order.modifiedAt + 1000);
  }

  createOrder(input: {
    lines: readonly { productId: number; variationId?: number; quantity: number }[];
    status?: string;
  }): SimOrder {
    const at = second(this.now());
    const order: SimOrder = {
      id: this.nextPostId++,
      status: 'pending',
      createdAt: at,
      modifiedAt: at,
      completedAt: null,
      lines: input.lines.map((line) => {
        const holder = this.holder(line.productId, line.variationId ?? 0);
        if (holder === undefined) throw new Error(`no item ${line.productId}/${line.variationId ?? 0}`);
        return {
          id: this.nextItemId++,
          productId: line.productId,
          variationId: line.variationId ?? 0,
          quantity: line.quantity,
          sku: holder.sku,
          name: `Item ${holder.sku}`,
          reduced: 0,
          restocked: 0,
        };
      }),
      refunds: [],
      deleted: false,
    };
    this.orders.set(order.id, order);
    this.applyStatus(order, input.status ?? 'processing');
    order.modifiedAt = at;
    return order;
  }

  private applyStatus(order: SimOrder, status: string): void {
    order.status = status;
    if (status === 'completed' && order.completedAt === null) order.completedAt = second(this.now());
    if (holdingStatuses.has(status)) {
      for (const line of order.lines) {
        if (line.reduced > 0) continue;
        line.reduced = line.quantity;
        this.adjust(line.productId, line.variationId, -line.quantity);
      }
    } else if (status === 'cancelled' || status === 'failed') {
      for (const line of order.lines) {
        if (line.reduced === 0) continue;
        this.adjust(line.productId, line.variationId, line.reduced - line.restocked);
        line.reduced = 0;
      }
    }
  }

  order(orderId: number): SimOrder {
    const order = this.orders.get(orderId);
    if (order === undefined || order.deleted) throw new Error(`no order ${orderId}`);
    return order;
  }

  setStatus(orderId: number, status: string): SimOrder {
    const order = this.order(orderId);
    this.applyStatus(order, status);
    this.touch(order);
    return order;
  }

  /** A refund of some units of some lines; `restock` puts them back (WooCommerce's api_restock). */
  refund(orderId: number, lines: readonly { lineId: number; quantity: number }[], restock: boolean): SimRefund {
    const order = this.order(orderId);
    const refund: SimRefund = {
      id: this.nextPostId++,
      createdAt: second(this.now()),
      reason: '',
      lines: lines.map(({ lineId, quantity }) => {
        const line = order.lines.find((each) => each.id === lineId);
        if (line === undefined) throw new Error(`no line ${lineId} in order ${orderId}`);
        if (restock) {
          line.restocked += quantity;
          this.adjust(line.productId, line.variationId, quantity);
        }
        return {
          id: this.nextItemId++,
          orderLineId: line.id,
          productId: line.productId,
          variationId: line.variationId,
          quantity,
        };
      }),
    };
    order.refunds.push(refund);
    const refundedAll = order.lines.every(
      (line) =>
        order.refunds.reduce(
          (sum, each) => sum + each.lines.filter((r) => r.orderLineId === line.id).reduce((n, r) => n + r.quantity, 0),
          0,
        ) >= line.quantity,
    );
    if (refundedAll) order.status = 'refunded';
    this.touch(order);
    return refund;
  }

  trash(orderId: number): SimOrder {
    const order = this.order(orderId);
    order.status = 'trash';
    this.touch(order);
    return order;
  }

  /** order.restored: back from the trash, as pending would be (WooCommerce restores the status it had; we take one). */
  restore(orderId: number, status: string): SimOrder {
    return this.setStatus(orderId, status);
  }

  // ---- REST resources (the fields WooCommerce sends that onhand or a test reads) ------------

  productJson(product: SimProduct): Record<string, unknown> {
    return {
      id: product.id,
      name: product.name,
      slug: product.sku.toLowerCase(),
      permalink: `https://shop.example/product/${product.sku.toLowerCase()}/`,
      type: product.type,
      status: 'publish',
      sku: product.sku,
      price: '19.95',
      date_modified_gmt: gmt(product.modifiedAt),
      manage_stock: product.manageStock,
      stock_quantity: product.manageStock ? product.stockQuantity : null,
      stock_status:
        product.manageStock && (product.stockQuantity ?? 0) <= 0 && product.type === 'simple'
          ? 'outofstock'
          : 'instock',
      backorders: 'no',
      variations: product.variations,
      meta_data: [],
    };
  }

  variationJson(variation: SimVariation): Record<string, unknown> {
    return {
      id: variation.id,
      parent_id: variation.parentId,
      sku: variation.sku,
      price: '19.95',
      date_modified_gmt: gmt(variation.modifiedAt),
      manage_stock: variation.manageStock,
      stock_quantity: variation.manageStock ? variation.stockQuantity : null,
      stock_status: variation.manageStock && (variation.stockQuantity ?? 0) <= 0 ? 'outofstock' : 'instock',
      backorders: 'no',
      meta_data: [],
    };
  }

  /** The order as the REST API and webhooks show it; `mixed` sends some numbers as PHP strings. */
  orderJson(order: SimOrder, mixed: boolean): Record<string, unknown> {
    const n = (value: number) => (mixed ? String(value) : value);
    return {
      id: order.id,
      parent_id: 0,
      number: String(order.id),
      status: order.status,
      currency: 'EUR',
      version: '9.4.0',
      date_created: gmt(order.createdAt),
      date_created_gmt: gmt(order.createdAt),
      date_modified: gmt(order.modifiedAt),
      date_modified_gmt: gmt(order.modifiedAt),
      date_completed_gmt: order.completedAt === null ? null : gmt(order.completedAt),
      total: '19.95',
      customer_note: 'Bitte vor 12 Uhr liefern / à côté de la porte',
      billing: { first_name: 'Zoë', last_name: 'Müller', city: 'Utrecht' },
      shipping: [],
      payment_url: `https://shop.example/checkout/order-pay/${order.id}/?pay_for_order=true`,
      line_items: order.lines.map((line) => ({
        id: line.id,
        name: line.name,
        product_id: line.productId,
        variation_id: n(line.variationId),
        quantity: n(line.quantity),
        sku: line.sku,
        price: 19.95,
        total: '19.95',
        meta_data: [
          ...(line.reduced > 0 ? [{ id: line.id * 10, key: '_reduced_stock', value: String(line.reduced) }] : []),
          ...(line.restocked > 0
            ? [{ id: line.id * 10 + 1, key: '_restock_refunded_items', value: String(line.restocked) }]
            : []),
        ],
      })),
      refunds: order.refunds.map((refund) => ({ id: refund.id, reason: refund.reason, total: '-19.95' })),
      meta_data: [],
    };
  }

  refundJson(refund: SimRefund): Record<string, unknown> {
    return {
      id: refund.id,
      date_created: gmt(refund.createdAt),
      date_created_gmt: gmt(refund.createdAt),
      amount: '19.95',
      reason: refund.reason,
      refunded_by: 1,
      refunded_payment: false,
      meta_data: [],
      line_items: refund.lines.map((line) => ({
        id: line.id,
        name: 'Refunded item',
        product_id: line.productId,
        variation_id: line.variationId,
        quantity: -line.quantity,
        meta_data: [{ id: line.id * 10, key: '_refunded_item_id', value: String(line.orderLineId) }],
      })),
    };
  }
}

/**
 * PHP's `wp_json_encode` with its default flags: `/` escaped as `\/` and every character beyond
 * ASCII as `\uXXXX` (surrogate pairs for astral ones), what every WooCommerce body looks like.
 */
export function phpJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
