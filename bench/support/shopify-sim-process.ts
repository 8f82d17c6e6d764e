/**
 * The Shopify simulator in its own process for bench:propagation (see bol-sim-process.ts).
 * argv[2] 'limits': the Standard plan's bucket (2,000 points, 100 restored per second); 'open':
 * a bucket so large it never throttles. IPC: {seed: n} -> inventory item ids
 * (`offers`) and their variants' gids (`variants`); {history: true} ->
 * every item's `available` writes and the simulator's stats; {cpu: true} -> its CPU time and
 * GraphQL requests so far.
 */
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';

const realLimits = process.argv[2] === 'limits';
const sim = new ShopifySimulator(
  realLimits ? { plan: 'standard' } : { plan: 1_000_000_000, maximumAvailable: 1_000_000_000 },
);
const url = await sim.start();
const seeded: string[] = [];
process.on('message', (message: { seed?: number; history?: boolean; cpu?: boolean }) => {
  if (message.cpu) {
    process.send!({ cpu: process.cpuUsage(), calls: sim.stats.graphqlRequests });
  } else if (message.seed !== undefined) {
    const items = Array.from({ length: message.seed }, (_, index) =>
      sim.addItem({ sku: `V${index}`, levels: { [sim.defaultLocationId]: 0 } }),
    );
    seeded.push(...items.map((item) => item.inventoryItemId));
    process.send!({
      offers: items.map((item) => item.inventoryItemId),
      variants: items.map((item) => item.variantId),
    });
  } else if (message.history) {
    const offers: Record<string, { at: number; amount: number }[]> = {};
    for (const id of seeded) offers[id] = [];
    for (const write of sim.writes)
      if (write.source === 'api') offers[write.inventoryItemId]?.push({ at: write.at, amount: write.after });
    process.send!(
      { offers, rateLimitViolations: sim.stats.rateLimitViolations },
      () => void sim.stop().then(() => process.exit(0)),
    );
  }
});
process.send!({ url, shopDomain: sim.shopDomain, accessToken: sim.accessToken, locationId: sim.defaultLocationId });
