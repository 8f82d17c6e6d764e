import Fastify, { type FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { alertRules } from '../core/alerts.js';
import type { Clock } from '../core/clock.js';
import type { OrderIngestReport } from '../ingest/order-ingest-report.js';
import type { LedgerObserver } from '../store/group-commit.js';
import type { ReconcileMode, ReconcileSummary } from '../reconcile/reconcile-pass.js';
import type { AlertPort } from '../store/alerts-port.js';
import type { KpiPort } from '../store/kpis-port.js';
import type { DispatchResult } from '../store/outbox-port.js';
import type { TokenLookup } from './auth.js';
import { guardWithBearerAuth } from './auth.js';
import { route } from './plugins/api.js';

/** Seconds buckets of the push-latency histogram: a push is due within seconds, a throttled channel takes minutes. */
const pushLatencyBuckets = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];
/** Seconds buckets of HTTP requests and ledger batches (a batch is one durable transaction). */
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The process's Prometheus metrics (prom-client, one registry per server). The counters and
 * histograms move as things happen in this process: requests answered, ledger batches, pushes
 * acknowledged, order lines ingested. The gauges (outbox, dead letters, intake inbox, drift,
 * open alerts) are read from the store at each scrape, so every process reports the whole
 * database's figures.
 */
export class Metrics {
  readonly registry = new Registry();

