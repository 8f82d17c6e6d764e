import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import type { ChannelRecord } from '../store/availability-store.js';
import type { Clock } from '../core/clock.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore } from '../store/ledger-store.js';

/**
 * `onhand serve --demo`: a simulated Shopify shop and a simulated Bol.com account on loopback,
 * wired as the demo `shop` and `bol` channels' connectors (items and offers seeded for every
 * listing; Shopify's signed webhooks delivered to this server), and a trickle of simulated
 * orders on both, so a newcomer watches orders arrive and stock propagate without any account.
 * Plain `onhand serve` starts none of this.
 */
export interface DemoChannels {
  describe(): string;
  stop(): Promise<void>;
}

async function externalIds(store: LedgerStore, channel: string): Promise<{ externalId: string; sku: string }[]> {
  const out: { externalId: string; sku: string }[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.availability.listListings({ channel, afterId: after, limit: 500 });
    if (page.length === 0) return out;
    out.push(...page.map((listing) => ({ externalId: listing.externalId, sku: listing.sku })));
    after = page[page.length - 1]!.id;
  }
}

function withConnector(channel: ChannelRecord, connector: Record<string, unknown>) {
  return {
    code: channel.code,
    name: channel.name,
    platform: channel.platform,
    locations: channel.locations,
    pushLatencyP95Ms: channel.pushLatencyP95Ms,
    settings: { ...channel.settings, connector },
  };
}

export async function startDemoChannels(
  store: LedgerStore,
  _ledger: GroupCommitter,
  clock: Clock,
  serverUrl: string,
): Promise<DemoChannels | undefined> {
  const channel = await store.availability.getChannel('bol');
  const shopChannel = await store.availability.getChannel('shop');
  if (!channel || !shopChannel) return undefined;
  const sim = new BolSimulator();
  const url = await sim.start();
  const offerIds = (await externalIds(store, 'bol')).map(({ externalId }) =>
    sim.seedOffer({ offerId: externalId, amount: 0 }),
  );
  const shopify = new ShopifySimulator({ webhookUrl: `${serverUrl}/webhooks/shopify/${shopChannel.code}` });
  const shopifyUrl = await shopify.start();
  const items = (await externalIds(store, 'shop')).map(
    ({ externalId, sku }) => shopify.addItem({ sku, inventoryItemId: externalId }).inventoryItemId,
  );
  await store.availability.upsertChannels(
    [
      withConnector(channel, {
        client_id: 'onhand-sim',
        client_secret: 'onhand-sim-secret',
        base_url: url,
        token_url: sim.tokenUrl,
        account: 'demo',
        poll_interval_ms: 2000,
      }),
      withConnector(shopChannel, {
        shop_domain: shopify.shopDomain,
        access_token: shopify.accessToken,
        location_id: shopify.defaultLocationId,
        webhook_secret: 'simulator-app-secret',
        base_url: shopifyUrl,
      }),
    ],
    clock.now(),
  );
  // A shopper buys one unit of something Bol.com shows in stock, every ~3 s.
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  let turn = 0;
  const timer = setInterval(() => {
    turn += 1;
    if (turn % 2 === 0) {
      const inStock = offerIds.filter((offerId) => sim.offerState(offerId).amount > 0);
      const offerId = inStock[Math.floor(random() * inStock.length)];
      if (offerId !== undefined) sim.createOrder({ items: [{ offerId, quantity: 1 }] });
    } else {
      const inStock = items.filter((item) => (shopify.available(item) ?? 0) > 0);
      const item = inStock[Math.floor(random() * inStock.length)];
      if (item !== undefined) shopify.createOrder({ lines: [{ inventoryItemId: item, quantity: 1 }] });
    }
  }, 3000);
  timer.unref();
  return {
    describe: () =>
      `Shopify shop at ${shopifyUrl} (${items.length} items) and Bol.com account at ${url} (${offerIds.length} offers)`,
    stop: async () => {
      clearInterval(timer);
      await shopify.stop();
      await sim.stop();
    },
  };
}
