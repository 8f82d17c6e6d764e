import type { FastifyInstance } from 'fastify';
import {
  DriftList,
  DriftQuery,
  driftView,
  ReconcileBody,
  ReconcileResult,
  reconcileSummaryView,
} from '../../api/reconcile-schemas.js';
import { limits } from '../../core/limits.js';
import type { ReconcileMode, ReconcileSummary } from '../../reconcile/reconcile-pass.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { guardWithBearerAuth } from '../auth.js';
import { ProblemError } from '../errors.js';
import { route } from './api.js';

/** What runs a pass now: the server's reconcile schedule (src/reconcile/reconcile-schedule.ts). */
export interface ReconcileRunner {
  readonly channelCodes: readonly string[];
  runNow(channel: string, mode: ReconcileMode, dryRun: boolean): Promise<ReconcileSummary>;
}

export interface ReconcileDeps {
  store: Pick<LedgerStore, 'outbox' | 'availability' | 'tokens'>;
  /** The runner, once the channels are connected (main.ts builds the server first); undefined: none connected. */
  reconcile: () => ReconcileRunner | undefined;
}

/**
 * Reconciliation as an operator sees it: the drifted listings of a channel, and a pass now
 * (the same passes the background schedule runs, on the push loop's connectors).
 */
export async function reconcilePlugin(app: FastifyInstance, { store, reconcile }: ReconcileDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  async function knownChannel(code: string): Promise<void> {
    if (!(await store.availability.getChannel(code)))
      throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', `no channel ${code}`);
  }

  app.get<{ Querystring: DriftQuery }>(
    '/reconcile/drift',
    route(
      'read',
      'reconcile',
      'The listings of a channel that show something else than the channel acknowledged, with no push pending',
      {
        description:
          'Judged from what the channel was last seen showing (a reconcile pass, a level notice, a push answer). ' +
          `A listing showing less is confirmed once two reads ${limits.driftGraceMs / 1000} s apart agree, or, on a channel whose orders are polled, once a poll that began after the read caught up. In listing id order; ` +
          'pass the last listing_id as `after` for the next page.',
        querystring: DriftQuery,
        response: { 200: DriftList },
      },
      [404],
    ),
    async (request) => {
      const { channel, after, limit } = request.query;
      await knownChannel(channel);
      const entries = await store.outbox.listDrift(channel, { graceMs: limits.driftGraceMs, afterId: after, limit });
      return { items: entries.map(driftView) };
    },
  );

  app.post<{ Body: ReconcileBody }>(
    '/reconcile',
    route(
      'admin',
      'reconcile',
      'Run a reconcile pass now: read the channel(s) back, judge drift, queue repairs through the outbox',
      {
        description:
          'Targeted (listings pushed or changed lately, and those in drift) unless `full`; `dry_run` queues no repair. ' +
          'Answers once the passes are done, one summary per connected channel.',
        body: ReconcileBody,
        response: { 200: ReconcileResult },
      },
      [404, 409],
    ),
    async (request) => {
      const { channel, full, dry_run: dryRun } = request.body ?? {};
      if (channel !== undefined) await knownChannel(channel);
      const runner = reconcile();
      const codes = runner?.channelCodes ?? [];
      const wanted = channel === undefined ? codes : codes.filter((code) => code === channel);
      if (!runner || wanted.length === 0)
        throw new ProblemError(
          'ONH_ERR_CHANNEL_NOT_CONNECTED',
          channel === undefined ? 'no channel is connected' : `channel ${channel} is not connected`,
        );
      const summaries = [];
      for (const code of wanted) summaries.push(await runner.runNow(code, full ? 'full' : 'targeted', dryRun === true));
      return { channels: summaries.map(reconcileSummaryView) };
    },
  );
}
