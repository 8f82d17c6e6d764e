/**
 * Connector conformance, Shopify half (docs/ARCHITECTURE.md, A new connector, step 6; the
 * promises are docs/RELIABILITY.md, sections 11 and 13).
 *
 * Goal: what the ChannelConnector port promises holds for ShopifyConnector against the Shopify
 * simulator (sim/shopify/) over real HTTP on 127.0.0.1 - push and read back, batches split at
 * 250, compare-and-set (a sale or edit between read and push is never overwritten), idempotent
 * replay, the lost-answer path, the cost bucket (a burst gets ZERO rate-limit violations),
 * credentials and unknown items classified permanent, transient failures classified retry.
 *
 * Method: every case runs on two API versions, because the compare-and-set and idempotency
 * contract changed between them (docs/channels/shopify.md, Push: inventorySetQuantities):
 *   - 2026-04: changeFromQuantity + @idempotent, both mandatory;
 *   - 2025-01: compareQuantity / ignoreCompareQuantity, no idempotency directive (the version of
 *     the schema extract) - here a lost answer is recovered by the compare failing and the
 *     read-back showing the desired quantity.
 * Each target gets a fresh simulator (Plus plan: 1000 points/s, bucket 2000) and fresh items per
 * case; "applied once" is checked on the simulator's own write log, not on the connector's word.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PushItem } from '../../../src/connectors/channel-connector.js';
import {
  ShopifyConnector,
  ShopifyReadError,
  type ShopifyConnectorConfig,
} from '../../../src/connectors/shopify/shopify-connector.js';
import { ShopifySimulator } from '../../../sim/shopify/shopify-simulator.js';

const TARGETS = [
  { name: 'shopify 2026-04 (changeFromQuantity, @idempotent)', apiVersion: '2026-04', idempotent: true },
  { name: 'shopify 2025-01 (compareQuantity, spec extract)', apiVersion: '2025-01', idempotent: false },
] as const;

let keySerial = 0;
function pushItem(
  listingId: string,
  externalId: string,
  quantity: number,
  expectedChannelQuantity: number | null,
  idempotencyKey = `${listingId}:v${++keySerial}`,
): PushItem {
  return { listingId, externalId, externalLocationId: null, quantity, expectedChannelQuantity, idempotencyKey };
}

for (const target of TARGETS) {
  describe(`${target.name}: ChannelConnector conformance`, () => {
    let sim: ShopifySimulator;
    let url: string;
    let items = 0;

    before(async () => {
      sim = new ShopifySimulator({ plan: 'plus', maximumAvailable: 2000 });
      url = await sim.start();
    });
    after(async () => {
      await sim.stop();
    });

    function connector(overrides: Partial<ShopifyConnectorConfig> = {}): ShopifyConnector {
      return new ShopifyConnector({
        shopDomain: sim.shopDomain,
        baseUrl: url,
        accessToken: sim.accessToken,
        apiVersion: target.apiVersion,
        locationId: sim.defaultLocationId,
        ...overrides,
      });
    }
    function seed(available: number): string {
      return sim.addItem({ sku: `SKU-${target.apiVersion}-${++items}`, levels: { [sim.defaultLocationId]: available } })
        .inventoryItemId;
    }
    /**
     * Until the shop's bucket holds half its size again: a test that needs room in it (a fresh
     * connector knows nothing of the bucket until an answer tells it) must not depend on how
     * long ago the 600-item batch above drained it (about 2 s to refill at the plan's rate).
     */
    async function roomInBucket(): Promise<void> {
      const room = sim.maximumAvailable / 2;
      for (let waited = 0; sim.currentlyAvailable() < room && waited < 5_000; waited += 20)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(sim.currentlyAvailable() >= room, 'the bucket refills within 5 s');
    }
    const apiWrites = (inventoryItemId: string) =>
      sim.writes.filter((write) => write.inventoryItemId === inventoryItemId && write.source === 'api');

    it('pushes absolute quantities and reads them back', async () => {
      const shopify = connector();
      const a = seed(5);
      const b = seed(0);
      const read = await shopify.readLevels([
        { listingId: 'a', externalId: a, externalLocationId: null },
        { listingId: 'b', externalId: b, externalLocationId: sim.defaultLocationId },
      ]);
      assert.deepEqual(read, [
        { listingId: 'a', quantity: 5 },
        { listingId: 'b', quantity: 0 },
      ]);
      const outcomes = await shopify.pushLevels([pushItem('a', a, 12, 5), pushItem('b', b, 3, 0)]);
      assert.deepEqual(outcomes, [
        { listingId: 'a', status: 'ok', channelQuantity: 12 },
        { listingId: 'b', status: 'ok', channelQuantity: 3 },
      ]);
      assert.equal(sim.available(a), 12);
      assert.equal(sim.available(b), 3);
      assert.deepEqual(await shopify.readLevels([{ listingId: 'a', externalId: a, externalLocationId: null }]), [
        { listingId: 'a', quantity: 12 },
      ]);
      // Setting the value it already has is fine too (Shopify reports no change).
      assert.deepEqual(await shopify.pushLevels([pushItem('a', a, 12, 12)]), [
        { listingId: 'a', status: 'ok', channelQuantity: 12 },
      ]);
    });

    it('reads unknown items and unstocked locations as null, and accepts numeric REST ids', async () => {
      const shopify = connector();
      const a = seed(4);
      const elsewhere = sim.addLocation('Elsewhere');
      const numeric = a.split('/').pop()!;
      const read = await shopify.readLevels([
        { listingId: 'numeric', externalId: numeric, externalLocationId: null },
        { listingId: 'unknown', externalId: 'gid://shopify/InventoryItem/1', externalLocationId: null },
        { listingId: 'unstocked', externalId: a, externalLocationId: elsewhere },
        { listingId: 'garbage', externalId: 'not-an-id', externalLocationId: null },
      ]);
      assert.deepEqual(read, [
        { listingId: 'numeric', quantity: 4 },
        { listingId: 'unknown', quantity: null },
        { listingId: 'unstocked', quantity: null },
        { listingId: 'garbage', quantity: null },
      ]);
    });

    it('splits a batch of 600 into mutations of at most 250 and reads 600 back', async () => {
      const shopify = connector();
      assert.equal(shopify.maxBatchSize, 250);
      const ids = Array.from({ length: 600 }, (_, index) => seed(index % 7));
      const appliedBefore = sim.stats.mutationsApplied;
      const outcomes = await shopify.pushLevels(
        ids.map((id, index) => pushItem(`big${index}`, id, 100 + index, index % 7)),
      );
      assert.deepEqual(
        outcomes.filter((outcome) => outcome.status !== 'ok'),
        [],
      );
      assert.equal(sim.stats.mutationsApplied - appliedBefore, 3, '250 + 250 + 100');
      const read = await shopify.readLevels(
        ids.map((id, index) => ({ listingId: `big${index}`, externalId: id, externalLocationId: null })),
      );
      assert.deepEqual(
        read.map((entry) => entry.quantity),
        ids.map((_, index) => 100 + index),
      );
      assert.equal(sim.stats.rateLimitViolations, 0);
    });

    it('compare-and-set: an out-of-band edit between read and push -> stale with the current value, nothing overwritten', async () => {
      const shopify = connector();
      const a = seed(10);
      const [seen] = await shopify.readLevels([{ listingId: 'a', externalId: a, externalLocationId: null }]);
      assert.equal(seen!.quantity, 10);
      sim.editAvailable(a, sim.defaultLocationId, 7); // a sale or an admin edit, behind our back
      const [outcome] = await shopify.pushLevels([pushItem('a', a, 12, seen!.quantity)]);
      assert.equal(outcome!.status, 'stale');
      assert.equal(outcome!.status === 'stale' && outcome!.channelQuantity, 7);
      assert.match(
        outcome!.status === 'stale' ? outcome!.reason : '',
        target.idempotent ? /CHANGE_FROM_QUANTITY_STALE/ : /COMPARE_QUANTITY_STALE/,
      );
      assert.equal(sim.available(a), 7, 'the edit survives');
      assert.deepEqual(apiWrites(a), []);
      // The dispatcher recomputes from what the channel shows and pushes again: now it applies.
      assert.deepEqual(await shopify.pushLevels([pushItem('a', a, 9, 7)]), [
        { listingId: 'a', status: 'ok', channelQuantity: 9 },
      ]);
    });

    it('a stale item does not hold back the rest of its batch (one userError fails the whole call)', async () => {
      const shopify = connector();
      const [a, b, c] = [seed(1), seed(2), seed(3)];
      sim.editAvailable(b, sim.defaultLocationId, 20);
      const appliedBefore = sim.stats.mutationsApplied;
      const outcomes = await shopify.pushLevels([
        pushItem('a', a, 11, 1),
        pushItem('b', b, 12, 2),
        pushItem('c', c, 13, 3),
      ]);
      assert.deepEqual(outcomes[0], { listingId: 'a', status: 'ok', channelQuantity: 11 });
      assert.equal(outcomes[1]!.status, 'stale');
      assert.equal(outcomes[1]!.status === 'stale' && outcomes[1]!.channelQuantity, 20);
      assert.deepEqual(outcomes[2], { listingId: 'c', status: 'ok', channelQuantity: 13 });
      assert.equal(
        sim.stats.mutationsApplied - appliedBefore,
        1,
        'the first call applied nothing, the second applied a and c',
      );
      assert.deepEqual([sim.available(a), sim.available(b), sim.available(c)], [11, 20, 13]);
    });

    it('an unknown expectation (null) sets without a check, also mixed with checked items', async () => {
      const shopify = connector();
      const [a, b] = [seed(4), seed(5)];
      sim.editAvailable(a, sim.defaultLocationId, 40);
      const outcomes = await shopify.pushLevels([pushItem('a', a, 6, null), pushItem('b', b, 8, 5)]);
      assert.deepEqual(outcomes, [
        { listingId: 'a', status: 'ok', channelQuantity: 6 },
        { listingId: 'b', status: 'ok', channelQuantity: 8 },
      ]);
    });

    it('replaying the same push applies it once', async () => {
      const shopify = connector();
      const a = seed(3);
      const item = pushItem('a', a, 8, 3);
      assert.deepEqual(await shopify.pushLevels([item]), [{ listingId: 'a', status: 'ok', channelQuantity: 8 }]);
      const before = { applied: sim.stats.mutationsApplied, replays: sim.stats.idempotentReplays };
      // The dispatcher retries the same push (same listing version, same key, same expectation).
      assert.deepEqual(await shopify.pushLevels([item]), [{ listingId: 'a', status: 'ok', channelQuantity: 8 }]);
      assert.equal(sim.stats.mutationsApplied, before.applied, 'not applied again');
      if (target.idempotent)
        assert.equal(sim.stats.idempotentReplays, before.replays + 1, 'answered from the idempotency store');
      assert.equal(apiWrites(a).length, 1);
      assert.equal(sim.available(a), 8);
    });

    for (const mode of ['reset', '502'] as const) {
      it(`lost answer (${mode}): applied, reported retry; the same push again ends correct and applied once`, async () => {
        const shopify = connector();
        const a = seed(6);
        const item = pushItem('a', a, 2, 6);
        sim.faults.lostResponseMode = mode;
        sim.injectNext('lost-response');
        const lostBefore = sim.stats.lostResponses;
        const [first] = await shopify.pushLevels([item]);
        sim.faults.lostResponseMode = 'reset';
        assert.equal(sim.stats.lostResponses, lostBefore + 1);
        assert.equal(first!.status, 'retry', JSON.stringify(first));
        assert.equal(sim.available(a), 2, 'the write landed although the answer was lost');
        const [second] = await shopify.pushLevels([item]);
        assert.deepEqual(second, { listingId: 'a', status: 'ok', channelQuantity: 2 });
        assert.equal(sim.available(a), 2);
        assert.deepEqual(
          apiWrites(a).map((write) => [write.before, write.after]),
          [[6, 2]],
          'one application only',
        );
      });
    }

    it('401 from a wrong token -> permanent for every item, nothing applied', async () => {
      const shopify = connector({ accessToken: 'shpat_wrong' });
      const [a, b] = [seed(1), seed(1)];
      const outcomes = await shopify.pushLevels([pushItem('a', a, 5, 1), pushItem('b', b, 5, 1)]);
      assert.deepEqual(
        outcomes.map((outcome) => [outcome.status, outcome.status === 'permanent' && /401/.test(outcome.reason)]),
        [
          ['permanent', true],
          ['permanent', true],
        ],
      );
      assert.equal(sim.available(a), 1);
      await assert.rejects(
        shopify.readLevels([{ listingId: 'a', externalId: a, externalLocationId: null }]),
        (error: unknown) => error instanceof ShopifyReadError && !error.retryable,
      );
    });

    it('unknown item, unstocked location, bad id, bad quantity -> permanent for that item only; the rest applied', async () => {
      const shopify = connector();
      const [good1, good2] = [seed(1), seed(2)];
      const elsewhere = sim.addLocation('Unstocked');
      const outcomes = await shopify.pushLevels([
        pushItem('good1', good1, 10, 1),
        pushItem('unknown', 'gid://shopify/InventoryItem/999', 3, 0),
        { ...pushItem('unstocked', good1, 3, 0), externalLocationId: elsewhere },
        pushItem('not-a-gid', 'gid://shopify/ProductVariant/5', 3, 0),
        pushItem('negative', good2, -1, 2),
        pushItem('good2', good2, 20, 2),
      ]);
      const summary = outcomes.map(
        (outcome) =>
          `${outcome.listingId}:${outcome.status}${outcome.status === 'permanent' ? `:${outcome.reason.split(':')[0]}` : ''}`,
      );
      assert.deepEqual(summary, [
        'good1:ok',
        'unknown:permanent:INVALID_INVENTORY_ITEM',
        'unstocked:permanent:ITEM_NOT_STOCKED_AT_LOCATION',
        'not-a-gid:permanent:externalId "gid',
        'negative:permanent:quantity -1 outside 0..1000000000',
        'good2:ok',
      ]);
      assert.deepEqual([sim.available(good1), sim.available(good2)], [10, 20]);
    });

    it('two items for one (item, location) in a batch: the later one is permanent, the first applies', async () => {
      const shopify = connector();
      const a = seed(1);
      const outcomes = await shopify.pushLevels([pushItem('first', a, 4, 1), pushItem('second', a, 9, 1)]);
      assert.deepEqual(outcomes[0], { listingId: 'first', status: 'ok', channelQuantity: 4 });
      assert.equal(outcomes[1]!.status, 'permanent');
    });

    it('5xx, THROTTLED storms, HTTP 429 and timeouts -> retry; nothing lost', async () => {
      await roomInBucket();
      const a = seed(1);
      const shopify = connector();
      sim.injectNext('server-error');
      const [serverError] = await shopify.pushLevels([pushItem('a', a, 5, 1)]);
      assert.equal(serverError!.status, 'retry');
      assert.match(serverError!.status === 'retry' ? serverError!.reason : '', /HTTP 50\d/);

      sim.injectNext('throttle');
      const [storm] = await shopify.pushLevels([pushItem('a', a, 5, 1)]);
      assert.equal(storm!.status, 'retry');
      assert.ok(
        storm!.status === 'retry' && storm!.retryAfterMs !== undefined && storm!.retryAfterMs > 0,
        JSON.stringify(storm),
      );

      const throttled429 = new ShopifySimulator({ plan: 'plus', throttleWithHttp429: true });
      const url429 = await throttled429.start();
      try {
        const b = throttled429.addItem({ sku: 'B', levels: { [throttled429.defaultLocationId]: 1 } }).inventoryItemId;
        const shopify429 = new ShopifyConnector({
          shopDomain: throttled429.shopDomain,
          baseUrl: url429,
          accessToken: throttled429.accessToken,
          apiVersion: target.apiVersion,
          locationId: throttled429.defaultLocationId,
        });
        throttled429.injectNext('throttle');
        const [tooMany] = await shopify429.pushLevels([pushItem('b', b, 5, 1)]);
        assert.equal(tooMany!.status, 'retry');
        assert.ok(tooMany!.status === 'retry' && tooMany!.retryAfterMs! >= 1000, JSON.stringify(tooMany));
      } finally {
        await throttled429.stop();
      }

      const slow = connector({ requestTimeoutMs: 100 });
      sim.faults.latencyMs = 400;
      try {
        const [timeout] = await slow.pushLevels([pushItem('a', a, 6, 1)]);
        assert.equal(timeout!.status, 'retry');
        assert.match(timeout!.status === 'retry' ? timeout!.reason : '', /timeout/);
      } finally {
        sim.faults.latencyMs = 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 500)); // the slow write lands meanwhile
      // Whatever happened in between, the next push with what the channel shows converges.
      const [current] = await shopify.readLevels([{ listingId: 'a', externalId: a, externalLocationId: null }]);
      assert.deepEqual(await shopify.pushLevels([pushItem('a', a, 5, current!.quantity)]), [
        { listingId: 'a', status: 'ok', channelQuantity: 5 },
      ]);
      assert.equal(sim.stats.rateLimitViolations, 0);
    });

    it('rateLimit() follows extensions.cost.throttleStatus', async () => {
      await roomInBucket();
      const shopify = connector();
      const before = shopify.rateLimit();
      assert.equal(before.capacity, 1000, 'assumed until Shopify says');
      await shopify.readLevels([{ listingId: 'a', externalId: seed(1), externalLocationId: null }]);
      const after = shopify.rateLimit();
      assert.equal(after.capacity, 2000);
      assert.ok(after.available > 0 && after.available <= 2000);
      assert.equal(after.waitMs, 0);
    });
  });

  describe(`${target.name}: the cost bucket under a burst`, () => {
    // A small bucket (100 points = 10 mutations) that refills at 1000 points/s, so a burst of
    // 10x the bucket drains in about a second.
    let sim: ShopifySimulator;
    let url: string;
    before(async () => {
      sim = new ShopifySimulator({ plan: 'plus', maximumAvailable: 100 });
      url = await sim.start();
    });
    after(async () => {
      await sim.stop();
    });

    it('100 concurrent pushes (10x the bucket): all applied, zero THROTTLED', async () => {
      const shopify = new ShopifyConnector({
        shopDomain: sim.shopDomain,
        baseUrl: url,
        accessToken: sim.accessToken,
        apiVersion: target.apiVersion,
        locationId: sim.defaultLocationId,
        bucketWaitMsMax: 30_000,
      });
      const ids = Array.from(
        { length: 100 },
        (_, index) => sim.addItem({ sku: `BURST-${index}`, levels: { [sim.defaultLocationId]: 0 } }).inventoryItemId,
      );
      const startedAt = performance.now();
      const outcomes = await Promise.all(
        ids.map((id, index) => shopify.pushLevels([pushItem(`l${index}`, id, index + 1, 0)])),
      );
      const elapsedMs = performance.now() - startedAt;
      assert.deepEqual(
        outcomes.flat().filter((outcome) => outcome.status !== 'ok'),
        [],
      );
      assert.equal(sim.stats.rateLimitViolations, 0, 'the simulator counted no request beyond the bucket');
      assert.deepEqual(
        ids.map((id) => sim.available(id)),
        ids.map((_, index) => index + 1),
      );
      // 1000 points through a 100-point bucket at 1000/s cannot take less than ~0.9 s.
      assert.ok(elapsedMs >= 800, `drained in ${Math.round(elapsedMs)} ms`);
    });

    it('without waiting (bucketWaitMsMax 0): the excess comes back retry with retryAfterMs, still zero THROTTLED', async () => {
      await new Promise((resolve) => setTimeout(resolve, 200)); // let the bucket refill
      const shopify = new ShopifyConnector({
        shopDomain: sim.shopDomain,
        baseUrl: url,
        accessToken: sim.accessToken,
        apiVersion: target.apiVersion,
        locationId: sim.defaultLocationId,
        bucketWaitMsMax: 0,
      });
      const ids = Array.from(
        { length: 40 },
        (_, index) => sim.addItem({ sku: `NOWAIT-${index}`, levels: { [sim.defaultLocationId]: 0 } }).inventoryItemId,
      );
      // One answer first, so the connector knows the bucket (before it, one probe at a time).
      await shopify.readLevels([{ listingId: 'probe', externalId: ids[0]!, externalLocationId: null }]);
      const outcomes = (
        await Promise.all(ids.map((id, index) => shopify.pushLevels([pushItem(`n${index}`, id, 1, 0)])))
      ).flat();
      const ok = outcomes.filter((outcome) => outcome.status === 'ok').length;
      const retries = outcomes.filter((outcome) => outcome.status === 'retry');
      assert.equal(ok + retries.length, 40);
      // About 10 fit at once; a few more as the bucket refills (1 point/ms) while the others are sent.
      assert.ok(ok >= 5 && ok <= 25 && retries.length >= 15, `ok ${ok}, retry ${retries.length}`);
      assert.ok(
        retries.every(
          (outcome) => outcome.status === 'retry' && outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0,
        ),
      );
      assert.equal(sim.stats.rateLimitViolations, 0);
      assert.ok(shopify.rateLimit().available < 100);
    });
  });
}
