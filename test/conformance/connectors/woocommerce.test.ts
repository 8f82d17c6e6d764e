/**
 * Connector conformance, WooCommerce (docs/ARCHITECTURE.md, A new connector, step 6):
 * WooCommerceConnector against the WooCommerce simulator (sim/woocommerce/woo-simulator.ts), a
 * real HTTP(S) server on loopback. No mocks: every case goes through the client, the OAuth 1.0a
 * signatures (plain HTTP) or Basic auth (HTTPS), the host's rate limit and the fault switches.
 *
 * Goal: what the port promises holds for WooCommerce - absolute pushes of simple products and
 * variations through the batch endpoints (never more than 100 items a call) read back, a lost
 * answer retried without harm, errors classified (retry vs permanent, per item inside a batch
 * answer too), the host's limit never exceeded by a burst (with a control that shows the
 * simulator counts), the credentials accepted or refused as WooCommerce does, and orders polled
 * so that one whose webhook was lost is still caught.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WooSimulator, type WooSimulatorOptions } from '../../../sim/woocommerce/woo-simulator.js';
import type { PushItem, PushOutcome } from '../../../src/connectors/channel-connector.js';
import type { OrderLineEvent, WebhookDelivery } from '../../../src/connectors/channel-intake.js';
import {
  type WooConnectorConfig,
  WooCommerceConnector,
} from '../../../src/connectors/woocommerce/woocommerce-connector.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withWoo(
  options: { simulator?: WooSimulatorOptions; connector?: Partial<WooConnectorConfig> },
  body: (sim: WooSimulator, connector: WooCommerceConnector) => Promise<void>,
): Promise<void> {
  const sim = new WooSimulator(options.simulator);
  const url = await sim.start();
  const connector = new WooCommerceConnector({
    storeUrl: url,
    consumerKey: sim.consumerKey,
    consumerSecret: sim.consumerSecret,
    webhookSecrets: ['hook-secret'],
    account: 'shop1',
    requestsPerSecond: 10,
    concurrency: 4,
    ...options.connector,
  });
  try {
    await body(sim, connector);
  } finally {
    connector.close();
    await sim.stop();
  }
}

function item(externalId: string, quantity: number): PushItem {
  const listingId = `lst_${externalId}`;
  return {
    listingId,
    externalId,
    externalLocationId: null,
    quantity,
    expectedChannelQuantity: null,
    idempotencyKey: `${listingId}:${quantity}`,
  };
}

/** As the dispatcher does: re-push `retry` outcomes after their retryAfterMs (bounded). */
async function pushUntilSettled(
  connector: WooCommerceConnector,
  items: PushItem[],
  attemptsMax = 10,
): Promise<PushOutcome[]> {
  let outcomes = await connector.pushLevels(items);
  for (let attempt = 1; attempt < attemptsMax && outcomes.some((outcome) => outcome.status === 'retry'); attempt++) {
    const waits = outcomes.map((outcome) => (outcome.status === 'retry' ? (outcome.retryAfterMs ?? 50) : 0));
    await sleep(Math.max(...waits));
    const again = items.filter((_, index) => outcomes[index]!.status === 'retry');
    const retried = await connector.pushLevels(again);
    let next = 0;
    outcomes = outcomes.map((outcome) => (outcome.status === 'retry' ? retried[next++]! : outcome));
  }
  return outcomes;
}

