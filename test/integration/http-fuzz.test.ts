/**
 * Goal: no input makes the API answer 5xx, on any store; every error is an RFC 9457 problem
 * with a registered code; a refused request changes nothing.
 *
 * Method: one valid request per operation of /openapi.json (the table below must cover every
 * operation, so a new route needs an entry), then, per operation:
 * - fixed edge cases: NUL and a lone surrogate in every string and key of the body, 10 KB and
 *   10 MB strings, 10,000 levels of nesting, duplicate and prototype keys, bad JSON and bad
 *   content types, odd path parameters (%00, %2F, .., over-long, malformed percent-encoding),
 *   odd query parameters;
 * - fast-check mutations of the valid request: a value anywhere replaced by a wrong type, an
 *   edge number or odd unicode, an extra key, an odd parameter, another token.
 * After each request: status below 500, problem+json on every error, and for every error the
 * snapshot of every table (test/support/api-server.ts) unchanged.
 * ONHAND_FUZZ_RUNS sets the random cases per operation (default 4, for CI); ONHAND_FUZZ_SEED
 * replays a run. Webhook bodies are signed with the channel's secret after mutation, so they
 * reach the parser, not just the signature check.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { errorRegistry } from '../../src/http/errors.js';
import type { TokenScope } from '../../src/store/ledger-store.js';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { STORES } from '../support/stores.js';

const runsPerOperation = Number(process.env.ONHAND_FUZZ_RUNS ?? 4);
const seed = process.env.ONHAND_FUZZ_SEED === undefined ? undefined : Number(process.env.ONHAND_FUZZ_SEED);
const webhookSecret = 'fuzz-webhook-secret';
// The channel's access token is an env: reference, resolved when a webhook arrives.
process.env.ONHAND_FUZZ_SHOP_TOKEN = 'fuzz-access-token';
/**
 * Ledger refusals are answers the ledger keeps under their idempotency key (a replay gets the
 * same refusal): they may add to the answers table, and change nothing else.
 */
const ledgerRefusals = new Set([
  'ONH_ERR_IDEMPOTENCY_CONFLICT',
  'ONH_ERR_UNKNOWN_VARIANT',
  'ONH_ERR_UNKNOWN_LOCATION',
  'ONH_ERR_RESERVATION_NOT_FOUND',
  'ONH_ERR_INVALID_COMMAND',
  'ONH_ERR_RESERVATION_EXPIRED',
  'ONH_ERR_RESERVATION_CLOSED',
  'ONH_ERR_STALE',
  'ONH_ERR_INSUFFICIENT',
]);

function withoutAnswers(snapshot: any): unknown {
  return { ...snapshot, ledger: { ...snapshot.ledger, answers: undefined } };
}
const shop = 'fuzz.myshopify.com';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Valid {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: Json;
  /** Webhook: sign the raw body and send these headers. */
  webhook?: Record<string, string>;
  /** A CSV body, sent as text/csv (the import routes). */
  csv?: string;
}

