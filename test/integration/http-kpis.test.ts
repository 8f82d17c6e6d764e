/**
 * Goal: GET /v1/kpis answers the store's KPIs over the window asked for, in the documented view,
 * with a read token; a window it cannot read is a 400 problem naming `querystring/window`.
 * Method: app.inject on a fresh SQLite store with a fake clock; listings on a channel, receipts
 * through POST /v1/movements and a dispatcher pushing them 2 s later. The store-level figures
 * (oversells, cancellations, latency windows) are proved on both engines in
 * test/conformance/store/kpis.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';
import { ScriptedChannel } from '../support/scripted-channel.js';

describe('HTTP KPIs', () => {
  let h: HttpHarness;

  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    const put = await h.call({
      method: 'PUT',
      url: '/v1/channels',
      as: 'admin',
      payload: { channels: [{ code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] }] },
    });
    assert.equal(put.statusCode, 200, put.body);
    const listings = await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: { listings: ['A', 'B'].map((sku) => ({ channel: 'bol', external_id: `offer-${sku}`, sku })) },
    });
    assert.equal(listings.statusCode, 200, listings.body);
    const channel = new ScriptedChannel(10);
    const pusher = new ChannelDispatcher({
      channel: 'bol',
      connector: channel,
      outbox: h.store.outbox,
      clock: h.clock,
      owner: 'p1',
      policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
    });
    while ((await pusher.tick()) > 0);
    await h.store.outbox.pruneSamples(h.clock.now() + 1);
    h.clock.advance(60_000);
    const moved = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: ['A', 'B'].map((sku) => ({ key: `r-${sku}`, type: 'receipt', sku, location: 'WH1', quantity: 4 })),
      },
    });
    assert.equal(moved.statusCode, 200, moved.body);
    h.clock.advance(2_000);
    while ((await pusher.tick()) > 0);
  });
  after(() => h.close());

  it('answers the figures of the window with a read token', async () => {
    const response = await h.call({ method: 'GET', url: '/v1/kpis?window=1h', as: 'read' });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.window, '1h');
    assert.equal(Date.parse(body.to) - Date.parse(body.from), 3_600_000);
    assert.equal(body.to, new Date(h.clock.now()).toISOString());
    const bol = body.channels.find((each: { channel: string }) => each.channel === 'bol');
    assert.deepEqual(
      [bol.latency_samples, bol.update_latency_p50_ms, bol.update_latency_p95_ms, bol.queue_depth, bol.dead_letters],
      [2, 2_000, 2_000, 0, 0],
    );
    assert.deepEqual([bol.lines_booked, bol.oversell_rate, bol.intake_inbox], [0, null, 0]);
    assert.equal(body.totals.latency_samples, 2);
    const fallback = await h.call({ method: 'GET', url: '/v1/kpis', as: 'read' });
    assert.equal(fallback.json().window, '24h');
  });

  it('refuses a window it cannot read, naming the field', async () => {
    for (const window of ['0h', '2w', '1.5h', 'h', '2161h', '91d', '-1h']) {
      const response = await h.call({
        method: 'GET',
        url: `/v1/kpis?window=${encodeURIComponent(window)}`,
        as: 'read',
      });
      const problem = assertProblem(response, 400, 'ONH_ERR_VALIDATION');
      assert.equal(problem.errors[0].path, 'querystring/window', window);
    }
    assert.equal((await h.call({ method: 'GET', url: '/v1/kpis?window=2160h', as: 'read' })).statusCode, 200);
    assert.equal((await h.call({ method: 'GET', url: '/v1/kpis?window=7d', as: 'read' })).statusCode, 200);
    assertProblem(await h.call({ method: 'GET', url: '/v1/kpis?windows=1h', as: 'read' }), 400, 'ONH_ERR_VALIDATION');
  });

  it('needs a token', async () => {
    assertProblem(await h.call({ method: 'GET', url: '/v1/kpis', as: null }), 401, 'ONH_ERR_UNAUTHENTICATED');
  });
});
