import { AmazonSimulator } from '../../sim/amazon/amazon-simulator.js';
import { BolSimulator } from '../../sim/bol/bol-simulator.js';
import { mulberry32 } from '../../sim/prng.js';
import { ShopifySimulator } from '../../sim/shopify/shopify-simulator.js';
import { WooSimulator } from '../../sim/woocommerce/woo-simulator.js';
import { WooClient } from '../connectors/woocommerce/woocommerce-client.js';
import { WooRateLimiter } from '../connectors/woocommerce/woocommerce-limits.js';
import type { Clock, IdSource } from '../core/clock.js';
import type { ChannelRecord } from '../store/availability-store.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore } from '../store/ledger-store.js';
import { type DemoGoogle, startDemoGoogle } from './demo-google.js';
import { DemoOrderFlow, type DemoOrderCounts } from './demo-orders.js';

/**
 * `onhand serve --demo`: a simulated Shopify shop, a simulated Bol.com account and, when the
 * database has the demo's `amazon` and `woo` channels, a simulated Amazon seller account and a
 * simulated WooCommerce shop on loopback, wired as the demo channels' connectors, and a trickle of
 * simulated orders on all of them (demo-orders.ts), so a newcomer watches orders arrive and stock
 * propagate without any account. Plain `onhand serve` starts none of this. (A database loaded
 * before the demo had an Amazon or a WooCommerce channel runs without it.)
 *
 * - The shop has three locations, mapped to the demo's (`settings.orders.locationMap`): its main
 *   one (the connector's `location_id`) to WH-AMS, "Utrecht store" to STORE-UTR, "Rotterdam 3PL"
 *   to WH-RTM. Their ids are the same in every run.
 * - The simulators start showing what onhand last computed for each listing, as a real shop
 *   would still show it after onhand restarts, and hand out order ids from the start time in ms
 *   (`firstId`), so a run never reuses an earlier run's order ids on the same database.
 * - Each run's simulators get their own credentials (stored in the connector settings). A second
 *   demo process on the same database first asks the stored simulators, with those credentials
 *   and on loopback only, whether they still answer: if both do, it keeps the connector settings
 *   and starts no simulators and no trickle of its own (the first process runs them); if not
 *   (that process is gone), it starts its own and rewrites the settings.
 * - A channel connected to something other than a simulator on loopback (a real shop) is left
 *   alone: the demo then starts no simulators at all.
 */
export interface DemoChannels {
  /** One line for the start banner. */
  describe(): string;
  /** Whether this process runs the simulators (false: another process's are in use, or none). */
  readonly running: boolean;
  /** One shopper's action now (what the trickle does every `orderIntervalMs`); nothing when not running. */
  step(): Promise<void>;
  readonly counts: DemoOrderCounts | null;
  /** This process's simulators, for tests; null when not running. */
  readonly simulators: {
    shopify: ShopifySimulator;
    bol: BolSimulator;
    amazon: AmazonSimulator | null;
    woo: WooSimulator | null;
    google?: DemoGoogle['simulator'];
  } | null;
  stop(): Promise<void>;
}

export interface DemoChannelOptions {
  /** Source of each run's simulator credentials. */
  ids: IdSource;
  /** Time between two shopper actions; 0 = no timer (a test calls `step()`). @default 3000 */
  orderIntervalMs?: number;
  /** Seed of the shoppers' choices. @default the start time */
  seed?: number;
  /** How long a stored simulator may take to answer the probe. @default 1000 */
  probeTimeoutMs?: number;
  /** A shopper's action failed (the trickle carries on). */
  onError?: (error: unknown) => void;
}

const shopifyApiVersion = '2026-04';
const webhookSecret = 'simulator-app-secret';
const bolClientId = 'onhand-sim';
/**
 * The demo's Amazon account is granted more than Amazon's published plans (docs/channels/
 * amazon.md, Rate limits), as Amazon grants some sellers, so orders show within seconds and
 * pushes keep up with three channels' worth of orders: getOrders one a second (published: one
 * a minute), PATCH 20 a second (5), a feed report every 2 s (one per 45 s). The simulator says
 * so in x-amzn-RateLimit-Limit, which the connector adopts; the bursts stay Amazon's.
 */
