/**
 * Goal: the reservation lifecycle over HTTP (pending -> committed | released | expired) with
 * exact idempotency and the documented status codes.
 *
 * Method: app.inject on a fresh SQLite store; a fake clock moves past expiries (no sleeping).
 * Each refusal is checked as an RFC 9457 problem with its registered code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

describe('HTTP reservations', () => {
  let h: HttpHarness;
  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    const response = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: { movements: [{ key: 'seed-a', type: 'receipt', sku: 'A', location: 'WH1', quantity: 10 }] },
    });
    assert.equal(response.json().results[0].status, 'applied');
  });
  after(async () => h.close());

  const reserve = (body: object) => h.call({ method: 'POST', url: '/v1/reservations', payload: body });
  const commit = (id: string, body?: object) =>
    h.call({ method: 'POST', url: `/v1/reservations/${id}/commit`, ...(body ? { payload: body } : {}) });
  const release = (id: string, body?: object) =>
    h.call({ method: 'POST', url: `/v1/reservations/${id}/release`, ...(body ? { payload: body } : {}) });
  const get = (id: string) => h.call({ method: 'GET', url: `/v1/reservations/${id}`, as: 'read' });
  const available = async (sku: string, location: string) =>
    (await h.call({ method: 'GET', url: `/v1/stock/${sku}`, as: 'read' }))
      .json()
      .locations.find((level: any) => level.location === location);

  let first: { id: string };

  it('201 with the reservation and its level', async () => {
    const response = await reserve({
      key: 'cart-1',
      sku: 'A',
      location: 'WH1',
      quantity: 4,
      source: { system: 'web', reference: 'cart 1' },
    });
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json();
    assert.equal(body.reservation.status, 'pending');
    assert.equal(body.reservation.quantity, 4);
    assert.equal(body.reservation.expires_at, null);
    assert.deepEqual([body.level.reserved, body.level.available], [4, 6]);
    assert.equal(response.headers.location, `/v1/reservations/${body.reservation.id}`);
    assert.equal(response.headers['idempotent-replayed'], undefined);
    first = body.reservation;
    assert.deepEqual((await get(first.id)).json(), body.reservation);
  });

  it('a replayed POST answers 201 with the same body and Idempotent-Replayed: true', async () => {
    const response = await reserve({
      key: 'cart-1',
      sku: 'A',
      location: 'WH1',
      quantity: 4,
      source: { system: 'web', reference: 'cart 1' },
    });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers['idempotent-replayed'], 'true');
    assert.equal(response.json().reservation.id, first.id);
    assert.equal((await available('A', 'WH1')).reserved, 4, 'nothing reserved twice');
  });

  it('409 ONH_ERR_IDEMPOTENCY_CONFLICT for the same key with another body', async () => {
    const before = await h.store.canonicalDump();
    assertProblem(
      await reserve({ key: 'cart-1', sku: 'A', location: 'WH1', quantity: 5 }),
      409,
      'ONH_ERR_IDEMPOTENCY_CONFLICT',
    );
    assert.deepEqual(await h.store.canonicalDump(), before);
  });

  it('409 ONH_ERR_INSUFFICIENT with what is available', async () => {
    const problem = assertProblem(
      await reserve({ key: 'cart-2', sku: 'A', location: 'WH1', quantity: 7 }),
      409,
      'ONH_ERR_INSUFFICIENT',
    );
    assert.equal(problem.available, 6);
    assert.equal(problem.key, 'cart-2');
    assert.match(problem.detail, /available 6/);
  });

  it('422 for an unknown variant or location, or a bundle', async () => {
    assertProblem(
      await reserve({ key: 'cart-3', sku: 'NOPE', location: 'WH1', quantity: 1 }),
      422,
      'ONH_ERR_UNKNOWN_VARIANT',
    );
    assertProblem(
      await reserve({ key: 'cart-4', sku: 'A', location: 'MARS', quantity: 1 }),
      422,
      'ONH_ERR_UNKNOWN_LOCATION',
    );
    const kit = await h.call({
      method: 'PUT',
      url: '/v1/variants',
      payload: { variants: [{ sku: 'KIT', name: 'Kit', components: [{ sku: 'C', quantity: 2 }] }] },
    });
    assert.equal(kit.statusCode, 200, kit.body);
    assertProblem(
      await reserve({ key: 'cart-5', sku: 'KIT', location: 'WH1', quantity: 1 }),
      422,
      'ONH_ERR_INVALID_COMMAND',
    );
  });

  it('commits part of a reservation; the rest is released', async () => {
    const response = await commit(first.id, { quantity: 3 });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.reservation.status, body.reservation.committed_quantity], ['committed', 3]);
    // The committed units stay reserved (as an order) until shipped; 1 unit went back.
    assert.deepEqual([body.level.reserved, body.level.available], [3, 7]);
  });

  it('a retried commit (default key commit:<id>) replays; another quantity conflicts', async () => {
    const again = await commit(first.id, { quantity: 3 });
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().reservation.committed_quantity, 3);
    assertProblem(await commit(first.id, { quantity: 2 }), 409, 'ONH_ERR_IDEMPOTENCY_CONFLICT');
  });

  it('409 ONH_ERR_RESERVATION_CLOSED once resolved', async () => {
    assertProblem(await release(first.id), 409, 'ONH_ERR_RESERVATION_CLOSED');
    assertProblem(await commit(first.id, { key: 'second-commit' }), 409, 'ONH_ERR_RESERVATION_CLOSED');
  });

  it('releases a reservation; a retried release replays', async () => {
    const held = (await reserve({ key: 'cart-6', sku: 'A', location: 'WH1', quantity: 2 })).json().reservation;
    const response = await release(held.id);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().reservation.status, 'released');
    assert.equal((await available('A', 'WH1')).reserved, 3);
    const again = await release(held.id);
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers['idempotent-replayed'], 'true');
  });

  it('422 ONH_ERR_INVALID_COMMAND when committing more than is held', async () => {
    const held = (await reserve({ key: 'cart-7', sku: 'A', location: 'WH1', quantity: 2 })).json().reservation;
    assertProblem(await commit(held.id, { quantity: 3 }), 422, 'ONH_ERR_INVALID_COMMAND');
    assert.equal((await release(held.id, { key: 'release-cart-7' })).statusCode, 200);
  });

  it('expires on the clock: GET shows expired, commit is 409 expired, the units are available again', async () => {
    const held = (await reserve({ key: 'cart-8', sku: 'A', location: 'WH1', quantity: 5, expires_in_s: 60 })).json()
      .reservation;
    assert.equal(held.expires_at, new Date(h.clock.now() + 60_000).toISOString());
    assert.equal((await available('A', 'WH1')).reserved, 8);
    h.clock.advance(59_999);
    assert.equal((await get(held.id)).json().status, 'pending', 'never expired early');
    h.clock.advance(1);
    const view = (await get(held.id)).json();
    assert.equal(view.status, 'expired');
    assert.equal(view.resolved_at, held.expires_at);
    assert.equal((await available('A', 'WH1')).reserved, 3, 'an expired hold no longer counts');
    assertProblem(await commit(held.id), 409, 'ONH_ERR_RESERVATION_EXPIRED');
    assert.equal((await get(held.id)).json().status, 'expired');
  });

  it('404 for an unknown reservation', async () => {
    assertProblem(await get('res_nope'), 404, 'ONH_ERR_RESERVATION_NOT_FOUND');
    assertProblem(await commit('res_nope'), 404, 'ONH_ERR_RESERVATION_NOT_FOUND');
  });

  it('the ledger stays consistent', async () => {
    assert.deepEqual((await h.store.ledger.verify()).mismatches, []);
  });
});

describe('HTTP reservations by channel', () => {
  let h: HttpHarness;
  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    const channels = await h.call({
      method: 'PUT',
      url: '/v1/channels',
      payload: {
        channels: [
          { code: 'web', name: 'Web shop', platform: 'shopify', locations: ['WH2', 'WH1'] },
          { code: 'b2b', name: 'Wholesale', platform: 'bol', locations: ['WH1'] },
        ],
      },
      as: 'admin',
    });
    assert.equal(channels.statusCode, 200, channels.body);
    const seeded = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: {
        movements: [
          { key: 'seed-b1', type: 'receipt', sku: 'B', location: 'WH1', quantity: 5 },
          { key: 'seed-b2', type: 'receipt', sku: 'B', location: 'WH2', quantity: 3 },
        ],
      },
    });
    assert.deepEqual(
      seeded.json().results.map((result: any) => result.status),
      ['applied', 'applied'],
    );
  });
  after(async () => h.close());

  const reserve = (body: object) => h.call({ method: 'POST', url: '/v1/reservations', payload: body });
  const stockOf = async (sku: string) =>
    Object.fromEntries(
      (await h.call({ method: 'GET', url: `/v1/stock/${sku}`, as: 'read' }))
        .json()
        .locations.map((level: any) => [level.location, [level.reserved, level.available]]),
    );

  it('400 naming the field when both or neither of location and channel are given', async () => {
    const both = assertProblem(
      await reserve({ key: 'ch-v1', sku: 'B', location: 'WH1', channel: 'web', quantity: 1 }),
      400,
      'ONH_ERR_VALIDATION',
    );
    assert.deepEqual(
      both.errors.map((error: any) => error.path),
      ['/channel'],
    );
    const neither = assertProblem(await reserve({ key: 'ch-v2', sku: 'B', quantity: 1 }), 400, 'ONH_ERR_VALIDATION');
    assert.deepEqual(
      neither.errors.map((error: any) => error.path),
      ['/location'],
    );
  });

  it('404 ONH_ERR_CHANNEL_NOT_FOUND for an unknown channel', async () => {
    assertProblem(
      await reserve({ key: 'ch-u', sku: 'B', channel: 'mars', quantity: 1 }),
      404,
      'ONH_ERR_CHANNEL_NOT_FOUND',
    );
  });

  it('places the whole quantity at the first location in priority order that holds it', async () => {
    const first = await reserve({ key: 'ch-1', sku: 'B', channel: 'web', quantity: 2 });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.json().reservation.location, 'WH2', 'WH2 comes first for web');
    assert.equal(first.json().parts.length, 1);
    const second = await reserve({ key: 'ch-2', sku: 'B', channel: 'web', quantity: 4 });
    assert.equal(second.statusCode, 201, second.body);
    assert.deepEqual(
      second.json().parts.map((part: any) => [part.reservation.location, part.reservation.quantity]),
      [['WH1', 4]],
      'WH2 has 1 left: whole at WH1, not split',
    );
    assert.deepEqual(await stockOf('B'), { WH1: [4, 1], WH2: [2, 1] });
  });

  it('splits over the locations when none holds it but the pool does; each part resolves by its id', async () => {
    const response = await reserve({ key: 'ch-3', sku: 'B', channel: 'web', quantity: 2, expires_in_s: 600 });
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json();
    assert.deepEqual(
      body.parts.map((part: any) => [part.reservation.location, part.reservation.quantity, part.level.available]),
      [
        ['WH2', 1, 0],
        ['WH1', 1, 0],
      ],
    );
    assert.deepEqual(body.reservation, body.parts[0].reservation);
    assert.equal(response.headers.location, `/v1/reservations/${body.reservation.id}`);
    const replay = await reserve({ key: 'ch-3', sku: 'B', channel: 'web', quantity: 2, expires_in_s: 600 });
    assert.equal(replay.statusCode, 201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.deepEqual(replay.json(), body);
    assertProblem(
      await reserve({ key: 'ch-3', sku: 'B', channel: 'web', quantity: 1 }),
      409,
      'ONH_ERR_IDEMPOTENCY_CONFLICT',
    );
    const committed = await h.call({ method: 'POST', url: `/v1/reservations/${body.parts[1].reservation.id}/commit` });
    assert.equal(committed.statusCode, 200, committed.body);
    const released = await h.call({ method: 'POST', url: `/v1/reservations/${body.parts[0].reservation.id}/release` });
    assert.equal(released.statusCode, 200, released.body);
    assert.deepEqual(await stockOf('B'), { WH1: [5, 0], WH2: [2, 1] });
  });

  it('409 ONH_ERR_INSUFFICIENT when the pool less what other channels ring-fence is short', async () => {
    // b2b lists B and ring-fences 1 unit: web may sell 1 - 1 = 0 of the 1 left.
    await h.store.availability.upsertListings([{ channel: 'b2b', externalId: 'b2b-B', sku: 'B' }], h.clock.now());
    const version = await h.store.availability.createRuleSet(
      { rules: { channels: { b2b: { allocation: { units: 1 } } } }, author: 'test' },
      h.clock.now(),
    );
    await h.store.availability.activateRuleSet(version.version, { author: 'test' }, h.clock.now());
    const problem = assertProblem(
      await reserve({ key: 'ch-4', sku: 'B', channel: 'web', quantity: 1 }),
      409,
      'ONH_ERR_INSUFFICIENT',
    );
    assert.equal(problem.available, 0);
    assert.match(problem.detail, /channel web may sell 0 of B \(pool 1, 1 held for others\)/);
    // b2b's own fence does not hold b2b back: it may take a unit received at WH1.
    const received = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: { movements: [{ key: 'seed-b3', type: 'receipt', sku: 'B', location: 'WH1', quantity: 1 }] },
    });
    assert.equal(received.json().results[0].status, 'applied');
    const b2b = await reserve({ key: 'ch-5', sku: 'B', channel: 'b2b', quantity: 1 });
    assert.equal(b2b.statusCode, 201, b2b.body);
    assert.equal(b2b.json().reservation.location, 'WH1');
    assert.deepEqual((await h.store.ledger.verify()).mismatches, []);
  });
});
