/**
 * The Google Merchant Center simulator and a connector pointed at it, for the Google connector's
 * conformance files: one service account key pair per test process, three seeded offers.
 */
import { generateKeyPairSync } from 'node:crypto';
import { GoogleSimulator, type GoogleSimulatorOptions } from '../../sim/google/google-simulator.js';
import type { PushItem, PushPreorder } from '../../src/connectors/channel-connector.js';
import { GmcConnector, type GmcConnectorConfig } from '../../src/connectors/gmc/gmc-connector.js';

export const clientEmail = 'onhand-feed@onhand-test.iam.gserviceaccount.com';
export const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
/** The simulator's service account, as a test registers it. */
export const serviceAccount = { clientEmail, publicKey: keys.publicKey };

/** A connector to the simulator's account and data source 7000001, en/US, no processing grace. */
export function googleConnector(sim: GoogleSimulator, config: Partial<GmcConnectorConfig> = {}): GmcConnector {
  return new GmcConnector({
    account: sim.account,
    dataSource: '7000001',
    clientEmail,
    privateKey: keys.privateKey,
    contentLanguage: 'en',
    feedLabel: 'US',
    baseUrl: sim.url,
    tokenUrl: sim.tokenUrl,
    processingGraceMs: 0,
    ...config,
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function withGoogle(
  options: { simulator?: Partial<GoogleSimulatorOptions>; connector?: Partial<GmcConnectorConfig>; offers?: string[] },
  body: (sim: GoogleSimulator, connector: GmcConnector) => Promise<void>,
): Promise<void> {
  const sim = new GoogleSimulator({
    serviceAccounts: [serviceAccount],
    ...options.simulator,
  });
  await sim.start();
  sim.seedProducts((options.offers ?? ['SKU-1', 'SKU-2', 'SKU-3']).map((offerId) => ({ offerId })));
  const connector = googleConnector(sim, options.connector);
  try {
    await body(sim, connector);
  } finally {
    await sim.stop();
  }
}

export function item(offerId: string, quantity: number, preorder?: PushPreorder): PushItem {
  return {
    listingId: `lst_${offerId}`,
    externalId: offerId,
    externalLocationId: null,
    quantity,
    expectedChannelQuantity: null,
    idempotencyKey: `${offerId}:${quantity}`,
    ...(preorder ? { preorder } : {}),
  };
}