const amazonDemoPlans = {
  getOrders: { rate: 1, burst: 20 },
  patchListingsItem: { rate: 20, burst: 5 },
  getFeedDocument: { rate: 0.5, burst: 10 },
};

const wooWebhookSecret = 'simulator-woo-webhook-secret';

async function listingsOf(store: LedgerStore, channel: string): Promise<{ externalId: string; sku: string }[]> {
  const out: { externalId: string; sku: string }[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.availability.listListings({ channel, afterId: after, limit: 500 });
    if (page.length === 0) return out;
    out.push(...page.map((listing) => ({ externalId: listing.externalId, sku: listing.sku })));
    after = page[page.length - 1]!.id;
  }
}

/** What onhand last computed for every listing of the demo channels, by channel and external id. */
async function storedQuantities(store: LedgerStore, skus: Iterable<string>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const sku of new Set(skus))
    for (const listing of (await store.availability.getAvailability(sku)) ?? [])
      out.set(`${listing.channel}\u0000${listing.externalId}`, Math.max(0, listing.quantity));
  return out;
}

function connectorOf(channel: ChannelRecord): Record<string, unknown> | null {
  const connector = channel.settings.connector;
  return connector !== null && typeof connector === 'object' ? (connector as Record<string, unknown>) : null;
}

function loopbackUrl(value: unknown): URL | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) ? url : null;
  } catch {
    return null;
  }
}

/** No connector, or one whose base URL is on loopback: the demo's to manage. */
function demoManaged(channel: ChannelRecord): boolean {
  const connector = connectorOf(channel);
  return connector === null || loopbackUrl(connector.base_url ?? connector.store_url) !== null;
}

async function answers(url: URL, init: RequestInit, timeoutMs: number): Promise<unknown> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) return null;
    return await response.json();
  } catch {
    return null;
  }
}

/** The stored Shopify simulator answers with the stored token and knows the channel's first item. */
async function shopifyAnswers(channel: ChannelRecord, itemId: string | undefined, timeoutMs: number) {
  const connector = connectorOf(channel);
  const base = loopbackUrl(connector?.base_url);
  if (base === null || itemId === undefined || typeof connector?.access_token !== 'string') return false;
  const body = (await answers(
    new URL(`/admin/api/${shopifyApiVersion}/graphql.json`, base),
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': connector.access_token },
      body: JSON.stringify({ query: 'query($id: ID!) { inventoryItem(id: $id) { id } }', variables: { id: itemId } }),
    },
    timeoutMs,
  )) as { data?: { inventoryItem?: { id?: unknown } | null } } | null;
  return body?.data?.inventoryItem?.id === itemId;
}

/** The stored Bol.com simulator issues a token for the stored client credentials. */
async function bolAnswers(channel: ChannelRecord, timeoutMs: number) {
  const connector = connectorOf(channel);
  const tokenUrl = loopbackUrl(connector?.token_url);
  if (tokenUrl === null || loopbackUrl(connector?.base_url) === null) return false;
  tokenUrl.searchParams.set('grant_type', 'client_credentials');
  const basic = Buffer.from(`${String(connector?.client_id)}:${String(connector?.client_secret)}`).toString('base64');
  const body = (await answers(
    tokenUrl,
    { method: 'POST', headers: { authorization: `Basic ${basic}`, accept: 'application/json' } },
    timeoutMs,
  )) as { access_token?: unknown } | null;
  return typeof body?.access_token === 'string';
}

/** The stored Amazon simulator issues an access token for the stored refresh token. */
async function amazonAnswers(channel: ChannelRecord, timeoutMs: number) {
  const connector = connectorOf(channel);
  const tokenUrl = loopbackUrl(connector?.token_url);
  if (tokenUrl === null || loopbackUrl(connector?.base_url) === null) return false;
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: String(connector?.refresh_token),
    client_id: String(connector?.client_id),
    client_secret: String(connector?.client_secret),
  });
  const body = (await answers(
    tokenUrl,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() },
    timeoutMs,
  )) as { access_token?: unknown } | null;
  return typeof body?.access_token === 'string';
}

