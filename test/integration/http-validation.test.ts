/**
 * Goal: no malformed input reaches the ledger. Every rejected request answers an RFC 9457
 * problem naming each failing field, and changes nothing.
 *
 * Method: a table of bad requests against a seeded server (app.inject, fake clock); for each,
 * the store's canonical dump before and after must be equal. Quantities and strings probe the
 * bounds of core/limits.ts; the body validator must neither coerce ("5") nor strip (unknown
 * fields), unlike Fastify's default Ajv.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { limits } from '../../src/core/limits.js';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

const receipt = { key: 'v-1', type: 'receipt', sku: 'A', location: 'WH1', quantity: 5 };

interface Case {
  name: string;
  method?: 'POST' | 'PUT' | 'GET';
  url?: string;
  payload?: unknown;
  headers?: Record<string, string>;
  status?: number;
  code?: string;
  /** Paths that must appear in `errors`. */
  paths?: string[];
}

function movements(...items: unknown[]): { movements: unknown[] } {
  return { movements: items };
}

const cases: Case[] = [
  { name: 'negative quantity', payload: movements({ ...receipt, quantity: -1 }), paths: ['/movements/0/quantity'] },
  { name: 'fractional quantity', payload: movements({ ...receipt, quantity: 1.5 }), paths: ['/movements/0/quantity'] },
  { name: 'zero quantity', payload: movements({ ...receipt, quantity: 0 }), paths: ['/movements/0/quantity'] },
  {
    name: 'quantity as a string "5" (no coercion)',
    payload: movements({ ...receipt, quantity: '5' }),
    paths: ['/movements/0/quantity'],
  },
  {
    name: 'quantity above quantityMax',
    payload: movements({ ...receipt, quantity: limits.quantityMax + 1 }),
    paths: ['/movements/0/quantity'],
  },
  {
    name: 'quantity 2^53 + 1',
    payload: '{"movements":[{"key":"v-1","type":"receipt","sku":"A","location":"WH1","quantity":9007199254740993}]}',
    paths: ['/movements/0/quantity'],
  },
  {
    name: 'quantity 1e309 (Infinity)',
    payload: '{"movements":[{"key":"v-1","type":"receipt","sku":"A","location":"WH1","quantity":1e309}]}',
    paths: ['/movements/0/quantity'],
  },
  { name: 'unknown top-level field', payload: { ...movements(receipt), dry_run: true }, paths: ['/dry_run'] },
  {
    name: 'unknown field in an item (mass assignment)',
    payload: movements({ ...receipt, on_hand: 1000 }),
    paths: ['/movements/0/on_hand'],
  },
  {
    name: 'unknown field in a nested object',
    payload: movements({ ...receipt, source: { system: 'erp', tenant_id: 'x' } }),
    paths: ['/movements/0/source/tenant_id'],
  },
  {
    name: 'over-long sku',
    payload: movements({ ...receipt, sku: 'S'.repeat(limits.codeLengthMax + 1) }),
    paths: ['/movements/0/sku'],
  },
  {
    name: 'over-long key',
    payload: movements({ ...receipt, key: 'k'.repeat(limits.idempotencyKeyLengthMax + 1) }),
    paths: ['/movements/0/key'],
  },
  {
    name: 'over-long note',
    payload: movements({ ...receipt, note: 'n'.repeat(limits.textLengthMax + 1) }),
    paths: ['/movements/0/note'],
  },
  { name: 'empty key', payload: movements({ ...receipt, key: '' }), paths: ['/movements/0/key'] },
  {
    name: 'date that is not a date',
    payload: movements({ ...receipt, occurred_at: 'yesterday' }),
    paths: ['/movements/0/occurred_at'],
  },
  {
    name: 'date without a time zone',
    payload: movements({ ...receipt, occurred_at: '2026-03-01T10:00:00' }),
    paths: ['/movements/0/occurred_at'],
  },
  {
    name: 'date in month 13',
    payload: movements({ ...receipt, occurred_at: '2026-13-01T10:00:00Z' }),
    paths: ['/movements/0/occurred_at'],
  },
  {
    name: 'leap second (RFC 3339, but not a Date)',
    payload: movements({ ...receipt, occurred_at: '2026-06-30T23:59:60Z' }),
    paths: ['/movements/0/occurred_at'],
  },
  {
    name: 'too many items',
    payload: movements(
      ...Array.from({ length: limits.movementsPerRequestMax + 1 }, (_, i) => ({ ...receipt, key: `k${i}` })),
    ),
    paths: ['/movements'],
  },
  { name: 'no items', payload: movements(), paths: ['/movements'] },
  { name: 'unknown movement type', payload: movements({ ...receipt, type: 'teleport' }), paths: ['/movements/0/type'] },
  {
    name: 'missing movement type',
    payload: movements({ key: 'x', sku: 'A', location: 'WH1', quantity: 1 }),
    paths: ['/movements/0/type'],
  },
  {
    name: 'zero adjustment',
    payload: movements({ key: 'a', type: 'adjustment', sku: 'A', location: 'WH1', quantity: 0, reason: 'x' }),
    paths: ['/movements/0/quantity'],
  },
  {
    name: 'adjustment without reason',
    payload: movements({ key: 'a', type: 'adjustment', sku: 'A', location: 'WH1', quantity: -2 }),
    paths: ['/movements/0/reason'],
  },
  {
    name: 'negative count',
    payload: movements({ key: 'c', type: 'count', sku: 'A', location: 'WH1', on_hand: -1 }),
    paths: ['/movements/0/on_hand'],
  },
  {
    name: 'count above countOnHandMax',
    payload: movements({ key: 'c', type: 'count', sku: 'A', location: 'WH1', on_hand: limits.countOnHandMax + 1 }),
    paths: ['/movements/0/on_hand'],
  },
  {
    name: 'status to an unknown bucket',
    payload: movements({
      key: 's',
      type: 'status',
      sku: 'A',
      location: 'WH1',
      quantity: 1,
      from: 'on_hand',
      to: 'lost',
    }),
    paths: ['/movements/0/to'],
  },
  {
    name: 'transfer_out without destination',
    payload: movements({ key: 't', type: 'transfer_out', sku: 'A', location: 'WH1', quantity: 1 }),
    paths: ['/movements/0/to_location'],
  },
  {
    name: 'one bad item among good ones fails the whole request, naming every bad path',
    payload: movements(receipt, { ...receipt, key: 'v-2', quantity: 0 }, { ...receipt, key: 'v-3', colour: 'red' }),
    paths: ['/movements/1/quantity', '/movements/2/colour'],
  },
  { name: 'body is null', payload: 'null', paths: [''] },
  { name: 'body is an array', payload: '[]', paths: [''] },
  { name: 'malformed JSON', payload: '{"movements": [', status: 400, code: 'ONH_ERR_MALFORMED_REQUEST' },
  {
    name: 'prototype poisoning',
    payload: '{"movements":[],"__proto__":{"admin":true}}',
    status: 400,
    code: 'ONH_ERR_MALFORMED_REQUEST',
  },
  {
    name: 'unsupported content type',
    payload: 'movements',
    headers: { 'content-type': 'text/csv' },
    status: 415,
    code: 'ONH_ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'body over the limit',
    payload: JSON.stringify(movements({ ...receipt, note: 'x'.repeat(limits.requestBodyBytesMax) })),
    status: 413,
    code: 'ONH_ERR_BODY_TOO_LARGE',
  },
  // Other bodies.
  {
    name: 'reservation: expires_in_s 0',
    url: '/v1/reservations',
    payload: { key: 'r', sku: 'A', location: 'WH1', quantity: 1, expires_in_s: 0 },
    paths: ['/expires_in_s'],
  },
  {
    name: 'reservation: expires_in_s beyond the maximum',
    url: '/v1/reservations',
    payload: { key: 'r', sku: 'A', location: 'WH1', quantity: 1, expires_in_s: limits.reservationExpirySecondsMax + 1 },
    paths: ['/expires_in_s'],
  },
  {
    name: 'reservation: missing fields',
    url: '/v1/reservations',
    payload: { key: 'r' },
    // location or channel: exactly one, checked after the schema (test/integration/http-reservations.test.ts)
    paths: ['/sku', '/quantity'],
  },
  {
    name: 'commit: quantity as string',
    url: '/v1/reservations/res_1/commit',
    payload: { quantity: '2' },
    paths: ['/quantity'],
  },
  {
    name: 'release: unknown field',
    url: '/v1/reservations/res_1/release',
    payload: { reason: 'x' },
    paths: ['/reason'],
  },
  {
    name: 'variants: component quantity 0 and a non-string attribute',
    method: 'PUT',
    url: '/v1/variants',
    payload: {
      variants: [{ sku: 'K', name: 'Kit', attributes: { size: 42 }, components: [{ sku: 'A', quantity: 0 }] }],
    },
    paths: ['/variants/0/attributes/size', '/variants/0/components/0/quantity'],
  },
  {
    name: 'variants: too many attributes',
    method: 'PUT',
    url: '/v1/variants',
    payload: {
      variants: [
        {
          sku: 'K',
          name: 'Kit',
          attributes: Object.fromEntries(
            Array.from({ length: limits.variantAttributesMax + 1 }, (_, i) => [`a${i}`, 'v']),
          ),
        },
      ],
    },
    paths: ['/variants/0/attributes'],
  },
  {
    name: 'locations: unknown kind',
    method: 'PUT',
    url: '/v1/locations',
    payload: { locations: [{ code: 'X', name: 'X', kind: 'moon' }] },
    paths: ['/locations/0/kind'],
  },
  {
    name: 'purchase order: bad expected_at and line 0',
    method: 'PUT',
    url: '/v1/purchase-orders/PO-1',
    payload: { lines: [{ line: 0, sku: 'A', location: 'WH1', quantity: 1, expected_at: 'soon' }] },
    paths: ['/lines/0/line', '/lines/0/expected_at'],
  },
  { name: 'query: limit 0', method: 'GET', url: '/v1/stock/A/movements?limit=0', paths: ['querystring/limit'] },
  {
    name: 'query: limit above pageSizeMax',
    method: 'GET',
    url: `/v1/oversells?limit=${limits.pageSizeMax + 1}`,
    paths: ['querystring/limit'],
  },
  { name: 'query: unknown parameter', method: 'GET', url: '/v1/oversells?offset=10', paths: ['querystring/offset'] },
  {
    name: 'query: a cursor this server did not issue',
    method: 'GET',
    url: '/v1/oversells?cursor=bm9wZQ',
    status: 400,
    code: 'ONH_ERR_CURSOR',
  },
  {
    name: 'path: over-long sku',
    method: 'GET',
    url: `/v1/stock/${'S'.repeat(limits.codeLengthMax + 1)}`,
    paths: ['params/sku'],
  },
];

