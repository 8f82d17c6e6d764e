/**
 * Connector conformance, Amazon half (docs/ARCHITECTURE.md, A new connector, step 6):
 * AmazonConnector against the Amazon simulator (sim/amazon/amazon-simulator.ts), a real HTTP
 * server on loopback. No mocks: every case goes through fetch, Login with Amazon, the token
 * buckets and the fault switches.
 *
 * Goal: what the port promises holds for Amazon - absolute quantities pushed by PATCH and by the
 * listings feed and read back 20 SKUs a call; ACCEPTED is not taken for applied (a submission's
 * ERROR issues and a feed report's rejections are permanent, with Amazon's reason); the access
 * token is renewed before it expires; a burst keeps Amazon's 429 count at ZERO (with a control
 * that shows the simulator counts); transient and permanent failures told apart; orders polled
 * with NextToken into business-event keys, FBA lines marked marketplace-fulfilled; notifications
 * deduplicated by NotificationId. Last, every model property the client's types name exists in
 * the official models.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AmazonSimulator, type AmazonSimulatorOptions } from '../../../sim/amazon/amazon-simulator.js';
import { AmazonConnector, type AmazonConnectorConfig } from '../../../src/connectors/amazon/amazon-connector.js';
import { amazonUsagePlans } from '../../../src/connectors/amazon/amazon-limits.js';
import type { PushItem, PushOutcome } from '../../../src/connectors/channel-connector.js';
import { connectChannel, orderLineAccount } from '../../../src/connectors/connector-registry.js';
import { connectorSettingsFaults, redactChannelSettings } from '../../../src/connectors/connector-settings.js';
import type { OrderLineEvent } from '../../../src/connectors/channel-intake.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withAmazon(
  options: { simulator?: AmazonSimulatorOptions; connector?: Partial<AmazonConnectorConfig> },
  body: (sim: AmazonSimulator, connector: AmazonConnector) => Promise<void>,
): Promise<void> {
  const sim = new AmazonSimulator(options.simulator);
  const url = await sim.start();
  try {
    await body(
      sim,
      new AmazonConnector({
        sellerId: sim.sellerId,
        marketplaceIds: [sim.marketplaceId],
        baseUrl: url,
        tokenUrl: sim.tokenUrl,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        refreshToken: sim.refreshToken,
        ...options.connector,
      }),
    );
  } finally {
    await sim.stop();
  }
}

function item(sku: string, quantity: number): PushItem {
  return {
    listingId: `lst_${sku}`,
    externalId: sku,
    externalLocationId: null,
    quantity,
    expectedChannelQuantity: null,
    idempotencyKey: `${sku}:${quantity}`,
  };
}

/** Pushes like the dispatcher: re-push `retry` outcomes after their retryAfterMs (bounded). */
async function pushUntilSettled(
  connector: AmazonConnector,
  items: PushItem[],
  attemptsMax = 30,
): Promise<PushOutcome[]> {
  let outcomes = await connector.pushLevels(items);
  for (let attempt = 1; attempt < attemptsMax && outcomes.some((outcome) => outcome.status === 'retry'); attempt++) {
    const waits = outcomes.map((outcome) => (outcome.status === 'retry' ? (outcome.retryAfterMs ?? 50) : 0));
    await sleep(Math.min(2_000, Math.max(...waits)));
    const again = items.filter((_, index) => outcomes[index]!.status === 'retry');
    const retried = await connector.pushLevels(again);
    let next = 0;
    outcomes = outcomes.map((outcome) => (outcome.status === 'retry' ? retried[next++]! : outcome));
  }
  return outcomes;
}

const statuses = (outcomes: readonly PushOutcome[]) => outcomes.map((outcome) => outcome.status);

