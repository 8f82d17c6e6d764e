import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import type { Clock } from '../core/clock.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore } from '../store/ledger-store.js';

/**
 * `onhand serve --demo`: a simulated Bol.com account on loopback, wired as the demo `bol`
 * channel's connector (offers seeded for every listing), and a trickle of simulated orders, so
 * a newcomer watches orders arrive and stock propagate without any account. Plain
 * `onhand serve` starts none of this.
 */
export interface DemoChannels {
  describe(): string;
  stop(): Promise<void>;
}

export async function startDemoChannels(store: LedgerStore, _ledger: GroupCommitter, clock: Clock): Promise<DemoChannels | undefined> {
  const channel = await store.getChannel('bol');
  if (!channel) return undefined;
  const sim = new BolSimulator();
  const url = await sim.start();
  const offerIds: string[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.listListings({ channel: 'bol', afterId: after, limit: 500 });
    if (page.length === 0) break;
    for (const listing of page) offerIds.push(sim.seedOffer({ offerId: listing.externalId, amount: 0 }));
    after = page[page.length - 1]!.id;
  }
  await store.upsertChannels(
    [
      {
        code: channel.code,
        name: channel.name,
        platform: channel.platform,
        locations: channel.locations,
        pushLatencyP95Ms: channel.pushLatencyP95Ms,
        settings: {
          ...channel.settings,
          connector: { client_id: 'onhand-sim', client_secret: 'onhand-sim-secret', base_url: url, token_url: sim.tokenUrl, account: 'demo', poll_interval_ms: 2000 },
        },
      },
    ],
    clock.now(),
  );
  // A shopper buys one unit of something Bol.com shows in stock, every ~3 s.
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const timer = setInterval(() => {
    const inStock = offerIds.filter((offerId) => sim.offerState(offerId).amount > 0);
    const offerId = inStock[Math.floor(random() * inStock.length)];
    if (offerId !== undefined) sim.createOrder({ items: [{ offerId, quantity: 1 }] });
  }, 3000);
  timer.unref();
  return {
    describe: () => `Bol.com account at ${url} (${offerIds.length} offers)`,
    stop: async () => {
      clearInterval(timer);
      await sim.stop();
    },
  };
}
