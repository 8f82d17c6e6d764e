import { randomUUID } from 'node:crypto';
import type { components as OffersV11 } from '../../src/connectors/bol/generated/offers-v11.js';
import type { BolSimulatorOfferState, BolSimulatorStats } from './bol-options.js';
import type { SimOrder } from './order-book.js';
import { HttpAnswer, iso, type Problem, problem } from './problem-answer.js';

type OfferResponse = OffersV11['schemas']['OfferResponse'];

const int32Max = 2_147_483_647;

export interface SimOffer {
  offerId: string;
  ean: string;
  reference: string | null;
  /** Who ships its orders: the retailer (FBR) or bol from its warehouse (FBB). */
  fulfilmentMethod: 'FBR' | 'FBB';
  amount: number;
  managedByRetailer: boolean;
  onHoldByRetailer: boolean;
  /** "The last offer update" of the managedByRetailer=true rule. */
  lastUpdateAt: number;
  pending: {
    /** The order in which the simulator accepted the write, across all offers. */
    seq: number;
    applyAt: number;
    amount: number | undefined;
    managedByRetailer: boolean | undefined;
    onHoldByRetailer: boolean | undefined;
    reference: string | undefined;
  }[];
  stockHistory: { seq: number; at: number; amount: number; source: 'api' | 'out-of-band' }[];
}

/**
 * Offers API v11 (docs/channels/bol.md, Push: one PATCH per offer): the offers, their PATCHes that
 * may show after a propagation delay, and correctedStock against the orders.
 */
export class OfferCatalogue {
  private readonly offers = new Map<string, SimOffer>();
  /** Counts accepted stock writes across all offers, so tests can order writes within one millisecond. */
  private writeSeq = 0;

  constructor(
    private readonly orders: ReadonlyMap<string, SimOrder>,
    private readonly propagationDelayMs: number,
    private readonly now: () => number,
    private readonly counters: () => BolSimulatorStats,
  ) {}

  get(offerId: string): SimOffer | undefined {
    return this.offers.get(offerId);
  }

  /** Creates an offer (FBR unless told otherwise); returns its id (a UUID, as v11 requires). */
  seedOffer(
    offer: {
      offerId?: string;
      ean?: string;
      reference?: string | null;
      fulfilmentMethod?: 'FBR' | 'FBB';
      amount?: number;
      managedByRetailer?: boolean;
    } = {},
  ): string {
    const offerId = offer.offerId ?? randomUUID();
    const now = this.now();
    this.offers.set(offerId, {
      offerId,
      ean: offer.ean ?? String(8_700_000_000_000 + this.offers.size).padStart(13, '0'),
      reference: offer.reference ?? null,
      fulfilmentMethod: offer.fulfilmentMethod ?? 'FBR',
      amount: offer.amount ?? 0,
      managedByRetailer: offer.managedByRetailer ?? true,
      onHoldByRetailer: false,
      lastUpdateAt: now,
      pending: [],
      stockHistory: [],
    });
    return offerId;
  }

  /** Someone edits the stock in bol's seller portal, behind onhand's back. */
  editStockOutOfBand(offerId: string, amount: number): void {
    const offer = this.requireOffer(offerId);
    this.settle(offer);
    offer.amount = amount;
    offer.lastUpdateAt = this.now();
    offer.stockHistory.push({ seq: ++this.writeSeq, at: offer.lastUpdateAt, amount, source: 'out-of-band' });
  }

  offerState(offerId: string): BolSimulatorOfferState {
    const offer = this.requireOffer(offerId);
    this.settle(offer);
    return {
      offerId,
      ean: offer.ean,
      reference: offer.reference,
      fulfilmentMethod: offer.fulfilmentMethod,
      amount: offer.amount,
      correctedStock: this.correctedStock(offer),
      managedByRetailer: offer.managedByRetailer,
      stockHistory: offer.stockHistory.map((entry) => ({ ...entry })),
    };
  }

  requireOffer(offerId: string): SimOffer {
    const offer = this.offers.get(offerId);
    if (offer === undefined) throw new Error(`unknown offer ${offerId}`);
    return offer;
  }

  /** Applies the PATCHes whose propagation delay has passed (v11 writes may show later). */
  private settle(offer: SimOffer): void {
    const now = this.now();
    while (offer.pending.length > 0 && offer.pending[0]!.applyAt <= now) {
      const write = offer.pending.shift()!;
      if (write.amount !== undefined) {
        offer.amount = write.amount;
        offer.stockHistory.push({ seq: write.seq, at: write.applyAt, amount: write.amount, source: 'api' });
      }
      if (write.managedByRetailer !== undefined) offer.managedByRetailer = write.managedByRetailer;
      if (write.onHoldByRetailer !== undefined) offer.onHoldByRetailer = write.onHoldByRetailer;
      if (write.reference !== undefined) offer.reference = write.reference;
      offer.lastUpdateAt = write.applyAt;
    }
  }

  /**
   * Stock schema: "The available stock after accounting for open and processed orders". UpdateStock:
   * managedByRetailer=false -> "all open orders are used"; true -> "only orders that are placed
   * after the last offer update are taken into account" (docs/channels/bol.md, Push: one PATCH per offer).
   */
  private correctedStock(offer: SimOffer): number {
    let reserved = 0;
    for (const order of this.orders.values()) {
      for (const item of order.items) {
        if (item.offerId !== offer.offerId) continue;
        if (offer.managedByRetailer) {
          if (order.placedAt > offer.lastUpdateAt) reserved += item.quantity - item.quantityCancelled;
        } else {
          reserved += item.quantity - item.quantityShipped - item.quantityCancelled;
        }
      }
    }
    return Math.max(0, offer.amount - reserved);
  }