  /**
   * @param options.process also export the process's own figures (prom-client's defaults: CPU
   * seconds, resident memory, heap, garbage collection, open handles, and the event loop's delay
   * as percentiles): a request path that waits while the CPU is free, or the reverse, shows
   * there first. On for `serve`; a test building several servers in one process leaves it off.
   */
  constructor(options: { process?: boolean } = {}) {
    if (options.process) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }
  private readonly httpRequests = new Counter({
    name: 'onhand_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'onhand_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to answering it, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  private readonly ledgerCommands = new Counter({
    name: 'onhand_ledger_commands_total',
    help: 'Ledger commands answered by the group committer, by command type and answer status',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });
  private readonly ledgerBatches = new Histogram({
    name: 'onhand_ledger_batch_duration_seconds',
    help: 'Duration of each group-commit transaction, until durable',
    buckets: durationBuckets,
    registers: [this.registry],
  });
  private readonly ledgerBatchFailures = new Counter({
    name: 'onhand_ledger_batch_failures_total',
    help: 'Group-commit transactions that failed (their submissions are retried alone)',
    registers: [this.registry],
  });
  private readonly oversells = new Counter({
    name: 'onhand_oversells_total',
    help: "Orders and sales the ledger recorded as true oversells (the channel's whole pool short)",
    registers: [this.registry],
  });
  private readonly oversoldUnits = new Counter({
    name: 'onhand_oversold_units_total',
    help: 'Units sold beyond the pool by true oversells',
    registers: [this.registry],
  });
  private readonly pushResults = new Counter({
    name: 'onhand_push_results_total',
    help: 'Answers to pushes recorded, by channel and status (ok, stale, retry, permanent)',
    labelNames: ['channel', 'status'] as const,
    registers: [this.registry],
  });
  private readonly pushLatency = new Histogram({
    name: 'onhand_push_latency_seconds',
    help: 'From the ledger commit of a change to the channel acknowledging it, by channel',
    labelNames: ['channel'] as const,
    buckets: pushLatencyBuckets,
    registers: [this.registry],
  });
  private readonly rateLimitWaits = new Counter({
    name: 'onhand_rate_limit_waits_total',
    help: "Push rounds that claimed nothing because the platform's rate budget was spent, by channel",
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly rateLimitWaitSeconds = new Counter({
    name: 'onhand_rate_limit_wait_seconds_total',
    help: 'The waits those rounds were told (until the budget refills), summed, by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly orderEvents = new Counter({
    name: 'onhand_order_line_events_total',
    help: 'Channel order-line events received (webhooks and polls), by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly orderLines = new Counter({
    name: 'onhand_order_lines_ingested_total',
    help: 'Channel order lines taken in, by channel and outcome (changed, unchanged, info, blocked, invalid)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly outboxDepth = new Gauge({
    name: 'onhand_outbox_depth',
    help: 'Listings whose newest desired quantity the channel has not acknowledged (dead letters excluded)',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly outboxOldest = new Gauge({
    name: 'onhand_outbox_oldest_pending_seconds',
    help: 'Age of the oldest change waiting to be pushed, by channel (0 when nothing waits)',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly deadLetters = new Gauge({
    name: 'onhand_dead_letters',
    help: 'Listings a channel refused for good or after the last retry, by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly intakeInbox = new Gauge({
    name: 'onhand_intake_inbox',
    help: 'Channel order lines waiting in the intake inbox (blocked), by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly drift = new Gauge({
    name: 'onhand_drift_listings',
    help: 'Listings the channel was last seen showing more or less than it acknowledged, no push pending, by channel and direction',
    labelNames: ['channel', 'direction'] as const,
    registers: [this.registry],
  });
  private readonly alertsOpen = new Gauge({
    name: 'onhand_alerts_open',
    help: 'Alerts open now, by rule (every rule listed, 0 when none is open)',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  private readonly reconcileRuns = new Counter({
    name: 'onhand_reconcile_runs_total',
    help: 'Reconcile passes run by this process, by channel, mode (targeted, full) and outcome (ok, read_errors, failed)',
    labelNames: ['channel', 'mode', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly reconcileRepairs = new Counter({
    name: 'onhand_reconcile_repairs_total',
    help: 'Drifted listings re-queued for a repair push by this process, by channel and direction (more, less)',
    labelNames: ['channel', 'direction'] as const,
    registers: [this.registry],
  });

  /** For ReconcileSchedule's `onRun`: a pass finished (a dry run counts as a run, its repairs do not). */
  readonly reconciled = (summary: ReconcileSummary): void => {
    const outcome = summary.readErrors > 0 ? 'read_errors' : 'ok';
    this.reconcileRuns.inc({ channel: summary.channel, mode: summary.mode, outcome });
    if (summary.dryRun) return;
    for (const repair of summary.repairs)
      this.reconcileRepairs.inc({ channel: summary.channel, direction: repair.direction });
  };

  /** For ReconcileSchedule's `onRunFailed`: a pass threw before it finished. */
  readonly reconcileFailed = (channel: string, mode: ReconcileMode): void => {
    this.reconcileRuns.inc({ channel, mode, outcome: 'failed' });
  };

  /** For GroupCommitter's `observer`. */
  readonly ledger: LedgerObserver = {
    batchStarted: () => {
      const stop = this.ledgerBatches.startTimer();
      return (done) => {
        if (done === null) {
          this.ledgerBatchFailures.inc();
          return;
        }
        stop();
        const commands = done.items.filter((item) => item.type !== 'tidy');
        done.answers.forEach((answer, index) => {
          this.ledgerCommands.inc({ type: commands[index]?.type ?? 'unknown', status: answer.status });
          const oversold = answer.status === 'applied' ? (answer.oversold ?? 0) : 0;
          if (oversold > 0) {
            this.oversells.inc();
            this.oversoldUnits.inc(oversold);
          }
        });
      };
    },
  };

  /** For Propagation's (or a dispatcher's) `onResult`. */
  readonly pushed = (channel: string, status: DispatchResult['status'], latencyMs: number | null): void => {
    this.pushResults.inc({ channel, status });
    if (latencyMs !== null) this.pushLatency.observe({ channel }, latencyMs / 1000);
  };

  /** For Propagation's (or a dispatcher's) `onRateLimited`. */
  readonly rateLimited = (channel: string, waitMs: number): void => {
    this.rateLimitWaits.inc({ channel });
    this.rateLimitWaitSeconds.inc({ channel }, waitMs / 1000);
  };

  /** For OrderLineIntake's `onIngested`. */
  readonly ingested = (channel: string, report: OrderIngestReport): void => {
    this.orderEvents.inc({ channel }, report.events);
    const outcomes = {
      changed: report.changed,
      unchanged: report.unchanged,
      info: report.info,
      blocked: report.blocked.length,
      invalid: report.invalid.length,
    };
    for (const [outcome, lines] of Object.entries(outcomes))
      if (lines > 0) this.orderLines.inc({ channel, outcome }, lines);
  };

  /** Count and time every request the server answers, labelled by its route pattern (never the raw path). */
  observeRequests(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      };
      this.httpRequests.inc(labels);
      this.httpDuration.observe(labels, reply.elapsedTime / 1000);
    });
  }

  /** The scrape: the store's standing figures and open alerts, then every metric in the text format. */
  async scrape(store: ScrapedStore, clock: Clock): Promise<string> {
    const standing = await store.kpis.standing(clock.now());
    const open = new Map((await store.alerts.openCounts()).map((entry) => [entry.rule, entry.open]));
    for (const rule of alertRules) this.alertsOpen.set({ rule }, open.get(rule) ?? 0);
    for (const gauge of [this.outboxDepth, this.outboxOldest, this.deadLetters, this.intakeInbox, this.drift])
      gauge.reset();
    for (const channel of standing) {
      const labels = { channel: channel.channel };
      this.outboxDepth.set(labels, channel.queueDepth);
      this.outboxOldest.set(labels, (channel.oldestPendingAgeMs ?? 0) / 1000);
      this.deadLetters.set(labels, channel.deadLetters);
      this.intakeInbox.set(labels, channel.inbox);
      this.drift.set({ ...labels, direction: 'more' }, channel.driftMore);
      this.drift.set({ ...labels, direction: 'less' }, channel.driftLess);
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** What a scrape reads from the store. */
export interface ScrapedStore {
  kpis: Pick<KpiPort, 'standing'>;
  alerts: Pick<AlertPort, 'openCounts'>;
}

export interface MetricsDeps {
  metrics: Metrics;
  store: ScrapedStore & { tokens: TokenLookup };
  clock: Clock;
}

/** `GET /metrics` on the API's address: needs a read token, like the sync status. */
export async function metricsPlugin(app: FastifyInstance, { metrics, store, clock }: MetricsDeps): Promise<void> {
  guardWithBearerAuth(app, store.tokens);
  app.get(
    '/metrics',
    route('read', 'metrics', 'Prometheus metrics of this process, in the text exposition format', {
      description: 'Served here unless `--metrics-listen` puts it on an address of its own.',
      produces: ['text/plain'],
    }),
    async (_request, reply) => {
      const text = await metrics.scrape(store, clock);
      return reply.type(metrics.contentType).send(text);
    },
  );
}

/**
 * `GET /metrics` alone, for `--metrics-listen`: no token, because the address is the guard (a
 * loopback or an internal network that only the scraper reaches). Anything else is a 404.
 */
export async function buildMetricsServer(deps: Omit<MetricsDeps, 'store'> & { store: ScrapedStore }) {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.scrape(deps.store, deps.clock);
    return reply.type(deps.metrics.contentType).send(text);
  });
  return app;
}