describe('woocommerce: push and read back', () => {
  it('sets absolute stock_quantity with manage_stock on simple products and variations; reads them back', async () => {
    await withWoo({}, async (sim, connector) => {
      const simple = sim.seedProduct({ sku: 'TEE-1', quantity: 3 });
      const unmanaged = sim.seedProduct({ sku: 'MUG-1', quantity: null });
      const [red, blue] = sim.seedVariableProduct({
        sku: 'HOODIE',
        variations: [
          { sku: 'HOODIE-RED', quantity: 1 },
          { sku: 'HOODIE-BLUE', quantity: 9 },
        ],
      }) as [string, string];
      assert.match(red, /^\d+\/\d+$/);
      const outcomes = await connector.pushLevels([item(simple, 7), item(unmanaged, 2), item(red, 0), item(blue, 12)]);
      assert.deepEqual(
        outcomes.map((outcome) => (outcome.status === 'ok' ? outcome.channelQuantity : outcome.status)),
        [7, 2, 0, 12],
      );
      assert.deepEqual(
        [simple, unmanaged, red, blue].map((id) => sim.stockOf(id)),
        [7, 2, 0, 12],
      );
      const stats = sim.stats();
      assert.equal(stats.batchCalls, 2, 'one batch for the products, one for the variations of the hoodie');
      const levels = await connector.readLevels([
        item(simple, 0),
        item(red, 0),
        item(blue, 0),
        item('999999', 0),
        item(`${red.split('/')[0]}/999999`, 0),
        item('not-an-id', 0),
      ]);
      assert.deepEqual(
        levels.map((level) => level.quantity),
        [7, 0, 12, null, null, null],
      );
      assert.equal(sim.stats().rateLimitViolations, 0);
      assert.equal(sim.stats().unauthorized, 0);
      assert.equal(connector.authScheme, 'oauth1', 'plain http: OAuth 1.0a signatures, never the secret in clear');
    });
  });

  it('readAllLevels pages through products and the variations of each variable product', async () => {
    await withWoo({}, async (sim, connector) => {
      const expected = new Map<string, number>();
      for (let index = 0; index < 130; index++)
        expected.set(sim.seedProduct({ sku: `P-${index}`, quantity: index }), index);
      const variations = sim.seedVariableProduct({
        sku: 'V',
        variations: Array.from({ length: 105 }, (_, index) => ({ sku: `V-${index}`, quantity: 1000 + index })),
      });
      for (const [index, id] of variations.entries()) expected.set(id, 1000 + index);
      sim.seedProduct({ sku: 'UNMANAGED', quantity: null });
      const seen = new Map<string, number>();
      for await (const page of connector.readAllLevels())
        for (const level of page) seen.set(level.externalId, level.quantity);
      assert.deepEqual(seen, expected);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });
});

describe('woocommerce: read-back without paging headers', () => {
  it('a proxy that drops X-WP-TotalPages: full pages are read on until a short one', async () => {
    await withWoo({ simulator: { dropPagingHeaders: true } }, async (sim, connector) => {
      for (let index = 0; index < 250; index++) sim.seedProduct({ sku: `P-${index}`, quantity: 1 });
      sim.seedVariableProduct({
        sku: 'V',
        variations: Array.from({ length: 100 }, (_, index) => ({ sku: `V-${index}`, quantity: 2 })),
      });
      let levels = 0;
      for await (const page of connector.readAllLevels()) levels += page.length;
      assert.equal(levels, 350);
    });
  });
});

describe('woocommerce: batches', () => {
  it('100 items a call at most; a push of 100 over three parents makes one call per parent', async () => {
    await withWoo({}, async (sim, connector) => {
      assert.equal(connector.maxBatchSize, 100);
      const simple = Array.from({ length: 60 }, (_, index) => sim.seedProduct({ sku: `S-${index}` }));
      const a = sim.seedVariableProduct({
        sku: 'A',
        variations: Array.from({ length: 25 }, (_, i) => ({ sku: `A-${i}` })),
      });
      const b = sim.seedVariableProduct({
        sku: 'B',
        variations: Array.from({ length: 15 }, (_, i) => ({ sku: `B-${i}` })),
      });
      const all = [...simple, ...a, ...b];
      const outcomes = await connector.pushLevels(all.map((id, index) => item(id, index)));
      assert.ok(outcomes.every((outcome) => outcome.status === 'ok'));
      assert.deepEqual(
        all.map((id) => sim.stockOf(id)),
        all.map((_, index) => index),
      );
      const stats = sim.stats();
      assert.equal(stats.batchCalls, 3);
      assert.equal(stats.largestBatch, 60);
      assert.equal(stats.oversizedBatches, 0);
      await assert.rejects(connector.pushLevels(all.concat(all[0]!).map((id) => item(id, 1))), /at most 100/);
    });
  });

  it('a host that takes fewer items (413) gets the batch again in halves', async () => {
    await withWoo({ simulator: { batchItemsMax: 30 } }, async (sim, connector) => {
      const ids = Array.from({ length: 100 }, (_, index) => sim.seedProduct({ sku: `S-${index}` }));
      const outcomes = await connector.pushLevels(ids.map((id) => item(id, 4)));
      assert.ok(
        outcomes.every((outcome) => outcome.status === 'ok'),
        JSON.stringify(outcomes[0]),
      );
      assert.ok(ids.every((id) => sim.stockOf(id) === 4));
      assert.ok(sim.stats().largestBatch <= 30);
    });
  });
});

describe('woocommerce: error classification', () => {
  it('unknown ids and parents, malformed ids -> permanent; a 500 item error inside a 200 batch -> retry', async () => {
    await withWoo({}, async (sim, connector) => {
      const good = sim.seedProduct({ sku: 'G', quantity: 1 });
      const failing = sim.seedProduct({ sku: 'F', quantity: 1 });
      const [variation] = sim.seedVariableProduct({ sku: 'V', variations: [{ sku: 'V-1', quantity: 1 }] }) as [string];
      sim.setFaults({ failItems: new Set([Number(failing)]) });
      const before = sim.stats().requests;
      const outcomes = await connector.pushLevels([
        item(good, 5),
        item('424242', 5),
        item(failing, 5),
        item('not/an/id', 5),
        item(`${good}/77`, 5),
        item(`${variation.split('/')[0]}/88`, 5),
        item(variation, -1),
      ]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['ok', 'permanent', 'retry', 'permanent', 'permanent', 'permanent', 'permanent'],
      );
      assert.match((outcomes[1] as { reason: string }).reason, /woocommerce_rest_product_invalid_id/);
      assert.match((outcomes[4] as { reason: string }).reason, /404/);
      assert.equal(
        sim.stats().requests - before,
        3,
        'products batch, variations batch of V, of the simple product as a parent',
      );
      assert.equal(sim.stockOf(good), 5);
    });
  });

  it('5xx and a lost answer -> retry; the retried absolute quantity lands once', async () => {
    await withWoo({}, async (sim, connector) => {
      const id = sim.seedProduct({ sku: 'X', quantity: 1 });
      sim.setFaults({ next5xx: 1 });
      const [first] = await connector.pushLevels([item(id, 6)]);
      assert.equal(first!.status, 'retry');
      assert.equal(sim.stockOf(id), 1);
      sim.setFaults({ loseNextAnswers: 1 });
      const [lost] = await connector.pushLevels([item(id, 6)]);
      assert.equal(lost!.status, 'retry', 'the answer was lost: we cannot know');
      assert.equal(sim.stockOf(id), 6, 'but the write landed');
      sim.editStock(id, 5); // a sale in the shop meanwhile
      const [again] = await connector.pushLevels([item(id, 6)]);
      assert.deepEqual(again, { listingId: `lst_${id}`, status: 'ok', channelQuantity: 6 });
      assert.equal(sim.stockOf(id), 6, 'absolute: set to 6, never 6 + 6');
    });
  });

  it("a 429 storm -> retry with the host's Retry-After, and nothing is sent before it elapses", async () => {
    await withWoo({}, async (sim, connector) => {
      const id = sim.seedProduct({ sku: 'X', quantity: 1 });
      sim.setFaults({ storm429: 3, storm429RetryAfterS: 1 });
      const started = Date.now();
      const [first] = await connector.pushLevels([item(id, 2)]);
      assert.equal(first!.status, 'retry');
      assert.equal((first as { retryAfterMs?: number }).retryAfterMs, 1000);
      assert.equal(connector.rateLimit().available, 0, 'the whole shop is held off');
      const outcomes = await pushUntilSettled(connector, [item(id, 2)]);
      assert.equal(outcomes[0]!.status, 'ok');
      assert.ok(Date.now() - started >= 3000, 'three storms of one second each were waited out');
      assert.equal(sim.stats().rateLimitViolations, 0, 'no request arrived during a Retry-After');
      assert.equal(sim.stockOf(id), 2);
    });
  });
});

describe('woocommerce: the host budget', () => {
  it('a burst of 1,000 items with a read-back alongside -> zero violations at a host of 5 per second, 2 workers', async () => {
    await withWoo(
      {
        simulator: { hostLimits: { requestsPerSecond: 5, concurrency: 2 }, faults: undefined } as WooSimulatorOptions,
        connector: { requestsPerSecond: 5, concurrency: 2 },
      },
      async (sim, connector) => {
        const parents = Array.from({ length: 10 }, (_, p) =>
          sim.seedVariableProduct({
            sku: `P${p}`,
            variations: Array.from({ length: 100 }, (_, i) => ({ sku: `P${p}-${i}` })),
          }),
        );
        const burst = parents.map((ids) =>
          pushUntilSettled(
            connector,
            ids.map((id) => item(id, 3)),
          ),
        );
        const audit = (async () => {
          let levels = 0;
          for await (const page of connector.readAllLevels()) levels += page.length;
          return levels;
        })();
        const results = await Promise.all(burst);
        assert.ok(results.flat().every((outcome) => outcome.status === 'ok'));
        assert.equal(await audit, 1000);
        assert.ok(parents.flat().every((id) => sim.stockOf(id) === 3));
        const stats = sim.stats();
        assert.equal(stats.rateLimitViolations, 0, JSON.stringify(stats.violations));
        assert.equal(stats.batchCalls, 10, 'ten calls for a thousand items');
      },
    );
  });

  it('concurrent pushes waiting for the budget share batch calls; the budget is stated in items', async () => {
    await withWoo(
      {
        simulator: { hostLimits: { requestsPerSecond: 2, concurrency: 1 } },
        connector: { requestsPerSecond: 2, concurrency: 1 },
      },
      async (sim, connector) => {
        assert.deepEqual(
          connector.rateLimit(),
          { available: 100, capacity: 200, waitMs: 0 },
          'one worker free: one batch of 100 items',
        );
        const ids = sim.seedVariableProduct({
          sku: 'P',
          variations: Array.from({ length: 40 }, (_, i) => ({ sku: `P-${i}` })),
        });
        const outcomes = await Promise.all(ids.map((id) => connector.pushLevels([item(id, 6)])));
        assert.ok(
          outcomes.flat().every((outcome) => outcome.status === 'ok'),
          JSON.stringify(outcomes.flat()[0]),
        );
        assert.ok(ids.every((id) => sim.stockOf(id) === 6));
        const stats = sim.stats();
        assert.ok(stats.batchCalls <= 3, `40 single-item pushes in ${stats.batchCalls} calls`);
        assert.equal(stats.rateLimitViolations, 0);
      },
    );
  });

  it('control: a connector set above the host budget makes the host answer 429/503', async () => {
    await withWoo(
      {
        simulator: { hostLimits: { requestsPerSecond: 5, concurrency: 2 } },
        connector: { requestsPerSecond: 50, concurrency: 16 },
      },
      async (sim, connector) => {
        const ids = Array.from(
          { length: 30 },
          (_, p) => sim.seedVariableProduct({ sku: `P${p}`, variations: [{ sku: `P${p}-1` }] })[0]!,
        );
        await connector.pushLevels(ids.map((id) => item(id, 1)));
        assert.ok(sim.stats().rateLimitViolations > 0);
      },
    );
  });
});

describe('woocommerce: credentials', () => {
  it('a wrong secret -> 401 -> permanent; over plain http a Basic header is not what WooCommerce reads', async () => {
    await withWoo({ connector: { consumerSecret: 'cs_wrong' } }, async (sim, connector) => {
      const id = sim.seedProduct({ sku: 'X', quantity: 1 });
      const [outcome] = await connector.pushLevels([item(id, 2)]);
      assert.equal(outcome!.status, 'permanent');
      assert.match((outcome as { reason: string }).reason, /consumer key.*401/i);
      const basic = await fetch(`${sim.url}/wp-json/wc/v3/products`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${sim.consumerKey}:${sim.consumerSecret}`).toString('base64')}`,
        },
      });
      assert.equal(basic.status, 401);
      assert.equal(((await basic.json()) as { code: string }).code, 'woocommerce_rest_cannot_view');
      assert.equal(sim.stockOf(id), 1);
    });
  });

  it('over HTTPS: Basic auth with the consumer key and secret', async (context) => {
    const dir = mkdtempSync(join(tmpdir(), 'woo-tls-'));
    try {
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      if (made.status !== 0) return context.skip('openssl is not available');
      const tls = {
        key: readFileSync(join(dir, 'key.pem'), 'utf8'),
        cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      };
      await withWoo({ simulator: { tls }, connector: { ca: tls.cert } }, async (sim, connector) => {
        assert.match(sim.url, /^https:/);
        assert.equal(connector.authScheme, 'basic');
        const id = sim.seedProduct({ sku: 'X', quantity: 1 });
        const [outcome] = await connector.pushLevels([item(id, 8)]);
        assert.equal(outcome!.status, 'ok');
        assert.equal(sim.stockOf(id), 8);
        assert.equal(sim.stats().unauthorized, 0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A loopback receiver that hands each delivery to the connector, as the HTTP route does. */
async function receiver(connector: WooCommerceConnector) {
  const received: { status: number; events: OrderLineEvent[] }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const delivery: WebhookDelivery = { body: Buffer.concat(chunks), headers: request.headers };
      const check = connector.verifyWebhook(delivery);
      if (!check.ok) {
        received.push({ status: 401, events: [] });
        response.writeHead(401).end();
        return;
      }
      const event = connector.parseWebhook(delivery);
      received.push({ status: 200, events: event.kind === 'lines' ? event.events : [] });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/woocommerce/shop1`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('woocommerce: orders in', () => {
  it('the ping of a new webhook is accepted; signed order webhooks become line events', async () => {
    await withWoo({}, async (sim, connector) => {
      const hook = await receiver(connector);
      try {
        const id = sim.seedProduct({ sku: 'X', quantity: 10 });
        await sim.addWebhook({ topic: 'order.created', deliveryUrl: hook.url, secret: 'hook-secret' });
        assert.deepEqual(
          hook.received.map((each) => [each.status, each.events.length]),
          [[200, 0]],
          'the ping: accepted, nothing in it',
        );
        const order = sim.createOrder({ lines: [{ externalId: id, quantity: 2 }] });
        await sim.settled();
        assert.equal(hook.received.length, 2);
        const events = hook.received[1]!.events;
        assert.deepEqual(
          events.map((event) => [event.lineKey, event.eventId, event.fact.kind, event.item.externalId]),
          [
            [`woocommerce:shop1:${order.id}:${order.lines[0]!.id}`, 'order', 'ordered', id],
            [`woocommerce:shop1:${order.id}:${order.lines[0]!.id}`, 'complete', 'fulfilled', id],
          ],
        );
        assert.equal((events[0]!.fact as { quantity: number }).quantity, 2);
        assert.equal(sim.stockOf(id), 8, 'WooCommerce reduced its own stock');
      } finally {
        await hook.close();
      }
    });
  });

  it('a webhook signed with another secret is refused and counted as a failure; the 6th failure disables it', async () => {
    await withWoo({}, async (sim, connector) => {
      const hook = await receiver(connector);
      try {
        const id = sim.seedProduct({ sku: 'X', quantity: 100 });
        const webhook = await sim.addWebhook({ topic: 'order.created', deliveryUrl: hook.url, secret: 'not-ours' });
        for (let index = 0; index < 7; index++) sim.createOrder({ lines: [{ externalId: id, quantity: 1 }] });
        await sim.settled();
        assert.deepEqual(
          hook.received.slice(1).map((each) => each.status),
          [401, 401, 401, 401, 401, 401],
          'six refused, then no more: no retry, and disabled',
        );
        assert.equal(sim.webhookState(webhook.id).status, 'disabled');
      } finally {
        await hook.close();
      }
    });
  });

  it('the poll catches an order whose webhook was lost, and pages with the cursor; nothing twice after it', async () => {
    let shopTime = Date.now();
    await withWoo({ simulator: { now: () => shopTime } }, async (sim, connector) => {
      const hook = await receiver(connector);
      try {
        const id = sim.seedProduct({ sku: 'X', quantity: 500 });
        await sim.addWebhook({ topic: 'order.created', deliveryUrl: hook.url, secret: 'hook-secret' });
        sim.setFaults({ dropWebhooks: 1 });
        const lost = sim.createOrder({ lines: [{ externalId: id, quantity: 3 }] });
        for (let index = 0; index < 150; index++) sim.createOrder({ lines: [{ externalId: id, quantity: 1 }] });
        await sim.settled();
        assert.equal(sim.stats().webhooksDropped, 1);
        assert.ok(!hook.received.some((each) => each.events.some((event) => event.orderId === String(lost.id))));
        shopTime += 60_000;
        const first = await connector.pollOrders(null);
        assert.equal(first.error, undefined);
        assert.ok(first.caughtUpTo !== undefined);
        const orders = new Set(first.events.map((event) => event.orderId));
        assert.equal(orders.size, 151);
        assert.ok(orders.has(String(lost.id)), 'the lost one is in the poll');
        shopTime += 60_000;
        sim.setOrderStatus(lost.id, 'cancelled');
        const second = await connector.pollOrders(first.cursor);
        const again = new Set(second.events.map((event) => event.orderId));
        assert.ok(again.has(String(lost.id)));
        assert.ok(again.size < 10, `only the overlap is read again (${again.size})`);
        const ordered = second.events.find(
          (event) => event.orderId === String(lost.id) && event.fact.kind === 'ordered',
        );
        assert.equal((ordered!.fact as { quantity: number }).quantity, 0, 'cancelled: released');
        assert.equal(sim.stats().rateLimitViolations, 0);
      } finally {
        await hook.close();
      }
    });
  });

  it('refunds come with the poll: restocked ones before completion as cancel, the others no_restock', async () => {
    await withWoo({}, async (sim, connector) => {
      const id = sim.seedProduct({ sku: 'X', quantity: 10 });
      const order = sim.createOrder({ lines: [{ externalId: id, quantity: 3 }] });
      const line = order.lines[0]!.id;
      sim.refundOrder(order.id, [{ lineId: line, quantity: 1 }], true);
      sim.refundOrder(order.id, [{ lineId: line, quantity: 1 }], false);
      assert.equal(sim.stockOf(id), 8, '10 - 3 + 1 restocked');
      const batch = await connector.pollOrders(null);
      const refunds = batch.events.filter((event) => event.fact.kind === 'refunded');
      assert.deepEqual(
        refunds.map((event) => [
          (event.fact as { restock: string }).restock,
          (event.fact as { quantity: number }).quantity,
        ]),
        [
          ['cancel', 1],
          ['no_restock', 1],
        ],
      );
      const refreshed = await connector.refreshOrders([String(order.id), '99999999']);
      assert.deepEqual(
        refreshed.events.map((event) => event.eventId).sort(),
        batch.events.map((event) => event.eventId).sort(),
      );
    });
  });
});
