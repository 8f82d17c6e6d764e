/**
 * The connector contract (test/support/connector-contract.ts) over every connector and its
 * simulator. A new connector adds one target here; its own conformance file covers the rest.
 */
import { randomUUID } from 'node:crypto';
import { AmazonConnector } from '../../../src/connectors/amazon/amazon-connector.js';
import { BolConnector } from '../../../src/connectors/bol/bol-connector.js';
import { ShopifyConnector } from '../../../src/connectors/shopify/shopify-connector.js';
import { WooCommerceConnector } from '../../../src/connectors/woocommerce/woocommerce-connector.js';
import { AmazonSimulator } from '../../../sim/amazon/amazon-simulator.js';
import { BolSimulator } from '../../../sim/bol/bol-simulator.js';
import { GoogleSimulator } from '../../../sim/google/google-simulator.js';
import { ShopifySimulator } from '../../../sim/shopify/shopify-simulator.js';
import { WooSimulator } from '../../../sim/woocommerce/woo-simulator.js';
import { type ContractItemRef, connectorContract } from '../../support/connector-contract.js';
import { googleConnector, serviceAccount } from '../../support/google-harness.js';

connectorContract({
  name: 'shopify',
  async start() {
    // A mutation costs 10 points whatever its size: a 100-point bucket refilling at 1000 points/s
    // holds 10 calls, and the burst sends 200 single-item calls (2000 points) through it.
    const sim = new ShopifySimulator({ plan: 'plus', maximumAvailable: 100 });
    const url = await sim.start();
    const connector = new ShopifyConnector({
      shopDomain: sim.shopDomain,
      baseUrl: url,
      accessToken: sim.accessToken,
      apiVersion: '2026-04',
      locationId: sim.defaultLocationId,
      bucketWaitMsMax: 30_000,
    });
    let items = 0;
    return {
      connector,
      addItem: (quantity) => ({
        externalId: sim.addItem({ sku: `CONTRACT-${++items}`, levels: { [sim.defaultLocationId]: quantity } })
          .inventoryItemId,
        externalLocationId: null,
      }),
      unknownItem: () => ({ externalId: 'gid://shopify/InventoryItem/999999999', externalLocationId: null }),
      shown: (ref: ContractItemRef) => sim.available(ref.externalId),
      failNextWrite: () => sim.injectNext('server-error'),
      loseNextWriteAnswer: () => sim.injectNext('lost-response'),
      violations: () => sim.stats.rateLimitViolations,
      burstSize: 200,
      burstBatchSize: 1,
      stop: () => sim.stop(),
    };
  },
});

connectorContract({
  name: 'bol',
  async start() {
    const sim = new BolSimulator();
    const url = await sim.start();
    const connector = new BolConnector({
      account: 'contract',
      baseUrl: url,
      tokenUrl: sim.tokenUrl,
      clientId: 'onhand-sim',
      clientSecret: 'onhand-sim-secret',
    });
    return {
      connector,
      addItem: (quantity) => ({ externalId: sim.seedOffer({ amount: quantity }), externalLocationId: null }),
      unknownItem: () => ({ externalId: randomUUID(), externalLocationId: null }),
      shown: (ref: ContractItemRef) => sim.offerState(ref.externalId).amount,
      failNextWrite: () => sim.injectFaults({ serverErrorsNext: 1 }),
      loseNextWriteAnswer: () => sim.injectFaults({ loseResponsesNext: 1, loseResponsesMethod: 'PATCH' }),
      violations: () => sim.stats().rateLimitViolations + sim.stats().retryAfterViolations,
      // Three times bol's 50 PATCH/s window.
      burstSize: 150,
      stop: () => sim.stop(),
    };
  },
});

