import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashToken } from '../../api/tokens.js';
import { Closed } from '../../api/schema-primitives.js';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import type { EventHub, LiveEvent } from '../event-hub.js';
import { route } from './api.js';

export interface EventsDeps {
  store: Pick<LedgerStore, 'tokens'>;
  events: EventHub;
  clock: Clock;
}

const EventsQuery = Closed({
  mode: Type.Optional(
    Type.Literal('catch-up', {
      description: 'Answer the events after Last-Event-ID that the server still holds, then end (no stream)',
    }),
  ),
});
type EventsQuery = Static<typeof EventsQuery>;

const EventsHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ maxLength: 64, description: 'Resume after this event' })),
});

function frame(event: LiveEvent): string {
  return `id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * `GET /v1/events`: server-sent events of what changes (docs in event-hub.ts): `stock` (the
 * levels a ledger batch left), `push` and `sync` (a channel's push outcomes, at most once a
 * second), `alert` (fired or resolved), `listing`, and `reset` when a resume is impossible.
 *
 * Bounds (core/limits.ts): at most `eventStreamsMax` streams per process (503 beyond); a
 * heartbeat comment every `eventHeartbeatMs`, at which the token or session is checked again, so
 * revoking it ends the stream too; a stream more than `eventStreamBacklogMax` events behind its
 * socket is closed (the client resumes from the ring). The reply is hijacked: the handler
 * deadline does not apply to it, and the server's close ends every stream first.
 */
export async function eventsPlugin(app: FastifyInstance, { store, events, clock }: EventsDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  /** Whether the credentials the stream was opened with still hold. */
  async function stillAuthorised(request: FastifyRequest): Promise<boolean> {
    const session = request.dashboardSession;
    if (session) {
      const now = clock.now();
      return (await store.tokens.findSession(session.hash, now, now - limits.sessionIdleMs)) !== null;
    }
    const match = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '');
    return match !== null && (await store.tokens.findTokenByHash(hashToken(match[1]!))) !== null;
  }

  app.get<{ Querystring: EventsQuery; Headers: Static<typeof EventsHeaders> }>(
    '/events',
    route(
      'read',
      'live',
      'Server-sent events: stock levels, listing quantities, push outcomes, alerts and sync status as they change',
      {
        description:
          'Each event has an id; a client reconnecting with Last-Event-ID gets the events it missed while the server ' +
          `still holds them (the newest ${limits.eventRingSizeMax}), else a \`reset\` event (reload what you show). ` +
          `A comment every ${limits.eventHeartbeatMs / 1000} s keeps the stream open. At most ` +
          `${limits.eventStreamsMax} streams at once (503 beyond).`,
        querystring: EventsQuery,
        headers: EventsHeaders,
        response: {
          200: {
            description: 'text/event-stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
        },
      },
    ),
    async (request, reply) => {
      const catchUp = request.query.mode === 'catch-up';
      if (!catchUp && open.size >= limits.eventStreamsMax)
        throw new ProblemError('ONH_ERR_UNAVAILABLE', 'too many event streams are open; retry shortly', {
          headers: { 'retry-after': String(Math.ceil(limits.eventRetryMs / 1000)) },
        });
      const missed = events.since(request.headers['last-event-id']);
      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        ...(catchUp ? {} : { connection: 'keep-alive' }),
      });
      let out = `retry: ${limits.eventRetryMs}\n\n`;
      if (missed === 'gone') out += `event: reset\ndata: {}\n\n`;
      else for (const event of missed) out += frame(event);
      if (catchUp) {
        response.end(out);
        return;
      }
      response.write(out);
      let behind = 0;
      const unsubscribe = events.subscribe((event) => {
        if (response.writableNeedDrain) behind += 1;
        if (behind > limits.eventStreamBacklogMax) {
          end();
          return;
        }
        response.write(frame(event));
      });
      response.on('drain', () => {
        behind = 0;
      });
      const heartbeat = setInterval(() => {
        stillAuthorised(request).then(
          (ok) => (ok ? response.write(': heartbeat\n\n') : end()),
          () => end(),
        );
      }, limits.eventHeartbeatMs);
      function end(): void {
        if (!open.delete(end)) return;
        clearInterval(heartbeat);
        unsubscribe();
        response.end();
      }
      open.add(end);
      request.raw.on('close', end);
      response.on('error', end);
    },
  );
}