/** One valid request per operation, against the seed below. */
const valid: Record<string, Valid> = {
  'GET /healthz': {},
  'GET /readyz': {},
  'PUT /v1/variants': {
    body: {
      variants: [
        {
          sku: 'B',
          name: 'Variant B',
          barcode: '8712345',
          attributes: { color: 'red' },
          components: [{ sku: 'A', quantity: 2 }],
        },
      ],
    },
  },
  'GET /v1/variants': { query: { after: 'A', limit: '10' } },
  'GET /v1/variants/{sku}': { params: { sku: 'A' } },
  'PUT /v1/locations': { body: { locations: [{ code: 'WH2', name: 'Second', kind: 'warehouse' }] } },
  'GET /v1/locations': {},
  'PUT /v1/purchase-orders/{id}': {
    params: { id: 'PO-1' },
    body: {
      supplier: 'Acme',
      status: 'open',
      lines: [{ line: 1, sku: 'A', location: 'WH1', quantity: 5, expected_at: '2026-04-01T00:00:00Z' }],
    },
  },
  'GET /v1/purchase-orders/{id}': { params: { id: 'PO-1' } },
  'POST /v1/movements': {
    body: {
      movements: [
        {
          key: 'fuzz-receipt',
          type: 'receipt',
          sku: 'A',
          location: 'WH1',
          quantity: 3,
          source: { system: 'erp', reference: 'r-1' },
        },
        { key: 'fuzz-adjust', type: 'adjustment', sku: 'A', location: 'WH1', quantity: -1, reason: 'broken' },
      ],
    },
  },
  'POST /v1/reservations': {
    body: { key: 'fuzz-hold', sku: 'A', location: 'WH1', quantity: 1, expires_in_s: 600, note: 'cart' },
  },
  'GET /v1/reservations/{id}': { params: { id: 'res_seed' } },
  'POST /v1/reservations/{id}/commit': { params: { id: 'res_seed' }, body: { key: 'fuzz-commit', quantity: 1 } },
  'POST /v1/reservations/{id}/release': { params: { id: 'res_seed' }, body: { key: 'fuzz-release' } },
  'GET /v1/stock/{sku}': { params: { sku: 'A' } },
  'GET /v1/stock/{sku}/movements': { params: { sku: 'A' }, query: { location: 'WH1', limit: '5' } },
  'GET /v1/oversells': { query: { limit: '5' } },
  'GET /v1/stock': {
    query: { location: 'WH1', sku_prefix: 'A', q: 'a', low_stock: 'true', sort: 'available', limit: '10' },
  },
  // catch-up: the events held, then the answer ends (a stream would never end under inject()).
  'GET /v1/events': { query: { mode: 'catch-up' } },
  // The token is set once the server has issued it (before()).
  'POST /v1/session': { body: { token: 'set in before()' } },
  'GET /v1/session': {},
  'DELETE /v1/session': {},
  'PUT /v1/channels': {
    body: {
      channels: [
        {
          code: 'shop',
          name: 'Shop',
          platform: 'shopify',
          locations: ['WH1'],
          push_latency_p95_ms: 800,
          settings: {
            connector: {
              shop_domain: shop,
              access_token: 'env:ONHAND_FUZZ_SHOP_TOKEN',
              location_id: 'gid://shopify/Location/1',
              webhook_secret: webhookSecret,
            },
          },
        },
        {
          code: 'woo',
          name: 'WooCommerce shop',
          platform: 'woocommerce',
          locations: ['WH1'],
          push_latency_p95_ms: 800,
          settings: {
            connector: {
              store_url: 'https://woo.example',
              consumer_key: 'ck_fuzz',
              consumer_secret: 'cs_fuzz',
              webhook_secret: webhookSecret,
            },
          },
        },
      ],
    },
  },
  'GET /v1/channels': {},
  'GET /v1/channels/{code}': { params: { code: 'shop' } },
  'PUT /v1/listings': {
    body: {
      listings: [{ channel: 'shop', external_id: 'gid-1', sku: 'A', external_refs: { product: 'p-1' }, rank: 5 }],
    },
  },
  'GET /v1/listings': { query: { channel: 'shop', sku: 'A', limit: '10' } },
  'GET /v1/listings/{id}': { params: { id: 'lst_seed' } },
  'PUT /v1/listing-mappings': { body: { mappings: [{ channel: 'shop', external_id: 'gid-2', sku: 'A' }] } },
  'GET /v1/unmapped': { query: { channel: 'shop', limit: '10' } },
  'POST /v1/rule-sets': {
    body: {
      rules: {
        defaults: { buffer: { units: 1, percent: 5, dynamic: { safety_factor: 1.5, floor: 0, ceiling: 10 } } },
        channels: { shop: { cap: 100, exclude_locations: ['WH2'] } },
      },
      note: 'fuzz',
    },
  },
  'GET /v1/rule-sets': {},
  'GET /v1/rule-sets/events': {},
  'GET /v1/rule-sets/{version}': { params: { version: '1' } },
  'POST /v1/rule-sets/dry-run': { body: { rules: { defaults: { cap: 2 } }, limit: 10 } },
  'POST /v1/rule-sets/{version}/activate': { params: { version: '1' }, body: { note: 'go' } },
  'POST /v1/rule-sets/{version}/rollback': { params: { version: '1' }, body: { note: 'back' } },
  'GET /v1/availability/{sku}': { params: { sku: 'A' } },
  'GET /v1/listings/{id}/explain': { params: { id: 'lst_seed' } },
  'GET /v1/sync/status': {},
  'GET /v1/dead-letters': { query: { channel: 'shop', limit: '10' } },
  'POST /v1/dead-letters/redrive': { body: { channel: 'shop', limit: 10 } },
  'GET /v1/reconcile/drift': { query: { channel: 'shop', limit: '10' } },
  // No channel of this server has a connector: a valid pass request is refused with 409.
  'POST /v1/reconcile': { body: { channel: 'shop', full: true, dry_run: true } },
  'GET /v1/intake/inbox': { query: { channel: 'shop', limit: '10' } },
  'GET /v1/order-lines': { query: { sku: 'A', channel: 'shop', status: 'all', limit: '10' } },
  'GET /v1/kpis': { query: { window: '24h' } },
  'GET /v1/alerts': { query: { status: 'all', limit: '10' } },
  'POST /v1/intake/inbox/retry': { body: { channel: 'shop' } },
  'GET /v1/channels/{code}/orders/{order_id}': { params: { code: 'shop', order_id: '5600000000100' } },
  'POST /v1/channels/{code}/orders/{order_id}/lines/{line_id}/shipments': {
    params: { code: 'shop', order_id: '5600000000100', line_id: '14000000000200' },
    body: { id: 'wms-1', quantity: 1, location: 'WH1' },
  },
  'GET /v1/reservations': { query: { status: 'all', sku: 'A', location: 'WH1', limit: '10' } },
  'GET /v1/movements': {
    query: { since: '2026-01-01T00:00:00Z', type: 'receipt', location: 'WH1', limit: '10' },
  },
  'GET /v1/purchase-orders': { query: { status: 'open', sku: 'A', limit: '10' } },
  'POST /v1/variants/{sku}/deactivate': { params: { sku: 'B' } },
  'POST /v1/variants/{sku}/activate': { params: { sku: 'B' } },
  'POST /v1/locations/{code}/deactivate': { params: { code: 'WH2' } },
  'POST /v1/locations/{code}/activate': { params: { code: 'WH2' } },
  'POST /v1/channels/{code}/deactivate': { params: { code: 'shop' } },
  'POST /v1/channels/{code}/activate': { params: { code: 'shop' } },
  'POST /v1/listings/{id}/deactivate': { params: { id: 'lst_seed' } },
  'POST /v1/listings/{id}/activate': { params: { id: 'lst_seed' } },
  'POST /v1/imports/{kind}': {
    params: { kind: 'locations' },
    query: { mode: 'all' },
    csv: 'code,name,kind\nWH3,Third,3pl\n',
  },
  'GET /v1/exports/stock.csv': {},
  'GET /v1/exports/movements.csv': { query: { since: '2026-01-01T00:00:00Z' } },
  'POST /webhooks/woocommerce/{channel}': {
    params: { channel: 'woo' },
    webhook: { 'x-wc-webhook-topic': 'order.created' },
    body: {
      id: 901,
      status: 'processing',
      date_created_gmt: '2026-03-02T08:00:00',
      date_modified_gmt: '2026-03-02T08:00:00',
      line_items: [{ id: 3001, product_id: 11, variation_id: 0, quantity: 1, sku: 'A', price: 1.5 }],
    },
  },
  'POST /webhooks/shopify/{channel}': {
    params: { channel: 'shop' },
    webhook: { 'x-shopify-topic': 'orders/create', 'x-shopify-shop-domain': shop },
    body: {
      id: 5600000000101,
      created_at: '2026-03-02T08:00:00Z',
      line_items: [{ id: 14000000000201, variant_id: 1, sku: 'A', quantity: 1, price: '1.50' }],
    },
  },
};

