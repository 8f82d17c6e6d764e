/**
 * Goal: GET /metrics parses as the Prometheus text format (a strict parser,
 * test/support/prometheus-text.ts) and each metric moves when its cause happens: a request
 * answered, a ledger batch, a ledger batch that fails, a true oversell, a change waiting in the outbox and its age, a push
 * acknowledged (latency histogram), a dead letter, a round held back by a spent rate budget,
 * order lines ingested and a line left in the intake inbox, a listing drifted behind onhand's
 * back, a reconcile pass (ok, with read errors, failed) and the repair it queues, an alert
 * opened and resolved. /metrics needs a read token on the
 * API address; with an address of its own (`--metrics-listen`) it is served there without one,
 * and not on the API.
 *
 * Method: app.inject on a fresh SQLite store with a fake clock; the harness's group committer
 * reports to the metrics, a dispatcher pushes to a scripted channel, and the order-line intake
 * takes a channel's orders, both reporting to the same metrics as in `serve`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OrderLineEvent } from '../../src/connectors/channel-intake.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { buildMetricsServer, Metrics } from '../../src/http/metrics.js';
import { buildServer } from '../../src/http/server.js';
import type { ReconcileDeps } from '../../src/reconcile/reconcile-pass.js';
import { ReconcileSchedule } from '../../src/reconcile/reconcile-schedule.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';
import { type Family, parsePrometheusText, seriesValue } from '../support/prometheus-text.js';
import { ScriptedChannel } from '../support/scripted-channel.js';

describe('HTTP /metrics', () => {
  let h: HttpHarness;
  const metrics = new Metrics();
  const channel = new ScriptedChannel(10);
  let pusher: ChannelDispatcher;
  let intake: OrderLineIntake;

  const scrape = async (): Promise<Map<string, Family>> => {
    const response = await h.call({ method: 'GET', url: '/metrics', as: 'read' });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(response.body);
  };
  const event = (order: string, item: string, quantity: number): OrderLineEvent => ({
    lineKey: `bol:acct:${order}:1`,
    eventId: `${order}-ordered`,
    orderId: order,
    lineId: '1',
    item: { externalId: item, sku: null, barcode: null },
    occurredAt: h.clock.now(),
    fact: { kind: 'ordered', quantity, version: 1, fulfilledBy: 'merchant', locationId: null },
  });

  before(async () => {
    h = await startHttpHarness({ metrics });
    await h.seedCatalogue();
    const channels = await h.call({
      method: 'PUT',
      url: '/v1/channels',
      as: 'admin',
      payload: { channels: [{ code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] }] },
    });
    assert.equal(channels.statusCode, 200, channels.body);
    const listings = await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: { listings: ['A', 'B'].map((sku) => ({ channel: 'bol', external_id: `offer-${sku}`, sku })) },
    });
    assert.equal(listings.statusCode, 200, listings.body);
    pusher = new ChannelDispatcher({
      channel: 'bol',
      connector: channel,
      outbox: h.store.outbox,
      clock: h.clock,
      owner: 'p1',
      policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
      onResult: (status, latencyMs) => metrics.pushed('bol', status, latencyMs),
    });
    while ((await pusher.tick()) > 0);
    intake = new OrderLineIntake({
      store: h.store,
      ledger: h.ledger,
      clock: h.clock,
      match: storeOrderItemMatcher(h.store.availability),
      onIngested: metrics.ingested,
    });
  });
  after(() => h.close());

  it('needs a read token on the API address', async () => {
    assertProblem(await h.call({ method: 'GET', url: '/metrics', as: null }), 401, 'ONH_ERR_UNAUTHENTICATED');
  });

  it('counts requests by route and status, and times them', async () => {
    const before = await scrape();
    const route = { method: 'GET', route: '/v1/stock/:sku', status: '200' };
    const missing = { method: 'GET', route: '/v1/stock/:sku', status: '404' };
    assert.equal((await h.call({ method: 'GET', url: '/v1/stock/A', as: 'read' })).statusCode, 200);
    assert.equal((await h.call({ method: 'GET', url: '/v1/stock/NOPE', as: 'read' })).statusCode, 404);
    const now = await scrape();
    assert.equal(
      seriesValue(now, 'onhand_http_requests_total', route),
      seriesValue(before, 'onhand_http_requests_total', route) + 1,
    );
    assert.equal(
      seriesValue(now, 'onhand_http_requests_total', missing),
      seriesValue(before, 'onhand_http_requests_total', missing) + 1,
    );
    assert.equal(
      seriesValue(now, 'onhand_http_request_duration_seconds_count', route),
      seriesValue(before, 'onhand_http_request_duration_seconds_count', route) + 1,
    );
    assert.equal(now.get('onhand_http_request_duration_seconds')?.type, 'histogram');
  });

  it('counts ledger commands and batches; the outbox waits, ages, and drains with a latency', async () => {
    const before = await scrape();
    const receipt = { type: 'receipt', status: 'applied' };
    const moved = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: ['A', 'B'].map((sku) => ({ key: `r-${sku}`, type: 'receipt', sku, location: 'WH1', quantity: 2 })),
      },
    });
    assert.equal(moved.statusCode, 200, moved.body);
    h.clock.advance(30_000);
    const waiting = await scrape();
    assert.equal(
      seriesValue(waiting, 'onhand_ledger_commands_total', receipt),
      seriesValue(before, 'onhand_ledger_commands_total', receipt) + 2,
    );
    assert.ok(
      seriesValue(waiting, 'onhand_ledger_batch_duration_seconds_count') >
        seriesValue(before, 'onhand_ledger_batch_duration_seconds_count'),
    );
    assert.equal(seriesValue(waiting, 'onhand_outbox_depth', { channel: 'bol' }), 2);
    assert.equal(seriesValue(waiting, 'onhand_outbox_oldest_pending_seconds', { channel: 'bol' }), 30);

    channel.permanent.add('offer-B');
    while ((await pusher.tick()) > 0);
    const drained = await scrape();
    assert.equal(seriesValue(drained, 'onhand_outbox_depth', { channel: 'bol' }), 0);
    assert.equal(seriesValue(drained, 'onhand_outbox_oldest_pending_seconds', { channel: 'bol' }), 0);
    assert.equal(seriesValue(drained, 'onhand_dead_letters', { channel: 'bol' }), 1);
    assert.equal(
      seriesValue(drained, 'onhand_push_latency_seconds_count', { channel: 'bol' }),
      seriesValue(waiting, 'onhand_push_latency_seconds_count', { channel: 'bol' }) + 1,
    );
    assert.equal(
      seriesValue(drained, 'onhand_push_latency_seconds_bucket', { channel: 'bol', le: '30' }) -
        seriesValue(drained, 'onhand_push_latency_seconds_bucket', { channel: 'bol', le: '10' }),
      1,
      'the push 30 s after its commit falls in the 10-30 s bucket',
    );
    assert.equal(seriesValue(drained, 'onhand_push_results_total', { channel: 'bol', status: 'permanent' }), 1);
  });

  it('counts a ledger batch whose transaction fails, and does not time it as a batch', async () => {
    const before = await scrape();
    const ledgerPort = h.store.ledger;
    const applyBatch = ledgerPort.applyBatch;
    ledgerPort.applyBatch = () => Promise.reject(new Error('disk full'));
    try {
      const moved = await h.call({
        method: 'POST',
        url: '/v1/movements',
        payload: { movements: [{ key: 'r-fail', type: 'receipt', sku: 'A', location: 'WH1', quantity: 1 }] },
      });
      assert.ok(moved.statusCode >= 500, moved.body);
    } finally {
      ledgerPort.applyBatch = applyBatch;
    }
    const now = await scrape();
    assert.equal(
      seriesValue(now, 'onhand_ledger_batch_failures_total'),
      seriesValue(before, 'onhand_ledger_batch_failures_total') + 1,
    );
    assert.equal(
      seriesValue(now, 'onhand_ledger_batch_duration_seconds_count'),
      seriesValue(before, 'onhand_ledger_batch_duration_seconds_count'),
    );
    assert.equal(
      seriesValue(now, 'onhand_ledger_commands_total', { type: 'receipt', status: 'applied' }),
      seriesValue(before, 'onhand_ledger_commands_total', { type: 'receipt', status: 'applied' }),
    );
  });

  it('counts order lines ingested, true oversells and the intake inbox', async () => {
    const before = await scrape();
    await intake.ingest((await h.store.availability.getChannel('bol'))!, [
      event('O1', 'offer-A', 1), // 2 available: fine
      event('O2', 'offer-A', 3), // 1 left: short by 2
      event('O3', 'offer-X', 1), // no listing: the inbox
    ]);
    const now = await scrape();
    assert.equal(
      seriesValue(now, 'onhand_order_line_events_total', { channel: 'bol' }),
      seriesValue(before, 'onhand_order_line_events_total', { channel: 'bol' }) + 3,
    );
    assert.equal(seriesValue(now, 'onhand_order_lines_ingested_total', { channel: 'bol', outcome: 'changed' }), 2);
    assert.equal(seriesValue(now, 'onhand_order_lines_ingested_total', { channel: 'bol', outcome: 'blocked' }), 1);
    assert.equal(seriesValue(now, 'onhand_oversells_total'), seriesValue(before, 'onhand_oversells_total') + 1);
    assert.equal(
      seriesValue(now, 'onhand_oversold_units_total'),
      seriesValue(before, 'onhand_oversold_units_total') + 2,
    );
    assert.equal(seriesValue(now, 'onhand_intake_inbox', { channel: 'bol' }), 1);
    assert.equal(
      seriesValue(now, 'onhand_ledger_commands_total', { type: 'order', status: 'applied' }),
      seriesValue(before, 'onhand_ledger_commands_total', { type: 'order', status: 'applied' }) + 2,
    );
  });

  it('counts the rounds a spent rate budget held back, and the waits announced', async () => {
    const before = await scrape();
    const throttled = Object.assign(Object.create(channel) as ScriptedChannel, {
      rateLimit: () => ({ available: 0, capacity: 10, waitMs: 1_500 }),
    });
    const held = new ChannelDispatcher({
      channel: 'bol',
      connector: throttled,
      outbox: h.store.outbox,
      clock: h.clock,
      owner: 'p1',
      policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
      onRateLimited: (waitMs) => metrics.rateLimited('bol', waitMs),
    });
    assert.equal(await held.tick(), 0);
    assert.equal(await held.tick(), 0);
    const now = await scrape();
    assert.equal(
      seriesValue(now, 'onhand_rate_limit_waits_total', { channel: 'bol' }),
      seriesValue(before, 'onhand_rate_limit_waits_total', { channel: 'bol' }) + 2,
    );
    assert.equal(
      seriesValue(now, 'onhand_rate_limit_wait_seconds_total', { channel: 'bol' }),
      seriesValue(before, 'onhand_rate_limit_wait_seconds_total', { channel: 'bol' }) + 3,
    );
  });

  it('moves drift by direction, reconcile runs by mode and outcome, and repairs by direction', async () => {
    while ((await pusher.tick()) > 0);
    const runs = (family: Map<string, Family>, mode: string, outcome: string) =>
      seriesValue(family, 'onhand_reconcile_runs_total', { channel: 'bol', mode, outcome });
    const repairs = (family: Map<string, Family>, direction: string) =>
      seriesValue(family, 'onhand_reconcile_repairs_total', { channel: 'bol', direction });
    const schedule = (store: ReconcileDeps['store'], connector: ScriptedChannel) =>
      new ReconcileSchedule({
        store,
        clock: h.clock,
        channels: [{ channel: 'bol', connector }],
        onRun: metrics.reconciled,
        onRunFailed: metrics.reconcileFailed,
      });
    const before = await scrape();
    assert.equal(seriesValue(before, 'onhand_drift_listings', { channel: 'bol', direction: 'more' }), 0);
    // Behind onhand's back the channel now shows 5 more of A.
    channel.shown.set('offer-A', channel.shown.get('offer-A')! + 5);
    h.clock.advance(1_000); // a read after the last push
    const passes = schedule(h.store, channel);
    await passes.runNow('bol', 'full', true);
    const found = await scrape();
    assert.equal(seriesValue(found, 'onhand_drift_listings', { channel: 'bol', direction: 'more' }), 1);
    assert.equal(seriesValue(found, 'onhand_drift_listings', { channel: 'bol', direction: 'less' }), 0);
    assert.equal(runs(found, 'full', 'ok'), runs(before, 'full', 'ok') + 1);
    assert.equal(repairs(found, 'more'), repairs(before, 'more'), 'a dry run repairs nothing');

    await passes.runNow('bol', 'targeted');
    const repaired = await scrape();
    assert.equal(runs(repaired, 'targeted', 'ok'), runs(found, 'targeted', 'ok') + 1);
    assert.equal(repairs(repaired, 'more'), repairs(found, 'more') + 1);
    assert.equal(
      seriesValue(repaired, 'onhand_drift_listings', { channel: 'bol', direction: 'more' }),
      0,
      'the repair push is pending: no longer drift',
    );

    const unreadable = Object.assign(Object.create(channel) as ScriptedChannel, {
      readLevels: () => Promise.reject(new Error('503 from the channel')),
    });
    await schedule(h.store, unreadable).runNow('bol', 'targeted');
    const broken = {
      ...h.store,
      outbox: Object.assign(Object.create(h.store.outbox) as typeof h.store.outbox, {
        listDrift: () => Promise.reject(new Error('database gone')),
      }),
    };
    await assert.rejects(schedule(broken, channel).runNow('bol', 'full'), /database gone/);
    const failing = await scrape();
    assert.equal(runs(failing, 'targeted', 'read_errors'), runs(repaired, 'targeted', 'read_errors') + 1);
    assert.equal(runs(failing, 'full', 'failed'), runs(repaired, 'full', 'failed') + 1);
  });

  it('shows the alerts open per rule, moving as one opens and resolves', async () => {
    const open = (families: Map<string, Family>, rule: string) => seriesValue(families, 'onhand_alerts_open', { rule });
    const quiet = await scrape();
    assert.equal(open(quiet, 'dead_letters'), 0);
    assert.equal(open(quiet, 'order_silence'), 0);
    const alert = await h.store.alerts.open(
      { rule: 'dead_letters', channel: 'bol', detail: { dead_letters: 1 } },
      h.clock.now(),
    );
    assert.ok(alert);
    const fired = await scrape();
    assert.equal(open(fired, 'dead_letters'), 1);
    assert.equal(open(fired, 'drift'), 0);
    assert.ok(await h.store.alerts.resolve(alert.id, h.clock.now()));
    assert.equal(open(await scrape(), 'dead_letters'), 0);
  });

  it('serves the same metrics without a token on an address of its own', async () => {
    const own = await buildMetricsServer({ metrics, store: h.store, clock: h.clock });
    try {
      const response = await own.inject({ method: 'GET', url: '/metrics' });
      assert.equal(response.statusCode, 200);
      assert.equal(seriesValue(parsePrometheusText(response.body), 'onhand_dead_letters', { channel: 'bol' }), 1);
      assert.equal((await own.inject({ method: 'GET', url: '/v1/stock/A' })).statusCode, 404);
    } finally {
      await own.close();
    }
  });
});

describe('HTTP /metrics with an address of its own', () => {
  it('is not served on the API address', async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    await store.migrate();
    const clock = { now: () => 0 };
    const ids = { next: (prefix: string) => `${prefix}_1` };
    const app = await buildServer({
      store,
      ledger: new GroupCommitter(store, clock, ids),
      clock,
      ids,
      metrics: new Metrics(),
      metricsOnApi: false,
    });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('the process figures of /metrics', () => {
  it('are exported when asked for (serve asks), with the event loop delay, and not otherwise', async () => {
    const withProcess = parsePrometheusText(await new Metrics({ process: true }).registry.metrics());
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ])
      assert.ok(withProcess.has(name), `${name} is exported`);
    assert.ok(withProcess.has('onhand_http_requests_total'), 'beside the product metrics');
    const without = parsePrometheusText(await new Metrics().registry.metrics());
    assert.equal(without.has('process_cpu_seconds_total'), false);
    assert.equal(without.has('nodejs_eventloop_lag_p99_seconds'), false);
  });
});
