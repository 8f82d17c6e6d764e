import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../core/clock.js';
import {
  ActivationView,
  CodeParams,
  ListingIdParams,
  MovementFeedQuery,
  PurchaseOrderListQuery,
  ReservationListQuery,
} from '../../api/list-schemas.js';
import { activationView } from '../../api/list-mapping.js';
import type { ActivationKind, LedgerStore, ReservationListStatus } from '../../store/ledger-store.js';
import { actorOf, guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import { purchaseOrderView } from '../api-mapping.js';
import { MovementPage, PurchaseOrderView, ReservationView, SkuParams } from '../schemas.js';
import { Type } from '@sinclair/typebox';
import { route } from './api.js';

export interface ListsDeps {
  store: Pick<LedgerStore, 'ledger' | 'catalogue' | 'availability' | 'tokens'>;
  clock: Clock;
}

/** A cursor the store refuses is named in the problem, like any bad query parameter. */
async function withCursor<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ONH_ERR_CURSOR')
      throw new ProblemError('ONH_ERR_CURSOR', 'the cursor is not one this server issued for this list', {
        errors: [{ path: 'querystring/cursor', message: 'is not a cursor this server issued for this list' }],
      });
    throw error;
  }
}

const ReservationPage = Type.Object({
  items: Type.Array(ReservationView),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `cursor` for the next page; null at the end',
  }),
});

const PurchaseOrderPage = Type.Object({
  items: Type.Array(PurchaseOrderView),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `cursor` for the next page; null at the end',
  }),
});

const MovementFeedPage = Type.Object({
  items: MovementPage.properties.items,
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description:
      'Where the next page starts, also after the last page: poll with it to tail the ledger. Null once `until` is reached',
  }),
  has_more: Type.Boolean({ description: 'More movements are readable now; false: caught up, poll again later' }),
});

const activationRoutes: {
  kind: ActivationKind;
  path: string;
  tag: string;
  params: typeof SkuParams | typeof CodeParams | typeof ListingIdParams;
  what: string;
}[] = [
  { kind: 'variant', path: '/variants/:sku', tag: 'catalogue', params: SkuParams, what: 'variant' },
  { kind: 'location', path: '/locations/:code', tag: 'catalogue', params: CodeParams, what: 'location' },
  { kind: 'channel', path: '/channels/:code', tag: 'channels', params: CodeParams, what: 'channel' },
  { kind: 'listing', path: '/listings/:id', tag: 'listings', params: ListingIdParams, what: 'listing' },
];

const notFoundCodes = {
  variant: 'ONH_ERR_VARIANT_NOT_FOUND',
  location: 'ONH_ERR_LOCATION_NOT_FOUND',
  channel: 'ONH_ERR_CHANNEL_NOT_FOUND',
  listing: 'ONH_ERR_LISTING_NOT_FOUND',
} as const;

/**
 * The lists users page through (reservations, the movements feed, purchase orders) and
 * deactivation. Each handler maps the query to the port and the answer back.
 */
export async function listsPlugin(app: FastifyInstance, { store, clock }: ListsDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  app.get<{ Querystring: ReservationListQuery }>(
    '/reservations',
    route('read', 'reservations', 'Reservations, newest first', {
      description:
        'Filtered by status (default `active`), sku, location and channel; a keyset cursor, so paging never skips or repeats a reservation.',
      querystring: ReservationListQuery,
      response: { 200: ReservationPage },
    }),
    async (request) => {
      const { status, ...rest } = request.query;
      return withCursor(() =>
        store.ledger.listReservations({ ...rest, status: status as ReservationListStatus }, clock.now()),
      );
    },
  );

  app.get<{ Querystring: MovementFeedQuery }>(
    '/movements',
    route('read', 'movements', 'Every movement, oldest first, from a time or a cursor (to tail the ledger)', {
      description:
        'A keyset cursor over the order in which movements became visible: no movement is skipped or repeated between pages, even while new ones commit. `next_cursor` is given after the last page too: poll with it.',
      querystring: MovementFeedQuery,
      response: { 200: MovementFeedPage },
    }),
    async (request) => {
      const { since, until, ...rest } = request.query;
      return withCursor(() =>
        store.ledger.movementFeed({
          ...rest,
          since: since === undefined ? undefined : Date.parse(since),
          until: until === undefined ? undefined : Date.parse(until),
        }),
      );
    },
  );

  app.get<{ Querystring: PurchaseOrderListQuery }>(
    '/purchase-orders',
    route('read', 'purchase orders', 'Purchase orders in id order', {
      description: 'Filtered by status and by a sku on any line; a keyset cursor.',
      querystring: PurchaseOrderListQuery,
      response: { 200: PurchaseOrderPage },
    }),
    async (request) => {
      const page = await withCursor(() => store.catalogue.listPurchaseOrders(request.query));
      return { items: page.items.map(purchaseOrderView), next_cursor: page.next_cursor };
    },
  );

  for (const { kind, path, tag, params, what } of activationRoutes) {
    for (const active of [false, true]) {
      const verb = active ? 'activate' : 'deactivate';
      app.post<{ Params: Record<string, string> }>(
        `${path}/${verb}`,
        route(
          'admin',
          tag,
          active ? `Activate a ${what} again` : `Deactivate a ${what} (nothing is deleted)`,
          {
            description: `Idempotent: \`changed\` is false when the ${what} already was ${active ? 'active' : 'deactivated'}. Recorded with the token's name and the time. Effects: docs/LISTS.md.`,
            params,
            response: { 200: ActivationView },
          },
          [404],
        ),
        async (request) => {
          const ref = Object.values(request.params)[0]!;
          const record = await store.availability.setActive(kind, ref, active, actorOf(request), clock.now());
          if (!record) throw new ProblemError(notFoundCodes[kind], `no ${what} ${ref}`);
          return activationView(record);
        },
      );
    }
  }
}
