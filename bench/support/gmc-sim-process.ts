/**
 * The Google Merchant Center simulator in its own process for bench:propagation. `limits`: a
 * real account's per-minute quotas as quotas.list would report them (`gmcBenchQuota`, the
 * connector is given the same); `open`: quotas too large to matter. IPC as the others: {seed: n}
 * -> offer ids (products of the primary catalogue); {history: true} -> every offer's inputs with
 * the quantity they carry (`onhand_quantity`) and the quota violations; {cpu: true} -> its CPU
 * time and the API calls it took (inserts, gets, lists; token requests not counted).
 */
import { generateKeyPairSync } from 'node:crypto';
import { GoogleSimulator } from '../../sim/google/google-simulator.js';
import { gmcFacts } from '../../src/connectors/gmc/gmc-limits.js';

/** Per-minute quotas of the bench account: inserts 600 a minute (10 a second on average). */
export const gmcBenchQuota = { insert: 600, get: 600, list: 60 } as const;

const realLimits = process.argv[2] === 'limits';
const clientEmail = 'onhand-bench@onhand-bench.iam.gserviceaccount.com';
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const perMinute = realLimits ? gmcBenchQuota : { insert: 1e9, get: 1e9, list: 1e9 };
const sim = new GoogleSimulator({ serviceAccounts: [{ clientEmail, publicKey: keys.publicKey }], perMinute });
const url = await sim.start();
const seeded: string[] = [];
const productId = (offerId: string) => `en~US~${offerId}`;
const calls = () => sim.calls.insert + sim.calls.get + sim.calls.list;
process.on('message', (message: { seed?: number; history?: boolean; cpu?: boolean }) => {
  if (message.cpu) {
    process.send!({ cpu: process.cpuUsage(), calls: calls() });
  } else if (message.seed !== undefined) {
    const offers = Array.from({ length: message.seed }, (_, index) => `GMC-${index}`);
    sim.seedProducts(offers.map((offerId) => ({ offerId })));
    for (const id of offers) seeded.push(id);
    process.send!({ offers });
  } else if (message.history) {
    console.error(`google simulator: ${JSON.stringify(sim.calls)}, ${sim.quota.violations} quota violations`);
    const offers: Record<string, { at: number; amount: number }[]> = {};
    for (const offerId of seeded)
      offers[offerId] = sim.inputHistory(productId(offerId)).map((input) => ({
        at: input.visibleAt,
        amount: Number(input.customAttributes.find((each) => each.name === gmcFacts.quantityAttribute)?.value ?? -1),
      }));
    process.send!(
      { offers, rateLimitViolations: sim.quota.violations },
      () => void sim.stop().then(() => process.exit(0)),
    );
  }
});
process.send!({
  url,
  tokenUrl: sim.tokenUrl,
  account: sim.account,
  clientEmail,
  privateKey: keys.privateKey,
  perMinute,
});