// --- the request built from parts ----------------------------------------------------------

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  as: TokenScope | null;
}

function build(
  operation: string,
  parts: Valid & {
    raw?: string | Buffer;
    rawParams?: Record<string, string>;
    rawQuery?: string;
    contentType?: string | null;
    as?: TokenScope | null;
  },
): Request {
  const [method, template] = operation.split(' ') as [string, string];
  let url = template.replace(
    /\{(\w+)\}/g,
    (_, name: string) => parts.rawParams?.[name] ?? encodeURIComponent(parts.params?.[name] ?? 'x'),
  );
  const query = parts.rawQuery ?? new URLSearchParams(parts.query ?? {}).toString();
  if (query) url += `?${query}`;
  const payload = parts.raw ?? parts.csv ?? (parts.body === undefined ? undefined : JSON.stringify(parts.body));
  const headers: Record<string, string> = {};
  if (payload !== undefined && parts.contentType !== null)
    headers['content-type'] = parts.contentType ?? (parts.csv === undefined ? 'application/json' : 'text/csv');
  if (parts.webhook) {
    Object.assign(headers, parts.webhook);
    headers['x-shopify-hmac-sha256'] = createHmac('sha256', webhookSecret)
      .update(payload ?? '')
      .digest('base64');
    headers['x-wc-webhook-signature'] = headers['x-shopify-hmac-sha256'];
  }
  return {
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload }),
    as: parts.as === undefined ? 'admin' : parts.as,
  };
}

