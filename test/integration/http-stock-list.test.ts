/**
 * `GET /v1/stock` over HTTP: paging with the keyset cursor (each variant once, in order), the
 * filters and both sorts, and a 4xx problem naming the parameter for every bad query.
 * Method: the SQLite HTTP harness; the store-level cases of both engines are in
 * test/conformance/store/stock-list.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { limits } from '../../src/core/limits.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

describe('GET /v1/stock', () => {
  let h: HttpHarness;
  const quantityOf = (index: number) => ((index * 7) % 11) + 1;
  const skus = Array.from({ length: 25 }, (_, index) => `SKU-${String(index).padStart(3, '0')}`);

  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    const variants = await h.call({
      method: 'PUT',
      url: '/v1/variants',
      payload: {
        variants: skus.map((sku, index) => ({ sku, name: index % 2 ? `Blue mug ${index}` : `Red cup ${index}` })),
      },
    });
    assert.equal(variants.statusCode, 200, variants.body);
    const movements = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: skus.map((sku, index) => ({
          key: `r-${sku}`,
          type: 'receipt',
          sku,
          location: index % 3 === 0 ? 'WH2' : 'WH1',
          quantity: quantityOf(index),
        })),
      },
    });
    assert.equal(movements.statusCode, 200, movements.body);
  });
  after(async () => h.close());

  async function all(query: string, as: 'read' | 'write' = 'read') {
    const seen: { sku: string; available: number }[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page += 1) {
      const response = await h.call({
        method: 'GET',
        url: `/v1/stock?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        as,
      });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.ok(body.items.length <= 4);
      seen.push(...body.items.map((item: any) => ({ sku: item.sku, available: item.total.available })));
      cursor = body.next_cursor;
      if (cursor === null) return seen;
    }
    throw new Error('paging did not end');
  }

  it('pages by sku with a keyset cursor, each variant once and in order', async () => {
    const seen = await all('limit=4');
    assert.deepEqual(
      seen.map((row) => row.sku),
      ['A', 'B', 'C', ...skus],
    );
  });

  it('pages by available, then sku', async () => {
    const seen = await all('limit=4&sort=available&sku_prefix=SKU-');
    const expected = skus
      .map((sku, index) => ({ sku, available: quantityOf(index) }))
      .sort((a, b) => a.available - b.available || (a.sku < b.sku ? -1 : 1));
    assert.deepEqual(seen, expected);
  });

  it('filters by search text, prefix, location and low stock', async () => {
    const blue = await all('limit=4&q=BLUE');
    assert.ok(blue.length === 12 && blue.every((row) => Number(row.sku.slice(4)) % 2 === 1));
    const low = await all(`limit=4&low_stock=true&sku_prefix=SKU-01`);
    assert.deepEqual(
      low.map((row) => row.sku),
      skus
        .map((sku, index) => ({ sku, available: quantityOf(index) }))
        .filter((row) => row.sku.startsWith('SKU-01') && row.available <= limits.stockLowAvailableMax)
        .map((row) => row.sku),
    );
    const wh2 = (await h.call({ method: 'GET', url: '/v1/stock?location=WH2&sku_prefix=SKU-003', as: 'read' })).json();
    assert.deepEqual(wh2.items[0].locations, [
      { location: 'WH2', on_hand: 11, reserved: 0, available: 11, incoming: 0 },
    ]);
  });

  it('answers a bad query with a 4xx problem naming the parameter', async () => {
    const cases: [string, number, string, string][] = [
      ['limit=0', 400, 'ONH_ERR_VALIDATION', 'querystring/limit'],
      [`limit=${limits.stockPageSizeMax + 1}`, 400, 'ONH_ERR_VALIDATION', 'querystring/limit'],
      ['sort=price', 400, 'ONH_ERR_VALIDATION', 'querystring/sort'],
      ['low_stock=maybe', 400, 'ONH_ERR_VALIDATION', 'querystring/low_stock'],
      [`q=${'x'.repeat(limits.stockSearchLengthMax + 1)}`, 400, 'ONH_ERR_VALIDATION', 'querystring/q'],
      ['colour=red', 400, 'ONH_ERR_VALIDATION', 'querystring/colour'],
      ['location=NOWHERE', 404, 'ONH_ERR_LOCATION_NOT_FOUND', 'querystring/location'],
    ];
    for (const [query, status, code, path] of cases) {
      const problem = assertProblem(
        await h.call({ method: 'GET', url: `/v1/stock?${query}`, as: 'read' }),
        status,
        code,
      );
      assert.ok(
        problem.errors?.some((error: { path: string }) => error.path === path),
        `${query}: ${JSON.stringify(problem.errors)}`,
      );
    }
    const first = (await h.call({ method: 'GET', url: '/v1/stock?limit=1', as: 'read' })).json();
    assertProblem(
      await h.call({ method: 'GET', url: `/v1/stock?sort=available&cursor=${first.next_cursor}`, as: 'read' }),
      400,
      'ONH_ERR_CURSOR',
    );
    assertProblem(await h.call({ method: 'GET', url: '/v1/stock?cursor=bm9wZQ', as: 'read' }), 400, 'ONH_ERR_CURSOR');
  });
});
