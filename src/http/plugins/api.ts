import assert from 'node:assert';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteShorthandOptions } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { CommandAnswer } from '../../core/ledger/apply-commands.js';
import type { ChannelReserve, LedgerCommand, ReserveCommand } from '../../core/ledger/command.js';
import { channelSellable } from '../../core/ledger/reservation-judges.js';
import { resolveChannelReserve, resolveCheckoutLine } from '../../api/channel-reservation.js';
import type { OrderLineIntake } from '../../ingest/order-line-intake.js';
import type { GroupCommitter } from '../../store/group-commit.js';
import type { LedgerStore, TokenScope } from '../../store/ledger-store.js';
import {
  commitCommand,
  locationView,
  movementCommand,
  purchaseOrderInput,
  purchaseOrderView,
  releaseCommand,
  reserveCommand,
  variantInput,
  variantView,
} from '../api-mapping.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError, verdictProblem } from '../errors.js';
import { refuseReservedKeys } from '../request-guards.js';
import { ActiveOnlyQuery } from '../../api/list-schemas.js';
import { submitChecked } from '../checked-submit.js';
import {
  CommitBody,
  IdParams,
  LocationList,
  LocationsBody,
  MovementPage,
  MovementsBody,
  MovementsQuery,
  MovementsResult,
  OversellPage,
  PageQuery,
  PurchaseOrderBody,
  PurchaseOrderView,
  ReleaseBody,
  ReservationBody,
  ReservationResult,
  ReservationView,
  SkuParams,
  StockView,
  UpsertReport,
  VariantListQuery,
  VariantPage,
  VariantsBody,
  VariantView,
  problemResponses,
} from '../schemas.js';

export interface ApiDeps {
  store: LedgerStore;
  ledger: GroupCommitter;
  clock: Clock;
  /** The order-line intake: a commit naming its channel order line hands the units to it. */
  orders: OrderLineIntake;
}

/**
 * Options of one /v1 route: the scope it needs (enforced by the auth hook) and its OpenAPI
 * schema, with the problems every authenticated route can answer plus the route's own.
 * Every route may answer 503: a full ledger queue, a server shutting down, or the handler
 * deadline (ONH_ERR_TIMEOUT).
 */
export function route(
  scope: TokenScope,
  tag: string,
  summary: string,
  schema: FastifySchema,
  problems: number[] = [],
): RouteShorthandOptions {
  return {
    config: { scope },
    schema: {
      ...schema,
      tags: [tag],
      summary,
      description: [schema.description, `Needs ${scope === 'admin' ? 'an' : 'a'} ${scope} token.`]
        .filter(Boolean)
        .join(' '),
      security: [{ bearer: [] }],
      response: { ...(schema.response as object), ...problemResponses([400, 401, 403, ...problems, 500, 503]) },
    },
  };
}

function notFound(
  code: 'ONH_ERR_VARIANT_NOT_FOUND' | 'ONH_ERR_RESERVATION_NOT_FOUND' | 'ONH_ERR_PURCHASE_ORDER_NOT_FOUND',
  what: string,
): ProblemError {
  return new ProblemError(code, `no ${what}`);
}

/**
 * A route whose ledger batch checks the request's token and the variants and locations it names
 * (lists.ts submitChecked), so the auth hook may take the token from its cache (auth.ts).
 */
function checkedAtCommit(options: RouteShorthandOptions): RouteShorthandOptions {
  return { ...options, config: { ...options.config, tokenCheckedAtCommit: true } };
}