/** Every JSON Pointer-like path into a value (root included), as key lists. */
function pathsOf(value: Json, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(path);
  if (Array.isArray(value)) for (const [index, item] of value.entries()) pathsOf(item, [...path, index], out);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...path, key], out);
  return out;
}

function replaceAt(value: Json, path: (string | number)[], replacement: Json): Json {
  if (path.length === 0) return replacement;
  const copy: any = structuredClone(value);
  let node = copy;
  for (const step of path.slice(0, -1)) node = node[step];
  node[path[path.length - 1]!] = replacement;
  return copy;
}

function renameKeyAt(value: Json, path: (string | number)[], name: string): Json {
  const parent = path.slice(0, -1);
  const last = path[path.length - 1];
  if (typeof last !== 'string') return value;
  const copy: any = structuredClone(value);
  let node = copy;
  for (const step of parent) node = node[step];
  const entries = Object.entries(node).map(([key, item]) => [key === last ? name : key, item]);
  for (const key of Object.keys(node)) delete node[key];
  for (const [key, item] of entries)
    Object.defineProperty(node, key as string, { value: item, enumerable: true, writable: true, configurable: true });
  return copy;
}

const megabytes10 = 'x'.repeat(10 * 1024 * 1024);
const deepText = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
const deepObjectText = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
const oddTexts = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\ud83d\ude00',
  '\u202e\u0301',
  'ǅ',
  '%00',
  '../..',
  '<script>',
  "'; DROP TABLE variants; --",
  'x'.repeat(10_000),
];
const oddParams = [
  '%00',
  'a%00b',
  '%2F',
  '..',
  '%2E%2E',
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%F0%9F%98%80',
  'a'.repeat(2_000),
  '%20',
  '-1',
  '0',
  '1e3',
  '9007199254740993',
  '__proto__',
  'constructor',
];
const oddQueries = [
  'limit=0',
  'limit=-1',
  'limit=1e3',
  'limit=9007199254740993',
  'limit=abc',
  'limit=1&limit=2',
  'after=%00',
  'cursor=%ED%A0%80',
  'cursor=zzz',
  '__proto__=x',
  'constructor[prototype]=x',
  'unknown=1',
  `channel=${'c'.repeat(5_000)}`,
  'location=%00',
];
const contentTypes = [
  null,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/jsonx',
  'application/json, text/plain',
];

const evilValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    1.5,
    2 ** 31,
    2 ** 53,
    -(2 ** 53),
    1e308,
    -1e308,
    5e-324,
    '',
    [],
    {},
    '1',
    'true',
    'null',
  ),
  fc.constantFrom<Json>(...oddTexts),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }),
);
const evilKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'k\u0000', '\ud800', 'x'.repeat(500), ''),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

/** A mutation of an operation's valid request. */
function mutation(operation: string): fc.Arbitrary<Request> {
  const base = valid[operation]!;
  const bodyPaths = base.body === undefined ? [] : pathsOf(base.body);
  const choices: fc.Arbitrary<Request>[] = [
    fc.constantFrom<TokenScope | null>('read', 'write', null).map((as) => build(operation, { ...base, as })),
    fc.constantFrom(...oddQueries).map((rawQuery) => build(operation, { ...base, rawQuery })),
  ];
  if (bodyPaths.length > 0) {
    choices.push(
      fc
        .tuple(fc.constantFrom(...bodyPaths), evilValue)
        .map(([path, value]) => build(operation, { ...base, body: replaceAt(base.body!, path, value) })),
      fc
        .tuple(fc.constantFrom(...bodyPaths.filter((path) => typeof path[path.length - 1] === 'string')), evilKey)
        .map(([path, name]) => build(operation, { ...base, body: renameKeyAt(base.body!, path, name) })),
      fc.constantFrom(...contentTypes).map((contentType) => build(operation, { ...base, contentType })),
    );
  }
  if (base.csv !== undefined) {
    const csv = base.csv;
    choices.push(
      fc
        .tuple(
          fc.nat({ max: csv.length }),
          fc.oneof(fc.constantFrom(...oddTexts), fc.string({ unit: 'binary', maxLength: 20 })),
        )
        .map(([at, text]) => build(operation, { ...base, raw: `${csv.slice(0, at)}${text}${csv.slice(at)}` })),
      fc.constantFrom(...contentTypes).map((contentType) => build(operation, { ...base, contentType })),
    );
  }
  const names = Object.keys(base.params ?? {});
  if (names.length > 0) {
    choices.push(
      fc
        .tuple(fc.constantFrom(...names), fc.constantFrom(...oddParams))
        .map(([name, value]) => build(operation, { ...base, rawParams: { [name]: value } })),
    );
  }
  return fc.oneof(...choices);
}

