import type { components as RetailerV10 } from '../../src/connectors/bol/generated/retailer-v10.js';
import type { BolSimulatorFaults, BolSimulatorStats } from './bol-options.js';
import type { OfferCatalogue } from './offer-catalogue.js';
import { HttpAnswer, iso, type Problem, problem } from './problem-answer.js';

type ReducedOrders = RetailerV10['schemas']['ReducedOrders'];
type ReducedOrder = RetailerV10['schemas']['ReducedOrder'];
type Order = RetailerV10['schemas']['Order'];

/** The highest `firstId` (BolSimulatorOptions): order ids stay short, order item ids a safe integer. */
export const maxFirstId = 1_000_000_000_000_000;

/** Orders per page of `GET /retailer/orders` (docs/channels/bol.md, Orders in: polling). */
const ordersPageSize = 50;

export interface SimOrderItem {
  orderItemId: string;
  offerId: string;
  ean: string;
  /** The offer's method when ordered: FBB items are shipped (and cancelled) by bol. */
  fulfilmentMethod: 'FBR' | 'FBB';
  quantity: number;
  quantityShipped: number;
  quantityCancelled: number;
  cancellationRequest: boolean;
  latestChangedAt: number;
}

export interface SimOrder {
  orderId: string;
  placedAt: number;
  items: SimOrderItem[];
}

function statusOf(item: SimOrderItem): 'OPEN' | 'HANDLED' {
  return openUnits(item) === 0 ? 'HANDLED' : 'OPEN';
}

function openUnits(item: SimOrderItem): number {
  return item.quantity - item.quantityShipped - item.quantityCancelled;
}

/**
 * The `status` filter of `get-orders`, per order item: OPEN lists the items neither shipped nor
 * cancelled in full ("active orders excluding those that have been shipped or cancelled"),
 * SHIPPED the items with shipped units, ALL every item whatever its state.
 */
function matchesStatus(item: SimOrderItem, status: string): boolean {
  if (status === 'OPEN') return statusOf(item) === 'OPEN';
  if (status === 'SHIPPED') return item.quantityShipped > 0;
  return true;
}

/**
 * Orders v10 (docs/channels/bol.md, Orders in: polling and Order lifecycle): the orders a test
 * places, cancels and ships (in part or in full, FBR or FBB), the paged list with its filters and
 * the detail the connector polls.
 */
export class OrderBook {
  private orderSequence = 0;
  private orderItemSequence = 0;
  /** The body of the last order-list answer, for the `replayOrderListNext` fault. */
  private lastListBody: ReducedOrders | Record<string, never> | null = null;

  constructor(
    /** Shared with the offers, which read it for correctedStock. */
    private readonly orders: Map<string, SimOrder>,
    private readonly offers: OfferCatalogue,
    private readonly now: () => number,
    private readonly faults: () => BolSimulatorFaults,
    private readonly counters: () => BolSimulatorStats,
    firstId = 1,
  ) {
    if (!Number.isSafeInteger(firstId) || firstId < 1 || firstId > maxFirstId)
      throw new Error(`firstId must be a whole number from 1 to ${maxFirstId}`);
    this.orderSequence = this.orderItemSequence = firstId - 1;
  }

  get(orderId: string): SimOrder | undefined {
    return this.orders.get(orderId);
  }

  /** A customer places an order (each item FBR or FBB as its offer is, all items OPEN). */
  createOrder(order: { items: readonly { offerId: string; quantity: number }[]; placedAt?: number }): {
    orderId: string;
    orderItemIds: string[];
  } {
    const placedAt = order.placedAt ?? this.now();
    const orderId = `A2K${(++this.orderSequence).toString(36).toUpperCase().padStart(7, '0')}`;
    const items = order.items.map((item) => {
      const offer = this.offers.requireOffer(item.offerId);
      if (!Number.isInteger(item.quantity) || item.quantity < 1) throw new Error(`bad quantity ${item.quantity}`);
      return {
        orderItemId: String(2_012_345_678 + ++this.orderItemSequence),
        offerId: offer.offerId,
        ean: offer.ean,
        fulfilmentMethod: offer.fulfilmentMethod,
        quantity: item.quantity,
        quantityShipped: 0,
        quantityCancelled: 0,
        cancellationRequest: false,
        latestChangedAt: placedAt,
      } satisfies SimOrderItem;
    });
    this.orders.set(orderId, { orderId, placedAt, items });
    return { orderId, orderItemIds: items.map((item) => item.orderItemId) };
  }

  /** The customer asks to cancel (the item stays OPEN until the retailer cancels it). */
  requestCancellation(orderId: string, orderItemId: string): void {
    const item = this.requireOrderItem(orderId, orderItemId);
    item.cancellationRequest = true;
    item.latestChangedAt = this.now();
  }

  /**
   * `units` of the item are cancelled (by the retailer, confirming a request or unable to deliver,
   * or by bol): all its open units by default, which makes it HANDLED; fewer leaves it OPEN.
   */
  cancelOrderItem(orderId: string, orderItemId: string, units?: number): void {
    const item = this.requireOrderItem(orderId, orderItemId);
    item.quantityCancelled += this.openUnitsToTake(item, units);
    item.latestChangedAt = this.now();
  }

  /** `units` of the item ship (the retailer for FBR, bol for FBB): all open units by default. */
  shipOrderItem(orderId: string, orderItemId: string, units?: number): void {
    const item = this.requireOrderItem(orderId, orderItemId);
    item.quantityShipped += this.openUnitsToTake(item, units);
    item.latestChangedAt = this.now();
  }

