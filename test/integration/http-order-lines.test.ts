/**
 * Goal: GET /v1/order-lines maps faithfully to orders.listLines: newest first, filtered by the
 * matched variant, the channel and the status (default `open`), a keyset cursor; a read token is
 * enough; an unknown channel is a 404 problem; a bad query parameter is a 400 problem naming it,
 * and a cursor this server did not issue a 400 naming `querystring/cursor`.
 *
 * Method: app.inject on a fresh SQLite store with a fake clock; the lines are saved through the
 * store port (the intake's own write), so each status is present without driving a platform.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { limits } from '../../src/core/limits.js';
import { emptyLineState } from '../../src/core/orders/line-state.js';
import type { OrderLineStatus } from '../../src/store/order-lines-port.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

describe('HTTP order lines: GET /v1/order-lines', () => {
  let h: HttpHarness;

  const list = async (query: string) => {
    const response = await h.call({ method: 'GET', url: `/v1/order-lines${query}`, as: 'read' });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { items: any[]; next_cursor: string | null };
  };

  before(async () => {
    h = await startHttpHarness();
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
    const lines: [string, string, string | null, OrderLineStatus][] = [
      ['bol', 'o1', 'A', 'open'],
      ['shop', 'o2', 'A', 'closed'],
      ['bol', 'o3', 'B', 'open'],
      ['shop', 'o4', 'A', 'open'],
      ['bol', 'o5', null, 'blocked'],
      ['bol', 'o6', 'A', 'info'],
    ];
    for (const [index, [channel, orderId, sku, status]] of lines.entries()) {
      const at = h.clock.now() + index * 1000;
      assert.ok(
        await h.store.orders.saveLine({
          channel,
          lineKey: `${channel}:acct:${orderId}:1`,
          orderId,
          lineId: '1',
          item: { externalId: `item-${sku ?? 'unknown'}`, sku, barcode: null },
          sku,
          state: emptyLineState(),
          applied: {},
          seq: 0,
          version: 0,
          status,
          reason: status === 'blocked' ? 'no variant matches the item' : null,
          createdAt: at,
          updatedAt: at,
        }),
      );
    }
  });
  after(async () => {
    await h.close();
  });

  it('lists open lines newest first by default, each as the order routes show a line', async () => {
    const page = await list('');
    assert.deepEqual(
      page.items.map((line) => line.order_id),
      ['o4', 'o3', 'o1'],
    );
    assert.equal(page.next_cursor, null);
    const [newest] = page.items;
    assert.equal(newest.channel, 'shop');
    assert.equal(newest.sku, 'A');
    assert.equal(newest.status, 'open');
    assert.equal(newest.line_key, 'shop:acct:o4:1');
  });

  it('narrows by sku, channel and status, and pages with the cursor', async () => {
    assert.deepEqual(
      (await list('?sku=A&status=all')).items.map((line) => line.order_id),
      ['o6', 'o4', 'o2', 'o1'],
    );
    assert.deepEqual(
      (await list('?sku=A&channel=bol')).items.map((line) => line.order_id),
      ['o1'],
    );
    assert.deepEqual(
      (await list('?status=blocked')).items.map((line) => [line.order_id, line.reason]),
      [['o5', 'no variant matches the item']],
    );
    assert.deepEqual((await list('?sku=C&status=all')).items, []);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: any[]; next_cursor: string | null } = await list(
        `?status=all&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((line) => line.order_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    assert.deepEqual(seen, ['o6', 'o5', 'o4', 'o3', 'o2', 'o1']);
  });

  it('refuses bad queries with 400 problems naming the field, and an unknown channel with 404', async () => {
    const bad: [string, string][] = [
      ['status=pending', 'querystring/status'],
      ['limit=0', 'querystring/limit'],
      [`limit=${limits.orderLinePageSizeMax + 1}`, 'querystring/limit'],
      ['sku=', 'querystring/sku'],
      ['cursor=not%20a%20cursor', 'querystring/cursor'],
      ['bogus=1', 'querystring'],
    ];
    for (const [query, path] of bad) {
      const body = assertProblem(
        await h.call({ method: 'GET', url: `/v1/order-lines?${query}`, as: 'read' }),
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.ok(
        body.errors.some((error: any) => error.path.startsWith(path)),
        `${query}: ${JSON.stringify(body.errors)}`,
      );
    }
    const page = await list('?status=all&limit=1');
    const cursor = page.next_cursor!;
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('A') ? 'B' : 'A'}A`;
    const refused = assertProblem(
      await h.call({ method: 'GET', url: `/v1/order-lines?cursor=${tampered}`, as: 'read' }),
      400,
      'ONH_ERR_CURSOR',
    );
    assert.deepEqual(
      refused.errors.map((error: any) => error.path),
      ['querystring/cursor'],
    );
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/order-lines?channel=amazon', as: 'read' }),
      404,
      'ONH_ERR_CHANNEL_NOT_FOUND',
    );
    assert.equal((await h.call({ method: 'GET', url: '/v1/order-lines', as: null })).statusCode, 401);
  });

  it('documents the route in /openapi.json under the orders tag with the read scope', async () => {
    const spec = (await h.call({ method: 'GET', url: '/openapi.json', as: null })).json();
    const operation = spec.paths['/v1/order-lines']?.get;
    assert.ok(operation, 'GET /v1/order-lines is in the document');
    assert.deepEqual(operation.tags, ['orders']);
    const names = operation.parameters.map((parameter: any) => parameter.name).sort();
    assert.deepEqual(names, ['channel', 'cursor', 'limit', 'sku', 'status']);
  });
});
