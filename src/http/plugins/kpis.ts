import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { kpiView } from '../../api/kpi-mapping.js';
import { KpiQuery, KpiView } from '../../api/kpi-schemas.js';
import { defaultKpiWindow, parseKpiWindow } from '../../api/kpi-window.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import { route } from './api.js';

export interface KpiDeps {
  store: Pick<LedgerStore, 'kpis' | 'tokens'>;
  clock: Clock;
}

/** `GET /v1/kpis`: the figures an operator watches, over a window ending now. */
export async function kpiPlugin(app: FastifyInstance, { store, clock }: KpiDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  app.get<{ Querystring: KpiQuery }>(
    '/kpis',
    route(
      'read',
      'sync',
      'KPIs over a window: oversell rate, update latency p50/p95, cancellations after an oversell, queue, dead letters, intake inbox',
      {
        description:
          'Oversells and cancellations count the movements recorded in the window; latency the push samples kept in it ' +
          '(samples are kept one hour, see `latency_since`); queue, dead letters and the inbox are as they stand now.',
        querystring: KpiQuery,
        response: { 200: KpiView },
      },
    ),
    async (request) => {
      const window = request.query.window ?? defaultKpiWindow;
      const parsed = parseKpiWindow(window);
      if ('error' in parsed)
        throw new ProblemError('ONH_ERR_VALIDATION', `window ${parsed.error}`, {
          errors: [{ path: 'querystring/window', message: parsed.error }],
        });
      const to = clock.now();
      return kpiView(window, await store.kpis.kpis({ from: to - parsed.ms, to }));
    },
  );
}
