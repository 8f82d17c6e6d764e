/**
 * Read-back (src/reconcile/read-back.ts) on every store, against both simulators: per listing,
 * the stored desired quantity next to what the channel shows, read in bounded chunks; an item
 * the channel does not know shows null; a chunk whose read fails is reported on its listings
 * and the other chunks are still read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import type { ChannelConnector } from '../../src/connectors/channel-connector.js';
import { ShopifyConnector } from '../../src/connectors/shopify/shopify-connector.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { limits } from '../../src/core/limits.js';
import { readBack, readBackChunks } from '../../src/reconcile/read-back.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../support/stores.js';

/** The connector, recording the size of every readLevels call and failing the calls named. */
function recording(connector: ChannelConnector, failCalls: readonly number[] = []) {
  const sizes: number[] = [];
  const wrapped: ChannelConnector = {
    platform: connector.platform,
    maxBatchSize: connector.maxBatchSize,
    pushLevels: (items, signal) => connector.pushLevels(items, signal),
    rateLimit: () => connector.rateLimit(),
    readLevels: async (items, signal) => {
      sizes.push(items.length);
      if (failCalls.includes(sizes.length)) throw new Error('channel unreachable');
      return connector.readLevels(items, signal);
    },
  };
  return { wrapped, sizes };
}

const skus = ['A', 'B', 'C', 'D', 'E'];

for (const factory of STORES) {
  describe(`${factory.name}: read-back against the simulators`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    const bolSim = new BolSimulator();
    const shopifySim = new ShopifySimulator();
    let bol: BolConnector;
    let shopify: ShopifyConnector;
    const offers = new Map<string, string>();
    const items = new Map<string, string>();
    let key = 0;
    const clock = { now: () => Date.now() };

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      const bolUrl = await bolSim.start();
      const shopifyUrl = await shopifySim.start();
      bol = new BolConnector({
        account: 'sim',
        baseUrl: bolUrl,
        tokenUrl: bolSim.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
      });
      shopify = new ShopifyConnector({
        shopDomain: shopifySim.shopDomain,
        baseUrl: shopifyUrl,
        accessToken: shopifySim.accessToken,
        locationId: shopifySim.defaultLocationId,
      });
      // What the channels show: sku index + 1 on Bol.com, 10 x that on Shopify; onhand wants 4 of each.
      skus.forEach((sku, index) => {
        offers.set(sku, bolSim.seedOffer({ amount: index + 1 }));
        items.set(
          sku,
          shopifySim.addItem({ sku, levels: { [shopifySim.defaultLocationId]: 10 * (index + 1) } }).inventoryItemId,
        );
      });
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
          // An offer Bol.com has never heard of (a valid UUID): shown null.
          { channel: 'bol', externalId: '00000000-0000-4000-8000-000000000000', sku: 'A' },
          ...skus.map((sku) => ({ channel: 'shop', externalId: items.get(sku)!, sku })),
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
              quantity: 4,
            }) as LedgerCommand,
        ),
      );
    });
    after(async () => {
      await ledger.close();
      await bolSim.stop();
      await shopifySim.stop();
      await test.cleanup();
    });

    it('Bol.com: desired against shown per listing, in chunks of at most the chunk size', async () => {
      const { wrapped, sizes } = recording(bol);
      const result = await readBack(store.availability, wrapped, 'bol', { chunkSize: 4 });
      assert.deepEqual(sizes, [4, 2]);
      assert.deepEqual(
        result.map((each) => [each.sku, each.desired, each.shown, each.readError]),
        [
          ['A', 4, 1, null],
          ['B', 4, 2, null],
          ['C', 4, 3, null],
          ['D', 4, 4, null],
          ['E', 4, 5, null],
          ['A', 4, null, null],
        ],
      );
      assert.ok(result.every((each) => each.externalId.length > 0 && each.externalLocationId === null));
      assert.equal(new Set(result.map((each) => each.listingId)).size, 6);
    });

    it("Shopify: desired against shown per listing, at the connection's location", async () => {
      const { wrapped, sizes } = recording(shopify);
      const result = await readBack(store.availability, wrapped, 'shop', { chunkSize: 2 });
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.deepEqual(
        result.map((each) => [each.sku, each.externalId, each.desired, each.shown]),
        skus.map((sku, index) => [sku, items.get(sku), 4, 10 * (index + 1)]),
      );
    });

    it('a failed chunk is reported on its listings; the next chunk is still read', async () => {
      const { wrapped, sizes } = recording(shopify, [1]);
      const chunks: { sku: string; shown: number | null; readError: string | null }[][] = [];
      for await (const chunk of readBackChunks(store.availability, wrapped, 'shop', { chunkSize: 3 }))
        chunks.push(chunk);
      assert.deepEqual(sizes, [3, 2]);
      assert.deepEqual(
        chunks.map((chunk) => chunk.map((each) => [each.sku, each.shown, each.readError])),
        [
          [
            ['A', null, 'channel unreachable'],
            ['B', null, 'channel unreachable'],
            ['C', null, 'channel unreachable'],
          ],
          [
            ['D', 40, null],
            ['E', 50, null],
          ],
        ],
      );
    });

    it('the chunk size is bounded by limits.readBackChunkMax, and a channel without listings reads nothing', async () => {
      const { wrapped, sizes } = recording(bol);
      assert.equal(
        (await readBack(store.availability, wrapped, 'bol', { chunkSize: 10 * limits.readBackChunkMax })).length,
        6,
      );
      assert.deepEqual(sizes, [6]);
      const none = recording(bol);
      assert.deepEqual(await readBack(store.availability, none.wrapped, 'no-such-channel'), []);
      assert.deepEqual(none.sizes, []);
    });
  });
}