/** commit and release may be sent without a body: it means `{}`. */
export async function emptyBodyIsObject(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

/**
 * The /v1 API. Each handler maps the request to the port or to ledger commands, calls it,
 * and maps the answer back; refusals become problems (errors.ts), nothing else is decided here.
 */
export async function apiPlugin(app: FastifyInstance, { store, ledger, clock, orders }: ApiDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  async function submitOne(command: LedgerCommand): Promise<CommandAnswer> {
    const [answer] = await ledger.submit([command]);
    assert(answer, 'the ledger answers every command');
    return answer;
  }

  async function availableAt(sku: string, location: string): Promise<number> {
    const stock = await store.ledger.getStock(sku, clock.now());
    return stock?.locations.find((level) => level.location === location)?.available ?? 0;
  }

  /** What a channel may sell now, as the ledger judges it (read outside the ledger: informative only). */
  async function channelAvailable(sku: string, channel: ChannelReserve): Promise<number> {
    const stock = await store.ledger.getStock(sku, clock.now());
    const now = clock.now();
    let pool = 0;
    for (const candidate of channel.locations) {
      const level = stock?.locations.find((each) => each.location === candidate.code);
      if (!level) continue;
      const counted = level.last_count_at === null ? null : Date.parse(level.last_count_at);
      if (candidate.countMaxAgeMs !== undefined && (counted === null || counted < now - candidate.countMaxAgeMs))
        continue;
      pool += Math.max(0, level.available);
    }
    return Math.max(0, channelSellable(pool, channel.fence));
  }

  /** A reservation's applied (or replayed) answer as the response body; a refusal as a problem. */
  function reservationResult(
    reply: FastifyReply,
    answer: CommandAnswer,
    status: number,
    members: Record<string, unknown> = {},
  ) {
    if (answer.status !== 'applied' && answer.status !== 'exists') throw verdictProblem(answer, members);
    assert(
      answer.reservation && answer.level,
      'an applied reservation command answers with the reservation and its level',
    );
    if (answer.replayed) reply.header('idempotent-replayed', 'true');
    reply.code(status);
    return answer.parts
      ? { reservation: answer.reservation, level: answer.level, parts: answer.parts }
      : { reservation: answer.reservation, level: answer.level };
  }

  // --- catalogue -----------------------------------------------------------------------------

  app.put<{ Body: VariantsBody }>(
    '/variants',
    route(
      'write',
      'catalogue',
      'Create or update variants by sku (all or nothing)',
      { body: VariantsBody, response: { 200: UpsertReport } },
      [413, 422],
    ),
    async (request) => store.catalogue.upsertVariants(request.body.variants.map(variantInput), clock.now()),
  );

  app.get<{ Params: SkuParams }>(
    '/variants/:sku',
    route(
      'read',
      'catalogue',
      'One variant, with its components',
      { params: SkuParams, response: { 200: VariantView } },
      [404],
    ),
    async (request) => {
      const variant = await store.catalogue.getVariant(request.params.sku);
      if (!variant) throw notFound('ONH_ERR_VARIANT_NOT_FOUND', `variant with sku ${request.params.sku}`);
      return variantView(variant);
    },
  );

  app.get<{ Querystring: VariantListQuery }>(
    '/variants',
    route('read', 'catalogue', 'Variants ordered by sku', {
      querystring: VariantListQuery,
      response: { 200: VariantPage },
    }),
    async (request) => {
      const { after, limit, active } = request.query;
      // One more than asked tells whether another page exists.
      const rows = await store.catalogue.listVariants({ afterSku: after, limit: limit + 1, active });
      const items = rows.slice(0, limit).map(variantView);
      return { items, next_after: rows.length > limit ? items[items.length - 1]!.sku : null };
    },
  );

  app.put<{ Body: LocationsBody }>(
    '/locations',
    route(
      'write',
      'catalogue',
      'Create or update locations by code (all or nothing)',
      { body: LocationsBody, response: { 200: UpsertReport } },
      [413, 422],
    ),
    async (request) => store.catalogue.upsertLocations(request.body.locations, clock.now()),
  );

  app.get<{ Querystring: ActiveOnlyQuery }>(
    '/locations',
    route('read', 'catalogue', 'All locations', { querystring: ActiveOnlyQuery, response: { 200: LocationList } }),
    async (request) => ({
      items: (await store.catalogue.listLocations({ active: request.query.active })).map(locationView),
    }),
  );

  // --- purchase orders -----------------------------------------------------------------------

  app.put<{ Params: IdParams; Body: PurchaseOrderBody }>(
    '/purchase-orders/:id',
    route(
      'write',
      'purchase orders',
      'Create or replace a purchase order (received quantities are kept per line)',
      { params: IdParams, body: PurchaseOrderBody, response: { 200: PurchaseOrderView } },
      [413, 422],
    ),
    async (request) =>
      purchaseOrderView(
        await store.catalogue.upsertPurchaseOrder(purchaseOrderInput(request.params.id, request.body), clock.now()),
      ),
  );

  app.get<{ Params: IdParams }>(
    '/purchase-orders/:id',
    route(
      'read',
      'purchase orders',
      'One purchase order',
      { params: IdParams, response: { 200: PurchaseOrderView } },
      [404],
    ),
    async (request) => {
      const order = await store.catalogue.getPurchaseOrder(request.params.id);
      if (!order) throw notFound('ONH_ERR_PURCHASE_ORDER_NOT_FOUND', `purchase order ${request.params.id}`);
      return purchaseOrderView(order);
    },
  );

  // --- movements -----------------------------------------------------------------------------

  app.post<{ Body: MovementsBody }>(
    '/movements',
    checkedAtCommit(
      route(
        'write',
        'movements',
        'Record movements; one answer per movement, in request order',
        {
          description:
            'Every movement is judged on its own; `results[i].status` is its verdict. A movement that fails the schema fails the whole request (400) and nothing is applied.',
          body: MovementsBody,
          response: { 200: MovementsResult },
        },
        [409, 413, 422],
      ),
    ),
    // Map every item before submitting any, so that nothing is applied unless all map.
    async (request) => {
      refuseReservedKeys(
        request.body.movements.map((movement, index) => ({ path: `/movements/${index}/key`, key: movement.key })),
      );
      const commands = request.body.movements.map(movementCommand);
      const items = commands.map((command, index) => ({ path: `/movements/${index}`, command }));
      return { results: await submitChecked(ledger, request, commands, items) };
    },
  );

  // --- reservations --------------------------------------------------------------------------

  app.post<{ Body: ReservationBody }>(
    '/reservations',
    checkedAtCommit(
      route(
        'write',
        'reservations',
        'Reserve units at a location or by channel (judged against available, atomically)',
        {
          description:
            "Give exactly one of `location` and `channel`. By channel, the request is judged against the channel's pool less other channels' ring-fenced stock and placed whole at the first location in priority order that holds it, else split, one part per location (`parts`). A replay of an applied key answers 201 with the first body and `Idempotent-Replayed: true`.",
          body: ReservationBody,
          response: { 201: ReservationResult },
        },
        [404, 409, 413, 422],
      ),
    ),
    async (request, reply) => {
      const body = request.body;
      refuseReservedKeys([{ path: '/key', key: body.key }]);
      if ((body.location === undefined) === (body.channel === undefined)) {
        const path = body.channel === undefined ? '/location' : '/channel';
        throw new ProblemError('ONH_ERR_VALIDATION', 'give exactly one of location and channel', {
          errors: [{ path, message: 'exactly one of location and channel is required' }],
        });
      }
      let command: ReserveCommand;
      if (body.channel !== undefined) {
        // The channel's deactivation is checked in the ledger batch (submitChecked).
        const channel = await resolveChannelReserve(store.availability, body.channel, body.sku);
        if (!channel) throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', `no channel ${body.channel}`);
        const first = channel.locations[0];
        if (!first) {
          throw new ProblemError('ONH_ERR_INSUFFICIENT', `channel ${body.channel} has no location to reserve at`, {
            members: { key: body.key, available: 0 },
          });
        }
        command = reserveCommand(body, first.code, channel);
      } else {
        command = reserveCommand(body, body.location!);
      }
      const [answer] = await submitChecked(ledger, request, [command], [{ path: '', command }]);
      assert(answer, 'the ledger answers every command');
      // `available` in the problem is read after the refusal: what a client may ask for now.
      const members =
        answer.status === 'insufficient'
          ? {
              available: command.channel
                ? await channelAvailable(command.sku, command.channel)
                : await availableAt(command.sku, command.location),
            }
          : {};
      const result = reservationResult(reply, answer, 201, members);
      reply.header('location', `${app.prefix}/reservations/${encodeURIComponent(result.reservation.id)}`);
      return result;
    },
  );

  app.get<{ Params: IdParams }>(
    '/reservations/:id',
    route(
      'read',
      'reservations',
      'One reservation (a pending one past its expiry shows as expired)',
      { params: IdParams, response: { 200: ReservationView } },
      [404],
    ),
    async (request) => {
      const reservation = await store.ledger.getReservation(request.params.id, clock.now());
      if (!reservation) throw notFound('ONH_ERR_RESERVATION_NOT_FOUND', `reservation ${request.params.id}`);
      return reservation;
    },
  );

  app.post<{ Params: IdParams; Body: CommitBody }>(
    '/reservations/:id/commit',
    {
      ...route(
        'write',
        'reservations',
        'Commit a reservation, fully or partly (the rest is released)',
        {
          description:
            "With `order` (a reservation made by channel only), the committed units become that channel order line once the commit is durable: the line holds them where the reservation held them, so the channel's own order event for the line books nothing again, and its cancellation or fulfilment releases or ships them. Each part of a split reservation is committed with the same `order`; a replay changes nothing. A line the channel reported first gives up its own units for the committed ones (`order_line` says how the line stands).",
          params: IdParams,
          body: CommitBody,
          response: { 200: ReservationResult },
        },
        [404, 409, 413, 422],
      ),
      preValidation: emptyBodyIsObject,
    },
    async (request, reply) => {
      const { id } = request.params;
      const body = request.body;
      refuseReservedKeys([{ path: '/key', key: body.key }]);
      let checkout: Extract<Awaited<ReturnType<typeof resolveCheckoutLine>>, { kind: 'line' }> | undefined;
      if (body.order !== undefined) {
        // Checked before the commit: a request that cannot name its line changes nothing.
        const reservation = await store.ledger.getReservation(id, clock.now());
        if (!reservation) throw notFound('ONH_ERR_RESERVATION_NOT_FOUND', `reservation ${id}`);
        const resolved = await resolveCheckoutLine(store.availability, reservation, body.order);
        if (resolved.kind === 'no_channel')
          throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', `no channel ${resolved.code}`);
        if (resolved.kind === 'invalid')
          throw new ProblemError('ONH_ERR_VALIDATION', resolved.message, {
            errors: [{ path: '/order', message: resolved.message }],
          });
        checkout = resolved;
      }
      const result: ReturnType<typeof reservationResult> & { order_line?: unknown } = reservationResult(
        reply,
        await submitOne(commitCommand(id, body)),
        200,
      );
      if (checkout) {
        // The commit is durable: the line takes its units over. A retry replays the commit and
        // takes them again, which changes nothing once they are taken.
        const { channel, line } = checkout;
        await orders.takeCommit(channel, line, {
          reservationId: result.reservation.id,
          location: result.reservation.location,
          quantity: result.reservation.committed_quantity,
        });
        const record = await store.orders.getLine(channel.code, line.lineKey);
        result.order_line = {
          channel: channel.code,
          line_key: line.lineKey,
          order_id: line.orderId,
          line_id: line.lineId,
          status: record?.status ?? 'blocked',
          reason: record === null ? 'not recorded' : record.reason,
        };
      }
      return result;
    },
  );

  app.post<{ Params: IdParams; Body: ReleaseBody }>(
    '/reservations/:id/release',
    {
      ...route(
        'write',
        'reservations',
        'Release a reservation',
        { params: IdParams, body: ReleaseBody, response: { 200: ReservationResult } },
        [404, 409, 413, 422],
      ),
      preValidation: emptyBodyIsObject,
    },
    async (request, reply) => {
      refuseReservedKeys([{ path: '/key', key: request.body.key }]);
      return reservationResult(reply, await submitOne(releaseCommand(request.params.id, request.body)), 200);
    },
  );

  // --- stock ---------------------------------------------------------------------------------

  app.get<{ Params: SkuParams }>(
    '/stock/:sku',
    route(
      'read',
      'stock',
      'Stock of a variant per location and in total, with incoming purchase orders',
      { params: SkuParams, response: { 200: StockView } },
      [404],
    ),
    async (request) => {
      const stock = await store.ledger.getStock(request.params.sku, clock.now());
      if (!stock) throw notFound('ONH_ERR_VARIANT_NOT_FOUND', `variant with sku ${request.params.sku}`);
      return stock;
    },
  );

  app.get<{ Params: SkuParams; Querystring: MovementsQuery }>(
    '/stock/:sku/movements',
    route(
      'read',
      'stock',
      'History of a variant, newest first',
      { params: SkuParams, querystring: MovementsQuery, response: { 200: MovementPage } },
      [404],
    ),
    async (request) => {
      const page = await store.ledger.listMovements(request.params.sku, request.query);
      if (!page) throw notFound('ONH_ERR_VARIANT_NOT_FOUND', `variant with sku ${request.params.sku}`);
      return page;
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/oversells',
    route('read', 'stock', 'Sales that drove available below zero, newest first', {
      description:
        'Each names the channel and the order line it was booked for (`channel`, `order_line`), and the pool that was short (`reason`: `pool A,B short by n`).',
      querystring: PageQuery,
      response: { 200: OversellPage },
    }),
    async (request) => {
      const page = await store.ledger.listOversells(request.query);
      // A channel order line's moves are keyed `<line key>:<step>:<index>`, its order id the source reference.
      const lineOf = (movement: (typeof page.items)[number]) => {
        const match = /^(.+):\d+:\d+$/s.exec(movement.key);
        return match && movement.source.reference !== null
          ? { orderId: movement.source.reference, lineKey: match[1]! }
          : null;
      };
      const known = await store.orders.channelsOfLines(page.items.map(lineOf).filter((line) => line !== null));
      // Two channels over one platform account: the first by code names it.
      const channelOf = new Map<string, string>();
      for (const line of known)
        if (!channelOf.has(`${line.orderId}\u0000${line.lineKey}`))
          channelOf.set(`${line.orderId}\u0000${line.lineKey}`, line.channel);
      return {
        items: page.items.map((movement) => {
          const line = lineOf(movement);
          const channel = line === null ? undefined : channelOf.get(`${line.orderId}\u0000${line.lineKey}`);
          return { ...movement, channel: channel ?? null, order_line: channel === undefined ? null : line!.lineKey };
        }),
        next_cursor: page.next_cursor,
      };
    },
  );
}
