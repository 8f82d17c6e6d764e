import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import type { OrderLineIntake } from '../../ingest/order-line-intake.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import type { OrderLineStatus } from '../../store/order-lines-port.js';
import { orderLineView } from '../../api/order-mapping.js';
import {
  InboxPage,
  InboxQuery,
  InboxRetryBody,
  InboxRetryResult,
  LineParams,
  OrderLineListQuery,
  OrderLinePage,
  OrderLinesList,
  OrderParams,
  ShipmentBody,
} from '../../api/order-schemas.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import { route } from './api.js';

export interface OrdersDeps {
  store: Pick<LedgerStore, 'orders' | 'availability' | 'tokens'>;
  intake: OrderLineIntake;
  clock: Clock;
}

/**
 * Channel order lines as an operator sees them: the intake inbox (lines that could not be
 * applied yet, with the reason) and its retry, the lines of one channel order, and shipments
 * an outside system (a WMS) reports for a channel's order line.
 */
export async function ordersPlugin(app: FastifyInstance, { store, intake, clock }: OrdersDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  async function knownChannel(code: string | undefined) {
    if (code === undefined) return undefined;
    const channel = await store.availability.getChannel(code);
    if (!channel) throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', `no channel ${code}`);
    return channel;
  }

  app.get<{ Querystring: InboxQuery }>(
    '/intake/inbox',
    route(
      'read',
      'orders',
      'The intake inbox: channel order lines that could not be applied yet, oldest change first, with the reason',
      {
        description:
          'A line is blocked when no variant matches its item, it names an unknown location, the ledger refused a move, ' +
          'or an event of it was not understood (reason `not understood: ...`). ' +
          'It is applied whole once a listing or mapping makes it applicable, by the retry sweep, or by POST /v1/intake/inbox/retry; ' +
          'a line held by an event not understood stays until that call dismisses the event (`dismiss: true`).',
        querystring: InboxQuery,
        response: { 200: InboxPage },
      },
      [404],
    ),
    async (request) => {
      const { channel, limit, cursor } = request.query;
      await knownChannel(channel);
      if (cursor !== undefined && !/^\d{1,16}:./s.test(cursor))
        throw new ProblemError('ONH_ERR_CURSOR', 'the cursor is not one this server issued');
      const page = await store.orders.inbox({ channel, limit: limit ?? limits.pageSizeDefault, after: cursor });
      return { lines: page.lines.map(orderLineView), next: page.next };
    },
  );

  app.post<{ Body: InboxRetryBody }>(
    '/intake/inbox/retry',
    route(
      'write',
      'orders',
      'Take blocked lines up again now: one line, one channel, or all (bounded per call)',
      { body: InboxRetryBody, response: { 200: InboxRetryResult } },
      [404, 413],
    ),
    async (request) => {
      const { channel, line_key, dismiss } = request.body;
      if (line_key !== undefined && channel === undefined)
        throw new ProblemError('ONH_ERR_VALIDATION', 'line_key needs channel', {
          errors: [{ path: '/channel', message: 'is required with line_key' }],
        });
      if (dismiss === true && line_key === undefined)
        throw new ProblemError('ONH_ERR_VALIDATION', 'dismiss needs line_key', {
          errors: [{ path: '/line_key', message: 'is required with dismiss' }],
        });
      await knownChannel(channel);
      if (line_key !== undefined) {
        if (!(await store.orders.getLine(channel!, line_key)))
          throw new ProblemError('ONH_ERR_ORDER_LINE_NOT_FOUND', `no line ${line_key} of channel ${channel}`);
        const outcome = await intake.retry(channel!, line_key, { dismiss: dismiss === true });
        return {
          retried: 1,
          changed: outcome.kind === 'changed' ? 1 : 0,
          still_blocked: outcome.kind === 'blocked' ? [{ line_key, reason: outcome.reason }] : [],
        };
      }
      const report = await intake.retryDue({ channel });
      return {
        retried: report.changed + report.unchanged + report.info + report.blocked.length,
        changed: report.changed,
        still_blocked: report.blocked.map((line) => ({ line_key: line.lineKey, reason: line.reason })),
      };
    },
  );

  app.get<{ Querystring: OrderLineListQuery }>(
    '/order-lines',
    route(
      'read',
      'orders',
      'Channel order lines, newest first, by variant, channel and status',
      {
        description:
          'Filtered by the variant the line was matched to, the channel and the status (default `open`: units held or moving); ' +
          'a keyset cursor, so paging never skips or repeats a line.',
        querystring: OrderLineListQuery,
        response: { 200: OrderLinePage },
      },
      [404],
    ),
    async (request) => {
      const { sku, channel, status, cursor, limit } = request.query;
      await knownChannel(channel);
      try {
        const page = await store.orders.listLines({
          sku,
          channel,
          status: status as OrderLineStatus | 'all',
          cursor,
          limit,
        });
        return { items: page.items.map(orderLineView), next_cursor: page.next_cursor };
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ONH_ERR_CURSOR')
          throw new ProblemError('ONH_ERR_CURSOR', 'the cursor is not one this server issued for this list', {
            errors: [{ path: 'querystring/cursor', message: 'is not a cursor this server issued for this list' }],
          });
        throw error;
      }
    },
  );

  app.get<{ Params: OrderParams }>(
    '/channels/:code/orders/:order_id',
    route(
      'read',
      'orders',
      'The lines of one channel order: status, the variant matched, and what each does at each location',
      { params: OrderParams, response: { 200: OrderLinesList } },
      [404],
    ),
    async (request) => {
      await knownChannel(request.params.code);
      const lines = await store.orders.orderLines(request.params.code, request.params.order_id);
      if (lines.length === 0)
        throw new ProblemError(
          'ONH_ERR_ORDER_LINE_NOT_FOUND',
          `no order ${request.params.order_id} of channel ${request.params.code}`,
        );
      return { lines: lines.map(orderLineView) };
    },
  );

  app.post<{ Params: LineParams; Body: ShipmentBody }>(
    '/channels/:code/orders/:order_id/lines/:line_id/shipments',
    route(
      'write',
      'orders',
      "Report a shipment of a channel's order line from an outside system (a WMS)",
      {
        description:
          "Counts for stock only when the channel's `settings.orders.shipments` is `api`; otherwise the channel's own " +
          'fulfilments do, and this report is kept with the line. The same shipment id reported again is the same shipment.',
        params: LineParams,
        body: ShipmentBody,
        response: { 200: OrderLinesList },
      },
      [404, 413],
    ),
    async (request) => {
      const channel = (await knownChannel(request.params.code))!;
      const lines = await store.orders.orderLines(channel.code, request.params.order_id);
      const line = lines.find((candidate) => candidate.lineId === request.params.line_id);
      if (!line)
        throw new ProblemError(
          'ONH_ERR_ORDER_LINE_NOT_FOUND',
          `no line ${request.params.line_id} of order ${request.params.order_id} of channel ${channel.code}`,
        );
      const body = request.body;
      const occurredAt = body.occurred_at === undefined ? clock.now() : Date.parse(body.occurred_at);
      await intake.ingest(channel, [
        {
          lineKey: line.lineKey,
          eventId: `api-shipment:${body.id}`,
          orderId: line.orderId,
          lineId: line.lineId,
          item: line.item,
          occurredAt: Math.min(occurredAt, clock.now()),
          fact: {
            kind: 'fulfilled',
            quantity: body.quantity,
            locationId: body.location,
            active: body.cancelled !== true,
            version: body.version ?? 0,
            source: 'api',
          },
        },
      ]);
      return { lines: [orderLineView((await store.orders.getLine(channel.code, line.lineKey))!)] };
    },
  );
}
