/**
 * The full audit on each platform's bulk path (readAllLevels): Shopify's bulk operation and
 * Bol.com's paged offers list, through the real connectors against the simulators with their
 * real limits. A full reconcile pass finds out-of-band drift without one readLevels call, stays
 * inside both rate limits, and a push enqueued while the audit runs is acknowledged before the
 * audit ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import type { ChannelConnector } from '../../src/connectors/channel-connector.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { reconcileChannel, summaryLine } from '../../src/reconcile/reconcile-pass.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { startSimConnectors } from '../support/sim-connectors.js';
import { STORES, type TestStore } from '../support/stores.js';

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 5 });
const listingCount = 300;
const skus = Array.from({ length: listingCount }, (_, index) => `S${String(index).padStart(4, '0')}`);

/** The connector, counting readLevels calls and telling when its bulk read starts. */
function watched(connector: ChannelConnector) {
  const counts = { readLevels: 0, bulkReads: 0 };
  let started: () => void = () => undefined;
  const auditStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  const wrapped: ChannelConnector = {
    platform: connector.platform,
    maxBatchSize: connector.maxBatchSize,
    pushLevels: (items, signal) => connector.pushLevels(items, signal),
    rateLimit: () => connector.rateLimit(),
    readLevels: (items, signal) => {
      counts.readLevels += 1;
      return connector.readLevels(items, signal);
    },
    readAllLevels: (signal) => {
      counts.bulkReads += 1;
      started();
      return connector.readAllLevels!(signal);
    },
    ...(connector.itemKey ? { itemKey: (id: string) => connector.itemKey!(id) } : {}),
  };
  return { wrapped, counts, auditStarted };
}