describe('HTTP validation', () => {
  let h: HttpHarness;
  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    const seeded = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: movements({ ...receipt, key: 'seed' }),
    });
    assert.equal(seeded.statusCode, 200);
  });
  after(async () => h.close());

  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const before = await h.store.canonicalDump();
      const payload = testCase.payload;
      const response = await h.call({
        method: testCase.method ?? 'POST',
        url: testCase.url ?? '/v1/movements',
        ...(payload === undefined ? {} : { payload: payload as string | object }),
        headers: {
          ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}),
          ...testCase.headers,
        },
      });
      const problem = assertProblem(response, testCase.status ?? 400, testCase.code ?? 'ONH_ERR_VALIDATION');
      if (testCase.paths) {
        const paths = (problem.errors as { path: string; message: string }[]).map((error) => error.path);
        for (const path of testCase.paths)
          assert.ok(paths.includes(path), `${path} not in ${JSON.stringify(problem.errors)}`);
      }
      assert.deepEqual(await h.store.canonicalDump(), before, 'a rejected request changes nothing');
    });
  }

  it('names the problem with a readable message', async () => {
    const response = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: movements(
        { key: 'a', type: 'adjustment', sku: 'A', location: 'WH1', quantity: 0, reason: 'x' },
        { ...receipt, extra: 1 },
      ),
    });
    const problem = assertProblem(response, 400, 'ONH_ERR_VALIDATION');
    assert.deepEqual(problem.errors, [
      { path: '/movements/0/quantity', message: 'must not be 0' },
      { path: '/movements/1/extra', message: 'is not a known field' },
    ]);
  });

  it('accepts a commit or release without a body (it means {})', async () => {
    const response = await h.call({ method: 'POST', url: '/v1/reservations/res_unknown/release' });
    assertProblem(response, 404, 'ONH_ERR_RESERVATION_NOT_FOUND');
  });

  it('caps the number of reported errors', async () => {
    const items = Array.from({ length: limits.movementsPerRequestMax }, (_, i) => ({
      ...receipt,
      key: `x${i}`,
      quantity: 0,
    }));
    const problem = assertProblem(
      await h.call({ method: 'POST', url: '/v1/movements', payload: movements(...items) }),
      400,
      'ONH_ERR_VALIDATION',
    );
    assert.equal(problem.errors.length, 100);
  });
});