  private openUnitsToTake(item: SimOrderItem, units: number | undefined): number {
    const open = openUnits(item);
    const taken = units ?? open;
    if (!Number.isInteger(taken) || taken < 1 || taken > open)
      throw new Error(`order item ${item.orderItemId}: ${taken} units asked, ${open} open`);
    return taken;
  }

  private requireOrderItem(orderId: string, orderItemId: string): SimOrderItem {
    const item = this.orders.get(orderId)?.items.find((candidate) => candidate.orderItemId === orderItemId);
    if (item === undefined) throw new Error(`unknown order item ${orderId}/${orderItemId}`);
    return item;
  }

  listOrders(url: URL, media: string): HttpAnswer {
    const query = url.searchParams;
    const violations: Problem['violations'] = [];
    const page = Number(query.get('page') ?? '1');
    if (!Number.isInteger(page) || page < 1)
      violations.push({ name: 'page', reason: 'Must be an integer of at least 1.' });
    // Defaults as in retailer-api-v10.json get-orders: FBR and OPEN.
    const method = query.get('fulfilment-method') ?? 'FBR';
    if (!['FBR', 'FBB', 'ALL'].includes(method))
      violations.push({
        name: 'fulfilment-method',
        reason: `Request contains invalid value(s): '${method}', allowed values: FBR, FBB, ALL.`,
      });
    const status = query.get('status') ?? 'OPEN';
    if (!['OPEN', 'SHIPPED', 'ALL'].includes(status))
      violations.push({
        name: 'status',
        reason: `Request contains invalid value(s): '${status}', allowed values: OPEN, SHIPPED, ALL.`,
      });
    const intervalText = query.get('change-interval-minute');
    const interval = intervalText === null ? null : Number(intervalText);
    if (interval !== null && (!Number.isInteger(interval) || interval < 1 || interval > 60)) {
      violations.push({ name: 'change-interval-minute', reason: 'Must be an integer between 1 and 60.' });
    }
    if (violations.length > 0)
      return problem(
        400,
        'Bad Request',
        'Bad request: The sent request does not meet the API specification.',
        url.pathname,
        media,
        violations,
      );
    const changedSince = interval === null ? null : this.now() - interval * 60_000;
    const matching: ReducedOrder[] = [];
    const sorted = [...this.orders.values()].sort(
      (a, b) => a.placedAt - b.placedAt || a.orderId.localeCompare(b.orderId),
    );
    for (const order of sorted) {
      const items = order.items.filter(
        (item) =>
          (method === 'ALL' || item.fulfilmentMethod === method) &&
          matchesStatus(item, status) &&
          (changedSince === null || item.latestChangedAt >= changedSince),
      );
      if (items.length === 0) continue;
      matching.push({
        orderId: order.orderId,
        orderPlacedDateTime: iso(order.placedAt),
        orderItems: items.map((item) => ({
          orderItemId: item.orderItemId,
          ean: item.ean,
          fulfilmentMethod: item.fulfilmentMethod,
          fulfilmentStatus: statusOf(item),
          quantity: item.quantity,
          quantityShipped: item.quantityShipped,
          quantityCancelled: item.quantityCancelled,
          cancellationRequest: item.cancellationRequest,
          latestChangedDateTime: iso(item.latestChangedAt),
        })),
      });
    }
    const slice = matching.slice((page - 1) * ordersPageSize, page * ordersPageSize);
    // Past the last page bol answers an empty object, not `{orders: []}` ([unverified]; docs/channels/bol.md).
    let body: ReducedOrders | Record<string, never> = slice.length === 0 ? {} : { orders: slice };
    const faults = this.faults();
    if (faults.replayOrderListNext > 0 && this.lastListBody !== null) {
      // A stale copy served again (a cache or replica in front of the list): same body, whatever the query.
      faults.replayOrderListNext--;
      this.counters().replayedOrderLists++;
      body = this.lastListBody;
    }
    this.lastListBody = structuredClone(body);
    return new HttpAnswer(200, body, media);
  }

  orderDetail(order: SimOrder): Order {
    return {
      orderId: order.orderId,
      pickupPoint: false,
      orderPlacedDateTime: iso(order.placedAt),
      shipmentDetails: {
        salutation: 'UNKNOWN',
        firstName: 'Sim',
        surname: 'Customer',
        streetName: 'Simstraat',
        houseNumber: '1',
        zipCode: '1000 AA',
        city: 'Amsterdam',
        countryCode: 'NL',
      },
      orderItems: order.items.map((item) => {
        const offer = this.offers.get(item.offerId);
        return {
          orderItemId: item.orderItemId,
          cancellationRequest: item.cancellationRequest,
          fulfilment: {
            method: item.fulfilmentMethod,
            distributionParty: item.fulfilmentMethod === 'FBB' ? 'BOL' : 'RETAILER',
            timeFrameType: 'REGULAR',
          },
          offer: { offerId: item.offerId, reference: offer?.reference ?? null },
          product: { ean: item.ean, title: `Simulated product ${item.ean}` },
          quantity: item.quantity,
          quantityShipped: item.quantityShipped,
          quantityCancelled: item.quantityCancelled,
          unitPrice: 9.99,
          totalPrice: 9.99 * item.quantity,
          discounts: [],
          commission: 1.0,
          latestChangedDateTime: iso(item.latestChangedAt),
        };
      }),
    };
  }
}
