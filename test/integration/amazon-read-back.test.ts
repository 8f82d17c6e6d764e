/**
 * Read-back (src/reconcile/read-back.ts) of an Amazon channel on every store, against the
 * Amazon simulator: 45 listings read in chunks of 250 listings, each chunk in searchListingsItems
 * calls of 20 SKUs (3 calls), inside the search bucket (5 per second, burst 5) with zero 429s;
 * a SKU Amazon does not list shows null; an edit in Seller Central is what is shown.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AmazonSimulator } from '../../sim/amazon/amazon-simulator.js';
import { AmazonConnector } from '../../src/connectors/amazon/amazon-connector.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { readBack } from '../../src/reconcile/read-back.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { STORES, type TestStore } from '../support/stores.js';

const clock = { now: () => Date.now() };
const skus = Array.from({ length: 44 }, (_, index) => `SKU-${String(index).padStart(2, '0')}`);

for (const factory of STORES) {
  describe(`${factory.name}: Amazon read-back`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let sim: AmazonSimulator;
    let connector: AmazonConnector;

    before(async () => {
      test = await factory.create();
      store = test.store;
      let key = 0;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      sim = new AmazonSimulator();
      const url = await sim.start();
      connector = new AmazonConnector({
        sellerId: sim.sellerId,
        marketplaceIds: [sim.marketplaceId],
        baseUrl: url,
        tokenUrl: sim.tokenUrl,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        refreshToken: sim.refreshToken,
      });
      // What Amazon shows: sku index + 1; onhand wants 4 of each.
      for (const [index, sku] of skus.entries()) sim.seedListing(sku, index + 1);
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants(
        skus.map((sku) => ({ sku, name: sku })),
        clock.now(),
      );
      await store.availability.upsertChannels(
        [{ code: 'amazon', name: 'Amazon', platform: 'amazon', locations: ['WH1'] }],
        clock.now(),
      );
      await store.availability.upsertListings(
        [
          ...skus.map((sku) => ({ channel: 'amazon', externalId: sku, sku })),
          // A seller SKU Amazon does not list: shown null.
          { channel: 'amazon', externalId: 'NOT-LISTED', sku: 'SKU-00' },
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
      await sim.stop();
      await test.cleanup();
    });

    it('reads 45 listings in 3 searches of up to 20 SKUs; unknown SKUs null; edits out of band shown', async () => {
      sim.editOutOfBand('SKU-07', 99);
      const result = await readBack(store.availability, connector, 'amazon');
      assert.equal(result.length, 45);
      assert.equal(sim.stats().requests.searchListingsItems, 3);
      const shown = new Map(result.map((each) => [each.externalId, each]));
      assert.equal(shown.get('SKU-03')?.shown, 4);
      assert.equal(shown.get('SKU-07')?.shown, 99);
      assert.equal(shown.get('NOT-LISTED')?.shown, null);
      assert.ok(result.every((each) => each.readError === null));
      assert.ok(result.filter((each) => each.externalId !== 'NOT-LISTED').every((each) => each.desired === 4));
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });
}
