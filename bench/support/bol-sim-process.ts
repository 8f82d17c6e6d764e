/**
 * The Bol.com simulator in its own process for bench:propagation, so the simulated platform
 * does not share onhand's event loop (a real platform never does). IPC: {seed: n, quantity?} -> offer ids
 * (showing `quantity`, default 0);
 * {history: true} -> every offer's stock writes and the simulator's stats; {cpu: true} -> its CPU time.
 */
import { BolSimulator, bolSimulatorRateRules } from '../../sim/bol/bol-simulator.js';

const realLimits = process.argv[2] === 'limits';
// `open`: bol's rules at a capacity too large to matter, stated on every answer as bol states
// its own (x-ratelimit-limit), so a connector that adopts what bol states is not held to the
// published 50 per second.
const openRules = bolSimulatorRateRules.map((rule) => ({ ...rule, capacity: 1_000_000 }));
const sim = new BolSimulator(realLimits ? {} : { rateRules: openRules });
const url = await sim.start();
const seeded: string[] = [];
process.on('message', (message: { seed?: number; quantity?: number; history?: boolean; cpu?: boolean }) => {
  if (message.cpu) {
    process.send!({ cpu: process.cpuUsage() });
  } else if (message.seed !== undefined) {
    const offers = Array.from({ length: message.seed }, () => sim.seedOffer({ amount: message.quantity ?? 0 }));
    for (const id of offers) seeded.push(id);
    process.send!({ offers });
  } else if (message.history) {
    const offers: Record<string, { at: number; amount: number }[]> = {};
    for (const offerId of seeded) offers[offerId] = [...sim.offerState(offerId).stockHistory];
    process.send!(
      { offers, rateLimitViolations: sim.stats().rateLimitViolations },
      () => void sim.stop().then(() => process.exit(0)),
    );
  }
});
process.send!({ url, tokenUrl: sim.tokenUrl });
