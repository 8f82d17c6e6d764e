/**
 * Goal: the catalogue routes (variants, bundles, locations, purchase orders) map faithfully
 * to the store port and back to snake_case, refuse bad catalogue input as one 422 problem
 * listing every bad item, and incoming purchase orders show in the stock view.
 *
 * Method: app.inject on a fresh SQLite store with a fake clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, referenceTime, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

describe('HTTP catalogue and purchase orders', () => {
  let h: HttpHarness;
  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
  });
  after(async () => h.close());

  it('upserts variants and reports created and updated', async () => {
    h.clock.advance(1_000);
    const response = await h.call({
      method: 'PUT',
      url: '/v1/variants',
      payload: {
        variants: [
          {
            sku: 'A',
            name: 'Variant A, renamed',
            barcode: '8710000000001',
            product_group: 'shirts',
            attributes: { size: 'M', colour: 'blue' },
          },
          {
            sku: 'GIFT',
            name: 'Gift box',
            components: [
              { sku: 'A', quantity: 1 },
              { sku: 'B', quantity: 2 },
            ],
          },
        ],
      },
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { created: 1, updated: 1 });
  });

  it('GET /v1/variants/{sku} answers snake_case with components and is_bundle', async () => {
    const a = (await h.call({ method: 'GET', url: '/v1/variants/A', as: 'read' })).json();
    assert.deepEqual(a, {
      sku: 'A',
      name: 'Variant A, renamed',
      barcode: '8710000000001',
      product_group: 'shirts',
      attributes: { size: 'M', colour: 'blue' },
      is_bundle: false,
      components: [],
      created_at: new Date(referenceTime).toISOString(),
      updated_at: new Date(referenceTime + 1_000).toISOString(),
    });
    const gift = (await h.call({ method: 'GET', url: '/v1/variants/GIFT', as: 'read' })).json();
    assert.equal(gift.is_bundle, true);
    assert.deepEqual(gift.components, [
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 2 },
    ]);
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/variants/NOPE', as: 'read' }),
      404,
      'ONH_ERR_VARIANT_NOT_FOUND',
    );
  });

  it('lists variants by sku, page by page', async () => {
    const skus: string[] = [];
    let after: string | null = null;
    do {
      const url: string = after ? `/v1/variants?limit=2&after=${encodeURIComponent(after)}` : '/v1/variants?limit=2';
      const page = (await h.call({ method: 'GET', url, as: 'read' })).json();
      skus.push(...page.items.map((variant: any) => variant.sku));
      after = page.next_after;
    } while (after);
    assert.deepEqual(skus, ['A', 'B', 'C', 'GIFT']);
  });

  it('refuses a bad catalogue change as one 422 listing every bad item, changing nothing', async () => {
    const before = await h.store.canonicalDump();
    const response = await h.call({
      method: 'PUT',
      url: '/v1/variants',
      payload: {
        variants: [
          { sku: 'K2', name: 'Kit', components: [{ sku: 'GHOST', quantity: 1 }] },
          { sku: 'K2', name: 'Twice' },
        ],
      },
    });
    const problem = assertProblem(response, 422, 'ONH_ERR_CATALOGUE');
    const paths = problem.errors.map((error: any) => error.path);
    assert.ok(paths.includes('/variants/0/components/0'), JSON.stringify(problem.errors));
    assert.ok(paths.includes('/variants/1/sku'), JSON.stringify(problem.errors));
    assert.deepEqual(await h.store.canonicalDump(), before);
  });

  it('upserts and lists locations', async () => {
    const response = await h.call({
      method: 'PUT',
      url: '/v1/locations',
      payload: {
        locations: [
          { code: 'SHOP', name: 'Shop', kind: 'store' },
          { code: 'WH1', name: 'Main', kind: 'warehouse' },
        ],
      },
    });
    assert.deepEqual(response.json(), { created: 1, updated: 1 });
    const list = (await h.call({ method: 'GET', url: '/v1/locations', as: 'read' })).json();
    assert.deepEqual(
      list.items.map((location: any) => [location.code, location.kind]),
      [
        ['SHOP', 'store'],
        ['WH1', 'warehouse'],
        ['WH2', 'warehouse'],
      ],
    );
    assertProblem(
      await h.call({
        method: 'PUT',
        url: '/v1/locations',
        payload: {
          locations: [
            { code: 'X', name: 'X', kind: 'store' },
            { code: 'X', name: 'Y', kind: 'store' },
          ],
        },
      }),
      422,
      'ONH_ERR_CATALOGUE',
    );
  });

  it('creates a purchase order; its open lines show as incoming in the stock view', async () => {
    const expected = new Date(referenceTime + 7 * 86_400_000).toISOString();
    const response = await h.call({
      method: 'PUT',
      url: '/v1/purchase-orders/PO-1',
      payload: {
        supplier: 'Acme',
        lines: [{ line: 1, sku: 'B', location: 'WH1', quantity: 12, expected_at: expected }],
      },
    });
    assert.equal(response.statusCode, 200, response.body);
    const order = response.json();
    assert.equal(order.status, 'open', 'status defaults to open');
    assert.deepEqual(order.lines, [
      {
        line: 1,
        sku: 'B',
        location: 'WH1',
        quantity_ordered: 12,
        quantity_received: 0,
        incoming: 12,
        expected_at: expected,
      },
    ]);
    assert.deepEqual((await h.call({ method: 'GET', url: '/v1/purchase-orders/PO-1', as: 'read' })).json(), order);

    const stock = (await h.call({ method: 'GET', url: '/v1/stock/B', as: 'read' })).json();
    assert.equal(stock.total.incoming, 12);
    assert.deepEqual(stock.incoming, [
      { purchase_order: 'PO-1', line: 1, location: 'WH1', quantity: 12, expected_at: expected },
    ]);
  });

  it('a receipt against the line reduces incoming', async () => {
    const results = (
      await h.call({
        method: 'POST',
        url: '/v1/movements',
        payload: {
          movements: [
            {
              key: 'po-1-1',
              type: 'receipt',
              sku: 'B',
              location: 'WH1',
              quantity: 5,
              purchase_order: { id: 'PO-1', line: 1 },
            },
          ],
        },
      })
    ).json().results;
    assert.equal(results[0].status, 'applied');
    const stock = (await h.call({ method: 'GET', url: '/v1/stock/B', as: 'read' })).json();
    assert.deepEqual([stock.total.on_hand, stock.total.incoming], [5, 7]);
    const order = (await h.call({ method: 'GET', url: '/v1/purchase-orders/PO-1', as: 'read' })).json();
    assert.equal(order.lines[0].quantity_received, 5);
  });

  it('a closed purchase order is no longer incoming', async () => {
    const response = await h.call({
      method: 'PUT',
      url: '/v1/purchase-orders/PO-1',
      payload: { supplier: 'Acme', status: 'closed', lines: [{ line: 1, sku: 'B', location: 'WH1', quantity: 12 }] },
    });
    assert.equal(response.json().lines[0].incoming, 0);
    assert.equal((await h.call({ method: 'GET', url: '/v1/stock/B', as: 'read' })).json().total.incoming, 0);
  });

  it('a bundle shows what its components allow', async () => {
    const stock = (await h.call({ method: 'GET', url: '/v1/stock/GIFT', as: 'read' })).json();
    assert.equal(stock.is_bundle, true);
    assert.deepEqual(stock.components, [
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 2 },
    ]);
  });

  it('refuses a purchase order naming unknown things (422) and answers 404 for an unknown one', async () => {
    const problem = assertProblem(
      await h.call({
        method: 'PUT',
        url: '/v1/purchase-orders/PO-2',
        payload: { lines: [{ line: 1, sku: 'NOPE', location: 'WH1', quantity: 1 }] },
      }),
      422,
      'ONH_ERR_CATALOGUE',
    );
    assert.deepEqual(
      problem.errors.map((error: any) => error.path),
      ['/lines/0/sku'],
    );
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/purchase-orders/PO-2', as: 'read' }),
      404,
      'ONH_ERR_PURCHASE_ORDER_NOT_FOUND',
    );
    assertProblem(await h.call({ method: 'GET', url: '/v1/stock/NOPE', as: 'read' }), 404, 'ONH_ERR_VARIANT_NOT_FOUND');
  });
});
