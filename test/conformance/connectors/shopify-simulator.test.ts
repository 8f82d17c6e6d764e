/**
 * The Shopify simulator is only useful if it answers like Shopify (docs/channels/shopify.md,
 * What the simulator models). Goal:
 * pin its answers with raw GraphQL over HTTP, without the connector in between, so a connector
 * test cannot pass because both sides share a mistake; and run its webhooks end to end into a
 * receiver that uses the real verification and mapping (src/connectors/shopify/shopify-webhooks.ts).
 *
 * Method: a real simulator on 127.0.0.1 per describe; `gql()` posts exactly what a client would.
 * Positive control for the rate-limit counter: a client that ignores the bucket IS throttled and
 * counted, so "zero violations" in the connector suite means something. Webhook retries use a
 * ManualScheduler, so 4 hours of Shopify's retry schedule pass in milliseconds.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ShopifyConnector } from '../../../src/connectors/shopify/shopify-connector.js';
import type { OrderLineEvent } from '../../../src/connectors/channel-intake.js';
import { shopifyWebhookToEvents } from '../../../src/connectors/shopify/shopify-order-events.js';
import {
  parseShopifyWebhookBody,
  readShopifyWebhookHeaders,
  verifyShopifyWebhook,
} from '../../../src/connectors/shopify/shopify-webhooks.js';
import { ShopifySimulator, webhookRetryDelaysMs } from '../../../sim/shopify/shopify-simulator.js';
import { ManualScheduler } from '../../../sim/shopify/webhook-scheduler.js';

type Answer = { status: number; body: any };

async function gql(
  sim: ShopifySimulator,
  version: string,
  query: string,
  variables: Record<string, unknown> = {},
  token = sim.accessToken,
): Promise<Answer> {
  const response = await fetch(`${sim.url}/admin/api/${version}/graphql.json`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': token },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const SET = (directive = '') => `mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input)${directive} { inventoryAdjustmentGroup { id changes { name delta quantityAfterChange } } userErrors { code field message } }
}`;

describe('Shopify simulator: Admin GraphQL answers', () => {
  let sim: ShopifySimulator;
  let item: string;
  let location: string;
  before(async () => {
    sim = new ShopifySimulator({ plan: 'plus' });
    await sim.start();
    location = sim.defaultLocationId;
    item = sim.addItem({ sku: 'RAW', levels: { [location]: 5 } }).inventoryItemId;
  });
  after(async () => {
    await sim.stop();
  });
  const input = (quantity: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    input: {
      reason: 'correction',
      name: 'available',
      quantities: [{ inventoryItemId: item, locationId: location, ...quantity }],
      ...extra,
    },
  });

  it("401 with Shopify's body for a wrong token; 404 for an unknown version or path", async () => {
    const wrong = await gql(sim, '2026-04', '{ nodes(ids: []) { id } }', {}, 'shpat_wrong');
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, {
      errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
    });
    assert.equal((await gql(sim, '2019-13', '{ nodes(ids: []) { id } }')).status, 404);
    assert.equal((await fetch(`${sim.url}/admin/api/2026-04/products.json`)).status, 404);
  });

  it('every answer carries extensions.cost; a mutation costs 10', async () => {
    const answer = await gql(
      sim,
      '2026-04',
      SET('@idempotent(key: "11111111-1111-4111-8111-111111111111")'),
      input({ quantity: 6, changeFromQuantity: 5 }),
    );
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.data.inventorySetQuantities.userErrors, []);
    assert.equal(answer.body.extensions.cost.requestedQueryCost, 10);
    assert.equal(answer.body.extensions.cost.actualQueryCost, 10);
    assert.deepEqual(Object.keys(answer.body.extensions.cost.throttleStatus).sort(), [
      'currentlyAvailable',
      'maximumAvailable',
      'restoreRate',
    ]);
    assert.equal(answer.body.extensions.cost.throttleStatus.restoreRate, 1000);
  });

  it('2026-04: @idempotent is mandatory; the changeFromQuantity key is mandatory (null opts out); compareQuantity is gone', async () => {
    const noDirective = await gql(sim, '2026-04', SET(), input({ quantity: 7, changeFromQuantity: null }));
    assert.equal(noDirective.body.data, undefined);
    assert.match(noDirective.body.errors[0].message, /@idempotent directive is required/);
    const noKey = await gql(
      sim,
      '2026-04',
      SET('@idempotent(key: "22222222-2222-4222-8222-222222222222")'),
      input({ quantity: 7 }),
    );
    assert.deepEqual(
      noKey.body.data.inventorySetQuantities.userErrors.map((error: any) => [error.code, error.field]),
      [['CHANGE_FROM_QUANTITY_STALE', ['input', 'quantities', '0', 'changeFromQuantity']]],
    );
    const legacy = await gql(
      sim,
      '2026-04',
      SET('@idempotent(key: "33333333-3333-4333-8333-333333333333")'),
      input({ quantity: 7, compareQuantity: 6 }),
    );
    assert.match(
      legacy.body.errors[0].message,
      /invalid value for quantities\.0\.compareQuantity \(Field is not defined on InventoryQuantityInput\)/,
    );
    const optOut = await gql(sim, '2026-04', SET('@idempotent(key: $key)'), {
      ...input({ quantity: 7, changeFromQuantity: null }),
      key: '44444444-4444-4444-8444-444444444444',
    });
    assert.deepEqual(optOut.body.data.inventorySetQuantities.userErrors, [], 'key read from a $variable');
    assert.equal(sim.available(item), 7);
  });

  it('2025-01: no @idempotent directive in the schema; compareQuantity required unless ignoreCompareQuantity', async () => {
    const directive = await gql(
      sim,
      '2025-01',
      SET('@idempotent(key: "55555555-5555-4555-8555-555555555555")'),
      input({ quantity: 8, compareQuantity: 7 }),
    );
    assert.equal(directive.body.errors[0].extensions.code, 'undefinedDirective');
    const missing = await gql(sim, '2025-01', SET(), input({ quantity: 8 }));
    assert.equal(missing.body.data.inventorySetQuantities.userErrors[0].code, 'COMPARE_QUANTITY_REQUIRED');
    const stale = await gql(sim, '2025-01', SET(), input({ quantity: 8, compareQuantity: 1 }));
    assert.equal(stale.body.data.inventorySetQuantities.userErrors[0].code, 'COMPARE_QUANTITY_STALE');
    assert.equal(stale.body.data.inventorySetQuantities.inventoryAdjustmentGroup, null);
    const newField = await gql(sim, '2025-01', SET(), input({ quantity: 8, changeFromQuantity: 7 }));
    assert.match(newField.body.errors[0].message, /changeFromQuantity \(Field is not defined/);
    const ignored = await gql(sim, '2025-01', SET(), input({ quantity: 8 }, { ignoreCompareQuantity: true }));
    assert.deepEqual(ignored.body.data.inventorySetQuantities.userErrors, []);
    assert.equal(sim.available(item), 8);
  });

  it('idempotency: same key + same variables replays; same key + other variables -> IDEMPOTENCY_KEY_PARAMETER_MISMATCH; same key in flight -> IDEMPOTENCY_CONCURRENT_REQUEST', async () => {
    const key = '@idempotent(key: "66666666-6666-4666-8666-666666666666")';
    const first = await gql(sim, '2026-04', SET(key), input({ quantity: 9, changeFromQuantity: 8 }));
    const applied = sim.stats.mutationsApplied;
    const replay = await gql(sim, '2026-04', SET(key), input({ quantity: 9, changeFromQuantity: 8 }));
    assert.deepEqual(replay.body.data, first.body.data, 'the stored answer');
    assert.equal(sim.stats.mutationsApplied, applied);
    const other = await gql(sim, '2026-04', SET(key), input({ quantity: 3, changeFromQuantity: 9 }));
    assert.equal(other.body.data.inventorySetQuantities.userErrors[0].code, 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH');
    assert.equal(sim.available(item), 9);

    sim.faults.latencyMs = 400;
    try {
      const concurrentKey = '@idempotent(key: "77777777-7777-4777-8777-777777777777")';
      const requestsBefore = sim.stats.graphqlRequests;
      const first = gql(sim, '2026-04', SET(concurrentKey), input({ quantity: 10, changeFromQuantity: 9 }));
      // The second one leaves once the first has arrived (and sits in its 400 ms of latency).
      while (sim.stats.graphqlRequests === requestsBefore) await new Promise((resolve) => setTimeout(resolve, 2));
      const [one, two] = await Promise.all([
        first,
        gql(sim, '2026-04', SET(concurrentKey), input({ quantity: 10, changeFromQuantity: 9 })),
      ]);
      assert.deepEqual(one.body.data.inventorySetQuantities.userErrors, []);
      assert.equal(two.body.data.inventorySetQuantities.userErrors[0].code, 'IDEMPOTENCY_CONCURRENT_REQUEST');
    } finally {
      sim.faults.latencyMs = 0;
    }
  });

  it('userErrors per quantity; one fails the call and applies nothing', async () => {
    const other = sim.addItem({ sku: 'RAW2', levels: { [location]: 1 } }).inventoryItemId;
    const answer = await gql(sim, '2026-04', SET('@idempotent(key: "88888888-8888-4888-8888-888888888888")'), {
      input: {
        reason: 'not-a-reason',
        name: 'available',
        quantities: [
          { inventoryItemId: other, locationId: location, quantity: 50, changeFromQuantity: 1 },
          {
            inventoryItemId: 'gid://shopify/InventoryItem/1',
            locationId: location,
            quantity: 1,
            changeFromQuantity: null,
          },
          { inventoryItemId: other, locationId: 'gid://shopify/Location/2', quantity: 1, changeFromQuantity: null },
        ],
      },
    });
    assert.deepEqual(
      answer.body.data.inventorySetQuantities.userErrors.map((error: any) => [
        error.code,
        error.field?.join('.') ?? null,
      ]),
      [
        ['INVALID_REASON', 'input.reason'],
        ['INVALID_INVENTORY_ITEM', 'input.quantities.1.inventoryItemId'],
        ['INVALID_LOCATION', 'input.quantities.2.locationId'],
      ],
    );
    assert.equal(sim.available(other), 1);
  });

  it('more than 250 quantities, unknown fields and over-expensive queries are GraphQL errors', async () => {
    const quantities = Array.from({ length: 251 }, (_, index) => ({
      inventoryItemId: `gid://shopify/InventoryItem/${index + 1}`,
      locationId: location,
      quantity: 1,
      changeFromQuantity: null,
    }));
    const tooMany = await gql(sim, '2026-04', SET('@idempotent(key: "99999999-9999-4999-8999-999999999999")'), {
      input: { reason: 'correction', name: 'available', quantities },
    });
    assert.equal(tooMany.body.errors[0].extensions.code, 'MAX_INPUT_SIZE_EXCEEDED');
    const unknown = await gql(sim, '2026-04', '{ products(first: 1) { nodes { id } } }');
    assert.deepEqual(unknown.body.errors[0].extensions, {
      code: 'undefinedField',
      typeName: 'QueryRoot',
      fieldName: 'products',
    });
    const ids = Array.from({ length: 250 }, (_, index) => `gid://shopify/InventoryItem/${index + 1}`);
    const expensive = await gql(
      sim,
      '2026-04',
      `query Q($ids: [ID!]!, $l: ID!) { a: nodes(ids: $ids) { ... on InventoryItem { inventoryLevel(locationId: $l) { quantities(names: ["available"]) { quantity } } } } b: nodes(ids: $ids) { id } }`,
      { ids, l: location },
    );
    assert.equal(expensive.body.errors[0].extensions.code, 'MAX_COST_EXCEEDED');
  });

  it('reads: nodes(ids:) and inventoryItem(id:) with levels; unknown ids are null and refunded', async () => {
    const answer = await gql(
      sim,
      '2026-04',
      `query Read($ids: [ID!]!, $locationId: ID!) { nodes(ids: $ids) { ... on InventoryItem { id inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } } } } }`,
      {
        ids: [item, 'gid://shopify/InventoryItem/1'],
        locationId: location,
      },
    );
    assert.equal(answer.body.data.nodes[0].inventoryLevel.quantities[0].quantity, sim.available(item));
    assert.equal(answer.body.data.nodes[1], null);
    assert.ok(answer.body.extensions.cost.actualQueryCost < answer.body.extensions.cost.requestedQueryCost);
    const single = await gql(
      sim,
      '2026-04',
      `query One($id: ID!) { inventoryItem(id: $id) { id sku inventoryLevels(first: 5) { nodes { location { id } quantities(names: ["available"]) { name quantity } } } } }`,
      { id: item },
    );
    assert.equal(single.body.data.inventoryItem.sku, 'RAW');
    assert.equal(single.body.data.inventoryItem.inventoryLevels.nodes[0].location.id, location);
  });

  it("the simulator's own test API (not Shopify's) drives orders and out-of-band edits over HTTP", async () => {
    const post = (path: string, body: unknown, token = sim.accessToken) =>
      fetch(`${sim.url}/_simulator/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': token },
        body: JSON.stringify(body),
      });
    const own = sim.addItem({ sku: 'HTTP', levels: { [location]: 3 } }).inventoryItemId;
    assert.equal((await post('orders', { lines: [{ inventoryItemId: own, quantity: 1 }] }, 'wrong')).status, 401);
    const eventsBefore = sim.events.length;
    const created = await post('orders', { lines: [{ inventoryItemId: own, quantity: 2 }] });
    assert.equal(created.status, 201);
    const { orderId, lineItemIds } = (await created.json()) as { orderId: string; lineItemIds: string[] };
    assert.equal(sim.available(own), 1);
    assert.equal(
      (await post('orders', { lines: [{ inventoryItemId: own, quantity: 5 }] })).status,
      422,
      'no oversell unless asked',
    );
    assert.equal(
      (
        await post('orders/refund', {
          orderId,
          lines: [{ lineItemId: lineItemIds[0], quantity: 1, restockType: 'return' }],
        })
      ).status,
      201,
    );
    assert.equal((await post('orders/cancel', { orderId })).status, 200);
    assert.equal(sim.available(own), 3);
    assert.equal((await post('levels', { inventoryItemId: own, locationId: location, available: 11 })).status, 200);
    assert.equal(sim.available(own), 11);
    assert.deepEqual(
      sim.events.slice(eventsBefore).map((event) => event.topic),
      [
        'inventory_levels/update',
        'orders/create',
        'inventory_levels/update',
        'refunds/create',
        'orders/updated',
        'inventory_levels/update',
        'orders/cancelled',
        'inventory_levels/update',
      ],
    );
  });

  it("the test API's order lifecycle routes: edit, fulfill from a location, cancel the fulfilment", async () => {
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${sim.url}/_simulator/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': sim.accessToken },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const outlet = sim.addLocation('Outlet');
    const own = sim.addItem({ sku: 'HTTP-LIFE', levels: { [location]: 5, [outlet]: 5 } }).inventoryItemId;
    const eventsBefore = sim.events.length;
    const created = await post('orders', { lines: [{ inventoryItemId: own, quantity: 2 }] });
    const { orderId, lineItemIds } = created.body as { orderId: string; lineItemIds: string[] };
    assert.equal((await post('orders/edit', { orderId, lineItemId: lineItemIds[0], quantity: 3 })).status, 200);
    const shipped = await post('orders/fulfill', { orderId, locationId: outlet });
    assert.equal(shipped.status, 201);
    assert.equal(sim.available(own, outlet), 2, 'the 3 units ship from the outlet');
    assert.equal((await post('fulfillments/cancel', { fulfillmentId: shipped.body.fulfillmentId })).status, 200);
    assert.equal((await post('fulfillments/cancel', { fulfillmentId: shipped.body.fulfillmentId })).status, 422);
    assert.deepEqual(
      sim.events
        .slice(eventsBefore)
        .map((event) => event.topic)
        .filter((topic) => topic !== 'inventory_levels/update'),
      [
        'orders/create',
        'orders/updated',
        'fulfillments/create',
        'orders/updated',
        'fulfillments/update',
        'orders/updated',
      ],
    );
  });

  it('positive control: a client that ignores the bucket is THROTTLED (HTTP 200, no data) and counted', async () => {
    const tiny = new ShopifySimulator({ plan: 'standard', maximumAvailable: 50 });
    await tiny.start();
    try {
      // 12 reads of 10 existing items, 31 points each, at once: 372 points against 50.
      const ids = Array.from({ length: 10 }, (_, index) => tiny.addItem({ sku: `T${index}` }).inventoryItemId);
      const read =
        'query R($ids: [ID!]!, $l: ID!) { nodes(ids: $ids) { ... on InventoryItem { inventoryLevel(locationId: $l) { quantities(names: ["available"]) { quantity } } } } }';
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => gql(tiny, '2026-04', read, { ids, l: tiny.defaultLocationId })),
      );
      const throttled = answers.filter((answer) => answer.body.errors?.[0]?.extensions?.code === 'THROTTLED');
      assert.ok(throttled.length >= 1, 'some requests exceed a 50-point bucket');
      assert.equal(tiny.stats.rateLimitViolations, throttled.length);
      const [sample] = throttled;
      assert.equal(sample!.status, 200);
      assert.equal(sample!.body.data, undefined);
      assert.equal(sample!.body.extensions.cost.actualQueryCost, null);
      assert.equal(sample!.body.errors[0].message, 'Throttled');
    } finally {
      await tiny.stop();
    }
  });
});

// -----------------------------------------------------------------------------------------------

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

/** A webhook endpoint: records every delivery and answers what `decide` says. */
async function receiver(
  decide: (headers: IncomingHttpHeaders, seen: number) => number,
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const id = request.headers['x-shopify-webhook-id'];
      const status = decide(
        request.headers,
        received.filter((entry) => entry.headers['x-shopify-webhook-id'] === id).length,
      );
      received.push({ headers: request.headers, body: Buffer.concat(chunks), status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/shopify`, received, server };
}

/** What onhand's ingest route will do with one delivery. */
function ingest(delivery: Received, secrets: string[]) {
  const headers = readShopifyWebhookHeaders(delivery.headers as Record<string, string>);
  if (!verifyShopifyWebhook(delivery.body, headers.hmac, secrets)) return { verified: false as const };
  const body = parseShopifyWebhookBody(delivery.body);
  assert.ok(body.ok);
  return {
    verified: true as const,
    headers,
    event: shopifyWebhookToEvents(headers.topic!, body.payload, headers.shopDomain!),
  };
}

/** An event as one comparable string: `<line key>|<event id>|<kind>=<quantity>`. */
const described = (event: OrderLineEvent) =>
  `${event.lineKey}|${event.eventId}|${event.fact.kind}=${'quantity' in event.fact ? event.fact.quantity : '-'}`;

describe('Shopify simulator: signed webhooks into the real verification and mapping', () => {
  it('orders, cancellations, refunds and level updates (our own push echoed) arrive signed and map to business keys', async () => {
    const endpoint = await receiver(() => 200);
    const sim = new ShopifySimulator({ plan: 'plus', appSecret: 'app-secret-new' });
    const url = await sim.start();
    try {
      sim.subscribeWebhooks(endpoint.url);
      const location = sim.defaultLocationId;
      const a = sim.addItem({ sku: 'WH-A', levels: { [location]: 10 } });
      const b = sim.addItem({ sku: 'WH-B', levels: { [location]: 10 } });
      const order = sim.createOrder({
        lines: [
          { inventoryItemId: a.inventoryItemId, quantity: 2 },
          { inventoryItemId: b.inventoryItemId, quantity: 1 },
        ],
      });
      const refund = sim.refundOrder(order.orderId, {
        lines: [{ lineItemId: order.lineItemIds[0]!, quantity: 1, restockType: 'return' }],
      });
      sim.cancelOrder(order.orderId);
      const shopify = new ShopifyConnector({
        shopDomain: sim.shopDomain,
        baseUrl: url,
        accessToken: sim.accessToken,
        locationId: location,
      });
      assert.deepEqual(
        await shopify.pushLevels([
          {
            listingId: 'a',
            externalId: a.inventoryItemId,
            externalLocationId: null,
            quantity: 4,
            expectedChannelQuantity: 10,
            idempotencyKey: 'a:1',
          },
        ]),
        [{ listingId: 'a', status: 'ok', channelQuantity: 4 }],
      );
      await sim.webhooksIdle();

      const results = endpoint.received.map((delivery) => ingest(delivery, ['app-secret-new', 'app-secret-old']));
      assert.ok(results.every((result) => result.verified));
      assert.ok(
        endpoint.received.every(
          (delivery) =>
            !verifyShopifyWebhook(delivery.body, delivery.headers['x-shopify-hmac-sha256'] as string, [
              'some-other-secret',
            ]),
        ),
      );
      for (const delivery of endpoint.received) {
        for (const header of [
          'x-shopify-topic',
          'x-shopify-shop-domain',
          'x-shopify-api-version',
          'x-shopify-webhook-id',
          'x-shopify-event-id',
          'x-shopify-triggered-at',
        ]) {
          assert.equal(typeof delivery.headers[header], 'string', header);
        }
        assert.equal(delivery.headers['x-shopify-shop-domain'], sim.shopDomain);
      }

      const orderId = order.orderId.split('/').pop();
      const [lineA, lineB] = order.lineItemIds.map(
        (id) => `shopify:${sim.shopDomain}:${orderId}:${id.split('/').pop()}`,
      );
      assert.ok(refund.refundId.startsWith('gid://shopify/Refund/'));
      const events = results.flatMap((result) =>
        result.verified && result.event.kind === 'lines' ? result.event.events.map(described) : [],
      );
      const refundLine = (sim.events.find((event) => event.topic === 'refunds/create')!.payload as any)
        .refund_line_items[0].id;
      assert.deepEqual(
        events.sort(),
        [
          // orders/create
          `${lineA}|order|ordered=2`,
          `${lineB}|order|ordered=1`,
          // refunds/create, then orders/updated with the refund embedded (one event id for both)
          `${lineA}|refund:${refundLine}|refunded=1`,
          `${lineA}|order|ordered=2`,
          `${lineB}|order|ordered=1`,
          `${lineA}|refund:${refundLine}|refunded=1`,
          // orders/cancelled: the refunded unit is added back to current_quantity (the refund is its own
          // fact, counted once by the fold); the embedded refund is the same event id
          `${lineA}|order|ordered=2`,
          `${lineB}|order|ordered=1`,
          `${lineA}|cancel|cancelled=null`,
          `${lineB}|cancel|cancelled=null`,
          `${lineA}|refund:${refundLine}|refunded=1`,
        ].sort(),
      );

      // Level signals: order (-2, -1), refund (+1), cancel (+1, +1), and the echo of our push (4).
      const levels = results.flatMap((result) =>
        result.verified && result.event.kind === 'level'
          ? [`${result.event.inventoryItemId === a.inventoryItemId ? 'a' : 'b'}=${result.event.available}`]
          : [],
      );
      assert.deepEqual(levels.sort(), ['a=10', 'a=4', 'a=8', 'a=9', 'b=10', 'b=9'].sort());
    } finally {
      await sim.stop();
      endpoint.server.close();
    }
  });

  it("through the connector port: verifyWebhook and parseWebhook give the same facts, levels only at the connection's location", async () => {
    const endpoint = await receiver(() => 200);
    const sim = new ShopifySimulator({ plan: 'plus', appSecret: 'app-secret-new' });
    const url = await sim.start();
    try {
      sim.subscribeWebhooks(endpoint.url);
      const location = sim.defaultLocationId;
      const elsewhere = sim.addLocation('Shop floor');
      const a = sim.addItem({ sku: 'PORT-A', levels: { [location]: 10, [elsewhere]: 5 } });
      const order = sim.createOrder({ lines: [{ inventoryItemId: a.inventoryItemId, quantity: 2 }] });
      sim.cancelOrder(order.orderId);
      await sim.webhooksIdle();
      const connector = (secrets: string[], shopDomain = sim.shopDomain) =>
        new ShopifyConnector({
          shopDomain,
          baseUrl: url,
          accessToken: sim.accessToken,
          locationId: location,
          webhookSecrets: secrets,
        });
      const rotated = connector(['app-secret-newer', 'app-secret-new']);
      const deliveries = endpoint.received.map((delivery) => ({ body: delivery.body, headers: delivery.headers }));
      assert.ok(deliveries.length >= 4);
      assert.ok(
        deliveries.every((delivery) => rotated.verifyWebhook(delivery).ok),
        'the previous secret verifies during a rotation',
      );
      assert.ok(deliveries.every((delivery) => !connector(['some-other-secret']).verifyWebhook(delivery).ok));
      assert.deepEqual(connector(['app-secret-new'], 'another-shop.myshopify.com').verifyWebhook(deliveries[0]!), {
        ok: false,
        reason: "X-Shopify-Shop-Domain is not this channel's shop",
      });

      const events = deliveries.map((delivery) => rotated.parseWebhook(delivery));
      const expected = endpoint.received.map((delivery) => ingest(delivery, ['app-secret-new']));
      const lines = events.flatMap((event) => (event.kind === 'lines' ? event.events.map(described) : []));
      const raw = expected.flatMap((result) =>
        result.verified && result.event.kind === 'lines' ? result.event.events.map(described) : [],
      );
      assert.deepEqual(lines, raw);
      assert.equal(lines.length, 3, 'the order, then the order again with its cancellation');
      const levels = events.flatMap((event) =>
        event.kind === 'level' ? [`${event.externalId === a.inventoryItemId}=${event.quantity}`] : [],
      );
      assert.deepEqual(levels.sort(), ['true=10', 'true=8'].sort());
      const rawLevels = expected.filter((result) => result.verified && result.event.kind === 'level').length;
      assert.equal(
        events.filter((event) => event.kind === 'ignored').length,
        rawLevels - levels.length,
        'levels at other locations are ignored',
      );
    } finally {
      await sim.stop();
      endpoint.server.close();
    }
  });

  it('retries non-2xx 8 times over about 4 hours with the original payload, Webhook-Id and Triggered-At, then gives up', async () => {
    // First event: fails 3 times then succeeds. Second event: always fails.
    let failingWebhookId: string | undefined;
    const endpoint = await receiver((headers, seen) => {
      if (headers['x-shopify-topic'] === 'orders/create') return seen < 3 ? 500 : 200;
      failingWebhookId ??= headers['x-shopify-webhook-id'] as string;
      return 503;
    });
    const scheduler = new ManualScheduler();
    const sim = new ShopifySimulator({ scheduler, webhookUrl: endpoint.url });
    await sim.start();
    try {
      const item = sim.addItem({ sku: 'RETRY', levels: { [sim.defaultLocationId]: 3 } });
      sim.createOrder({ lines: [{ inventoryItemId: item.inventoryItemId, quantity: 1 }] }); // orders/create + inventory_levels/update
      await sim.webhooksIdle({ includeScheduled: false });
      for (const delayMs of webhookRetryDelaysMs) {
        scheduler.advance(delayMs);
        await sim.webhooksIdle({ includeScheduled: false });
      }
      await sim.webhooksIdle();
      const orders = endpoint.received.filter((delivery) => delivery.headers['x-shopify-topic'] === 'orders/create');
      assert.deepEqual(
        orders.map((delivery) => delivery.status),
        [500, 500, 500, 200],
      );
      assert.equal(
        new Set(orders.map((delivery) => delivery.headers['x-shopify-webhook-id'])).size,
        1,
        'one delivery, retried',
      );
      assert.equal(new Set(orders.map((delivery) => delivery.headers['x-shopify-triggered-at'])).size, 1);
      assert.equal(new Set(orders.map((delivery) => delivery.body.toString('hex'))).size, 1, 'the original payload');
      const levels = endpoint.received.filter(
        (delivery) => delivery.headers['x-shopify-webhook-id'] === failingWebhookId,
      );
      assert.equal(levels.length, 1 + 8, 'the first attempt and 8 retries');
      assert.equal(sim.stats.webhooksAbandoned, 1);
      const totalMinutes = webhookRetryDelaysMs.reduce((sum, delay) => sum + delay, 0) / 60_000;
      assert.ok(totalMinutes >= 230 && totalMinutes <= 250, `${totalMinutes} minutes`);
      assert.equal(scheduler.pending, 0);
    } finally {
      await sim.stop();
      endpoint.server.close();
    }
  });

  it('duplicate deliveries (new Webhook-Id, same Event-Id) map to the same business keys', async () => {
    const endpoint = await receiver(() => 200);
    const sim = new ShopifySimulator({ webhookUrl: endpoint.url });
    await sim.start();
    try {
      sim.faults.webhookDuplicateRate = 1;
      sim.faults.webhookDelayMsMax = 20;
      const item = sim.addItem({ sku: 'DUP', levels: { [sim.defaultLocationId]: 5 } });
      sim.createOrder({ lines: [{ inventoryItemId: item.inventoryItemId, quantity: 2 }] });
      await sim.webhooksIdle();
      const orders = endpoint.received.filter((delivery) => delivery.headers['x-shopify-topic'] === 'orders/create');
      assert.equal(orders.length, 2);
      assert.notEqual(orders[0]!.headers['x-shopify-webhook-id'], orders[1]!.headers['x-shopify-webhook-id']);
      assert.equal(orders[0]!.headers['x-shopify-event-id'], orders[1]!.headers['x-shopify-event-id']);
      const mapped = orders.map((delivery) => ingest(delivery, [sim.appSecret]));
      assert.ok(mapped[0]!.verified && mapped[1]!.verified);
      assert.deepEqual(mapped[0]!.event, mapped[1]!.event);
    } finally {
      await sim.stop();
      endpoint.server.close();
    }
  });
});

describe('Shopify simulator: an order through its life, across locations', () => {
  it('POS sale, edit, fulfilment from another location, its cancellation, refunds of every restock type, cancellation', async () => {
    const endpoint = await receiver(() => 200);
    const sim = new ShopifySimulator({ webhookUrl: endpoint.url, locations: ['Shop floor', 'Outlet'] });
    await sim.start();
    try {
      const [warehouse, floor, outlet] = sim.locationIds as [string, string, string];
      assert.equal(warehouse, sim.defaultLocationId);
      const item = sim.addItem({ sku: 'LIFE', levels: { [warehouse]: 20, [floor]: 5, [outlet]: 5 } });
      const id = (gidValue: string) => gidValue.split('/').pop()!;

      const pos = sim.createOrder({
        lines: [{ inventoryItemId: item.inventoryItemId, quantity: 1 }],
        locationId: floor,
        pointOfSale: true,
      });
      assert.equal(sim.available(item.inventoryItemId, floor), 4);

      const order = sim.createOrder({ lines: [{ inventoryItemId: item.inventoryItemId, quantity: 6 }] });
      const line = order.lineItemIds[0]!;
      sim.editLineQuantity(order.orderId, line, 8);
      sim.editLineQuantity(order.orderId, line, 7);
      assert.equal(sim.available(item.inventoryItemId, warehouse), 13, '20 - 6 - 2 + 1');
      const shipped = sim.fulfillOrder(order.orderId, {
        locationId: outlet,
        lines: [{ lineItemId: line, quantity: 3 }],
      });
      assert.equal(sim.available(item.inventoryItemId, warehouse), 16, 'the commitment of 3 moved to the outlet');
      assert.equal(sim.available(item.inventoryItemId, outlet), 2);
      sim.cancelFulfillment(shipped.fulfillmentId);
      assert.equal(sim.available(item.inventoryItemId, warehouse), 13, 'and back');
      const again = sim.fulfillOrder(order.orderId, { lines: [{ lineItemId: line, quantity: 2 }] });
      const refunds = (['return', 'cancel', 'legacy_restock', 'no_restock'] as const).map((restockType) =>
        sim.refundOrder(order.orderId, {
          lines: [
            { lineItemId: line, quantity: 1, restockType, locationId: restockType === 'cancel' ? warehouse : floor },
          ],
        }),
      );
      assert.equal(sim.available(item.inventoryItemId, floor), 6, 'return and legacy_restock at the shop floor');
      sim.cancelOrder(order.orderId);
      // 7 on the order, 4 refunded, 2 fulfilled: 1 open unit goes back; cancel restocked 1 earlier.
      assert.equal(sim.available(item.inventoryItemId, warehouse), 15);
      assert.throws(() => sim.cancelFulfillment(shipped.fulfillmentId), /already cancelled/);
      assert.throws(() => sim.editLineQuantity(order.orderId, line, 1), /cancelled/);
      await sim.webhooksIdle();

      assert.deepEqual(
        sim.events.filter((event) => event.topic !== 'inventory_levels/update').map((event) => event.topic),
        [
          'orders/create',
          'orders/create',
          'orders/updated',
          'orders/updated',
          'fulfillments/create',
          'orders/updated',
          'fulfillments/update',
          'orders/updated',
          'fulfillments/create',
          'orders/updated',
          ...Array.from({ length: 4 }, () => ['refunds/create', 'orders/updated']).flat(),
          'orders/cancelled',
        ],
      );

      // Every delivery verifies and maps through the connector port.
      const connector = new ShopifyConnector({
        shopDomain: sim.shopDomain,
        baseUrl: sim.url,
        accessToken: sim.accessToken,
        locationId: warehouse,
        webhookSecrets: [sim.appSecret],
      });
      const mapped = endpoint.received.map((delivery) => {
        const input = { body: delivery.body, headers: delivery.headers };
        assert.ok(connector.verifyWebhook(input).ok);
        return connector.parseWebhook(input);
      });
      assert.ok(mapped.every((event) => event.kind === 'lines' || event.kind === 'level' || event.kind === 'ignored'));
      const events = mapped.flatMap((event) => (event.kind === 'lines' ? event.events : []));
      const lineKey = `shopify:${sim.shopDomain}:${id(order.orderId)}:${id(line)}`;
      const posKey = `shopify:${sim.shopDomain}:${id(pos.orderId)}:${id(pos.lineItemIds[0]!)}`;
      const last = (key: string, eventId: string) =>
        events.filter((event) => event.lineKey === key && event.eventId === eventId).at(-1)?.fact;

      const posEvents = events.filter((event) => event.lineKey === posKey);
      assert.deepEqual(
        posEvents.map((event) => event.fact),
        [
          {
            kind: 'ordered',
            quantity: 1,
            version: posEvents[0]!.occurredAt,
            fulfilledBy: 'merchant',
            locationId: floor,
          },
        ],
        'a point-of-sale order names its location',
      );
      assert.deepEqual(
        events
          .filter((event) => event.lineKey === lineKey && event.eventId === 'order')
          .map((event) => ('quantity' in event.fact ? event.fact.quantity : null)),
        // create 6, edits 8 and 7, then 7: refunded units are added back to current_quantity, since
        // each refund is its own fact
        [6, 8, 7, 7, 7, 7, 7, 7, 7, 7, 7],
      );
      const cancelledShipment = last(lineKey, `fulfillment:${id(shipped.fulfillmentId)}`);
      assert.ok(cancelledShipment?.kind === 'fulfilled');
      assert.deepEqual(
        { ...cancelledShipment, version: 0 },
        { kind: 'fulfilled', quantity: 3, locationId: outlet, active: false, version: 0 },
      );
      const firstShipment = events.find((event) => event.eventId === `fulfillment:${id(shipped.fulfillmentId)}`)!;
      assert.equal(firstShipment.fact.kind === 'fulfilled' && firstShipment.fact.active, true, 'created active');
      assert.equal(last(lineKey, `fulfillment:${id(again.fulfillmentId)}`)?.kind, 'fulfilled');
      const refundFacts = refunds.map((refund) => {
        const refundPayload = sim.events.find(
          (event) =>
            event.topic === 'refunds/create' && (event.payload as { id: number }).id === Number(id(refund.refundId)),
        )!.payload as { refund_line_items: { id: number }[] };
        return last(lineKey, `refund:${refundPayload.refund_line_items[0]!.id}`);
      });
      assert.deepEqual(refundFacts, [
        { kind: 'refunded', quantity: 1, restock: 'return', locationId: floor },
        { kind: 'refunded', quantity: 1, restock: 'cancel', locationId: warehouse },
        { kind: 'refunded', quantity: 1, restock: 'legacy_restock', locationId: floor },
        { kind: 'refunded', quantity: 1, restock: 'no_restock', locationId: null },
      ]);
      assert.deepEqual(last(lineKey, 'cancel'), { kind: 'cancelled', quantity: null });
    } finally {
      await sim.stop();
      endpoint.server.close();
    }
  });
});

describe('Shopify simulator: shuffled delivery with duplicates', () => {
  it('delivers every event at least once, some twice, out of order, signed, and retried on failure', async () => {
    // Every 4th delivery fails its first attempt: retries follow the schedule.
    let deliveries = 0;
    const failing = new Set<string>();
    const endpoint = await receiver((headers, seen) => {
      const webhookId = headers['x-shopify-webhook-id'] as string;
      if (seen === 0 && ++deliveries % 4 === 0) failing.add(webhookId);
      return failing.has(webhookId) && seen === 0 ? 500 : 200;
    });
    const scheduler = new ManualScheduler();
    const sim = new ShopifySimulator({
      scheduler,
      webhookUrl: endpoint.url,
      deliveryOrder: { shuffle: 42, duplicates: 0.5 },
      locations: ['Outlet'],
    });
    await sim.start();
    try {
      const [warehouse, outlet] = sim.locationIds as [string, string];
      const item = sim.addItem({ sku: 'SHUF', levels: { [warehouse]: 30, [outlet]: 30 } });
      for (let index = 0; index < 4; index += 1) {
        const order = sim.createOrder({ lines: [{ inventoryItemId: item.inventoryItemId, quantity: 3 }] });
        const line = order.lineItemIds[0]!;
        sim.editLineQuantity(order.orderId, line, 2);
        sim.fulfillOrder(order.orderId, { locationId: outlet, lines: [{ lineItemId: line, quantity: 1 }] });
        sim.refundOrder(order.orderId, { lines: [{ lineItemId: line, quantity: 1, restockType: 'return' }] });
        if (index % 2 === 0) sim.cancelOrder(order.orderId);
      }
      await sim.webhooksIdle({ includeScheduled: false });
      for (const delayMs of webhookRetryDelaysMs) {
        scheduler.advance(delayMs);
        await sim.webhooksIdle({ includeScheduled: false });
      }
      await sim.webhooksIdle();

      const emitted = sim.events.map((event) => event.eventId);
      const ok = endpoint.received.filter((delivery) => delivery.status === 200);
      const okEvents = ok.map((delivery) => delivery.headers['x-shopify-event-id'] as string);
      assert.deepEqual([...new Set(okEvents)].sort(), [...emitted].sort(), 'every event at least once');
      const webhookIdsPerEvent = new Map<string, Set<string>>();
      for (const delivery of endpoint.received) {
        const eventId = delivery.headers['x-shopify-event-id'] as string;
        const ids = webhookIdsPerEvent.get(eventId) ?? new Set();
        ids.add(delivery.headers['x-shopify-webhook-id'] as string);
        webhookIdsPerEvent.set(eventId, ids);
        assert.ok(
          verifyShopifyWebhook(delivery.body, delivery.headers['x-shopify-hmac-sha256'] as string, [sim.appSecret]),
        );
      }
      const duplicated = [...webhookIdsPerEvent.values()].filter((ids) => ids.size > 1).length;
      assert.ok(duplicated > 0 && duplicated < emitted.length, `${duplicated} of ${emitted.length} events duplicated`);
      assert.ok(failing.size > 0 && sim.stats.webhooksAbandoned === 0, 'failed first attempts were retried');
      const firstArrival = [...new Set(endpoint.received.map((delivery) => delivery.headers['x-shopify-event-id']))];
      assert.notDeepEqual(firstArrival, emitted, 'not in emission order');

      // The same events as an in-order run: the mapping does not care how they arrived.
      const fromDeliveries = new Set(
        ok.flatMap((delivery) => {
          const result = ingest(delivery, [sim.appSecret]);
          return result.verified && result.event.kind === 'lines' ? result.event.events.map(described) : [];
        }),
      );
      const fromEmitted = new Set(
        sim.events.flatMap((event) => {
          const mapped = shopifyWebhookToEvents(event.topic, event.payload, sim.shopDomain);
          return mapped.kind === 'lines' ? mapped.events.map(described) : [];
        }),
      );
      assert.deepEqual([...fromDeliveries].sort(), [...fromEmitted].sort());
    } finally {
      await sim.stop();
      endpoint.server.close();
    }
  });
});
