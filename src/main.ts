#!/usr/bin/env node
/**
 * Composition root (docs/ARCHITECTURE.md, The tree: src/main.ts): the ONLY place that chooses adapters for ports and
 * hands out the real clock and id source. Everything below receives them.
 */
import { resolve } from 'node:path';
import type { Config } from './config/config-schema.js';
import { storeProfile } from './config/config-schema.js';
import { runCli, type CliRuntime } from './cli/onhand.js';
import { bootstrapAdminToken } from './api/tokens.js';
import { GroupCommitter } from './store/group-commit.js';
import type { LedgerStore } from './store/ledger-store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { Sweeper } from './store/sweeper.js';
import { randomIds, systemClock } from './system-clock.js';
import { applyHeapGrowth } from './config/heap-growth.js';
import { hostname } from 'node:os';
import type { Clock } from './core/clock.js';
import { connectChannel } from './connectors/connector-registry.js';
import type { ChannelRecord } from './store/availability-store.js';
import { OrderPolling } from './ingest/order-polling.js';
import { MarketplaceStockPolling } from './ingest/marketplace-stock.js';
import { OrderLineIntake, startOrderLineRetries } from './ingest/order-line-intake.js';
import { storeOrderItemMatcher } from './ingest/order-item-match.js';
import { Propagation, type ChannelRuntime } from './sync/propagation.js';
import { defaultRetryPolicy } from './sync/retry-policy.js';
import { ReconcileSchedule } from './reconcile/reconcile-schedule.js';
import { type ChannelReconcileSettings, channelReconcileSettings } from './reconcile/reconcile-settings.js';
import { summaryLine } from './reconcile/reconcile-pass.js';
import { AlertLoop, alertThresholds } from './alerts/alert-loop.js';
import { AlertWebhook } from './alerts/alert-webhook.js';
import { alertEvent } from './api/alert-mapping.js';
import { failureLogEntry, type LogEntry, orderLogEntry, pushBatchLogEntry } from './api/log-events.js';

export async function openStore(config: Config): Promise<LedgerStore> {
  if (storeProfile(config.database) === 'postgres') {
    return new PostgresStore({
      connectionString: config.database,
      poolSize: config.pgPoolSize,
      allowAsyncCommit: config.allowAsyncCommit,
    });
  }
  return new SqliteStore({ filename: resolve(config.database) });
}

/**
 * The connector for a channel, from its `settings.connector` (connector-registry.ts picks the
 * adapter). Channels without connector settings are tracked but not pushed.
 */
export function channelRuntime(channel: ChannelRecord, clock: Clock): ChannelRuntime | undefined {
  const connector = connectChannel(channel, clock);
  return connector ? { channel: channel.code, connector } : undefined;
}

function describeDatabase(config: Config): string {
  if (storeProfile(config.database) === 'sqlite') return `SQLite ${resolve(config.database)}`;
  const url = new URL(config.database);
  url.password = url.password ? '***' : '';
  return `PostgreSQL ${url.toString()}`;
}

