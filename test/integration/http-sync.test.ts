/**
 * Goal: the sync routes map faithfully to the dispatch side of the store port: GET
 * /v1/sync/status reports, per channel connection, queue depth, oldest pending age, last success,
 * consecutive failures, dead letters, push latency p50/p95 and the lease owner; GET
 * /v1/dead-letters lists what a channel refused, with its newest desired quantity and reason;
 * POST /v1/dead-letters/redrive (admin only) moves them back to pending; a named unknown channel
 * is a 404 problem and bad input a 400, changing nothing.
 *
 * Method: app.inject on a fresh SQLite store with a fake clock. The rows come from the ledger
 * (listings on a channel, receipts through POST /v1/movements) and a ChannelDispatcher pushing
 * to a scripted in-memory connector that refuses one offer for good. The tests run in order:
 * each builds on the state the previous one left.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';
import { ScriptedChannel } from '../support/scripted-channel.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });

describe('HTTP sync: status, dead letters, redrive', () => {
  let h: HttpHarness;
  const channel = new ScriptedChannel(10);
  let pusher: ChannelDispatcher;

  const status = async () => {
    const response = await h.call({ method: 'GET', url: '/v1/sync/status', as: 'read' });
    assert.equal(response.statusCode, 200, response.body);
    return Object.fromEntries(response.json().channels.map((each: any) => [each.channel, each]));
  };
  const drain = async () => {
    while ((await pusher.tick()) > 0);
  };

  before(async () => {
    // The connector of `bol` runs in this process and reports its budget; `shop` is not connected here.
    h = await startHttpHarness({
      rateBudget: (code) => (code === 'bol' ? { available: 30, capacity: 40, waitMs: 0 } : undefined),
    });
    await h.seedCatalogue();
    const channels = await h.call({
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
    assert.equal(channels.statusCode, 200, channels.body);
    const listings = await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: {
        listings: ['A', 'B', 'C']
          .map((sku) => ({ channel: 'bol', external_id: `offer-${sku}`, sku }))
          .concat([{ channel: 'shop', external_id: 'shop-A', sku: 'A' }]),
      },
    });
    assert.equal(listings.statusCode, 200, listings.body);
    assert.equal(listings.json().created, 4);
    const receipts = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: [
          ['A', 5],
          ['B', 3],
          ['C', 2],
        ].map(([sku, quantity]) => ({ key: `receipt-${sku}`, type: 'receipt', sku, location: 'WH1', quantity })),
      },
    });
    assert.equal(receipts.statusCode, 200, receipts.body);
    assert.ok(
      receipts.json().results.every((result: any) => result.status === 'applied'),
      receipts.body,
    );
    channel.permanent.add('offer-B');
    pusher = new ChannelDispatcher({
      channel: 'bol',
      connector: channel,
      outbox: h.store.outbox,
      clock: h.clock,
      owner: 'pusher-1',
      policy,
      random: () => 0.5,
    });
  });
  after(async () => {
    await pusher.stop();
    await h.close();
  });

  it('reports every channel with its queue before anything is pushed', async () => {
    h.clock.advance(2_000);
    const { bol, shop } = await status();
    assert.deepEqual(bol, {
      channel: 'bol',
      platform: 'bol',
      queue_depth: 3,
      oldest_pending_age_ms: 2_000,
      last_success_at: null,
      consecutive_failures: 0,
      dead_letters: 0,
      push_latency_p50_ms: null,
      push_latency_p95_ms: null,
      lease_owner: null,
      waiting_grace: 0,
      last_error: null,
      rate_budget: { available: 30, capacity: 40, in_use_percent: 25 },
      last_reconcile: null,
    });
    assert.equal(shop.queue_depth, 1);
    assert.equal(shop.rate_budget, null, 'no connector of the channel runs in this process');
    assert.equal(shop.platform, 'shopify');
  });

  it('after a push: acknowledged listings leave the queue with their latency, a permanent refusal is a dead letter', async () => {
    await drain();
    assert.equal(channel.shown.get('offer-A'), 5);
    assert.equal(channel.shown.has('offer-B'), false);
    const { bol, shop } = await status();
    assert.equal(bol.queue_depth, 0);
    assert.equal(bol.oldest_pending_age_ms, null);
    assert.equal(bol.dead_letters, 1);
    assert.equal(bol.last_success_at, new Date(h.clock.now()).toISOString());
    assert.equal(bol.push_latency_p50_ms, 2_000, 'from the ledger commit to the acknowledgement, on the fake clock');
    assert.equal(bol.push_latency_p95_ms, 2_000);
    assert.equal(bol.lease_owner, 'pusher-1');
    assert.equal(typeof bol.last_error, 'string', 'the refusal of offer-B, as the channel said it');
    assert.equal(bol.waiting_grace, 0);
    assert.equal(shop.queue_depth, 1, 'a channel nobody pushes keeps its queue');
    assert.equal(shop.dead_letters, 0);
    assert.equal(shop.last_error, null);
  });

  it('lists dead letters with the newest desired quantity and the reason, all or of one channel', async () => {
    const all = await h.call({ method: 'GET', url: '/v1/dead-letters', as: 'read' });
    assert.equal(all.statusCode, 200, all.body);
    const [letter] = all.json().items;
    assert.equal(all.json().items.length, 1);
    assert.equal((await status()).bol.last_error, letter.last_error, 'the status names the error of the dead letter');
    assert.deepEqual(
      { ...letter, listing_id: typeof letter.listing_id },
      {
        listing_id: 'string',
        channel: 'bol',
        sku: 'B',
        external_id: 'offer-B',
        quantity: 3,
        attempts: 1,
        last_error: 'unknown offer',
        since: new Date(h.clock.now() - 2_000).toISOString(),
      },
    );
    const listing = await h.call({ method: 'GET', url: `/v1/listings/${letter.listing_id}`, as: 'read' });
    assert.equal(listing.json().external_id, 'offer-B', 'listing_id names the listing');

    const ofBol = await h.call({ method: 'GET', url: '/v1/dead-letters?channel=bol&limit=1', as: 'read' });
    assert.deepEqual(ofBol.json().items, [letter]);
    const ofShop = await h.call({ method: 'GET', url: '/v1/dead-letters?channel=shop', as: 'read' });
    assert.deepEqual(ofShop.json(), { items: [] });
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/dead-letters?channel=amazon', as: 'read' }),
      404,
      'ONH_ERR_CHANNEL_NOT_FOUND',
    );
  });

  it('refuses bad queries and bodies with 400 problems naming the field', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'channel=', 'bogus=1']) {
      const body = assertProblem(
        await h.call({ method: 'GET', url: `/v1/dead-letters?${query}`, as: 'read' }),
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.ok(
        body.errors.every((error: any) => error.path.startsWith('querystring')),
        JSON.stringify(body.errors),
      );
    }
    const bad: [unknown, string][] = [
      [{}, '/limit'],
      [{ limit: 0 }, '/limit'],
      [{ limit: 10_001 }, '/limit'],
      [{ limit: '5' }, '/limit'],
      [{ limit: 1, channel: '' }, '/channel'],
      [{ limit: 1, everything: true }, '/everything'],
    ];
    for (const [payload, path] of bad) {
      const body = assertProblem(
        await h.call({ method: 'POST', url: '/v1/dead-letters/redrive', as: 'admin', payload: payload as object }),
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.ok(
        body.errors.some((error: any) => error.path === path),
        `${JSON.stringify(payload)}: ${JSON.stringify(body.errors)}`,
      );
    }
    assert.equal((await status()).bol.dead_letters, 1, 'nothing changed');
  });

  it('redrives only for an admin token, and refuses an unknown channel', async () => {
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/dead-letters/redrive', as: 'read', payload: { limit: 10 } }),
      403,
      'ONH_ERR_FORBIDDEN',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/dead-letters/redrive', as: 'write', payload: { limit: 10 } }),
      403,
      'ONH_ERR_FORBIDDEN',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/dead-letters/redrive', as: null, payload: { limit: 10 } }),
      401,
      'ONH_ERR_UNAUTHENTICATED',
    );
    const unknown = assertProblem(
      await h.call({
        method: 'POST',
        url: '/v1/dead-letters/redrive',
        as: 'admin',
        payload: { channel: 'amazon', limit: 10 },
      }),
      404,
      'ONH_ERR_CHANNEL_NOT_FOUND',
    );
    assert.match(unknown.detail, /amazon/);
    const ofShop = await h.call({
      method: 'POST',
      url: '/v1/dead-letters/redrive',
      as: 'admin',
      payload: { channel: 'shop', limit: 10 },
    });
    assert.deepEqual(ofShop.json(), { redriven: 0 });
    assert.equal((await status()).bol.dead_letters, 1, 'nothing changed');
  });

  it('redrives: the dead letter is pending again and the next push delivers its newest quantity', async () => {
    channel.permanent.clear();
    h.clock.advance(500);
    const redrive = await h.call({
      method: 'POST',
      url: '/v1/dead-letters/redrive',
      as: 'admin',
      payload: { channel: 'bol', limit: 10 },
    });
    assert.equal(redrive.statusCode, 200, redrive.body);
    assert.deepEqual(redrive.json(), { redriven: 1 });
    const pending = (await status()).bol;
    assert.equal(pending.dead_letters, 0);
    assert.equal(pending.queue_depth, 1);
    assert.deepEqual((await h.call({ method: 'GET', url: '/v1/dead-letters', as: 'read' })).json(), { items: [] });

    await drain();
    assert.equal(channel.shown.get('offer-B'), 3);
    const done = (await status()).bol;
    assert.equal(done.queue_depth, 0);
    assert.equal(done.dead_letters, 0);
    assert.equal(done.consecutive_failures, 0);
    const again = await h.call({
      method: 'POST',
      url: '/v1/dead-letters/redrive',
      as: 'admin',
      payload: { limit: 10 },
    });
    assert.deepEqual(again.json(), { redriven: 0 }, 'nothing left to redrive');
  });

  it('documents the three routes in /openapi.json under the sync tag, with their scopes', async () => {
    const document = (await h.call({ method: 'GET', url: '/openapi.json', as: null })).json();
    const operations = [
      document.paths['/v1/sync/status']?.get,
      document.paths['/v1/dead-letters']?.get,
      document.paths['/v1/dead-letters/redrive']?.post,
    ];
    for (const operation of operations) {
      assert.ok(operation, JSON.stringify(Object.keys(document.paths)));
      assert.deepEqual(operation.tags, ['sync']);
    }
    assert.match(operations[2].description, /Needs an admin token/);
    assert.ok(operations[2].responses['404'], 'redrive documents its 404');
    assert.ok(document.tags.some((tag: any) => tag.name === 'sync'));
  });
});
