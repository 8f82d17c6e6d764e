import type { FastifyInstance } from 'fastify';
import { alertView } from '../../api/alert-mapping.js';
import { AlertList, AlertQuery } from '../../api/alert-schemas.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { guardWithBearerAuth } from '../auth.js';
import { route } from './api.js';

export interface AlertDeps {
  store: Pick<LedgerStore, 'alerts' | 'tokens'>;
}

/** `GET /v1/alerts`: the alerts the rules opened, open or resolved, newest first. */
export async function alertPlugin(app: FastifyInstance, { store }: AlertDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  app.get<{ Querystring: AlertQuery }>(
    '/alerts',
    route('read', 'sync', 'Alerts: drift, waiting changes, failing connections, dead letters, silent order sources', {
      description:
        'An alert opens when its rule starts to hold on a channel and resolves when it stops; at most one is open per ' +
        'rule and channel. `detail` holds the figures when it opened.',
      querystring: AlertQuery,
      response: { 200: AlertList },
    }),
    async (request) => {
      const alerts = await store.alerts.list({
        status: request.query.status ?? 'open',
        limit: request.query.limit ?? 100,
      });
      return { alerts: alerts.map(alertView) };
    },
  );
}