/** The stored WooCommerce simulator answers a signed products read with the stored keys. */
async function wooAnswers(channel: ChannelRecord, timeoutMs: number, clock: Clock) {
  const connector = connectorOf(channel);
  const base = loopbackUrl(connector?.store_url);
  if (base === null || typeof connector?.consumer_key !== 'string' || typeof connector?.consumer_secret !== 'string')
    return false;
  const client = new WooClient({
    storeUrl: base.toString(),
    consumerKey: connector.consumer_key,
    consumerSecret: connector.consumer_secret,
    // The simulator's clock is the demo's: its OAuth timestamps are checked against it.
    limiter: new WooRateLimiter({ requestsPerSecond: 1, concurrency: 1 }, () => clock.now()),
    now: () => clock.now(),
    requestTimeoutMs: timeoutMs,
  });
  try {
    const answer = await client.call<unknown[]>({
      method: 'GET',
      path: '/products',
      query: { per_page: 1 },
      kind: 'read',
    });
    return answer.kind === 'ok' && Array.isArray(answer.body);
  } finally {
    client.close();
  }
}

/** A WooCommerce simulator serving the `woo` listings: `<product>/<variation>` as variable products, the rest simple. */
function seedWoo(
  woo: WooSimulator,
  listings: readonly { externalId: string; sku: string }[],
  shown: (id: string) => number,
) {
  const families = new Map<number, { sku: string; id: number; quantity: number }[]>();
  for (const { externalId, sku } of listings) {
    const [product, variation] = externalId.split('/').map(Number);
    if (!Number.isSafeInteger(product) || product! <= 0) continue;
    if (variation === undefined) woo.seedProduct({ id: product!, sku, quantity: shown(externalId) });
    else
      families.set(product!, [...(families.get(product!) ?? []), { sku, id: variation, quantity: shown(externalId) }]);
  }
  for (const [product, variations] of families)
    woo.seedVariableProduct({ id: product, sku: `FAMILY-${product}`, variations });
}

function idle(describe: string): DemoChannels {
  return {
    describe: () => describe,
    running: false,
    step: async () => undefined,
    counts: null,
    simulators: null,
    stop: async () => undefined,
  };
}

