import type { BolSimulator } from '../../sim/bol/bol-simulator.js';
import type { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import { BolConnector } from '../../src/connectors/bol/bol-connector.js';
import type { ChannelConnector } from '../../src/connectors/channel-connector.js';
import { ShopifyConnector, type ShopifyConnectorConfig } from '../../src/connectors/shopify/shopify-connector.js';

/**
 * Starts both simulators and returns the real connectors wired to them, as channels `bol` and
 * `shop`: what every reconcile test against the simulators begins with.
 */
export async function startSimConnectors(
  bolSim: BolSimulator,
  shopifySim: ShopifySimulator,
  shopify: Partial<ShopifyConnectorConfig> = {},
): Promise<Map<string, ChannelConnector>> {
  const bolUrl = await bolSim.start();
  const shopifyUrl = await shopifySim.start();
  return new Map<string, ChannelConnector>([
    [
      'bol',
      new BolConnector({
        account: 'sim',
        baseUrl: bolUrl,
        tokenUrl: bolSim.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
      }),
    ],
    [
      'shop',
      new ShopifyConnector({
        shopDomain: shopifySim.shopDomain,
        baseUrl: shopifyUrl,
        accessToken: shopifySim.accessToken,
        locationId: shopifySim.defaultLocationId,
        ...shopify,
      }),
    ],
  ]);
}