/** The fixed edge cases of an operation. */
function edgeCases(operation: string): Request[] {
  const base = valid[operation]!;
  const cases: Request[] = [];
  for (const value of oddParams.slice(0, 9))
    for (const name of Object.keys(base.params ?? {}))
      cases.push(build(operation, { ...base, rawParams: { [name]: value } }));
  for (const rawQuery of oddQueries.slice(0, 6)) cases.push(build(operation, { ...base, rawQuery }));
  if (base.csv !== undefined) {
    const header = base.csv.slice(0, base.csv.indexOf('\n') + 1);
    const csvRaws: (string | Buffer)[] = [
      `${header}A,a\u0000b,store\n`,
      `${header}A,\ud800,store\n`,
      Buffer.concat([Buffer.from(`${header}A,`), Buffer.from([0xed, 0xa0, 0x80, 0xff]), Buffer.from(',store\n')]),
      `${header}A,${'x'.repeat(10 * 1024 * 1024)},store\n`,
      `${header}"A,unclosed,store\n`,
      `${header}A,"bad"quote,store\n`,
      `${header}A,b\n`,
      `${header}A,b,store,extra\n`,
      '\ufeff',
      header,
      'a,b,c,a\n1,2,3,4\n',
      `${header}${'\n'.repeat(1000)}`,
      '',
    ];
    for (const raw of csvRaws) cases.push(build(operation, { ...base, raw }));
    for (const contentType of contentTypes) cases.push(build(operation, { ...base, contentType }));
  }
  if (base.body === undefined) return cases;
  const json = JSON.stringify(base.body);
  let long = true;
  for (const path of pathsOf(base.body)) {
    const leaf = path.reduce<any>((node, step) => node[step], base.body);
    // NUL and a lone surrogate in every string; a 10 KB string in the first (one length check).
    if (typeof leaf === 'string')
      for (const text of ['a\u0000', '\ud800', ...(long ? ['x'.repeat(10_000)] : [])])
        cases.push(build(operation, { ...base, body: replaceAt(base.body, path, text) }));
    if (typeof leaf === 'string') long = false;
    if (typeof path[path.length - 1] === 'string')
      cases.push(build(operation, { ...base, body: renameKeyAt(base.body, path, 'k\u0000') }));
  }
  const raws: (string | Buffer)[] = [
    `${json.slice(0, -1)},${json.slice(1)}`, // every top-level key twice
    `{"__proto__":{"polluted":1},${json.slice(1)}`,
    `{"constructor":{"prototype":{"polluted":1}},${json.slice(1)}`,
    JSON.stringify({ value: megabytes10 }),
    deepText,
    deepObjectText,
    json.slice(0, Math.floor(json.length / 2)),
    '',
    'null',
    '[]',
    '"text"',
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
  ];
  for (const raw of raws) cases.push(build(operation, { ...base, raw }));
  for (const contentType of contentTypes) cases.push(build(operation, { ...base, contentType }));
  return cases;
}

function describeRequest(request: Request): string {
  const payload = request.payload === undefined ? '' : String(request.payload).slice(0, 200);
  return `${request.method} ${request.url.slice(0, 200)} ${JSON.stringify(request.headers['content-type'] ?? null)} as ${request.as} ${payload}`;
}