export async function startDemoChannels(
  store: LedgerStore,
  _ledger: GroupCommitter,
  clock: Clock,
  serverUrl: string,
  options: DemoChannelOptions,
): Promise<DemoChannels | undefined> {
  const bolChannel = await store.availability.getChannel('bol');
  const shopChannel = await store.availability.getChannel('shop');
  const amazonChannel = (await store.availability.getChannel('amazon')) ?? null;
  // A database loaded before the demo had a WooCommerce shop has no `woo` channel: none is started.
  const wooChannel = (await store.availability.getChannel('woo')) ?? null;
  if (!bolChannel || !shopChannel) return undefined;
  if (
    !demoManaged(bolChannel) ||
    !demoManaged(shopChannel) ||
    (amazonChannel && !demoManaged(amazonChannel)) ||
    (wooChannel && !demoManaged(wooChannel))
  )
    return idle('no simulators: a demo channel is connected to a real account');
  const shopListings = await listingsOf(store, 'shop');
  const bolListings = await listingsOf(store, 'bol');
  const amazonListings = amazonChannel ? await listingsOf(store, 'amazon') : [];
  const wooListings = wooChannel ? await listingsOf(store, 'woo') : [];
  const timeoutMs = options.probeTimeoutMs ?? 1000;
  const [shopAlive, bolAlive, amazonAlive, wooAlive] = await Promise.all([
    shopifyAnswers(shopChannel, shopListings[0]?.externalId, timeoutMs),
    bolAnswers(bolChannel, timeoutMs),
    amazonChannel ? amazonAnswers(amazonChannel, timeoutMs) : true,
    wooChannel ? wooAnswers(wooChannel, timeoutMs, clock) : Promise.resolve(true),
  ]);
  if (shopAlive && bolAlive && amazonAlive && wooAlive)
    return idle(
      `simulators of another onhand process on this database in use (Shopify shop at ${String(connectorOf(shopChannel)?.base_url)}, Bol.com account at ${String(connectorOf(bolChannel)?.base_url)}): that process runs the simulated orders`,
    );

  const startedAt = clock.now();
  const quantities = await storedQuantities(
    store,
    [...shopListings, ...bolListings, ...amazonListings, ...wooListings].map((listing) => listing.sku),
  );
  const bolSecret = options.ids.next('simsecret');
  const bol = new BolSimulator({
    clients: [{ clientId: bolClientId, clientSecret: bolSecret }],
    firstId: startedAt,
    now: () => clock.now(),
  });
  const bolUrl = await bol.start();
  const offers = bolListings.map(({ externalId }) =>
    bol.seedOffer({ offerId: externalId, amount: quantities.get(`bol\u0000${externalId}`) ?? 0 }),
  );
  let amazon: AmazonSimulator | null = null;
  let amazonUrl = '';
  if (amazonChannel) {
    amazon = new AmazonSimulator({
      sellerId: 'A2DEMOSELLER',
      clientSecret: options.ids.next('simsecret'),
      refreshToken: `Atzr|${options.ids.next('simrefresh')}`,
      usagePlans: amazonDemoPlans,
      firstId: startedAt,
      now: () => clock.now(),
    });
    amazonUrl = await amazon.start();
    amazon.setNotifications(false); // a real account is polled too (docs/channels/amazon.md, Notifications)
    for (const { externalId } of amazonListings)
      amazon.seedListing(externalId, quantities.get(`amazon\u0000${externalId}`) ?? 0);
  }
  const shopify = new ShopifySimulator({
    webhookUrl: `${serverUrl}/webhooks/shopify/${shopChannel.code}`,
    accessToken: options.ids.next('shpat'),
    appSecret: webhookSecret,
    locations: ['Utrecht store', 'Rotterdam 3PL'],
    firstId: startedAt,
    wallNow: () => clock.now(),
  });
  const [main, storeLocation, rtm] = shopify.locationIds as [string, string, string];
  const shopifyUrl = await shopify.start();
  const items = shopListings.map(({ externalId, sku }) => ({
    sku,
    inventoryItemId: shopify.addItem({
      sku,
      inventoryItemId: externalId,
      levels: { [main]: quantities.get(`shop\u0000${externalId}`) ?? 0, [storeLocation]: 0, [rtm]: 0 },
    }).inventoryItemId,
  }));
  let woo: WooSimulator | null = null;
  let wooUrl = '';
  if (wooChannel) {
    woo = new WooSimulator({
      consumerKey: `ck_${options.ids.next('sim')}`,
      consumerSecret: `cs_${options.ids.next('simsecret')}`,
      firstId: startedAt,
      now: () => clock.now(),
      hostLimits: { requestsPerSecond: 10, concurrency: 4 },
    });
    wooUrl = await woo.start();
    seedWoo(woo, wooListings, (externalId) => quantities.get(`woo\u0000${externalId}`) ?? 0);
  }
  const orders = shopChannel.settings.orders;
  await store.availability.upsertChannels(
    [
      {
        code: bolChannel.code,
        name: bolChannel.name,
        platform: bolChannel.platform,
        locations: bolChannel.locations,
        pushLatencyP95Ms: bolChannel.pushLatencyP95Ms,
        settings: {
          ...bolChannel.settings,
          connector: {
            client_id: bolClientId,
            client_secret: bolSecret,
            base_url: bolUrl,
            token_url: bol.tokenUrl,
            account: 'demo',
            poll_interval_ms: 2000,
          },
        },
      },
      ...(amazonChannel && amazon
        ? [
            {
              code: amazonChannel.code,
              name: amazonChannel.name,
              platform: amazonChannel.platform,
              locations: amazonChannel.locations,
              pushLatencyP95Ms: amazonChannel.pushLatencyP95Ms,
              settings: {
                ...amazonChannel.settings,
                connector: {
                  seller_id: amazon.sellerId,
                  marketplace_ids: [amazon.marketplaceId],
                  region: 'eu',
                  client_id: amazon.clientId,
                  client_secret: amazon.clientSecret,
                  refresh_token: amazon.refreshToken,
                  base_url: amazonUrl,
                  token_url: amazon.tokenUrl,
                  poll_interval_ms: 2000,
                },
              },
            },
          ]
        : []),
      {
        code: shopChannel.code,
        name: shopChannel.name,
        platform: shopChannel.platform,
        locations: shopChannel.locations,
        pushLatencyP95Ms: shopChannel.pushLatencyP95Ms,
        settings: {
          ...shopChannel.settings,
          connector: {
            shop_domain: shopify.shopDomain,
            access_token: shopify.accessToken,
            location_id: main,
            webhook_secret: webhookSecret,
            base_url: shopifyUrl,
          },
          orders: {
            ...(orders !== null && typeof orders === 'object' ? orders : {}),
            locationMap: { [main]: 'WH-AMS', [storeLocation]: 'STORE-UTR', [rtm]: 'WH-RTM' },
          },
        },
      },
      ...(wooChannel && woo
        ? [
            {
              code: wooChannel.code,
              name: wooChannel.name,
              platform: wooChannel.platform,
              locations: wooChannel.locations,
              pushLatencyP95Ms: wooChannel.pushLatencyP95Ms,
              settings: {
                ...wooChannel.settings,
                connector: {
                  store_url: wooUrl,
                  consumer_key: woo.consumerKey,
                  consumer_secret: woo.consumerSecret,
                  webhook_secret: wooWebhookSecret,
                  account: 'demo',
                  requests_per_second: 8,
                  concurrency: 3,
                  poll_interval_ms: 5000,
                },
              },
            },
          ]
        : []),
    ],
    clock.now(),
  );
  // Webhooks once the channel takes them: each is pinged when it is added.
  if (wooChannel && woo)
    for (const topic of ['order.created', 'order.updated', 'order.deleted', 'order.restored'])
      await woo.addWebhook({
        topic,
        deliveryUrl: `${serverUrl}/webhooks/woocommerce/${wooChannel.code}`,
        secret: wooWebhookSecret,
      });

  // The Google feed (demo-google.ts): its own simulator, started with the other two.
  const google = await startDemoGoogle(store, clock);

  const flow = new DemoOrderFlow({
    shopify,
    bol,
    amazon: amazon && {
      sim: amazon,
      skus: amazonListings.map((listing) => listing.externalId),
      random: mulberry32(((options.seed ?? startedAt % 2_147_483_647) + 1) % 2_147_483_647),
    },
    locations: { main, store: storeLocation, rtm },
    items,
    offers,
    ...(woo ? { woo: { simulator: woo, items: wooListings } } : {}),
    ledger: store.ledger,
    orderLines: (orderId) => store.orders.orderLines(shopChannel.code, orderId),
    clock,
    random: mulberry32(options.seed ?? startedAt % 2_147_483_647),
  });
  // One action at a time: a step that outlasts the interval delays the next.
  let running: Promise<void> = Promise.resolve();
  const step = () => {
    running = running.then(() => flow.step()).catch((error: unknown) => options.onError?.(error));
    return running;
  };
  const intervalMs = options.orderIntervalMs ?? 3000;
  const timer = intervalMs > 0 ? setInterval(() => void step(), intervalMs) : undefined;
  timer?.unref();
  return {
    describe: () =>
      `simulated Shopify shop at ${shopifyUrl} (${items.length} items, 3 locations), Bol.com account at ${bolUrl} (${offers.length} offers)${amazon ? `, Amazon seller account at ${amazonUrl} (${amazonListings.length} SKUs)` : ''}${woo ? `, WooCommerce shop at ${wooUrl} (${wooListings.length} items)` : ''}${google ? `, Google Merchant Center at ${google.url} (${google.products} products, feed only)` : ''}${intervalMs > 0 ? '; orders arrive every few seconds' : ''}`,
    running: true,
    step,
    counts: flow.counts,
    simulators: { shopify, bol, amazon, woo, ...(google ? { google: google.simulator } : {}) },
    stop: async () => {
      clearInterval(timer);
      await running;
      await shopify.stop();
      await bol.stop();
      await google?.stop();
      await amazon?.stop();
      await woo?.stop();
    },
  };
}
