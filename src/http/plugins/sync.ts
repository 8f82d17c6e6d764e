import type { FastifyInstance } from 'fastify';
import type { RateLimitStatus } from '../../connectors/channel-connector.js';
import type { Clock } from '../../core/clock.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import { deadLetterView, syncStatusView } from '../../api/sync-mapping.js';
import { DeadLetterList, DeadLetterQuery, RedriveBody, RedriveResult, SyncStatusView } from '../../api/sync-schemas.js';
import { route } from './api.js';

export interface SyncDeps {
  store: Pick<LedgerStore, 'outbox' | 'availability' | 'tokens'>;
  clock: Clock;
  /** The rate budget of a channel connected in this process; undefined when it is not connected here. */
  rateBudget?: (channel: string) => RateLimitStatus | undefined;
}

/**
 * Propagation as an operator sees it: per channel connection, how far behind it is and how
 * fast it acknowledges; the listings that gave up (dead letters) and sending them again.
 * Like the other plugins, each handler maps the request to the port and the answer back.
 */
export async function syncPlugin(app: FastifyInstance, { store, clock, rateBudget }: SyncDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  /** A named channel must exist: a typo must not read as "nothing to do". */
  async function knownChannel(code: string | undefined): Promise<void> {
    if (code !== undefined && !(await store.availability.getChannel(code)))
      throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', `no channel ${code}`);
  }

  app.get(
    '/sync/status',
    route(
      'read',
      'sync',
      'Per channel connection: queue depth, oldest pending age, last success, consecutive failures, dead letters, push latency, last error, rate budget',
      {
        description:
          'Push latency is measured from the ledger commit to the channel acknowledgement, over the pushes of the last 15 minutes ' +
          '(null when there were none).',
        response: { 200: SyncStatusView },
      },
    ),
    async () => ({
      channels: (await store.outbox.syncStatus(clock.now())).map((status) =>
        syncStatusView(status, rateBudget?.(status.channel) ?? null),
      ),
    }),
  );

  app.get<{ Querystring: DeadLetterQuery }>(
    '/dead-letters',
    route(
      'read',
      'sync',
      'Listings the channel refused for good or after the last retry, each with its newest desired quantity and the last error',
      { querystring: DeadLetterQuery, response: { 200: DeadLetterList } },
      [404],
    ),
    async (request) => {
      const { channel, limit } = request.query;
      await knownChannel(channel);
      return { items: (await store.outbox.listDeadLetters({ channel, limit })).map(deadLetterView) };
    },
  );

  app.post<{ Body: RedriveBody }>(
    '/dead-letters/redrive',
    route(
      'admin',
      'sync',
      'Move dead letters back to pending (due now, attempts reset), optionally of one channel',
      {
        description: 'Answers how many were moved; the push loop sends their newest desired quantity.',
        body: RedriveBody,
        response: { 200: RedriveResult },
      },
      [404, 413],
    ),
    async (request) => {
      const { channel, limit } = request.body;
      await knownChannel(channel);
      return { redriven: await store.outbox.redrive({ channel, limit }, clock.now()) };
    },
  );
}
