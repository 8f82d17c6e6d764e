/**
 * The WooCommerce simulator in its own process for bench:propagation. `limits`: a host of 10
 * requests per second and 4 PHP workers (a small managed host); `open`: none to speak of. IPC as
 * the Bol.com one: {seed: n, quantity?} -> item ids (variations, 25 per product, at `quantity`); {history: true} -> every
 * item's stock writes and the violations; {cpu: true} -> its CPU time and the requests it took.
 */
import { WooSimulator } from '../../sim/woocommerce/woo-simulator.js';

const realLimits = process.argv[2] === 'limits';
const sim = new WooSimulator({
  hostLimits: realLimits ? { requestsPerSecond: 10, concurrency: 4 } : { requestsPerSecond: 100_000, concurrency: 256 },
});
const url = await sim.start();
const seeded: string[] = [];
process.on('message', (message: { seed?: number; quantity?: number; history?: boolean; cpu?: boolean }) => {
  if (message.cpu) {
    process.send!({ cpu: process.cpuUsage(), calls: sim.stats().requests });
  } else if (message.seed !== undefined) {
    const items: string[] = [];
    for (let product = 0; items.length < message.seed; product += 1)
      items.push(
        ...sim.seedVariableProduct({
          sku: `P${product}`,
          variations: Array.from({ length: Math.min(25, message.seed - items.length) }, (_, index) => ({
            sku: `P${product}-${index}`,
            quantity: message.quantity ?? 0,
          })),
        }),
      );
    for (const id of items) seeded.push(id);
    process.send!({ offers: items });
  } else if (message.history) {
    const offers: Record<string, { at: number; amount: number }[]> = {};
    for (const id of seeded) offers[id] = [...sim.stockHistory(id)];
    process.send!(
      { offers, rateLimitViolations: sim.stats().rateLimitViolations },
      () => void sim.stop().then(() => process.exit(0)),
    );
  }
});
process.send!({ url, consumerKey: sim.consumerKey, consumerSecret: sim.consumerSecret });
