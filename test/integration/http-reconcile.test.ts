/**
 * Goal: the reconcile routes. GET /v1/reconcile/drift?channel= lists a channel's drifted
 * listings (direction, desired, acknowledged, shown and when, confirmed); POST /v1/reconcile
 * (admin only) runs a pass through the server's runner and answers one summary per channel,
 * its repairs with from and to; a dry run queues nothing; an unknown channel is a 404 problem,
 * one without a connector a 409, a read token a 403.
 *
 * Method: app.inject on a fresh SQLite store with a fake clock; a ReconcileSchedule over a
 * scripted in-memory channel `bol` is the runner; `shop` has no connector.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReconcileSchedule } from '../../src/reconcile/reconcile-schedule.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { assertProblem, type HttpHarness, startHttpHarness } from '../support/http-harness.js';
import { ScriptedChannel } from '../support/scripted-channel.js';

describe('HTTP reconcile: drift and a pass now', () => {
  let h: HttpHarness;
  const channel = new ScriptedChannel(10);
  let schedule: ReconcileSchedule | undefined;
  let desiredAt = '';

  before(async () => {
    h = await startHttpHarness({ reconcile: () => schedule });
    await h.seedCatalogue();
    await h.call({
      method: 'PUT',
      url: '/v1/channels',
      as: 'admin',
      payload: {
        channels: [
          { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
          { code: 'shop', name: 'Own shop', platform: 'shopify', locations: ['WH1'] },
        ],
      },
    });
    await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: { listings: ['A', 'B'].map((sku) => ({ channel: 'bol', external_id: `offer-${sku}`, sku })) },
    });
    const receipts = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: ['A', 'B'].map((sku) => ({ key: `r-${sku}`, type: 'receipt', sku, location: 'WH1', quantity: 5 })),
      },
    });
    assert.equal(receipts.statusCode, 200, receipts.body);
    desiredAt = new Date(h.clock.now()).toISOString();
    const pusher = new ChannelDispatcher({
      channel: 'bol',
      connector: channel,
      outbox: h.store.outbox,
      clock: h.clock,
      owner: 'p1',
      policy: validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 }),
      random: () => 0.5,
    });
    while ((await pusher.tick()) > 0);
    h.clock.advance(1_000); // a read in the same millisecond as the push is not recorded
    schedule = new ReconcileSchedule({
      store: h.store,
      clock: h.clock,
      channels: [{ channel: 'bol', connector: channel }],
    });
    channel.shown.set('offer-A', 8);
    channel.shown.set('offer-B', 2);
  });
  after(async () => {
    await schedule?.stop();
    await h.close();
  });

  it('refuses a read token, an unknown channel and one without a connector, changing nothing', async () => {
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/reconcile', as: 'read', payload: {} }),
      403,
      'ONH_ERR_FORBIDDEN',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/reconcile', as: 'admin', payload: { channel: 'nope' } }),
      404,
      'ONH_ERR_CHANNEL_NOT_FOUND',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/reconcile', as: 'admin', payload: { channel: 'shop' } }),
      409,
      'ONH_ERR_CHANNEL_NOT_CONNECTED',
    );
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/reconcile/drift?channel=nope', as: 'read' }),
      404,
      'ONH_ERR_CHANNEL_NOT_FOUND',
    );
    assertProblem(await h.call({ method: 'GET', url: '/v1/reconcile/drift', as: 'read' }), 400, 'ONH_ERR_VALIDATION');
  });

  it('a dry run reports the repair it would queue; the drift is listed', async () => {
    const response = await h.call({
      method: 'POST',
      url: '/v1/reconcile',
      as: 'admin',
      payload: { full: true, dry_run: true },
    });
    assert.equal(response.statusCode, 200, response.body);
    const [summary] = response.json().channels;
    assert.equal(summary.channel, 'bol');
    assert.equal(summary.mode, 'full');
    assert.equal(summary.dry_run, true);
    assert.deepEqual([summary.read, summary.drift_more, summary.drift_less, summary.unconfirmed], [2, 1, 1, 1]);
    assert.deepEqual(
      summary.repairs.map((repair: any) => [repair.sku, repair.direction, repair.from, repair.to]),
      [['A', 'more', 8, 5]],
    );
    const drift = await h.call({ method: 'GET', url: '/v1/reconcile/drift?channel=bol', as: 'read' });
    assert.equal(drift.statusCode, 200, drift.body);
    assert.deepEqual(
      drift
        .json()
        .items.map((item: any) => [
          item.sku,
          item.direction,
          item.desired,
          item.acknowledged,
          item.shown,
          item.confirmed,
        ]),
      [
        ['A', 'more', 5, 5, 8, true],
        ['B', 'less', 5, 5, 2, false],
      ],
    );
    assert.equal(drift.json().items[0].shown_at, new Date(h.clock.now()).toISOString());
    assert.equal(drift.json().items[0].desired_at, desiredAt, 'when the receipts computed the desired quantity');
  });

  it('a pass queues the repair: the listing leaves the drift list while its push is pending', async () => {
    const response = await h.call({ method: 'POST', url: '/v1/reconcile', as: 'admin', payload: { channel: 'bol' } });
    assert.equal(response.statusCode, 200, response.body);
    const [summary] = response.json().channels;
    assert.equal(summary.dry_run, false);
    assert.deepEqual(
      summary.repairs.map((repair: any) => [repair.sku, repair.from, repair.acknowledged, repair.to]),
      [['A', 8, 5, 5]],
    );
    const drift = await h.call({ method: 'GET', url: '/v1/reconcile/drift?channel=bol&limit=10', as: 'read' });
    assert.deepEqual(
      drift.json().items.map((item: any) => item.sku),
      ['B'],
    );
    const status = await h.call({ method: 'GET', url: '/v1/sync/status', as: 'read' });
    const bol = status.json().channels.find((channel: any) => channel.channel === 'bol');
    assert.deepEqual(
      [bol.last_reconcile.mode, bol.last_reconcile.read, bol.last_reconcile.repairs, bol.last_reconcile.read_errors],
      [summary.mode, summary.read, 1, 0],
      'the sync status shows the pass, not the dry run before it',
    );
  });
});
