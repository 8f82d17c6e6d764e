/**
 * The connectors' bulk paths (readAllLevels) against their simulators, edge by edge: Shopify's
 * bulk operation refuses a second run while one is going (an audit follows its own running
 * operation instead), skips items not stocked at the
 * connection's location, needs a location, and reads an empty shop as no levels; Bol.com's
 * offers list pages by cursor up to its 100-a-page bound and reads correctedStock. A full
 * reconcile pass whose bulk read fails reports every listing as a read error and repairs none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../../sim/shopify/shopify-simulator.js';
import { BolConnector } from '../../../src/connectors/bol/bol-connector.js';
import type { BulkLevel, ChannelConnector } from '../../../src/connectors/channel-connector.js';
import { ShopifyConnector } from '../../../src/connectors/shopify/shopify-connector.js';
import { collectBulkLevels, readBackChunks } from '../../../src/reconcile/read-back.js';

async function all(levels: AsyncIterable<BulkLevel[]>): Promise<BulkLevel[][]> {
  const pages: BulkLevel[][] = [];
  for await (const page of levels) pages.push(page);
  return pages;
}

describe('Shopify: the bulk operation audit', () => {
  const sim = new ShopifySimulator({ bulkOperation: { baseMs: 200 } });
  let connector: ShopifyConnector;
  before(async () => {
    const url = await sim.start();
    connector = new ShopifyConnector({
      shopDomain: sim.shopDomain,
      baseUrl: url,
      accessToken: sim.accessToken,
      locationId: sim.defaultLocationId,
      bulkPollIntervalMs: 50,
    });
  });
  after(() => sim.stop());

  it('an empty shop reads as no levels', async () => {
    assert.deepEqual(await all(connector.readAllLevels()), []);
  });

  it("reads every item stocked at the connection's location, and skips the others", async () => {
    const elsewhere = sim.addLocation('Elsewhere');
    const here = sim.addItem({ sku: 'HERE', levels: { [sim.defaultLocationId]: 7 } }).inventoryItemId;
    sim.addItem({ sku: 'THERE', levels: { [elsewhere]: 3 } });
    const pages = await all(connector.readAllLevels());
    assert.deepEqual(pages, [[{ externalId: here, externalLocationId: sim.defaultLocationId, quantity: 7 }]]);
    assert.equal(connector.itemKey(here), here.split('/').pop());
  });

  it('a second audit while one runs follows it; another bulk query running is a refusal', async () => {
    const first = all(connector.readAllLevels());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await all(connector.readAllLevels());
    assert.deepEqual(second, await first);
    assert.equal(sim.bulkOperationsStarted, 3, 'the second audit started no operation of its own');

    const elsewhere = new ShopifyConnector({
      shopDomain: sim.shopDomain,
      baseUrl: sim.url,
      accessToken: sim.accessToken,
      locationId: sim.locationIds[1]!,
      bulkPollIntervalMs: 50,
    });
    const running = all(connector.readAllLevels());
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(all(elsewhere.readAllLevels()), /already in progress/);
    await running;
    assert.equal(sim.stats.rateLimitViolations, 0);
  });

  it('a connection without a location cannot audit', async () => {
    const without = new ShopifyConnector({
      shopDomain: sim.shopDomain,
      baseUrl: sim.url,
      accessToken: sim.accessToken,
    });
    await assert.rejects(all(without.readAllLevels()), /locationId/);
  });
});

describe('Bol.com: the offers list audit', () => {
  const sim = new BolSimulator();
  let connector: BolConnector;
  before(async () => {
    const url = await sim.start();
    connector = new BolConnector({
      account: 'sim',
      baseUrl: url,
      tokenUrl: sim.tokenUrl,
      clientId: 'onhand-sim',
      clientSecret: 'onhand-sim-secret',
    });
  });
  after(() => sim.stop());

  it('pages of 100 by cursor, correctedStock per offer', async () => {
    const offers = Array.from({ length: 250 }, (_, index) => sim.seedOffer({ amount: index % 10 }));
    sim.createOrder({ items: [{ offerId: offers[5]!, quantity: 2 }] });
    const pages = await all(connector.readAllLevels());
    assert.deepEqual(
      pages.map((page) => page.length),
      [100, 100, 50],
    );
    const levels = new Map(pages.flat().map((level) => [level.externalId, level]));
    assert.equal(levels.size, 250);
    assert.deepEqual(levels.get(offers[4]!), { externalId: offers[4], externalLocationId: null, quantity: 4 });
    assert.equal(levels.get(offers[5]!)!.quantity, sim.offerState(offers[5]!).correctedStock);
    assert.equal(sim.stats().requestsByRule['offers-list'], 3);
  });

  it('the simulator refuses a page larger than 100 and an unknown cursor', async () => {
    const answer = await fetch(`${sim.tokenUrl}?grant_type=client_credentials`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('onhand-sim:onhand-sim-secret').toString('base64')}` },
    });
    const token = (await answer.json()) as { access_token: string };
    const get = (query: string) =>
      fetch(`${sim.url}/retailer/offers?${query}`, {
        headers: { authorization: `Bearer ${token.access_token}`, accept: 'application/vnd.retailer.v11+json' },
      });
    assert.equal((await get('page-size=101')).status, 400);
    assert.equal((await get('page-size=10&cursor=bm9wZQ')).status, 400);
    assert.equal((await get('page-size=100')).status, 200);
  });
});

describe('a failed bulk read', () => {
  it('is a read error on every listing; nothing is read one by one', async () => {
    let perListing = 0;
    const failing: ChannelConnector = {
      platform: 'test',
      maxBatchSize: 10,
      pushLevels: async () => [],
      readLevels: async (items) => {
        perListing += items.length;
        return items.map((item) => ({ listingId: item.listingId, quantity: 1 }));
      },
      rateLimit: () => ({ available: 1, capacity: 1, waitMs: 0 }),
      async *readAllLevels() {
        yield [{ externalId: 'a', externalLocationId: null, quantity: 1 }];
        throw new Error('result download answered 500');
      },
    };
    const bulk = await collectBulkLevels(failing);
    assert.deepEqual(bulk, { error: 'result download answered 500' });
    const store = {
      listListings: async ({ afterId }: { afterId?: string | undefined }) =>
        afterId === undefined
          ? [
              {
                id: 'l1',
                channel: 'c',
                sku: 'A',
                externalId: 'a',
                externalLocationId: null,
                externalRefs: {},
                rank: 0,
                matchedBy: 'sku' as const,
                createdAt: 0,
                updatedAt: 0,
              },
            ]
          : [],
      getAvailability: async () => null,
    };
    const chunks = [];
    for await (const chunk of readBackChunks(store, failing, 'c', { bulk })) chunks.push(chunk);
    assert.deepEqual(
      chunks.flat().map((listing) => [listing.listingId, listing.shown, listing.readError]),
      [['l1', null, 'result download answered 500']],
    );
    assert.equal(perListing, 0);
  });
});
