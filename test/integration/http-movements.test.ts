/**
 * Goal: POST /v1/movements reaches the ledger intact and answers exactly what the ledger
 * decided, per movement, in request order; history, oversells and idempotent replay are
 * visible through the API.
 *
 * Method: app.inject on a fresh SQLite store with a fake clock; every movement type once in
 * one request, then the stock view, paginated history, oversells, and replays of the same
 * keys (same body -> `exists` with the first movement ids; different body -> `conflict` and
 * an unchanged canonical dump).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpHarness, type HttpHarness } from '../support/http-harness.js';

const at = (sku: string, location: string) => ({ sku, location });

describe('HTTP movements', () => {
  let h: HttpHarness;
  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
  });
  after(async () => h.close());

  async function post(...items: object[]) {
    const response = await h.call({ method: 'POST', url: '/v1/movements', payload: { movements: items } });
    assert.equal(response.statusCode, 200, response.body);
    return response.json().results as Record<string, any>[];
  }

  async function stock(sku: string) {
    const response = await h.call({ method: 'GET', url: `/v1/stock/${sku}`, as: 'read' });
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  }

  it('a receipt shows in the stock view', async () => {
    const [answer] = await post({
      key: 'rcpt-1',
      type: 'receipt',
      ...at('A', 'WH1'),
      quantity: 10,
      source: { system: 'erp', reference: 'GRN-7' },
    });
    assert.equal(answer!.status, 'applied');
    assert.equal(answer!.level.on_hand, 10);
    const view = await stock('A');
    assert.deepEqual(
      view.locations.map((level: any) => [level.location, level.on_hand, level.available]),
      [['WH1', 10, 10]],
    );
    assert.equal(view.total.on_hand, 10);
  });

  it('applies every movement type, in request order, one answer each', async () => {
    const results = await post(
      { key: 'm-adj', type: 'adjustment', ...at('A', 'WH1'), quantity: -2, reason: 'damaged in handling' },
      {
        key: 'm-count',
        type: 'count',
        ...at('A', 'WH1'),
        on_hand: 20,
        occurred_at: new Date(h.clock.now()).toISOString(),
        source_version: 1,
      },
      { key: 'm-tout', type: 'transfer_out', ...at('A', 'WH1'), quantity: 5, to_location: 'WH2' },
      { key: 'm-tin', type: 'transfer_in', ...at('A', 'WH2'), quantity: 5, from_location: 'WH1' },
      { key: 'm-status', type: 'status', ...at('A', 'WH1'), quantity: 3, from: 'on_hand', to: 'damaged' },
      { key: 'm-order', type: 'order', ...at('A', 'WH1'), quantity: 4 },
      { key: 'm-cancel', type: 'cancellation', ...at('A', 'WH1'), quantity: 1 },
      { key: 'm-ship', type: 'shipment', ...at('A', 'WH1'), quantity: 3 },
      { key: 'm-sale', type: 'sale', ...at('A', 'WH1'), quantity: 2, note: 'till 4' },
      { key: 'm-return', type: 'return', ...at('A', 'WH1'), quantity: 1 },
    );
    assert.deepEqual(
      results.map((answer) => [answer.key, answer.status]),
      ['m-adj', 'm-count', 'm-tout', 'm-tin', 'm-status', 'm-order', 'm-cancel', 'm-ship', 'm-sale', 'm-return'].map(
        (key) => [key, 'applied'],
      ),
    );
    const view = await stock('A');
    const wh1 = view.locations.find((level: any) => level.location === 'WH1');
    const wh2 = view.locations.find((level: any) => level.location === 'WH2');
    // 10 -2 -> count 20 -> -5 transfer -> -3 damaged -> order 4, cancel 1, ship 3 (-3) -> sale -2 = 7.
    assert.deepEqual(
      {
        on_hand: wh1.on_hand,
        reserved: wh1.reserved,
        damaged: wh1.damaged,
        quarantine: wh1.quarantine,
        available: wh1.available,
      },
      { on_hand: 7, reserved: 0, damaged: 3, quarantine: 1, available: 7 },
    );
    assert.deepEqual({ on_hand: wh2.on_hand, in_transit: wh2.in_transit }, { on_hand: 5, in_transit: 0 });
    assert.equal(wh1.last_count_at, new Date(h.clock.now()).toISOString());
  });

  it('answers refusals as verdicts inside a 200, each movement judged on its own', async () => {
    const results = await post(
      { key: 'r-unknown-sku', type: 'receipt', ...at('NOPE', 'WH1'), quantity: 1 },
      { key: 'r-unknown-loc', type: 'receipt', ...at('A', 'MARS'), quantity: 1 },
      { key: 'r-short', type: 'transfer_out', ...at('A', 'WH1'), quantity: 1000, to_location: 'WH2' },
      {
        key: 'r-future',
        type: 'sale',
        ...at('A', 'WH1'),
        quantity: 1,
        occurred_at: new Date(h.clock.now() + 3_600_000).toISOString(),
      },
      { key: 'r-ok', type: 'receipt', ...at('C', 'WH1'), quantity: 2 },
    );
    assert.deepEqual(
      results.map((answer) => answer.status),
      ['unknown_variant', 'unknown_location', 'insufficient', 'invalid', 'applied'],
    );
    assert.match(results[2]!.detail, /available/);
  });

  it('history paginates newest first with next_cursor, and filters by location', async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=4&cursor=${cursor}` : '?limit=4';
      const response = await h.call({ method: 'GET', url: `/v1/stock/A/movements${query}`, as: 'read' });
      assert.equal(response.statusCode, 200, response.body);
      const page = response.json();
      assert.ok(page.items.length <= 4);
      seen.push(...page.items);
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor && pages < 20);
    // 11 movements on A, the transfer_out with two legs: 12 rows.
    assert.equal(seen.length, 12);
    assert.equal(pages, 3);
    const ids = seen.map((movement) => movement.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    );
    assert.equal(new Set(ids).size, ids.length, 'no movement twice');
    assert.equal(seen.at(-1).type, 'receipt');
    assert.deepEqual(seen.at(-1).source, { system: 'erp', reference: 'GRN-7' });
    const sale = seen.find((movement) => movement.key === 'm-sale');
    assert.equal(sale.reason, 'till 4');
    assert.equal(sale.recorded_at, new Date(h.clock.now()).toISOString());

    const wh2 = (await h.call({ method: 'GET', url: '/v1/stock/A/movements?location=WH2', as: 'read' })).json();
    assert.deepEqual(
      wh2.items.map((movement: any) => movement.type),
      ['transfer_in', 'transfer_out'],
    );
    assert.equal(wh2.next_cursor, null);
  });

  it('history of an unknown sku is a 404 problem', async () => {
    const response = await h.call({ method: 'GET', url: '/v1/stock/NOPE/movements', as: 'read' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().code, 'ONH_ERR_VARIANT_NOT_FOUND');
  });

  it('lists an order that drove available below zero as an oversell', async () => {
    h.clock.advance(1_000);
    const results = await post(
      { key: 'b-rcpt', type: 'receipt', ...at('B', 'WH1'), quantity: 1 },
      {
        key: 'b-order',
        type: 'order',
        ...at('B', 'WH1'),
        quantity: 3,
        source: { system: 'shopify', reference: '#1001' },
      },
    );
    assert.equal(results[1]!.status, 'applied', 'an order is a fact: it is applied even when short');
    assert.equal(results[1]!.oversold, 2);
    assert.equal(results[1]!.level.available, -2);
    const page = (await h.call({ method: 'GET', url: '/v1/oversells', as: 'read' })).json();
    assert.equal(page.items.length, 1);
    assert.deepEqual(
      { key: page.items[0].key, type: page.items[0].type, sku: page.items[0].sku, oversold: page.items[0].oversold },
      { key: 'b-order', type: 'order', sku: 'B', oversold: 2 },
    );
    assert.equal(page.next_cursor, null);
  });

  it('replays the same key and body as `exists` with the first movement ids', async () => {
    const first = { key: 'idem-1', type: 'receipt', ...at('C', 'WH2'), quantity: 4, note: 'pallet 9' };
    const [applied] = await post(first);
    assert.equal(applied!.status, 'applied');
    h.clock.advance(60_000);
    const before = await h.store.canonicalDump();
    // Same payload, keys in another order: the hash is over canonical JSON.
    const [replayed] = await post({
      note: 'pallet 9',
      quantity: 4,
      location: 'WH2',
      sku: 'C',
      type: 'receipt',
      key: 'idem-1',
    });
    assert.equal(replayed!.status, 'exists');
    assert.equal(replayed!.replayed, true);
    assert.deepEqual(replayed!.movement_ids, applied!.movement_ids);
    assert.deepEqual(await h.store.canonicalDump(), before, 'a replay changes nothing');
  });

  it('answers `conflict` for the same key with another body, and changes nothing', async () => {
    const before = await h.store.canonicalDump();
    const [answer] = await post({ key: 'idem-1', type: 'receipt', ...at('C', 'WH2'), quantity: 40, note: 'pallet 9' });
    assert.equal(answer!.status, 'conflict');
    assert.deepEqual(await h.store.canonicalDump(), before);
  });

  it('a default filled in by the server is not part of the payload: a retry later still replays', async () => {
    // occurred_at defaults to now; the retry a minute later must not hash differently.
    const item = { key: 'idem-2', type: 'sale', ...at('C', 'WH2'), quantity: 1 };
    const [first] = await post(item);
    h.clock.advance(60_000);
    const [again] = await post(item);
    assert.deepEqual([first!.status, again!.status], ['applied', 'exists']);
  });
});
