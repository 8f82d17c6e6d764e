/**
 * Goal: the lists (GET /v1/reservations, /v1/movements, /v1/purchase-orders) and deactivation
 * over HTTP, with the documented status codes. The paging itself is proven on both stores by
 * test/conformance/store/lists.test.ts; here: the query parameters, the problems that name the
 * bad one, and the refusals a deactivation brings (movements, reservations, webhooks).
 *
 * Method: app.inject on a fresh SQLite store with a fake clock; each refusal is checked as an
 * RFC 9457 problem with its registered code and the path of what it refuses.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

const webhookSecret = 'lists-webhook-secret';
process.env.ONHAND_LISTS_SHOP_TOKEN = 'lists-access-token';

describe('HTTP lists and deactivation', () => {
  let h: HttpHarness;
  const reservationIds: string[] = [];
  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    const seeded = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: [
          { key: 'seed-a', type: 'receipt', sku: 'A', location: 'WH1', quantity: 10 },
          { key: 'seed-b', type: 'receipt', sku: 'B', location: 'WH2', quantity: 10 },
        ],
      },
    });
    assert.equal(seeded.statusCode, 200, seeded.body);
    for (let index = 0; index < 5; index += 1) {
      h.clock.advance(1_000);
      const response = await h.call({
        method: 'POST',
        url: '/v1/reservations',
        payload: { key: `cart-${index}`, sku: index < 3 ? 'A' : 'B', location: index < 3 ? 'WH1' : 'WH2', quantity: 1 },
      });
      assert.equal(response.statusCode, 201, response.body);
      reservationIds.push(response.json().reservation.id);
    }
    await h.call({ method: 'POST', url: `/v1/reservations/${reservationIds[0]}/commit` });
    const channel = await h.call({
      method: 'PUT',
      url: '/v1/channels',
      as: 'admin',
      payload: {
        channels: [
          {
            code: 'shop',
            name: 'Shop',
            platform: 'shopify',
            locations: ['WH1', 'WH2'],
            settings: {
              connector: {
                shop_domain: 'lists.myshopify.com',
                access_token: 'env:ONHAND_LISTS_SHOP_TOKEN',
                location_id: 'gid://shopify/Location/1',
                webhook_secret: webhookSecret,
              },
            },
          },
        ],
      },
    });
    assert.equal(channel.statusCode, 200, channel.body);
  });
  after(async () => h.close());

  const get = (url: string) => h.call({ method: 'GET', url, as: 'read' });

  it('GET /v1/reservations pages newest first with a cursor, and filters', async () => {
    const first = await get('/v1/reservations?status=all&limit=3');
    assert.equal(first.statusCode, 200, first.body);
    const page = first.json();
    assert.deepEqual(
      page.items.map((item: { id: string }) => item.id),
      [...reservationIds].reverse().slice(0, 3),
    );
    const second = (await get(`/v1/reservations?status=all&limit=3&cursor=${page.next_cursor}`)).json();
    assert.deepEqual(
      second.items.map((item: { id: string }) => item.id),
      [reservationIds[1], reservationIds[0]],
    );
    assert.equal(second.next_cursor, null);
    const active = (await get('/v1/reservations?sku=A')).json();
    assert.deepEqual(
      active.items.map((item: { id: string }) => item.id),
      [reservationIds[2], reservationIds[1]],
      'default status=active; the committed one is left out',
    );
    const committed = (await get('/v1/reservations?status=committed&location=WH1')).json();
    assert.deepEqual(
      committed.items.map((item: { status: string }) => item.status),
      ['committed'],
    );
  });

  it('GET /v1/reservations answers 400 naming a bad parameter or a tampered cursor', async () => {
    const status = assertProblem(await get('/v1/reservations?status=open'), 400, 'ONH_ERR_VALIDATION');
    assert.ok(status.errors.some((error: { path: string }) => error.path === 'querystring/status'));
    const limit = assertProblem(await get('/v1/reservations?limit=501'), 400, 'ONH_ERR_VALIDATION');
    assert.ok(limit.errors.some((error: { path: string }) => error.path === 'querystring/limit'));
    const cursor = (await get('/v1/reservations?status=all&limit=1')).json().next_cursor as string;
    const tampered = `${cursor.slice(0, 4)}${cursor[4] === 'A' ? 'B' : 'A'}${cursor.slice(5)}`;
    const problem = assertProblem(await get(`/v1/reservations?cursor=${tampered}`), 400, 'ONH_ERR_CURSOR');
    assert.deepEqual(
      problem.errors.map((error: { path: string }) => error.path),
      ['querystring/cursor'],
    );
    const foreign = (await get('/v1/movements?limit=1')).json().next_cursor as string;
    assertProblem(await get(`/v1/reservations?cursor=${foreign}`), 400, 'ONH_ERR_CURSOR');
  });

  it('GET /v1/movements tails the ledger from since, oldest first, and keeps its position when caught up', async () => {
    h.clock.advance(1_000);
    const since = new Date(h.clock.now()).toISOString();
    const adjusted = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: [{ key: 'feed-1', type: 'adjustment', sku: 'C', location: 'WH1', quantity: 2, reason: 'found' }],
      },
    });
    assert.equal(adjusted.json().results[0].status, 'applied', adjusted.body);
    const page = (await get(`/v1/movements?since=${since}&limit=10`)).json();
    assert.deepEqual(
      page.items.map((item: { key: string }) => item.key),
      ['feed-1'],
    );
    assert.equal(page.has_more, false);
    const caughtUp = (await get(`/v1/movements?cursor=${page.next_cursor}`)).json();
    assert.deepEqual(caughtUp.items, []);
    assert.equal(caughtUp.next_cursor, page.next_cursor);
    const receipts = (await get('/v1/movements?type=receipt&location=WH2')).json();
    assert.deepEqual(
      receipts.items.map((item: { key: string }) => item.key),
      ['seed-b'],
    );
    const bad = assertProblem(await get('/v1/movements?since=yesterday'), 400, 'ONH_ERR_VALIDATION');
    assert.ok(bad.errors.some((error: { path: string }) => error.path === 'querystring/since'));
    const type = assertProblem(await get('/v1/movements?type=teleport'), 400, 'ONH_ERR_VALIDATION');
    assert.ok(type.errors.some((error: { path: string }) => error.path === 'querystring/type'));
  });

  it('GET /v1/purchase-orders lists in id order with status and sku filters', async () => {
    for (const [id, status, sku] of [
      ['PO-2', 'open', 'A'],
      ['PO-1', 'closed', 'B'],
      ['PO-3', 'open', 'B'],
    ] as const) {
      const response = await h.call({
        method: 'PUT',
        url: `/v1/purchase-orders/${id}`,
        payload: { status, lines: [{ line: 1, sku, location: 'WH1', quantity: 5 }] },
      });
      assert.equal(response.statusCode, 200, response.body);
    }
    const all = (await get('/v1/purchase-orders?limit=2')).json();
    assert.deepEqual(
      all.items.map((item: { id: string }) => item.id),
      ['PO-1', 'PO-2'],
    );
    const rest = (await get(`/v1/purchase-orders?limit=2&cursor=${all.next_cursor}`)).json();
    assert.deepEqual(
      rest.items.map((item: { id: string }) => item.id),
      ['PO-3'],
    );
    const openB = (await get('/v1/purchase-orders?status=open&sku=B')).json();
    assert.deepEqual(
      openB.items.map((item: { id: string; lines: { incoming: number }[] }) => [item.id, item.lines[0]!.incoming]),
      [['PO-3', 5]],
    );
    const bad = assertProblem(await get('/v1/purchase-orders?status=lost'), 400, 'ONH_ERR_VALIDATION');
    assert.ok(bad.errors.some((error: { path: string }) => error.path === 'querystring/status'));
  });

  it('a deactivated variant refuses new movements and reservations (409) and keeps its history readable', async () => {
    const deactivate = await h.call({ method: 'POST', url: '/v1/variants/A/deactivate', as: 'admin' });
    assert.equal(deactivate.statusCode, 200, deactivate.body);
    assert.deepEqual(deactivate.json(), {
      kind: 'variant',
      ref: 'A',
      active: false,
      changed: true,
      deactivated_at: new Date(h.clock.now()).toISOString(),
      deactivated_by: 'admin',
    });
    const again = await h.call({ method: 'POST', url: '/v1/variants/A/deactivate', as: 'admin' });
    assert.equal(again.json().changed, false);
    assertProblem(await h.call({ method: 'POST', url: '/v1/variants/A/deactivate' }), 403, 'ONH_ERR_FORBIDDEN');
    const movement = assertProblem(
      await h.call({
        method: 'POST',
        url: '/v1/movements',
        payload: {
          movements: [
            { key: 'ok-c', type: 'receipt', sku: 'C', location: 'WH1', quantity: 1 },
            { key: 'no-a', type: 'receipt', sku: 'A', location: 'WH1', quantity: 1 },
          ],
        },
      }),
      409,
      'ONH_ERR_VARIANT_INACTIVE',
    );
    assert.deepEqual(movement.errors, [{ path: '/movements/1/sku', message: 'variant A is deactivated' }]);
    assert.equal((await get('/v1/stock/C')).json().total.on_hand, 2, 'nothing of the request was applied');
    assertProblem(
      await h.call({
        method: 'POST',
        url: '/v1/reservations',
        payload: { key: 'cart-a', sku: 'A', location: 'WH1', quantity: 1 },
      }),
      409,
      'ONH_ERR_VARIANT_INACTIVE',
    );
    // A hold made before can still be let go of.
    const release = await h.call({ method: 'POST', url: `/v1/reservations/${reservationIds[1]}/release` });
    assert.equal(release.statusCode, 200, release.body);
    assert.equal((await get('/v1/stock/A/movements')).statusCode, 200);
    assert.equal((await get('/v1/variants/A')).json().active, false);
    const listed = async (query: string) =>
      (await get(`/v1/variants${query}`)).json().items.map((item: { sku: string }) => item.sku);
    assert.deepEqual(await listed(''), ['B', 'C']);
    assert.deepEqual(await listed('?active=false'), ['A']);
    assert.deepEqual(await listed('?active=all'), ['A', 'B', 'C']);
    assertProblem(await get('/v1/variants?active=maybe'), 400, 'ONH_ERR_VALIDATION');
    const activate = await h.call({ method: 'POST', url: '/v1/variants/A/activate', as: 'admin' });
    assert.deepEqual([activate.json().active, activate.json().deactivated_by], [true, null]);
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/variants/NOPE/deactivate', as: 'admin' }),
      404,
      'ONH_ERR_VARIANT_NOT_FOUND',
    );
  });

  it('a deactivated location refuses new movements, either end of a transfer', async () => {
    await h.call({ method: 'POST', url: '/v1/locations/WH2/deactivate', as: 'admin' });
    const problem = assertProblem(
      await h.call({
        method: 'POST',
        url: '/v1/movements',
        payload: {
          movements: [
            { key: 't-out', type: 'transfer_out', sku: 'A', location: 'WH1', to_location: 'WH2', quantity: 1 },
          ],
        },
      }),
      409,
      'ONH_ERR_LOCATION_INACTIVE',
    );
    assert.equal(problem.errors[0].path, '/movements/0/location');
    assert.deepEqual(
      (await get('/v1/locations')).json().items.map((item: { code: string }) => item.code),
      ['WH1'],
    );
    await h.call({ method: 'POST', url: '/v1/locations/WH2/activate', as: 'admin' });
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/locations/NOPE/activate', as: 'admin' }),
      404,
      'ONH_ERR_LOCATION_NOT_FOUND',
    );
  });

  it('a deactivated channel refuses its webhooks (409) and reservations by channel', async () => {
    const webhook = () => {
      const body = JSON.stringify({
        id: 5600000000900,
        created_at: '2026-03-02T08:00:00Z',
        line_items: [{ id: 14000000000900, variant_id: 1, sku: 'A', quantity: 1, price: '1.50' }],
      });
      return h.call({
        method: 'POST',
        url: '/webhooks/shopify/shop',
        as: null,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-shop-domain': 'lists.myshopify.com',
          'x-shopify-hmac-sha256': createHmac('sha256', webhookSecret).update(body).digest('base64'),
        },
        payload: body,
      });
    };
    const onHandBefore = (await get('/v1/stock/A')).json().total.reserved;
    await h.call({ method: 'POST', url: '/v1/channels/shop/deactivate', as: 'admin' });
    assertProblem(await webhook(), 409, 'ONH_ERR_CHANNEL_INACTIVE');
    assert.equal((await get('/v1/stock/A')).json().total.reserved, onHandBefore, 'nothing was booked');
    assertProblem(
      await h.call({
        method: 'POST',
        url: '/v1/reservations',
        payload: { key: 'by-channel', sku: 'A', channel: 'shop', quantity: 1 },
      }),
      409,
      'ONH_ERR_CHANNEL_INACTIVE',
    );
    assert.equal((await get('/v1/channels/shop')).json().active, false);
    assert.deepEqual((await get('/v1/channels')).json().items, []);
    await h.call({ method: 'POST', url: '/v1/channels/shop/activate', as: 'admin' });
    assert.equal((await webhook()).statusCode, 200, 'activated again, the delivery is taken');
  });

  it('a listing is deactivated by id; a malformed id is answered 400', async () => {
    await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: { listings: [{ channel: 'shop', external_id: 'gid-9', sku: 'B' }] },
    });
    const id = (await get('/v1/listings?channel=shop')).json().items[0].id as string;
    const response = await h.call({ method: 'POST', url: `/v1/listings/${id}/deactivate`, as: 'admin' });
    assert.equal(response.json().changed, true);
    assert.deepEqual((await get('/v1/listings?channel=shop')).json().items, []);
    assert.equal((await get('/v1/listings?channel=shop&active=false')).json().items[0].active, false);
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/listings/x1/deactivate', as: 'admin' }),
      400,
      'ONH_ERR_VALIDATION',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/listings/999999/deactivate', as: 'admin' }),
      404,
      'ONH_ERR_LISTING_NOT_FOUND',
    );
  });
});
