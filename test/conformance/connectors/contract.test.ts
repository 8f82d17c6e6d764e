/**
 * The connector contract (test/support/connector-contract.ts) over every connector and its
 * simulator. A new connector adds one target here; its own conformance file covers the rest.
 */
import { randomUUID } from 'node:crypto';
import { BolConnector } from '../../../src/connectors/bol/bol-connector.js';
import { ShopifyConnector } from '../../../src/connectors/shopify/shopify-connector.js';
import { BolSimulator } from '../../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../../sim/shopify/shopify-simulator.js';
import { type ContractItemRef, connectorContract } from '../../support/connector-contract.js';

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
