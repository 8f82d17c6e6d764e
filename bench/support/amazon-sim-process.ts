/**
 * The Amazon simulator in its own process for bench:propagation, so the simulated platform does
 * not share onhand's event loop. IPC: {seed: n, quantity?} -> seller SKUs (at `quantity`, default 0); {history: true} -> every SKU's
 * quantity writes and the simulator's stats; {cpu: true} -> its CPU time and API calls.
 * `limits`: Amazon's published usage plans; `open`: plans too large to matter.
 */
import { AmazonSimulator } from '../../sim/amazon/amazon-simulator.js';
import { amazonUsagePlans } from '../../src/connectors/amazon/amazon-limits.js';

const realLimits = process.argv[2] === 'limits';
const open = Object.fromEntries(Object.keys(amazonUsagePlans).map((name) => [name, { rate: 1e6, burst: 1e6 }]));
const sim = new AmazonSimulator(realLimits ? {} : { usagePlans: open });
sim.setNotifications(false);
const url = await sim.start();
const seeded: string[] = [];
const calls = () => Object.values(sim.stats().requests).reduce((sum, count) => sum + (count ?? 0), 0);
process.on('message', (message: { seed?: number; quantity?: number; history?: boolean; cpu?: boolean }) => {
  if (message.cpu) {
    process.send!({ cpu: process.cpuUsage(), calls: calls() });
  } else if (message.seed !== undefined) {
    const offers = Array.from({ length: message.seed }, (_, index) =>
      sim.seedListing(`AMZ-${index}`, message.quantity ?? 0),
    );
    for (const id of offers) seeded.push(id);
    process.send!({ offers });
  } else if (message.history) {
    console.error(`amazon simulator: ${JSON.stringify(sim.stats().requests)}, ${sim.stats().feedsCreated} feeds`);
    const offers: Record<string, { at: number; amount: number }[]> = {};
    for (const sku of seeded)
      offers[sku] = (sim.listing(sku)?.history ?? []).map((write) => ({ at: write.at, amount: write.quantity }));
    process.send!(
      { offers, rateLimitViolations: sim.stats().rateLimitViolations },
      () => void sim.stop().then(() => process.exit(0)),
    );
  }
});
process.send!({
  url,
  tokenUrl: sim.tokenUrl,
  sellerId: sim.sellerId,
  marketplaceId: sim.marketplaceId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  refreshToken: sim.refreshToken,
});