  getOffer(offer: SimOffer, media: string): HttpAnswer {
    return new HttpAnswer(200, this.offerBody(offer), media);
  }

  /**
   * Offers v11 `GET /retailer/offers` (get-offers): every offer in creation order, `page-size`
   * (1..100, default 50) per page, the next page behind `page.nextCursor` (an opaque token here;
   * absent on the last page). The filters (offer-ids, eans, reference, for-sale,
   * last-modified-date-time) are not modelled: an unknown or malformed cursor is a 400.
   */
  listOffers(url: URL, media: string): HttpAnswer {
    const sizeText = url.searchParams.get('page-size');
    const pageSize = sizeText === null ? 50 : Number(sizeText);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
      return problem(400, 'Bad Request', 'Bad request: page-size must be between 1 and 100.', url.pathname, media, [
        { name: 'page-size', reason: 'Request contains invalid value(s): must be between 1 and 100.' },
      ]);
    const cursor = url.searchParams.get('cursor');
    let start = 0;
    if (cursor !== null) {
      const decoded = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (decoded === null)
        return problem(400, 'Bad Request', 'Bad request: invalid cursor.', url.pathname, media, [
          { name: 'cursor', reason: 'Request contains invalid value(s).' },
        ]);
      start = Number(decoded[1]);
    }
    const all = [...this.offers.values()];
    const page = all.slice(start, start + pageSize);
    const next = start + page.length;
    return new HttpAnswer(
      200,
      {
        offers: page.map((offer) => this.offerBody(offer)),
        page: {
          pageSize,
          ...(next < all.length ? { nextCursor: Buffer.from(`o:${next}`).toString('base64url') } : {}),
        },
      },
      media,
    );
  }

  private offerBody(offer: SimOffer): OfferResponse {
    this.settle(offer);
    const body: OfferResponse = {
      offerId: offer.offerId,
      ean: offer.ean,
      lastModifiedDateTime: iso(offer.lastUpdateAt),
      onHoldByRetailer: offer.onHoldByRetailer,
      stock: {
        amount: offer.amount,
        correctedStock: this.correctedStock(offer),
        managedByRetailer: offer.managedByRetailer,
      },
      countryAvailabilities: [
        { countryCode: 'NL', forSale: !offer.onHoldByRetailer && this.correctedStock(offer) > 0 },
      ],
      condition: { category: 'NEW' },
      pricing: { bundlePrices: [{ quantity: 1, unitPrice: 9.99 }] },
      fulfilment: { method: offer.fulfilmentMethod },
    };
    if (offer.reference !== null) body.reference = offer.reference;
    return body;
  }

  /** PatchOfferRequest (offers v11): stock, onHoldByRetailer and reference applied; the rest ignored. */
  patchOffer(offer: SimOffer, body: string, path: string, media: string): HttpAnswer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return problem(400, 'Bad Request', 'Bad request: The request body is not valid JSON.', path, media, [
        { name: 'body', reason: 'Malformed JSON.' },
      ]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return problem(400, 'Bad Request', 'Bad request: The request body must be an object.', path, media, [
        { name: 'body', reason: 'Must be an object.' },
      ]);
    }
    const request = parsed as OffersV11['schemas']['PatchOfferRequest'];
    const violations: Problem['violations'] = [];
    const stock = request.stock as unknown;
    let amount: number | undefined;
    let managedByRetailer: boolean | undefined;
    if (stock !== undefined) {
      if (stock === null || typeof stock !== 'object') {
        violations.push({ name: 'stock', reason: 'Must be an object.' });
      } else {
        const candidate = stock as Record<string, unknown>;
        if (candidate.amount !== undefined) {
          // The v11 schema has no maximum; int32 and, like v10's 0..999, never negative.
          if (
            typeof candidate.amount !== 'number' ||
            !Number.isInteger(candidate.amount) ||
            candidate.amount < 0 ||
            candidate.amount > int32Max
          ) {
            violations.push({ name: 'stock.amount', reason: 'Must be an integer between 0 and 2147483647.' });
          } else {
            amount = candidate.amount;
          }
        }
        if (candidate.managedByRetailer !== undefined) {
          if (typeof candidate.managedByRetailer !== 'boolean')
            violations.push({ name: 'stock.managedByRetailer', reason: 'Must be a boolean.' });
          else managedByRetailer = candidate.managedByRetailer;
        }
      }
    }
    if (request.onHoldByRetailer !== undefined && typeof request.onHoldByRetailer !== 'boolean') {
      violations.push({ name: 'onHoldByRetailer', reason: 'Must be a boolean.' });
    }
    if (request.reference !== undefined && (typeof request.reference !== 'string' || request.reference.length > 100)) {
      violations.push({ name: 'reference', reason: 'Must be a string of at most 100 characters.' });
    }
    if (violations.length > 0) {
      return problem(
        400,
        'Bad Request',
        'Bad request: The sent request does not meet the API specification.',
        path,
        media,
        violations,
      );
    }
    this.settle(offer);
    offer.pending.push({
      seq: ++this.writeSeq,
      applyAt: this.now() + this.propagationDelayMs,
      amount,
      managedByRetailer,
      onHoldByRetailer: request.onHoldByRetailer,
      reference: request.reference,
    });
    this.settle(offer);
    if (amount !== undefined) this.counters().stockWritesAccepted++;
    return new HttpAnswer(204, undefined, media);
  }
}