export async function serve(config: Config): Promise<void> {
  applyHeapGrowth(config.heapGrowthPercent);
  const store = await openStore(config);
  const migration = await store.migrate();
  // Fastify, its plugins and the route schemas are about 70% of what this file loads: only
  // `serve` needs them, so the other commands (and the crash tests' dispatcher processes,
  // which import channelRuntime from here) start without them.
  const { buildServer } = await import('./http/server.js');
  const { Metrics, buildMetricsServer } = await import('./http/metrics.js');
  const { logDestination } = await import('./http/log-output.js');
  // Bound once the server (and its logger) exists; the intake logs nothing before it listens.
  let log: (entry: LogEntry) => void = () => undefined;
  const { EventHub, PushOutcomeBatcher } = await import('./http/event-hub.js');
  // What the dashboard shows live (GET /v1/events): the server publishes the ledger's commits;
  // the push loops and the alert loop are pointed at it below.
  const events = new EventHub(systemClock.now().toString(36));
  const pushOutcomes = new PushOutcomeBatcher(events);
  const metrics = new Metrics({ process: true });
  const ledger = new GroupCommitter(store, systemClock, randomIds, {
    batchSizeMax: config.groupCommitMax,
    observer: metrics.ledger,
  });
  const orders = new OrderLineIntake({
    store,
    ledger,
    clock: systemClock,
    match: storeOrderItemMatcher(store.availability),
    onIngested: metrics.ingested,
    onOrder: (channel, order) => log(orderLogEntry(channel, order)),
  });
  // POST /v1/reconcile runs the schedule's passes; the schedule exists once the channels are connected.
  let reconcile: ReconcileSchedule | undefined;
  // GET /v1/sync/status shows each connected channel's rate budget; the channels connect below.
  const runtimes: ChannelRuntime[] = [];
  const app = await buildServer({
    store,
    ledger,
    orders,
    reconcile: () => reconcile,
    rateBudget: (channel) => runtimes.find((runtime) => runtime.channel === channel)?.connector.rateLimit(),
    clock: systemClock,
    ids: randomIds,
    // Readable lines on a terminal, JSON lines anywhere else (src/http/log-output.ts).
    logger: { level: config.logLevel, stream: logDestination(process.stdout) },
    metrics,
    metricsOnApi: config.metricsListen === null,
    events,
  });
  const metricsApp = config.metricsListen ? await buildMetricsServer({ metrics, store, clock: systemClock }) : null;
  const logger = app.log;
  log = (entry) => logger[entry.level](entry.fields, entry.message);
  if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'database migrated');
  const sweeper = new Sweeper(store, ledger, systemClock, {
    intervalMs: config.sweepIntervalMs,
    retentionDays: config.idempotencyRetentionDays,
    availabilityRefreshMs: config.availabilityRefreshMs,
    onError: (error) => log(failureLogEntry('sweep failed', {}, error)),
  });
  // The demo and the simulators it runs are loaded only for `serve --demo`: `onhand --help`
  // and a plain `serve` never read src/demo/ or sim/ (test/cli/onhand-binary.test.ts).
  const demo = config.demo ? await import('./demo/demo.js') : undefined;
  if (demo) {
    const report = await demo.loadDemo(store, ledger, systemClock);
    if (report) logger.info(report, 'demo catalogue loaded');
  }
  const address = await app.listen({ host: config.host, port: config.port });
  const metricsAddress = metricsApp
    ? await metricsApp
        .listen({ host: config.metricsListen!.host, port: config.metricsListen!.port })
        // A taken or foreign address here is --metrics-listen's, not --port's (startup-errors.ts).
        .catch((error: unknown) => {
          throw Object.assign(error as Error, { setting: '--metrics-listen (env ONHAND_METRICS_LISTEN)' });
        })
    : null;
  // After both listens, so a start that fails on a port makes no token; shown before it is stored
  // (src/api/tokens.ts), so a crash in between cannot leave a token nobody saw.
  const bootstrapToken = (
    await bootstrapAdminToken(store, systemClock, randomIds, (issued) =>
      process.stdout.write(
        [
          '',
          'First start: an admin token is being created. It is shown ONCE; store it now:',
          `  ${issued.token}`,
          'If this start stops before "onhand is running" and the next start shows a new token, use that one.',
          '',
        ].join('\n'),
      ),
    )
  )?.token;
  sweeper.start();

  // Demo: simulated channel accounts on loopback, wired as the demo channels' connectors.
  const demoChannels = demo
    ? await demo.startDemoChannels(store, ledger, systemClock, address, {
        ids: randomIds,
        onError: (error) => log(failureLogEntry('demo order failed', {}, error)),
      })
    : undefined;
  const schedules = new Map<string, ChannelReconcileSettings>();
  for (const channel of await store.availability.listChannels()) {
    try {
      const runtime = channelRuntime(channel, systemClock);
      if (runtime) runtimes.push(runtime);
      schedules.set(channel.code, channelReconcileSettings(channel));
    } catch (error) {
      log(failureLogEntry(`channel ${channel.code} not connected`, { channel: channel.code }, error));
    }
  }
  const owner = `${hostname()}:${process.pid}`;
  const propagation = new Propagation({
    store,
    ledger,
    clock: systemClock,
    owner,
    policy: defaultRetryPolicy,
    channels: runtimes,
    onError: (channel, error) => log(failureLogEntry(`push to ${channel} failed`, { channel }, error)),
    onBatch: (channel, results) => log(pushBatchLogEntry(channel, results)),
    onResult: (channel, status, latencyMs) => {
      metrics.pushed(channel, status, latencyMs);
      pushOutcomes.add(channel, status);
    },
    onRateLimited: metrics.rateLimited,
  });
  propagation.start();
  // Read every connected channel back: targeted every few minutes, full daily (src/core/limits.ts),
  // or on the channel's own `settings.reconcile` intervals.
  reconcile = new ReconcileSchedule({
    store,
    clock: systemClock,
    channels: runtimes.map((runtime) => ({ ...runtime, ...schedules.get(runtime.channel) })),
    lease: { outbox: store.outbox, owner },
    onSummary: (summary) => {
      const found = summary.driftMore + summary.driftLess + summary.repairs.length + summary.readErrors > 0;
      logger[found ? 'info' : 'debug']({ channel: summary.channel, mode: summary.mode }, summaryLine(summary));
    },
    onError: (channel, error) => log(failureLogEntry(`reconcile of ${channel} failed`, { channel }, error)),
    onRun: metrics.reconciled,
    onRunFailed: metrics.reconcileFailed,
  });
  reconcile.start();
  // Alert rules every limits.alertIntervalMs: to the log, and signed to the webhook when one is set.
  const webhook =
    config.alertWebhookUrl && config.alertWebhookSecret
      ? new AlertWebhook({
          url: config.alertWebhookUrl,
          secret: config.alertWebhookSecret,
          ids: randomIds,
          onFailed: (delivery) => logger.warn({ delivery }, 'alert webhook delivery failed'),
        })
      : undefined;
  const alerts = new AlertLoop({
    store,
    clock: systemClock,
    thresholds: alertThresholds(config),
    onFired: (alert) => {
      logger.warn({ alert: alertEvent('alert.fired', alert).alert }, `alert fired: ${alert.rule} on ${alert.channel}`);
      webhook?.send(alertEvent('alert.fired', alert));
      events.publish('alert', {
        ...alertEvent('alert.fired', alert).alert,
        channel: alert.channel,
        transition: 'fired',
      });
    },
    onResolved: (alert) => {
      logger.info(
        { alert: alertEvent('alert.resolved', alert).alert },
        `alert resolved: ${alert.rule} on ${alert.channel}`,
      );
      webhook?.send(alertEvent('alert.resolved', alert));
      events.publish('alert', {
        ...alertEvent('alert.resolved', alert).alert,
        channel: alert.channel,
        transition: 'resolved',
      });
    },
    onError: (error) => log(failureLogEntry('alert evaluation failed', {}, error)),
  });
  alerts.start();
  // Orders of the polled platforms, under the same owner and lease as their push loop.
  const polling = new OrderPolling({
    store,
    orders,
    clock: systemClock,
    owner,
    channels: runtimes,
    onError: (channel, error) => log(failureLogEntry(`order poll of ${channel} failed`, { channel }, error)),
    // Each order has its info line (onOrder above); the poll's totals are detail.
    onOrders: (channel, report) => {
      if (report.changed + report.blocked.length + report.invalid.length > 0)
        logger.debug({ channel, ...report }, 'channel orders ingested');
    },
  });
  polling.start();
  // What the marketplaces hold in their own warehouses (Amazon FBA), counted at each channel's
  // marketplace_fulfilment location; channels without one are not read.
  const marketplaceStock = new MarketplaceStockPolling({
    store,
    ledger,
    clock: systemClock,
    owner,
    channels: runtimes,
    onError: (channel, error) =>
      log(failureLogEntry(`marketplace stock read of ${channel} failed`, { channel }, error)),
    onReport: (channel, report) => {
      if (report.applied + report.refused.length > 0) logger.info({ channel, ...report }, 'marketplace stock counted');
    },
  });
  marketplaceStock.start();
  // Blocked lines and steps a crash left pending are taken up again in the background.
  const retries = startOrderLineRetries(orders, {
    onError: (error) => log(failureLogEntry('order line retry failed', {}, error)),
    onReport: (report) => {
      if (report.changed > 0) logger.info({ changed: report.changed }, 'order lines applied from the intake inbox');
    },
  });

  const lines = [
    `onhand is running on ${describeDatabase(config)}`,
    `  dashboard ${address}/ (sign in with a token)`,
    `  API       ${address}/v1`,
    `  API docs  ${address}/docs`,
    `  metrics   ${metricsAddress ? `${metricsAddress}/metrics (no token)` : `${address}/metrics (read token)`}`,
    `  channels  ${runtimes.map((runtime) => runtime.channel).join(', ') || 'none connected (add settings.connector to a channel)'}`,
    ...(demoChannels ? [`  demo      ${demoChannels.describe()}`] : []),
  ];
  if (bootstrapToken) {
    lines.push(
      '',
      'The admin token shown above is saved. Try it:',
      `  curl -H 'Authorization: Bearer ${bootstrapToken}' ${address}/v1/stock/TEE-RED-M`,
    );
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close(); // stops accepting requests, finishes in-flight ones
    await metricsApp?.close();
    await polling.stop();
    await marketplaceStock.stop();
    await retries.stop();
    await reconcile.stop();
    await alerts.stop();
    await webhook?.stop();
    await propagation.stop();
    await demoChannels?.stop();
    await sweeper.stop();
    await ledger.close(); // applies what is queued
    await store.close();
    process.exit(0);
  };
  // `on`, not `once`: a second signal during the shutdown is ignored (the `stopping` guard)
  // instead of killing the process before the group committer has applied what is queued.
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
  // Announced only once a signal would shut down cleanly: a supervisor (or a test) that stops
  // the process as soon as it sees the banner must never kill it mid-start.
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}

const runtime: CliRuntime = { openStore, serve, stdout: process.stdout, stderr: process.stderr, env: process.env };

// Run as the `onhand` binary (not when imported by tests).
if (process.argv[1] && /(main|onhand)(\.[cm]?[jt]s)?$/.test(process.argv[1])) {
  const code = await runCli(runtime, process.argv);
  // A failed start may leave handles open (a pool, the group committer's timer): exit now
  // rather than hang with the one-line message printed (stderr is synchronous on Linux pipes,
  // files and terminals, so nothing printed is lost).
  if (code !== 0) process.exit(code);
}