describe('amazon: push and read back', () => {
  it('patches fulfillment_availability per SKU and reads 25 SKUs back in two searches; unknown SKUs read as null', async () => {
    await withAmazon({}, async (sim, connector) => {
      const skus = Array.from({ length: 25 }, (_, index) => sim.seedListing(`SKU-${index}`, 1));
      const outcomes = await pushUntilSettled(connector, [item('SKU-0', 5), item('SKU-1', 0), item('SKU-2', 12)]);
      assert.deepEqual(statuses(outcomes), ['ok', 'ok', 'ok']);
      assert.deepEqual(
        ['SKU-0', 'SKU-1', 'SKU-2'].map((sku) => sim.listing(sku)?.quantity),
        [5, 0, 12],
      );
      const levels = await connector.readLevels([...skus.map((sku) => item(sku, 0)), item('NOPE', 0)]);
      assert.deepEqual(
        levels.slice(0, 3).map((level) => level.quantity),
        [5, 0, 12],
      );
      assert.equal(levels[25]!.quantity, null);
      const stats = sim.stats();
      assert.equal(stats.requests.searchListingsItems, 2, '20 SKUs a call');
      assert.equal(stats.requests.patchListingsItem, 3);
      assert.equal(stats.rateLimitViolations, 0);
      assert.equal(stats.unauthorized, 0);
    });
  });

  it('sends many changes as one JSON_LISTINGS_FEED and applies only what the processing report accepts', async () => {
    await withAmazon({}, async (sim, connector) => {
      const items = Array.from({ length: 60 }, (_, index) => item(sim.seedListing(`F-${index}`, 0), index));
      sim.rejectSku('F-7');
      const outcomes = await pushUntilSettled(connector, [...items, item('F-MISSING', 3)]);
      assert.equal(sim.stats().feedsCreated, 1);
      assert.equal(sim.stats().requests.patchListingsItem, undefined, 'no PATCH');
      assert.equal(outcomes.filter((outcome) => outcome.status === 'ok').length, 59);
      const rejected = outcomes[7]!;
      assert.equal(rejected.status, 'permanent');
      assert.match(rejected.status === 'permanent' ? rejected.reason : '', /F-7.*90220.*batteries_required/);
      assert.equal(outcomes[60]!.status, 'permanent', 'unknown SKU');
      assert.equal(sim.listing('F-7')?.quantity, 0, 'the rejected SKU kept its quantity');
      assert.equal(sim.listing('F-59')?.quantity, 59);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });

  it('a feed still processing answers retry; the retried push collects that feed instead of sending another', async () => {
    await withAmazon(
      { simulator: { feedProcessingMs: 1_500 }, connector: { feedThresholdItems: 5, feedWaitMsMax: 300 } },
      async (sim, connector) => {
        const items = Array.from({ length: 6 }, (_, index) => item(sim.seedListing(`P-${index}`, 0), 4));
        const first = await connector.pushLevels(items);
        assert.deepEqual(new Set(statuses(first)), new Set(['retry']));
        await sleep(1_400);
        const settled = await pushUntilSettled(connector, items);
        assert.deepEqual(new Set(statuses(settled)), new Set(['ok']));
        assert.equal(sim.stats().feedsCreated, 1, 'one feed for both pushes');
        assert.equal(sim.listing('P-5')?.quantity, 4);
      },
    );
  });

  it('ACCEPTED with an ERROR issue is a permanent outcome with Amazon’s reason, and nothing changes', async () => {
    await withAmazon({}, async (sim, connector) => {
      sim.seedListing('REJ', 2);
      sim.seedListing('OK', 2);
      sim.rejectSku('REJ', { code: '8541', message: 'The SKU data conflicts with the Amazon catalog.' });
      const outcomes = await connector.pushLevels([item('REJ', 9), item('OK', 9), item('GONE', 9), item('OK', -1)]);
      assert.deepEqual(statuses(outcomes), ['permanent', 'ok', 'permanent', 'permanent']);
      assert.match((outcomes[0] as { reason: string }).reason, /ACCEPTED.*8541: The SKU data conflicts/);
      assert.match((outcomes[2] as { reason: string }).reason, /INVALID.*4000001/);
      assert.equal(sim.listing('REJ')?.quantity, 2);
    });
  });
});

describe('amazon: auth', () => {
  it('renews the LWA access token before it expires; concurrent calls share one request', async () => {
    await withAmazon({ simulator: { tokenLifetimeSeconds: 2 } }, async (sim, connector) => {
      sim.seedListing('T', 0);
      assert.deepEqual(statuses(await connector.pushLevels([item('T', 1), item('T', 2), item('T', 3)])), [
        'ok',
        'ok',
        'ok',
      ]);
      assert.equal(connector.tokenRequestCount, 1, 'single flight');
      for (let step = 0; step < 4; step++) {
        await sleep(700);
        assert.deepEqual(statuses(await pushUntilSettled(connector, [item('T', step)])), ['ok']);
      }
      assert.ok(connector.tokenRequestCount >= 2, `renewed (${connector.tokenRequestCount} token requests)`);
      assert.equal(sim.stats().unauthorized, 0, 'never sent an expired token');
    });
  });

  it('a refused refresh token is permanent; a token endpoint outage is retry', async () => {
    await withAmazon({ connector: { refreshToken: 'Atzr|revoked' } }, async (sim, connector) => {
      sim.seedListing('A', 0);
      const [outcome] = await connector.pushLevels([item('A', 1)]);
      assert.equal(outcome!.status, 'permanent');
      assert.match((outcome as { reason: string }).reason, /invalid_grant/);
      assert.doesNotMatch(
        (outcome as { reason: string }).reason,
        /revoked|sim-client-secret/,
        'no secret in the reason',
      );
    });
    await withAmazon({}, async (sim, connector) => {
      sim.seedListing('A', 0);
      sim.faults.tokenFailuresNext = 1;
      const [outcome] = await connector.pushLevels([item('A', 1)]);
      assert.equal(outcome!.status, 'retry');
      assert.deepEqual(statuses(await pushUntilSettled(connector, [item('A', 1)])), ['ok']);
    });
  });
});

describe('amazon: rate limits and faults', () => {
  it('a 40-SKU burst through PATCH stays inside the 5/s bucket: zero violations (the control overshoots)', async () => {
    await withAmazon({ connector: { feedThresholdItems: 1_000, feedItemsMin: 1_000 } }, async (sim, connector) => {
      const items = Array.from({ length: 40 }, (_, index) => item(sim.seedListing(`B-${index}`, 0), index + 1));
      const started = Date.now();
      const outcomes = await Promise.all([
        pushUntilSettled(connector, items.slice(0, 20)),
        pushUntilSettled(connector, items.slice(20)),
      ]);
      const elapsed = Date.now() - started;
      assert.ok(outcomes.flat().every((outcome) => outcome.status === 'ok'));
      assert.equal(sim.listing('B-39')?.quantity, 40);
      assert.equal(sim.stats().rateLimitViolations, 0, `no 429 caused (${elapsed} ms for 40 PATCHes)`);
      assert.ok(elapsed >= ((40 - 5) / 5) * 1000 * 0.9, `paced by the bucket (${elapsed} ms)`);

      // Control: a second connector with its own, unaware, bucket overshoots at once.
      const rogue = new AmazonConnector({
        sellerId: sim.sellerId,
        marketplaceIds: [sim.marketplaceId],
        baseUrl: sim.url,
        tokenUrl: sim.tokenUrl,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        refreshToken: sim.refreshToken,
        feedThresholdItems: 1_000,
        feedItemsMin: 1_000,
      });
      const control = await rogue.pushLevels(items.slice(0, 5));
      assert.ok(sim.stats().rateLimitViolations > 0, 'the simulator counts violations');
      assert.ok(control.some((outcome) => outcome.status === 'retry'));
    });
  });

  it('claims what the PATCH bucket takes within the margin: one more than a full bucket, or short of a feed under a larger plan', async () => {
    await withAmazon({}, async (_sim, connector) => {
      // The published plan: 5 tokens, and 5 x 0.95 per second restores 1 within 250 ms.
      assert.equal(connector.rateLimit().available, 6);
    });
    await withAmazon(
      { simulator: { usagePlans: { patchListingsItem: { rate: 200, burst: 5 } } } },
      async (sim, connector) => {
        sim.seedListing('S', 0);
        assert.deepEqual(statuses(await pushUntilSettled(connector, [item('S', 1)])), ['ok']);
        const { available } = connector.rateLimit();
        // 200 x 0.95 x 0.25 = 47 more within the margin; never a feed's 50 while PATCH tokens remain.
        assert.ok(available >= 40 && available <= 49, `${available} rows a claim`);
      },
    );
  });

  it('adopts the rate in x-amzn-RateLimit-Limit', async () => {
    await withAmazon(
      { simulator: { usagePlans: { searchListingsItems: { rate: 10, burst: 5 } } } },
      async (sim, connector) => {
        sim.seedListing('R', 1);
        assert.equal(connector.operationRate('searchListingsItems'), amazonUsagePlans.searchListingsItems.rate);
        await connector.readLevels([item('R', 0)]);
        assert.equal(connector.operationRate('searchListingsItems'), 10);
      },
    );
  });

  it('5xx, a 429 storm and a lost answer are retry; the retried absolute push lands once', async () => {
    await withAmazon({}, async (sim, connector) => {
      sim.seedListing('X', 1);
      sim.faults.serverErrorsNext = 1;
      assert.deepEqual(statuses(await connector.pushLevels([item('X', 2)])), ['retry']);
      sim.faults.throttleNext = 1;
      const [throttled] = await connector.pushLevels([item('X', 3)]);
      assert.equal(throttled!.status, 'retry');
      assert.ok((throttled as { retryAfterMs?: number }).retryAfterMs! >= 900, 'backs off after a 429');
      assert.equal(sim.stats().rateLimitViolations, 0, 'a storm is not a violation');
      await sleep(1_100);
      sim.faults.loseAnswersNext = 1;
      const [lost] = await connector.pushLevels([item('X', 4)]);
      assert.equal(lost!.status, 'retry');
      assert.equal(sim.listing('X')?.quantity, 4, 'the write landed');
      assert.deepEqual(statuses(await pushUntilSettled(connector, [item('X', 4)])), ['ok']);
      assert.equal(sim.listing('X')?.quantity, 4);
      // An edit in Seller Central is what the read-back sees.
      sim.editOutOfBand('X', 17);
      assert.deepEqual(await connector.readLevels([item('X', 0)]), [{ listingId: 'lst_X', quantity: 17 }]);
    });
  });
});

describe('amazon: orders in', () => {
  const byKind = (events: readonly OrderLineEvent[]) =>
    events.map((event) => `${event.lineId}:${event.eventId}:${event.fact.kind}`).sort();

  it('polls getOrders with NextToken paging and getOrderItems into line events; an unchanged order is not read again', async () => {
    await withAmazon(
      { simulator: { ordersPageSizeMax: 2 }, connector: { pollIntervalMs: 1_000 } },
      async (sim, connector) => {
        sim.setNotifications(false);
        sim.seedListing('MUG', 10);
        sim.seedListing('LAMP', 10);
        const pending = sim.createOrder({ items: [{ sku: 'MUG', quantity: 2 }] });
        const paid = sim.createOrder({ items: [{ sku: 'MUG', quantity: 1 }], status: 'Unshipped' });
        const fba = sim.createOrder({
          items: [{ sku: 'LAMP', quantity: 3 }],
          fulfillmentChannel: 'AFN',
          status: 'Unshipped',
        });
        const split = sim.createOrder({
          items: [
            { sku: 'MUG', quantity: 2 },
            { sku: 'LAMP', quantity: 1 },
          ],
          status: 'Unshipped',
        });
        sim.shipItem(split.orderId, split.orderItemIds[0]!, 1);
        const cancelled = sim.createOrder({ items: [{ sku: 'LAMP', quantity: 1 }] });
        sim.cancelOrder(cancelled.orderId);

        const first = await connector.pollOrderEvents(null);
        assert.equal(first.error, undefined);
        assert.equal(first.pagesRead, 3, '5 orders, 2 a page: NextToken followed');
        assert.ok(first.caughtUpTo !== null);
        const keys = new Set(first.events.map((event) => event.lineKey));
        assert.ok(keys.has(`amazon:${sim.sellerId}:${pending.orderId}:${pending.orderItemIds[0]}`));
        assert.equal(keys.size, 6);
        const pendingOrder = first.events.find((event) => event.orderId === pending.orderId)!;
        assert.deepEqual(pendingOrder.fact, {
          kind: 'ordered',
          quantity: 2,
          version: pendingOrder.fact.kind === 'ordered' ? pendingOrder.fact.version : 0,
          fulfilledBy: 'merchant',
          locationId: null,
        });
        assert.equal(pendingOrder.item.sku, 'MUG');
        assert.equal(pendingOrder.item.externalId, 'MUG');
        const fbaOrder = first.events.find((event) => event.orderId === fba.orderId)!;
        assert.equal(fbaOrder.fact.kind === 'ordered' && fbaOrder.fact.fulfilledBy, 'marketplace', 'FBA: AFN');
        assert.deepEqual(
          byKind(first.events.filter((event) => event.orderId === split.orderId)),
          [
            `${split.orderItemIds[0]}:order:ordered`,
            `${split.orderItemIds[0]}:shipped:fulfilled`,
            `${split.orderItemIds[1]}:order:ordered`,
          ].sort(),
        );
        assert.deepEqual(byKind(first.events.filter((event) => event.orderId === cancelled.orderId)), [
          `${cancelled.orderItemIds[0]}:cancel:cancelled`,
          `${cancelled.orderItemIds[0]}:order:ordered`,
        ]);
        assert.ok(paid.orderId !== '');

        // Nothing changed: the overlapping scan lists the orders again, but their items are not re-read.
        const calls = sim.stats().requests.getOrderItems;
        const second = await connector.pollOrderEvents(JSON.stringify(first.cursor));
        assert.deepEqual(second.events, []);
        assert.equal(sim.stats().requests.getOrderItems, calls);

        sim.payOrder(pending.orderId);
        sim.shipItem(split.orderId, split.orderItemIds[0]!, 1);
        const third = await connector.pollOrderEvents(JSON.stringify(second.cursor));
        assert.deepEqual(
          [...new Set(third.events.map((event) => event.orderId))].sort(),
          [pending.orderId, split.orderId].sort(),
        );
        const shipped = third.events.find((event) => event.eventId === 'shipped')!;
        assert.equal(shipped.fact.kind === 'fulfilled' && shipped.fact.quantity, 2, 'the total shipped so far');
        assert.equal(sim.stats().rateLimitViolations, 0);
      },
    );
  });

  it('refreshOrders reads open orders in full (getOrder, getOrderItems); unknown orders are skipped', async () => {
    await withAmazon({}, async (sim, connector) => {
      sim.setNotifications(false);
      sim.seedListing('MUG', 10);
      const order = sim.createOrder({ items: [{ sku: 'MUG', quantity: 2 }], status: 'Unshipped' });
      sim.shipItem(order.orderId, order.orderItemIds[0]!, 1);
      sim.cancelOrder(order.orderId);
      const read = await connector.refreshOrders([order.orderId, '999-0000000-0000000']);
      assert.equal(read.error, undefined);
      assert.deepEqual(read.events.map((event) => `${event.eventId}:${event.fact.kind}`).sort(), [
        'cancel:cancelled',
        'order:ordered',
        'shipped:fulfilled',
      ]);
      assert.equal(sim.stats().requests.getOrder, 2);
    });
  });

  it('ORDER_CHANGE notifications become events without a getOrders wait, deduplicated by NotificationId; handled messages are deleted next poll', async () => {
    const sim = new AmazonSimulator();
    const url = await sim.start();
    const levels: [string, number][] = [];
    const connector = new AmazonConnector({
      sellerId: sim.sellerId,
      marketplaceIds: [sim.marketplaceId],
      baseUrl: url,
      tokenUrl: sim.tokenUrl,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      refreshToken: sim.refreshToken,
      notificationSource: sim.notifications,
      onLevel: (sku, quantity) => levels.push([sku, quantity]),
    });
    try {
      sim.notifications.duplicateEvery = 1; // every message delivered twice
      sim.seedListing('MUG', 10);
      const order = sim.createOrder({ items: [{ sku: 'MUG', quantity: 2 }], status: 'Unshipped' });
      sim.shipItem(order.orderId, order.orderItemIds[0]!);
      const first = await connector.pollOrderEvents(null);
      assert.equal(first.notificationsRead, 6, 'ORDER_CHANGE x2, MFN quantity change, each twice');
      assert.equal(first.duplicateNotifications, 3);
      assert.deepEqual(levels, [['MUG', 8]]);
      const fromNotifications = first.events.filter((event) => event.eventId === 'shipped');
      assert.ok(fromNotifications.length >= 1);
      assert.equal(sim.notifications.depth, 6, 'not deleted before the cursor is saved');
      const second = await connector.pollOrderEvents(JSON.stringify(first.cursor));
      assert.equal(second.notificationsRead, 0);
      assert.equal(sim.notifications.depth, 0, 'deleted by the next poll');
      // A redelivery after a crash (the cursor of the first poll saved, the delete lost) is a duplicate.
      sim.notifications.duplicateEvery = 0;
      sim.notifications.publish(lastOrderChange(first));
      const third = await connector.pollOrderEvents(JSON.stringify(second.cursor));
      assert.equal(third.duplicateNotifications, 1);
    } finally {
      await sim.stop();
    }
  });
});

/** A notification body the first poll handled, rebuilt from its id (the queue's own copy is gone). */
function lastOrderChange(result: { cursor: { notifications: string[] } }) {
  return {
    NotificationType: 'ORDER_CHANGE',
    NotificationMetadata: { NotificationId: result.cursor.notifications[0] },
    Payload: {},
  };
}

describe('amazon: FBA inventory in', () => {
  it('reads summaries 50 SKUs a call, follows nextToken, inside the 2/s bucket: zero violations', async () => {
    await withAmazon({ simulator: { inventoryPageSize: 20 } }, async (sim, connector) => {
      const skus = Array.from({ length: 120 }, (_, index) => `F-${String(index).padStart(3, '0')}`);
      for (const [index, sku] of skus.entries()) sim.seedFbaInventory(sku, index);
      const started = Date.now();
      const read = await connector.readMarketplaceStock([...skus, 'NOT-AT-FBA']);
      const elapsed = Date.now() - started;
      assert.equal(read.error, undefined);
      // 50 + 50 + 20 SKUs, pages of 20: 3 + 3 + 1 calls.
      assert.equal(read.calls, 7);
      assert.equal(sim.stats().requests.getInventorySummaries, 7);
      assert.equal(sim.stats().rateLimitViolations, 0, `no 429 caused (${elapsed} ms for 7 calls)`);
      assert.ok(elapsed >= ((7 - 2) / 2) * 1000 * 0.9, `paced by the bucket (${elapsed} ms)`);
      assert.equal(read.levels.length, 120, 'a SKU Amazon holds nothing of is left out');
      const level = read.levels.find((each) => each.externalId === 'F-042')!;
      assert.equal(level.onHand, 42);
      assert.equal(level.updatedAt, Date.parse(sim.fbaInventory('F-042')!.lastUpdatedTime));
    });
  });

  it('an FBA order moves units from fulfillable to pending: on hand stays until they ship', async () => {
    await withAmazon({}, async (sim, connector) => {
      sim.seedListing('LAMP-1', 0, { fulfillmentChannelCode: 'AMAZON_NA' });
      sim.seedFbaInventory('LAMP-1', 6);
      const first = (await connector.readMarketplaceStock(['LAMP-1'])).levels[0]!;
      assert.equal(first.onHand, 6);
      const order = sim.createOrder({ items: [{ sku: 'LAMP-1', quantity: 2 }], fulfillmentChannel: 'AFN' });
      assert.deepEqual(
        { fulfillable: sim.fbaInventory('LAMP-1')!.fulfillable, pending: sim.fbaInventory('LAMP-1')!.pending },
        { fulfillable: 4, pending: 2 },
      );
      const ordered = (await connector.readMarketplaceStock(['LAMP-1'])).levels[0]!;
      assert.equal(ordered.onHand, 6, 'the pending units are still in Amazon’s warehouse');
      assert.ok(ordered.updatedAt > first.updatedAt, 'lastUpdatedTime moves with every change');
      sim.shipItem(order.orderId, order.orderItemIds[0]!);
      assert.equal((await connector.readMarketplaceStock(['LAMP-1'])).levels[0]!.onHand, 4);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });

  it('a read that meets a 5xx stops with an error and no guessed level; the next read has them all', async () => {
    await withAmazon({}, async (sim, connector) => {
      const skus = Array.from({ length: 60 }, (_, index) => `S-${index}`);
      for (const sku of skus) sim.seedFbaInventory(sku, 1);
      sim.faults.serverErrorsNext = 1;
      const failed = await connector.readMarketplaceStock(skus);
      assert.deepEqual(failed.levels, []);
      assert.match(failed.error ?? '', /getInventorySummaries answered 503/);
      const read = await connector.readMarketplaceStock(skus);
      assert.equal(read.error, undefined);
      assert.equal(read.levels.length, 60);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });
});

describe('amazon: the client’s types against the official models', () => {
  it('every model property the client names exists in the models', () => {
    const root = new URL('../../../specs/amazon/models', import.meta.url).pathname;
    const definitions = (path: string) =>
      (JSON.parse(readFileSync(`${root}/${path}`, 'utf8')) as { definitions: Record<string, { properties?: object }> })
        .definitions;
    const checks: [string, string, string[]][] = [
      [
        'listings-items-api-model/listingsItems_2021-08-01.json',
        'ListingsItemSubmissionResponse',
        ['sku', 'status', 'submissionId', 'issues'],
      ],
      [
        'listings-items-api-model/listingsItems_2021-08-01.json',
        'Issue',
        ['code', 'message', 'severity', 'attributeNames'],
      ],
      ['listings-items-api-model/listingsItems_2021-08-01.json', 'PatchOperation', ['op', 'path', 'value']],
      [
        'listings-items-api-model/listingsItems_2021-08-01.json',
        'ListingsItemPatchRequest',
        ['productType', 'patches'],
      ],
      [
        'listings-items-api-model/listingsItems_2021-08-01.json',
        'FulfillmentAvailability',
        ['fulfillmentChannelCode', 'quantity'],
      ],
      ['listings-items-api-model/listingsItems_2021-08-01.json', 'Item', ['sku', 'fulfillmentAvailability', 'issues']],
      [
        'listings-items-api-model/listingsItems_2021-08-01.json',
        'ItemSearchResults',
        ['numberOfResults', 'items', 'pagination'],
      ],
      ['feeds-api-model/feeds_2021-06-30.json', 'CreateFeedDocumentResponse', ['feedDocumentId', 'url']],
      ['feeds-api-model/feeds_2021-06-30.json', 'CreateFeedResponse', ['feedId']],
      [
        'feeds-api-model/feeds_2021-06-30.json',
        'Feed',
        ['feedId', 'feedType', 'createdTime', 'processingStatus', 'resultFeedDocumentId'],
      ],
      ['feeds-api-model/feeds_2021-06-30.json', 'FeedDocument', ['feedDocumentId', 'url', 'compressionAlgorithm']],
      [
        'orders-api-model/ordersV0.json',
        'Order',
        ['AmazonOrderId', 'PurchaseDate', 'LastUpdateDate', 'OrderStatus', 'FulfillmentChannel'],
      ],
      ['orders-api-model/ordersV0.json', 'OrdersList', ['Orders', 'NextToken', 'LastUpdatedBefore']],
      [
        'orders-api-model/ordersV0.json',
        'OrderItem',
        ['ASIN', 'SellerSKU', 'OrderItemId', 'QuantityOrdered', 'QuantityShipped'],
      ],
      ['orders-api-model/ordersV0.json', 'OrderItemsList', ['OrderItems', 'NextToken', 'AmazonOrderId']],
      [
        'fba-inventory-api-model/fbaInventory.json',
        'InventorySummary',
        ['asin', 'fnSku', 'sellerSku', 'inventoryDetails', 'lastUpdatedTime', 'totalQuantity'],
      ],
      ['fba-inventory-api-model/fbaInventory.json', 'InventoryDetails', ['fulfillableQuantity', 'reservedQuantity']],
      [
        'fba-inventory-api-model/fbaInventory.json',
        'ReservedQuantity',
        ['totalReservedQuantity', 'pendingCustomerOrderQuantity'],
      ],
      [
        'fba-inventory-api-model/fbaInventory.json',
        'GetInventorySummariesResult',
        ['granularity', 'inventorySummaries'],
      ],
      [
        'fba-inventory-api-model/fbaInventory.json',
        'GetInventorySummariesResponse',
        ['payload', 'pagination', 'errors'],
      ],
      ['fba-inventory-api-model/fbaInventory.json', 'Pagination', ['nextToken']],
    ];
    for (const [file, definition, properties] of checks) {
      const found = definitions(file)[definition];
      assert.ok(found, `${definition} in ${file}`);
      for (const property of properties)
        assert.ok(Object.hasOwn(found.properties ?? {}, property), `${definition}.${property} in ${file}`);
    }
    const statusesInModel = (
      definitions('orders-api-model/ordersV0.json').Order!.properties as { OrderStatus: { enum: string[] } }
    ).OrderStatus.enum;
    assert.deepEqual(statusesInModel.slice(0, 5), ['Pending', 'Unshipped', 'PartiallyShipped', 'Shipped', 'Canceled']);
  });

  it('the usage plans in amazon-limits.ts are the models’ tables', () => {
    const root = new URL('../../../specs/amazon/models', import.meta.url).pathname;
    const files = [
      'listings-items-api-model/listingsItems_2021-08-01.json',
      'feeds-api-model/feeds_2021-06-30.json',
      'orders-api-model/ordersV0.json',
      'fba-inventory-api-model/fbaInventory.json',
    ];
    const found = new Map<string, { rate: number; burst: number }>();
    for (const file of files) {
      const model = JSON.parse(readFileSync(`${root}/${file}`, 'utf8')) as {
        paths: Record<string, Record<string, { operationId?: string; description?: string }>>;
      };
      for (const operations of Object.values(model.paths))
        for (const operation of Object.values(operations)) {
          const row = /\|\s*([0-9.]+)\s*\|\s*([0-9.]+)\s*\|/.exec(operation.description ?? '');
          if (operation.operationId && row && !found.has(operation.operationId))
            found.set(operation.operationId, { rate: Number(row[1]), burst: Number(row[2]) });
        }
    }
    for (const [operation, plan] of Object.entries(amazonUsagePlans))
      assert.deepEqual(plan, found.get(operation), operation);
  });
});

describe('amazon: channel settings', () => {
  const connector = {
    seller_id: 'A2SIMSELLER01',
    marketplace_ids: ['A1805IZSGTT6HS'],
    region: 'eu',
    client_id: 'amzn1.application-oa2-client.abc',
    client_secret: 'amzn1.oa2-cs.v1.hunter2',
    refresh_token: 'Atzr|IwEBIhunter2',
  };

  it('builds the connector from settings; the line account is the seller id', () => {
    const channel = { code: 'amz', platform: 'amazon', settings: { connector } };
    const built = connectChannel(channel, { now: () => Date.now() });
    assert.ok(built instanceof AmazonConnector);
    assert.equal(built.pollIntervalMs, 60_000, "getOrders' one request a minute");
    assert.equal(orderLineAccount(channel), 'A2SIMSELLER01');
    assert.deepEqual(connectorSettingsFaults('amazon', connector), []);
    assert.deepEqual(
      connectorSettingsFaults('amazon', { ...connector, refresh_token: undefined, regoin: 'eu' }).map(
        (fault) => fault.path,
      ),
      ['/refresh_token', '/regoin'],
    );
  });

  it('never shows the client secret or the refresh token to a read token', () => {
    const shown = redactChannelSettings('amazon', {
      connector: {
        ...connector,
        token_url: 'https://user:pw@example.com/auth/o2/token',
        client_secret: 'env:AMZ_SECRET',
      },
    });
    const view = shown.connector as Record<string, unknown>;
    assert.equal(view.refresh_token, '***');
    assert.equal(view.client_secret, 'env:AMZ_SECRET', 'an env reference is shown as it is');
    assert.equal(view.seller_id, 'A2SIMSELLER01');
    assert.equal(view.token_url, 'https://example.com/auth/o2/token');
    assert.doesNotMatch(JSON.stringify(shown), /hunter2|pw@/);
  });
});