connectorContract({
  name: 'gmc',
  async start() {
    // Google's quotas are per minute: the simulator and the connector share a clock that runs 20x
    // faster than real time, so a burst twice the minute's budget drains in about 6 s. Not
    // faster: the connector keeps 1 s of margin against network delay, which the clock shrinks
    // to 50 ms of real time (at 60x, 17 ms: a loaded machine's delay exceeded it once).
    const startedAt = Date.now();
    const now = () => startedAt + (Date.now() - startedAt) * 20;
    const sim = new GoogleSimulator({ serviceAccounts: [serviceAccount], perMinute: { insert: 60 }, now });
    await sim.start();
    const connector = googleConnector(sim, { perMinute: { insert: 60 }, clock: { now } });
    let items = 0;
    // What the shopper sees is the availability; the quantity pushed rides along as an attribute.
    const shown = (ref: ContractItemRef): number | null => {
      const product = sim.product(`en~US~${ref.externalId}`);
      if (product === undefined) return null;
      const sent = product.customAttributes.find((attribute) => attribute.name === 'onhand_quantity');
      const quantity = sent === undefined ? 0 : Number(sent.value);
      const expected = quantity > 0 ? 'IN_STOCK' : 'OUT_OF_STOCK';
      return product.availability === expected ? quantity : Number.NaN;
    };
    return {
      connector,
      async addItem(quantity) {
        // The merchant's own feed made the product; a push set its quantity.
        const offerId = `CONTRACT-${++items}`;
        sim.seedProducts([{ offerId, availability: 'OUT_OF_STOCK' }]);
        if (quantity > 0) {
          const [outcome] = await connector.pushLevels([
            {
              listingId: `seed-${offerId}`,
              externalId: offerId,
              externalLocationId: null,
              quantity,
              expectedChannelQuantity: null,
              idempotencyKey: `seed-${offerId}`,
            },
          ]);
          if (outcome?.status !== 'ok') throw new Error(`seeding ${offerId}: ${JSON.stringify(outcome)}`);
        }
        return { externalId: offerId, externalLocationId: null };
      },
      unknownItem: () => ({ externalId: `NOT-IN-FEED-${++items}`, externalLocationId: null }),
      shown,
      failNextWrite: () => {
        sim.faults.failNext = 1;
      },
      loseNextWriteAnswer: () => {
        sim.faults.loseAnswersNext = 1;
      },
      violations: () => sim.stats.quotaViolations,
      burstSize: 120,
      burstBatchSize: connector.maxBatchSize,
      timeScale: 20,
      unknownPush: 'accepted',
      stop: () => sim.stop(),
    };
  },
});

connectorContract({
  name: 'amazon',
  async start() {
    // Amazon's published plans: patchListingsItem restores 5 requests/s with a burst of 5.
    const sim = new AmazonSimulator();
    const url = await sim.start();
    const connector = new AmazonConnector({
      sellerId: sim.sellerId,
      marketplaceIds: [sim.marketplaceId],
      baseUrl: url,
      tokenUrl: sim.tokenUrl,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      refreshToken: sim.refreshToken,
    });
    let items = 0;
    return {
      connector,
      addItem: (quantity) => ({
        externalId: sim.seedListing(`CONTRACT-${++items}`, quantity),
        externalLocationId: null,
      }),
      unknownItem: () => ({ externalId: `NOT-LISTED-${++items}`, externalLocationId: null }),
      shown: (ref: ContractItemRef) => sim.listing(ref.externalId)?.quantity ?? null,
      failNextWrite: () => {
        sim.faults.serverErrorsNext = 1;
      },
      loseNextWriteAnswer: () => {
        sim.faults.loseAnswersNext = 1;
      },
      violations: () => sim.stats().rateLimitViolations,
      // Six times the PATCH bucket, one SKU a call (the path a few changed SKUs take).
      burstSize: 30,
      burstBatchSize: 1,
      stop: () => sim.stop(),
    };
  },
});

connectorContract({
  name: 'woocommerce',
  async start() {
    // A small host: 10 requests a second, 4 in flight; the connector is set to what it allows.
    const sim = new WooSimulator({ hostLimits: { requestsPerSecond: 10, concurrency: 4 } });
    const url = await sim.start();
    const connector = new WooCommerceConnector({
      storeUrl: url,
      consumerKey: sim.consumerKey,
      consumerSecret: sim.consumerSecret,
      account: 'contract',
      requestsPerSecond: 10,
      concurrency: 4,
    });
    let items = 0;
    return {
      connector,
      addItem: (quantity) => ({
        externalId: sim.seedProduct({ sku: `CONTRACT-${++items}`, quantity }),
        externalLocationId: null,
      }),
      unknownItem: () => ({ externalId: String(900_000 + ++items), externalLocationId: null }),
      shown: (ref: ContractItemRef) => sim.stockOf(ref.externalId),
      failNextWrite: () => sim.setFaults({ next5xx: 1 }),
      loseNextWriteAnswer: () => sim.setFaults({ loseNextAnswers: 1 }),
      violations: () => sim.stats().rateLimitViolations,
      // Single-item calls, so the budget counts: 60 calls through a 10 per second host.
      burstSize: 60,
      burstBatchSize: 1,
      stop: () => sim.stop(),
    };
  },
});
