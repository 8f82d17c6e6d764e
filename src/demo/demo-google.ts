import { generateKeyPairSync } from 'node:crypto';
import { GoogleSimulator } from '../../sim/google/google-simulator.js';
import type { Clock } from '../core/clock.js';
import type { LedgerStore } from '../store/ledger-store.js';

/**
 * The demo's `google` channel (platform gmc, feed only): a simulated Google Merchant Center on
 * loopback with a service account of its own (an RSA key made for the run: the simulator knows
 * only its public half), one product per listing of the channel, each showing what onhand last
 * computed for it. The connector settings are rewritten to point at it, with per-minute budgets
 * the simulator grants, so the demo's catalogue of ~200 products is pushed at once.
 * A channel connected to something other than a loopback simulator (a real account) is left alone.
 */
export interface DemoGoogle {
  simulator: GoogleSimulator;
  products: number;
  url: string;
  stop(): Promise<void>;
}

const contentLanguage = 'nl';
const feedLabel = 'NL';
const perMinute = 6_000;

function isLoopback(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

export async function startDemoGoogle(store: LedgerStore, clock: Clock): Promise<DemoGoogle | null> {
  const channel = await store.availability.getChannel('google');
  if (channel?.platform !== 'gmc') return null;
  const connector = channel.settings.connector as Record<string, unknown> | undefined;
  if (connector !== undefined && !isLoopback(connector?.base_url)) return null;
  const products: { offerId: string; availability: string }[] = [];
  const shown = new Map<string, number>();
  for (let after: string | undefined; ; ) {
    const page = await store.availability.listListings({ channel: 'google', afterId: after, limit: 500 });
    if (page.length === 0) break;
    for (const listing of page) {
      if (!shown.has(listing.externalId)) {
        for (const quantity of (await store.availability.getAvailability(listing.sku)) ?? [])
          if (quantity.channel === 'google') shown.set(quantity.externalId, quantity.quantity);
      }
      products.push({
        offerId: listing.externalId,
        availability: (shown.get(listing.externalId) ?? 0) > 0 ? 'IN_STOCK' : 'OUT_OF_STOCK',
      });
    }
    after = page[page.length - 1]!.id;
  }
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const clientEmail = 'onhand-demo@onhand-demo.iam.gserviceaccount.com';
  const simulator = new GoogleSimulator({
    serviceAccounts: [{ clientEmail, publicKey: keys.publicKey }],
    perMinute: { insert: perMinute, get: perMinute, list: perMinute },
    now: () => clock.now(),
  });
  const url = await simulator.start();
  simulator.seedProducts(products, { contentLanguage, feedLabel });
  await store.availability.upsertChannels(
    [
      {
        code: channel.code,
        name: channel.name,
        platform: channel.platform,
        locations: channel.locations,
        pushLatencyP95Ms: channel.pushLatencyP95Ms,
        settings: {
          ...channel.settings,
          connector: {
            merchant_id: simulator.account,
            data_source: [...simulator.dataSources][0]!,
            client_email: clientEmail,
            private_key: keys.privateKey,
            content_language: contentLanguage,
            feed_label: feedLabel,
            insert_per_minute: perMinute,
            get_per_minute: perMinute,
            list_per_minute: perMinute,
            base_url: url,
            token_url: simulator.tokenUrl,
          },
        },
      },
    ],
    clock.now(),
  );
  return { simulator, products: products.length, url, stop: () => simulator.stop() };
}