for (const factory of STORES) {
  describe(`${factory.name}: full audit on the bulk paths`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    const bolSim = new BolSimulator();
    // A bulk operation that runs long enough for a push to happen meanwhile.
    const shopifySim = new ShopifySimulator({ bulkOperation: { baseMs: 1_500 } });
    const connectors = new Map<string, ChannelConnector>();
    const offers = new Map<string, string>();
    const items = new Map<string, string>();
    let key = 0;
    const clock = { now: () => Date.now() };

    /** Ticks the channel's dispatcher until `done` holds (a spent rate window defers rows by their backoff). */
    const push = async (channel: string, done: () => boolean) => {
      const dispatcher = new ChannelDispatcher({
        channel,
        connector: connectors.get(channel)!,
        outbox: store.outbox,
        clock,
        owner: 'test',
        policy,
        random: () => 0.5,
      });
      let pushed = 0;
      const deadline = Date.now() + 60_000;
      while (!done() && Date.now() < deadline) {
        const count = await dispatcher.tick();
        pushed += count;
        if (count === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(done(), `${channel}: pushes did not land`);
      return pushed;
    };
    const sell = (sku: string) =>
      ledger.submit([
        { type: 'sale', key: `sale-${++key}`, payloadHash: `sale-${key}`, sku, location: 'WH1', quantity: 1 },
      ] as LedgerCommand[]);
    const shows = (channel: string, sku: string) =>
      channel === 'bol'
        ? bolSim.offerState(offers.get(sku)!).correctedStock
        : shopifySim.available(items.get(sku)!, shopifySim.defaultLocationId);
    const edit = (channel: string, sku: string, quantity: number) =>
      channel === 'bol'
        ? bolSim.editStockOutOfBand(offers.get(sku)!, quantity)
        : shopifySim.editAvailable(items.get(sku)!, shopifySim.defaultLocationId, quantity);

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      for (const [code, connector] of await startSimConnectors(bolSim, shopifySim, { bulkPollIntervalMs: 100 }))
        connectors.set(code, connector);
      for (const sku of skus) {
        offers.set(sku, bolSim.seedOffer({ amount: 0 }));
        items.set(sku, shopifySim.addItem({ sku, levels: { [shopifySim.defaultLocationId]: 0 } }).inventoryItemId);
      }
      // Offers onhand does not list: the paged list reads past them (about 30 pages at 25 per second).
      for (let extra = 0; extra < 2_700; extra += 1) bolSim.seedOffer({ amount: 1 });
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      await store.availability.upsertChannels(
        [
          { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
          { code: 'shop', name: 'Shop', platform: 'shopify', locations: ['WH1'] },
        ],
        clock.now(),
      );
      await store.availability.upsertListings(
        [
          ...skus.map((sku) => ({ channel: 'bol', externalId: offers.get(sku)!, sku })),
          // Shopify listings by numeric id: the bulk result's gids still meet them.
          ...skus.map((sku) => ({ channel: 'shop', externalId: items.get(sku)!.split('/').pop()!, sku })),
        ],
        clock.now(),
      );
      await ledger.submit(
        skus.map(
          (sku) =>
            ({
              type: 'receipt',
              key: `r-${sku}`,
              payloadHash: `r-${sku}`,
              sku,
              location: 'WH1',
              quantity: 5,
            }) as LedgerCommand,
        ),
      );
      for (const channel of ['bol', 'shop'])
        assert.equal(await push(channel, () => skus.every((sku) => shows(channel, sku) === 5)), listingCount);
    });
    after(async () => {
      await ledger.close();
      await bolSim.stop();
      await shopifySim.stop();
      await test.cleanup();
    });

    for (const channel of ['bol', 'shop']) {
      it(`${channel}: a full pass on the bulk path finds out-of-band drift; a push made meanwhile is not starved`, async () => {
        const drifted = [skus[7]!, skus[150]!, skus[299]!];
        for (const sku of drifted) edit(channel, sku, 9);
        const { wrapped, counts, auditStarted } = watched(connectors.get(channel)!);

        let passEndedAt = 0;
        const passing = reconcileChannel(
          { store, connector: wrapped, clock },
          { channel, mode: 'full', graceMs: 60_000 },
        ).then((summary) => {
          passEndedAt = performance.now();
          return summary;
        });
        // A sale while the audit runs: its push goes out and is acknowledged before the audit ends.
        await auditStarted;
        // Each channel's test sells its own sku (the other channel's sale is pending there too).
        const sold = channel === 'bol' ? skus[42]! : skus[43]!;
        await sell(sold);
        assert.ok((await push(channel, () => shows(channel, sold) === 4)) >= 1);
        const pushedAt = performance.now();

        const summary = await passing;
        assert.ok(pushedAt < passEndedAt, `the push (${pushedAt}) waited for the audit (${passEndedAt})`);
        assert.equal(counts.bulkReads, 1);
        assert.equal(counts.readLevels, 0, 'no listing was read one by one');
        assert.equal(summary.read, listingCount, summaryLine(summary));
        assert.deepEqual([summary.readErrors, summary.unknown], [0, 0], summaryLine(summary));
        assert.deepEqual(
          summary.repairs.map((repair) => [repair.sku, repair.direction, repair.shown, repair.desired]).sort(),
          drifted.map((sku) => [sku, 'more', 9, 5]),
          summaryLine(summary),
        );
        assert.ok((await push(channel, () => drifted.every((sku) => shows(channel, sku) === 5))) >= drifted.length);
        const again = await reconcileChannel({ store, connector: wrapped, clock }, { channel, mode: 'full' });
        assert.deepEqual([again.driftMore, again.driftLess, again.repairs.length], [0, 0, 0], summaryLine(again));
      });
    }

    it('stayed inside both platforms’ rate limits; one bulk operation per Shopify audit', () => {
      assert.equal(bolSim.stats().rateLimitViolations, 0);
      assert.equal(bolSim.stats().retryAfterViolations, 0);
      assert.equal(shopifySim.stats.rateLimitViolations, 0);
      assert.equal(shopifySim.bulkOperationsStarted, 2);
      assert.equal(shopifySim.stats.bulkResultDownloads, 2);
    });
  });
}