for (const factory of STORES) {
  describe(`${factory.name}: the API under mutated requests`, { skip: factory.skip }, () => {
    let s: ApiServer;
    let operations: string[] = [];

    before(async () => {
      s = await startApiServer(factory);
      const seedRequests: [string, Valid][] = [
        [
          'PUT /v1/locations',
          {
            body: {
              locations: [
                { code: 'WH1', name: 'Main', kind: 'warehouse' },
                { code: 'WH2', name: 'Second', kind: 'store' },
              ],
            },
          },
        ],
        ['PUT /v1/variants', { body: { variants: [{ sku: 'A', name: 'Variant A' }] } }],
        [
          'POST /v1/movements',
          { body: { movements: [{ key: 'seed-receipt', type: 'receipt', sku: 'A', location: 'WH1', quantity: 100 }] } },
        ],
        ['PUT /v1/channels', valid['PUT /v1/channels']!],
        ['PUT /v1/listings', valid['PUT /v1/listings']!],
        ['POST /v1/rule-sets', valid['POST /v1/rule-sets']!],
        ['PUT /v1/purchase-orders/{id}', valid['PUT /v1/purchase-orders/{id}']!],
        ['POST /v1/reservations', { body: { key: 'seed-hold', sku: 'A', location: 'WH1', quantity: 1 } }],
        ['POST /v1/reservations', { body: { key: 'seed-hold-2', sku: 'A', location: 'WH1', quantity: 1 } }],
        ['POST /v1/rule-sets/{version}/activate', { params: { version: '1' }, body: {} }],
        // A channel order line for the order routes to name.
        [
          'POST /webhooks/shopify/{channel}',
          {
            ...valid['POST /webhooks/shopify/{channel}']!,
            body: {
              id: 5600000000100,
              created_at: '2026-03-02T08:00:00Z',
              line_items: [{ id: 14000000000200, variant_id: 1, sku: 'A', quantity: 1, price: '1.50' }],
            },
          },
        ],
      ];
      valid['POST /v1/session']!.body = { token: s.tokens.read };
      const reservations: string[] = [];
      for (const [operation, parts] of seedRequests) {
        const request = build(operation, parts);
        const response = await s.call(request);
        assert.ok(response.statusCode < 300, `${operation}: ${response.body}`);
        if (operation === 'POST /v1/reservations') reservations.push(response.json().reservation.id);
        if (operation === 'PUT /v1/listings') {
          const listing = (await s.call({ method: 'GET', url: '/v1/listings?channel=shop', as: 'read' })).json()
            .items[0];
          for (const name of [
            'GET /v1/listings/{id}',
            'GET /v1/listings/{id}/explain',
            'POST /v1/listings/{id}/deactivate',
            'POST /v1/listings/{id}/activate',
          ])
            valid[name]!.params!.id = listing.id;
        }
      }
      valid['GET /v1/reservations/{id}']!.params!.id = reservations[0]!;
      valid['POST /v1/reservations/{id}/commit']!.params!.id = reservations[0]!;
      valid['POST /v1/reservations/{id}/release']!.params!.id = reservations[1]!;
      const document = (await s.call({ method: 'GET', url: '/openapi.json', as: null })).json();
      operations = Object.entries<Record<string, unknown>>(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      );
    });
    after(async () => s?.close());

    async function check(request: Request): Promise<void> {
      const before = await s.snapshot();
      const response: LightMyRequestResponse = await s.call(request);
      const what = `${describeRequest(request)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
      assert.ok(response.statusCode < 500, what);
      if (response.statusCode < 400) return;
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/, what);
      const problem = response.json();
      assert.ok(Object.hasOwn(errorRegistry, problem.code), what);
      assert.equal(problem.status, response.statusCode, what);
      const afterwards = await s.snapshot();
      if (ledgerRefusals.has(problem.code))
        assert.deepEqual(withoutAnswers(afterwards), withoutAnswers(before), `a ledger refusal changed state: ${what}`);
      else assert.deepEqual(afterwards, before, `a refused request changed state: ${what}`);
    }

    it('has a valid request for every operation of /openapi.json, and each is accepted', async () => {
      assert.ok(operations.length >= 38, `only ${operations.length} operations`);
      assert.deepEqual(
        operations.filter((operation) => !(operation in valid)),
        [],
        'operations without a valid request in this table',
      );
      for (const operation of operations) {
        const response = await s.call(build(operation, valid[operation]!));
        assert.ok(
          response.statusCode < 300 ||
            operation.endsWith('/rollback') ||
            (operation === 'POST /v1/reconcile' && response.statusCode === 409),
          `${operation}: ${response.statusCode} ${response.body.slice(0, 300)}`,
        );
      }
    });

    it('answers every fixed edge case of every operation below 500, as a problem, changing nothing when refused', async () => {
      for (const operation of operations) for (const request of edgeCases(operation)) await check(request);
    });

    it(`answers ${runsPerOperation} random mutations per operation below 500, as a problem, changing nothing when refused`, async () => {
      for (const operation of operations) {
        await fc.assert(
          fc.asyncProperty(mutation(operation), async (request) => check(request)),
          { numRuns: runsPerOperation, ...(seed === undefined ? {} : { seed }) },
        );
      }
    });
  });
}
