import type { AmazonSimulator } from '../../sim/amazon/amazon-simulator.js';
import type { BolSimulator } from '../../sim/bol/bol-simulator.js';
import type { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import type { WooSimulator } from '../../sim/woocommerce/woo-simulator.js';
import type { Clock } from '../core/clock.js';
import type { LedgerPort } from '../store/ledger-store.js';
import type { OrderLineRecord } from '../store/order-lines-port.js';

/**
 * The shoppers, pickers and customer service of the demo: one thing happens on one of the two
 * simulated channels per `step()`, the way a small shop sees it.
 *
 * Shopify (odd steps): web orders from the shop's stock; a sale at the Utrecht store's till
 * (a point-of-sale order at the simulator location mapped to STORE-UTR, handed over at once);
 * open web orders fulfilled from the Rotterdam 3PL's location (when onhand holds the units
 * there) or from the main warehouse; an order cancelled; a shipped unit refunded and returned.
 * Bol.com (even steps): orders of one or two FBR offers, shipped and cancelled in parts, a
 * customer's cancellation request. The demo has no marketplace-fulfilment location, so its
 * Bol.com offers are all FBR and no FBB item is ordered. WooCommerce (every third step, besides
 * the others, when the demo runs a WooCommerce shop): web orders, the oldest completed (shipped),
 * the newest cancelled, a unit of a completed order refunded with restock (returned).
 *
 * Amazon (every third step, besides the above, with dice of its own so the other two channels'
 * sequence is unchanged): merchant-fulfilled orders of one SKU, Pending until paid (a third of
 * them) or paid at once, shipped in parts, some cancelled.
 *
 * Every shopper buys only what the channel shows (or, at the till, what onhand holds at the
 * store), so the demo's oversells are only those the whole pool is short of: none while the
 * channels are in sync.
 */
export interface DemoShopifyLocations {
  /** The shop's main location, the connector's `location_id` (WH-AMS). */
  main: string;
  /** The Utrecht store's point of sale (STORE-UTR). */
  store: string;
  /** The Rotterdam 3PL (WH-RTM). */
  rtm: string;
}

export interface DemoOrderFlowDeps {
  shopify: ShopifySimulator;
  bol: BolSimulator;
  locations: DemoShopifyLocations;
  /** Shopify inventory item gid and onhand sku of every `shop` listing. */
  items: readonly { inventoryItemId: string; sku: string }[];
  /** Bol.com offer ids of every `bol` listing. */
  offers: readonly string[];
  /** The Amazon simulator and the seller SKUs of every `amazon` listing; null without an Amazon channel. */
  amazon?: { sim: AmazonSimulator; skus: readonly string[]; random: () => number } | null;
  /** The WooCommerce shop and its items (`woo` listings), when the demo runs one. */
  woo?: { simulator: WooSimulator; items: readonly { externalId: string; sku: string }[] };
  ledger: Pick<LedgerPort, 'getStock'>;
  /** The `shop` channel's lines of an order (its numeric id), as onhand applied them. */
  orderLines: (orderId: string) => Promise<Pick<OrderLineRecord, 'lineId' | 'applied'>[]>;
  clock: Clock;
  random: () => number;
}

export interface DemoOrderCounts {
  shopifyOrders: number;
  posSales: number;
  fulfilments: number;
  fulfilmentsFromRtm: number;
  cancellations: number;
  refunds: number;
  bolOrders: number;
  bolShipments: number;
  bolCancellations: number;
  amazonOrders: number;
  amazonShipments: number;
  amazonCancellations: number;
  wooOrders: number;
  wooCompleted: number;
  wooCancellations: number;
  wooRefunds: number;
}

interface OpenWooOrder {
  orderId: number;
  lineIds: number[];
  completed: boolean;
}

interface OpenShopifyOrder {
  orderId: string;
  lines: { lineItemId: string; sku: string; quantity: number }[];
  fulfilled: boolean;
}

interface OpenBolItem {
  orderId: string;
  orderItemId: string;
  open: number;
}

/** Orders the flow remembers to fulfil, cancel or refund later (the oldest are forgotten). */
const rememberedMax = 200;

export class DemoOrderFlow {
  readonly counts: DemoOrderCounts = {
    shopifyOrders: 0,
    posSales: 0,
    fulfilments: 0,
    fulfilmentsFromRtm: 0,
    cancellations: 0,
    refunds: 0,
    bolOrders: 0,
    bolShipments: 0,
    bolCancellations: 0,
    amazonOrders: 0,
    amazonShipments: 0,
    amazonCancellations: 0,
    wooOrders: 0,
    wooCompleted: 0,
    wooCancellations: 0,
    wooRefunds: 0,
  };
  private readonly wooOrders: OpenWooOrder[] = [];
  private turn = 0;
  private readonly shopifyOrders: OpenShopifyOrder[] = [];
  private readonly bolItems: OpenBolItem[] = [];
  /** Plain variants (the store's till sells no bundle). */
  private readonly plainItems: readonly { inventoryItemId: string; sku: string }[];

  constructor(private readonly deps: DemoOrderFlowDeps) {
    this.plainItems = deps.items.filter((item) => !item.sku.startsWith('BUNDLE-'));
    this.amazonDice = deps.amazon?.random ?? (() => 1);
  }

  private readonly amazonOrders: { orderId: string; orderItemId: string; quantity: number; shipped: number }[] = [];
  /** The Amazon shoppers' dice: their own stream, so adding them changed nothing of the others. */
  private readonly amazonDice: () => number;

  /** One thing happens: Shopify on odd turns, Bol.com on even ones; Amazon and WooCommerce besides, every third. */
  async step(): Promise<void> {
    this.turn += 1;
    if (this.turn % 2 === 0) this.bolStep();
    else await this.shopifyStep();
    if (this.turn % 3 === 0 && this.deps.amazon) this.amazonStep(this.deps.amazon.sim, this.deps.amazon.skus);
    if (this.turn % 3 === 0) this.wooStep();
  }

  // --- Amazon ---------------------------------------------------------------------------------

  private amazonStep(sim: AmazonSimulator, skus: readonly string[]): void {
    const dice = this.amazonDice();
    if (dice < 0.45) {
      const sku = skus[Math.floor(this.amazonDice() * skus.length)];
      const shown = sku === undefined ? 0 : (sim.listing(sku)?.quantity ?? 0);
      const quantity = shown >= 3 && this.amazonDice() < 0.3 ? 2 : 1;
      if (sku === undefined || shown < quantity) return;
      const pending = this.amazonDice() < 0.33;
      const order = sim.createOrder({ items: [{ sku, quantity }], status: pending ? 'Pending' : 'Unshipped' });
      this.remember(this.amazonOrders, {
        orderId: order.orderId,
        orderItemId: order.orderItemIds[0]!,
        quantity,
        shipped: 0,
      });
      this.counts.amazonOrders += 1;
    } else if (dice < 0.85) {
      const order = this.amazonOrders[0];
      if (order === undefined) return;
      sim.payOrder(order.orderId);
      const units = order.quantity - order.shipped > 1 && this.amazonDice() < 0.5 ? 1 : order.quantity - order.shipped;
      sim.shipItem(order.orderId, order.orderItemId, units);
      order.shipped += units;
      if (order.shipped >= order.quantity) this.amazonOrders.shift();
      this.counts.amazonShipments += 1;
    } else {
      const order = this.amazonOrders[this.amazonOrders.length - 1];
      if (order === undefined || order.shipped > 0) return;
      sim.cancelOrder(order.orderId);
      this.amazonOrders.pop();
      this.counts.amazonCancellations += 1;
    }
  }

  // --- WooCommerce ----------------------------------------------------------------------------

  private wooStep(): void {
    const woo = this.deps.woo;
    if (woo === undefined) return;
    const dice = this.deps.random();
    if (dice < 0.5) this.wooOrder(woo.simulator, woo.items);
    else if (dice < 0.8) {
      const order = this.wooOrders.find((candidate) => !candidate.completed);
      if (order === undefined) return;
      woo.simulator.setOrderStatus(order.orderId, 'completed');
      order.completed = true;
      this.counts.wooCompleted += 1;
    } else if (dice < 0.9) {
      const index = this.wooOrders.findLastIndex((candidate) => !candidate.completed);
      if (index < 0) return;
      const [order] = this.wooOrders.splice(index, 1);
      woo.simulator.setOrderStatus(order!.orderId, 'cancelled');
      this.counts.wooCancellations += 1;
    } else {
      const index = this.wooOrders.findIndex((candidate) => candidate.completed);
      if (index < 0) return;
      const [order] = this.wooOrders.splice(index, 1);
      woo.simulator.refundOrder(order!.orderId, [{ lineId: order!.lineIds[0]!, quantity: 1 }], true);
      this.counts.wooRefunds += 1;
    }
  }

  private wooOrder(simulator: WooSimulator, items: readonly { externalId: string; sku: string }[]): void {
    const lineCount = this.deps.random() < 0.2 ? 2 : 1;
    const lines: { externalId: string; quantity: number }[] = [];
    for (let attempt = 0; attempt < 20 && lines.length < lineCount; attempt += 1) {
      const item = this.pick(items);
      if (item === undefined || lines.some((line) => line.externalId === item.externalId)) continue;
      const shows = simulator.stockOf(item.externalId) ?? 0;
      const quantity = shows >= 4 && this.deps.random() < 0.25 ? 2 : 1;
      if (shows >= quantity) lines.push({ externalId: item.externalId, quantity });
    }
    if (lines.length === 0) return;
    const order = simulator.createOrder({ lines });
    this.remember(this.wooOrders, {
      orderId: order.id,
      lineIds: order.lines.map((line) => line.id),
      completed: false,
    });
    this.counts.wooOrders += 1;
  }

  private pick<T>(list: readonly T[]): T | undefined {
    return list[Math.floor(this.deps.random() * list.length)];
  }

  private remember<T>(list: T[], entry: T): void {
    list.push(entry);
    if (list.length > rememberedMax) list.shift();
  }

  // --- Shopify --------------------------------------------------------------------------------

  private async shopifyStep(): Promise<void> {
    const dice = this.deps.random();
    if (dice < 0.45) this.webOrder();
    else if (dice < 0.6) await this.tillSale();
    else if (dice < 0.82) await this.fulfil();
    else if (dice < 0.91) this.cancel();
    else this.refund();
  }

  private webOrder(): void {
    const { shopify, locations } = this.deps;
    const lineCount = this.deps.random() < 0.2 ? 2 : 1;
    const lines: { inventoryItemId: string; quantity: number; sku: string }[] = [];
    for (let attempt = 0; attempt < 20 && lines.length < lineCount; attempt += 1) {
      const item = this.pick(this.deps.items);
      if (item === undefined || lines.some((line) => line.inventoryItemId === item.inventoryItemId)) continue;
      const shows = shopify.available(item.inventoryItemId, locations.main) ?? 0;
      const quantity = shows >= 4 && this.deps.random() < 0.25 ? 2 : 1;
      if (shows >= quantity) lines.push({ inventoryItemId: item.inventoryItemId, quantity, sku: item.sku });
    }
    if (lines.length === 0) return;
    const order = shopify.createOrder({
      lines: lines.map(({ inventoryItemId, quantity }) => ({ inventoryItemId, quantity })),
    });
    this.remember(this.shopifyOrders, {
      orderId: order.orderId,
      lines: lines.map((line, index) => ({
        lineItemId: order.lineItemIds[index]!,
        sku: line.sku,
        quantity: line.quantity,
      })),
      fulfilled: false,
    });
    this.counts.shopifyOrders += 1;
  }

  /** A sale at the Utrecht store's till, of a unit onhand holds there; handed over at once. */
  private async tillSale(): Promise<void> {
    const { shopify, locations } = this.deps;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const item = this.pick(this.plainItems);
      if (item === undefined) return;
      const stock = await this.deps.ledger.getStock(item.sku, this.deps.clock.now());
      const atStore = stock?.locations.find((level) => level.location === 'STORE-UTR')?.available ?? 0;
      if (atStore < 1) continue;
      // The till counts what the store holds (onhand pushes the shop's main location only).
      shopify.editAvailable(item.inventoryItemId, locations.store, atStore);
      const order = shopify.createOrder({
        lines: [{ inventoryItemId: item.inventoryItemId, quantity: 1 }],
        locationId: locations.store,
        pointOfSale: true,
      });
      shopify.fulfillOrder(order.orderId, { locationId: locations.store });
      this.counts.shopifyOrders += 1;
      this.counts.posSales += 1;
      return;
    }
  }

  /**
   * The oldest open web order ships from where onhand holds its units (a split line from each of
   * its locations), or, half the time, all from the Rotterdam 3PL when onhand has every unit
   * free there (the 3PL takes the order over: its reservation moves there). An order whose lines
   * onhand has not applied yet waits for a later step.
   */
  private async fulfil(): Promise<void> {
    const order = this.shopifyOrders.find((candidate) => !candidate.fulfilled);
    if (order === undefined) return;
    const records = await this.deps.orderLines(order.orderId.slice(order.orderId.lastIndexOf('/') + 1));
    const held = order.lines.map((line) => {
      const record = records.find((candidate) => line.lineItemId.endsWith(`/${candidate.lineId}`));
      if (record === undefined) return null;
      return Object.entries(record.applied).filter(([, effect]) => effect.reserved > 0);
    });
    if (held.some((entry) => entry === null)) return;
    if (held.some((entry) => entry!.length === 0)) {
      // Nothing held any more (cancelled in Shopify's admin, say): nothing to ship.
      this.shopifyOrders.splice(this.shopifyOrders.indexOf(order), 1);
      return;
    }
    const { locations, shopify } = this.deps;
    let fromRtm = this.deps.random() < 0.5 && order.lines.every((line) => !line.sku.startsWith('BUNDLE-'));
    for (const line of order.lines) {
      if (!fromRtm) break;
      const stock = await this.deps.ledger.getStock(line.sku, this.deps.clock.now());
      const atRtm = stock?.locations.find((level) => level.location === 'WH-RTM')?.available ?? 0;
      if (atRtm < line.quantity) fromRtm = false;
    }
    if (fromRtm) shopify.fulfillOrder(order.orderId, { locationId: locations.rtm });
    else {
      const simLocation: Record<string, string> = {
        'WH-AMS': locations.main,
        'STORE-UTR': locations.store,
        'WH-RTM': locations.rtm,
      };
      order.lines.forEach((line, index) => {
        for (const [code, effect] of held[index]!)
          shopify.fulfillOrder(order.orderId, {
            locationId: simLocation[code] ?? locations.main,
            lines: [{ lineItemId: line.lineItemId, quantity: effect.reserved }],
          });
      });
    }
    order.fulfilled = true;
    this.counts.fulfilments += 1;
    if (fromRtm) this.counts.fulfilmentsFromRtm += 1;
  }

  /** The newest open web order is cancelled; its units go back on sale. */
  private cancel(): void {
    const index = this.shopifyOrders.findLastIndex((candidate) => !candidate.fulfilled);
    if (index < 0) return;
    const [order] = this.shopifyOrders.splice(index, 1);
    this.deps.shopify.cancelOrder(order!.orderId);
    this.counts.cancellations += 1;
  }

  /** A customer sends back a unit of a shipped order: refunded and returned to the main warehouse. */
  private refund(): void {
    const index = this.shopifyOrders.findIndex((candidate) => candidate.fulfilled);
    if (index < 0) return;
    const [order] = this.shopifyOrders.splice(index, 1);
    const line = order!.lines[0]!;
    this.deps.shopify.refundOrder(order!.orderId, {
      lines: [
        { lineItemId: line.lineItemId, quantity: 1, restockType: 'return', locationId: this.deps.locations.main },
      ],
    });
    this.counts.refunds += 1;
  }

  // --- Bol.com --------------------------------------------------------------------------------

  private bolStep(): void {
    const dice = this.deps.random();
    if (dice < 0.45) this.bolOrder();
    else if (dice < 0.8) this.bolShip();
    else this.bolCancel();
  }

  private bolOrder(): void {
    const { bol } = this.deps;
    const itemCount = this.deps.random() < 0.25 ? 2 : 1;
    const items: { offerId: string; quantity: number }[] = [];
    for (let attempt = 0; attempt < 20 && items.length < itemCount; attempt += 1) {
      const offerId = this.pick(this.deps.offers);
      if (offerId === undefined || items.some((item) => item.offerId === offerId)) continue;
      const sellable = bol.offerState(offerId).correctedStock;
      const quantity = sellable >= 4 && this.deps.random() < 0.4 ? 2 + Math.floor(this.deps.random() * 2) : 1;
      if (sellable >= quantity) items.push({ offerId, quantity });
    }
    if (items.length === 0) return;
    const order = bol.createOrder({ items });
    for (const [index, orderItemId] of order.orderItemIds.entries())
      this.remember(this.bolItems, { orderId: order.orderId, orderItemId, open: items[index]!.quantity });
    this.counts.bolOrders += 1;
  }

  /** The oldest open item ships: one unit of a multi-unit item (a part), else all of it. */
  private bolShip(): void {
    const item = this.bolItems[0];
    if (item === undefined) return;
    const units = item.open > 1 && this.deps.random() < 0.5 ? 1 : item.open;
    this.deps.bol.shipOrderItem(item.orderId, item.orderItemId, units);
    this.settle(item, units);
    this.counts.bolShipments += 1;
  }

  /** The newest open item is cancelled, in part or whole; sometimes the customer asked first. */
  private bolCancel(): void {
    const item = this.bolItems[this.bolItems.length - 1];
    if (item === undefined) return;
    if (this.deps.random() < 0.3) this.deps.bol.requestCancellation(item.orderId, item.orderItemId);
    const units = item.open > 1 && this.deps.random() < 0.5 ? 1 : item.open;
    this.deps.bol.cancelOrderItem(item.orderId, item.orderItemId, units);
    this.settle(item, units);
    this.counts.bolCancellations += 1;
  }

  private settle(item: OpenBolItem, units: number): void {
    item.open -= units;
    if (item.open === 0) this.bolItems.splice(this.bolItems.indexOf(item), 1);
  }
}
