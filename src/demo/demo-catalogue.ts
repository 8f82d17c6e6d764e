import type { Clock } from '../core/clock.js';
import type { LedgerCommand } from '../core/ledger/command.js';
import type { ChannelInput } from '../store/availability-store.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore, LocationInput, VariantInput } from '../store/ledger-store.js';
import { payloadHash } from '../ingest/payload-hash.js';
import { mulberry32 } from '../../sim/prng.js';

/**
 * The demo catalogue `onhand serve --demo` loads into an empty database: a small apparel
 * shop with ~200 variants in sizes and colours, three locations, a few bundles and open
 * purchase orders. Opening stock is booked as real receipts through the ledger, so the
 * demo's history is an ordinary audited history. Deterministic: the same every time.
 */

interface Product {
  code: string;
  name: string;
  group: string;
  colours: string[];
  sizes: string[];
}

const products: Product[] = [
  {
    code: 'TEE',
    name: 'Organic tee',
    group: 'tops',
    colours: ['RED', 'BLUE', 'BLACK', 'WHITE', 'GREEN'],
    sizes: ['XS', 'S', 'M', 'L', 'XL', 'XXL'],
  },
  {
    code: 'HOODIE',
    name: 'Heavy hoodie',
    group: 'tops',
    colours: ['GREY', 'NAVY', 'BLACK', 'SAND'],
    sizes: ['XS', 'S', 'M', 'L', 'XL', 'XXL'],
  },
  {
    code: 'SNEAKER',
    name: 'Canvas sneaker',
    group: 'shoes',
    colours: ['WHITE', 'BLACK', 'RED'],
    sizes: ['38', '39', '40', '41', '42', '43', '44', '45', '46'],
  },
  {
    code: 'JEANS',
    name: 'Straight jeans',
    group: 'bottoms',
    colours: ['INDIGO', 'BLACK', 'STONE'],
    sizes: ['28', '30', '32', '34', '36', '38'],
  },
  {
    code: 'JACKET',
    name: 'Rain jacket',
    group: 'outerwear',
    colours: ['YELLOW', 'NAVY', 'OLIVE', 'BLACK'],
    sizes: ['S', 'M', 'L', 'XL'],
  },
  {
    code: 'SOCKS',
    name: 'Rib socks',
    group: 'accessories',
    colours: ['WHITE', 'BLACK', 'GREY', 'RED', 'GREEN'],
    sizes: ['36-40', '41-46'],
  },
  {
    code: 'CAP',
    name: 'Six-panel cap',
    group: 'accessories',
    colours: ['BLACK', 'NAVY', 'SAND', 'RED', 'GREEN', 'WHITE'],
    sizes: ['ONE'],
  },
  {
    code: 'SCARF',
    name: 'Wool scarf',
    group: 'accessories',
    colours: ['GREY', 'CAMEL', 'NAVY', 'RED'],
    sizes: ['ONE'],
  },
  {
    code: 'BEANIE',
    name: 'Knit beanie',
    group: 'accessories',
    colours: ['BLACK', 'GREY', 'ORANGE', 'NAVY', 'GREEN'],
    sizes: ['ONE'],
  },
  {
    code: 'POLO',
    name: 'Pique polo',
    group: 'tops',
    colours: ['WHITE', 'NAVY', 'GREEN'],
    sizes: ['S', 'M', 'L', 'XL'],
  },
  {
    code: 'SHORTS',
    name: 'Chino shorts',
    group: 'bottoms',
    colours: ['SAND', 'NAVY', 'OLIVE'],
    sizes: ['28', '30', '32', '34', '36'],
  },
  { code: 'TOTE', name: 'Canvas tote', group: 'accessories', colours: ['NATURAL', 'BLACK'], sizes: ['ONE'] },
  {
    code: 'BELT',
    name: 'Leather belt',
    group: 'accessories',
    colours: ['BROWN', 'BLACK'],
    sizes: ['85', '90', '95', '100', '105'],
  },
  { code: 'GLOVES', name: 'Wool gloves', group: 'accessories', colours: ['GREY', 'BLACK'], sizes: ['S', 'M', 'L'] },
  {
    code: 'LONGSLEEVE',
    name: 'Longsleeve tee',
    group: 'tops',
    colours: ['ECRU', 'NAVY', 'BLACK'],
    sizes: ['S', 'M', 'L', 'XL', 'XXL'],
  },
];

export const demoLocations: LocationInput[] = [
  { code: 'WH-AMS', name: 'Amsterdam warehouse', kind: 'warehouse' },
  { code: 'WH-RTM', name: 'Rotterdam 3PL', kind: '3pl' },
  { code: 'STORE-UTR', name: 'Utrecht store', kind: 'store' },
];

export function demoVariants(): VariantInput[] {
  const variants: VariantInput[] = [];
  let gtin = 8_712_345_000_000;
  for (const product of products) {
    for (const colour of product.colours) {
      for (const size of product.sizes) {
        gtin += 1;
        variants.push({
          sku: size === 'ONE' ? `${product.code}-${colour}` : `${product.code}-${colour}-${size}`,
          name: `${product.name}, ${colour.toLowerCase()}${size === 'ONE' ? '' : `, ${size}`}`,
          barcode: String(gtin),
          productGroup: product.group,
          attributes: size === 'ONE' ? { colour: colour.toLowerCase() } : { colour: colour.toLowerCase(), size },
        });
      }
    }
  }
  variants.push(
    {
      sku: 'BUNDLE-TEE-3PACK-BLACK-M',
      name: 'Tee 3-pack, black, M',
      productGroup: 'bundles',
      components: [{ sku: 'TEE-BLACK-M', quantity: 3 }],
    },
    {
      sku: 'BUNDLE-TEE-3PACK-WHITE-L',
      name: 'Tee 3-pack, white, L',
      productGroup: 'bundles',
      components: [{ sku: 'TEE-WHITE-L', quantity: 3 }],
    },
    {
      sku: 'BUNDLE-WINTER-SET-GREY',
      name: 'Winter set: scarf, beanie and gloves, grey',
      productGroup: 'bundles',
      components: [
        { sku: 'SCARF-GREY', quantity: 1 },
        { sku: 'BEANIE-GREY', quantity: 1 },
        { sku: 'GLOVES-GREY-M', quantity: 1 },
      ],
    },
    {
      sku: 'BUNDLE-SOCKS-5PACK',
      name: 'Socks 5-pack, 41-46',
      productGroup: 'bundles',
      components: [
        { sku: 'SOCKS-WHITE-41-46', quantity: 2 },
        { sku: 'SOCKS-BLACK-41-46', quantity: 2 },
        { sku: 'SOCKS-GREY-41-46', quantity: 1 },
      ],
    },
  );
  return variants;
}

/**
 * The demo's WooCommerce catalogue: every colour of a plain variant is a variable product with
 * its sizes as variations (`<product id>/<variation id>`), every bundle a simple product. Ids are
 * the same in every run.
 */
export function demoWooItems(
  variants: readonly VariantInput[],
): { externalId: string; sku: string; productId: number; variationId: number | null }[] {
  const parents = new Map<string, number>();
  return variants.map((variant, index) => {
    if (variant.components)
      return { externalId: String(7000 + index), sku: variant.sku, productId: 7000 + index, variationId: null };
    const family = variant.sku.split('-').slice(0, -1).join('-');
    if (!parents.has(family)) parents.set(family, 5000 + parents.size);
    const productId = parents.get(family)!;
    const variationId = 6000 + index;
    return { externalId: `${productId}/${variationId}`, sku: variant.sku, productId, variationId };
  });
}

export interface DemoReport {
  variants: number;
  bundles: number;
  locations: number;
  receipts: number;
  purchaseOrders: number;
  channels: number;
  listings: number;
  ruleSetVersion: number;
}

/** Load the demo into an empty database. Returns null (and does nothing) when variants exist. */
export async function loadDemo(store: LedgerStore, ledger: GroupCommitter, clock: Clock): Promise<DemoReport | null> {
  if ((await store.catalogue.listVariants({ limit: 1 })).length > 0) return null;
  const now = clock.now();
  const variants = demoVariants();
  await store.catalogue.upsertLocations(demoLocations, now);
  await store.catalogue.upsertVariants(variants, now);
  const random = mulberry32(20_261_123);
  const plain = variants.filter((variant) => !variant.components);
  const receipts: LedgerCommand[] = [];
  for (const variant of plain) {
    for (const location of demoLocations) {
      // Stores carry less; some variants are out of stock at some locations on purpose.
      const ceiling = location.kind === 'store' ? 6 : 40;
      const quantity = Math.floor(random() * (ceiling + 1)) - (random() < 0.12 ? ceiling : 0);
      if (quantity <= 0) continue;
      // The store's stock comes from a cycle count (POS on-hand plus a fresh count), which
      // makes it eligible for pickup under the shop's rule; warehouses receive it.
      if (location.kind === 'store') {
        const payload = {
          type: 'count',
          sku: variant.sku,
          location: location.code,
          on_hand: quantity,
          key: `demo-count-${variant.sku}-${location.code}`,
        };
        receipts.push({
          type: 'count',
          key: payload.key,
          sku: variant.sku,
          location: location.code,
          onHand: quantity,
          payloadHash: payloadHash(payload),
          source: { system: 'demo', reference: 'cycle-count' },
        });
      } else {
        const payload = {
          type: 'receipt',
          sku: variant.sku,
          location: location.code,
          quantity,
          key: `demo-opening-${variant.sku}-${location.code}`,
        };
        receipts.push({
          ...payload,
          type: 'receipt',
          payloadHash: payloadHash(payload),
          source: { system: 'demo', reference: 'opening-stock' },
        });
      }
    }
  }
  for (let start = 0; start < receipts.length; start += 500) {
    await ledger.submit(receipts.slice(start, start + 500));
  }
  const day = 86_400_000;
  const orders = [
    {
      id: 'PO-DEMO-1001',
      supplier: 'Fair Cotton Ltd',
      days: 3,
      skus: plain.filter((v) => v.sku.startsWith('TEE-')).slice(0, 12),
    },
    {
      id: 'PO-DEMO-1002',
      supplier: 'Canvas & Co',
      days: 10,
      skus: plain.filter((v) => v.sku.startsWith('SNEAKER-')).slice(0, 9),
    },
    {
      id: 'PO-DEMO-1003',
      supplier: 'Nordic Knits',
      days: 21,
      skus: plain.filter((v) => /^(SCARF|BEANIE|GLOVES)-/.test(v.sku)),
    },
  ];
  for (const order of orders) {
    await store.catalogue.upsertPurchaseOrder(
      {
        id: order.id,
        supplier: order.supplier,
        status: 'open',
        lines: order.skus.map((variant, index) => ({
          line: index + 1,
          sku: variant.sku,
          location: 'WH-AMS',
          quantity: 10 + Math.floor(random() * 40),
          expectedAt: now + order.days * day,
        })),
      },
      now,
    );
  }
  // Four sales channels and a Google feed, every variant listed on each, and a first rule set.
  const channels: ChannelInput[] = [
    {
      code: 'shop',
      name: 'Own Shopify shop',
      platform: 'shopify',
      locations: ['WH-AMS', 'STORE-UTR', 'WH-RTM'],
      pushLatencyP95Ms: 800,
    },
    { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH-AMS', 'WH-RTM'], pushLatencyP95Ms: 3000 },
    // Feed only: availability for Shopping ads and free listings (demo-google.ts runs its simulator).
    { code: 'google', name: 'Google Merchant Center', platform: 'gmc', locations: ['WH-AMS', 'WH-RTM'] },
    // Merchant-fulfilled Amazon offers, shipped from the warehouses (no FBA stock in the demo).
    { code: 'amazon', name: 'Amazon', platform: 'amazon', locations: ['WH-AMS', 'WH-RTM'], pushLatencyP95Ms: 5000 },
    {
      code: 'woo',
      name: 'WooCommerce shop',
      platform: 'woocommerce',
      locations: ['WH-AMS', 'WH-RTM'],
      pushLatencyP95Ms: 2000,
    },
  ];
  await store.availability.upsertChannels(channels, now);
  let listings = 0;
  listings += (
    await store.availability.upsertListings(
      variants.map((variant) => ({ channel: 'google', externalId: variant.sku, sku: variant.sku, rank: 3 })),
      now,
    )
  ).created;
  for (const channel of ['shop', 'bol', 'amazon']) {
    const items = variants.map((variant, index) => ({
      channel,
      // Bol.com offer ids are UUIDs; deterministic ones keep the demo the same everywhere.
      // Amazon listings are keyed by seller SKU: the demo uses onhand's.
      externalId:
        channel === 'shop'
          ? `gid://shopify/InventoryItem/${1000 + index}`
          : channel === 'bol'
            ? `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`
            : variant.sku,
      sku: variant.sku,
      rank: channel === 'shop' ? 1 : channel === 'bol' ? 2 : 3,
    }));
    listings += (await store.availability.upsertListings(items, now)).created;
  }
  listings += (
    await store.availability.upsertListings(
      demoWooItems(variants).map((item) => ({ channel: 'woo', externalId: item.externalId, sku: item.sku, rank: 3 })),
      now,
    )
  ).created;
  const rules = await store.availability.createRuleSet(
    {
      author: 'demo',
      note: 'demo rules: a unit of safety everywhere, Bol.com capped and kept off the store, pre-order on the own shop and Google',
      rules: {
        defaults: { buffer: { units: 1, dynamic: { safety_factor: 1.5, ceiling: 5 } } },
        channels: {
          bol: { cap: 20, buffer: { zero_at_or_below: 2 } },
          shop: { pickup: { count_max_age_hours: 72 }, preorder: { within_days: 14 } },
          google: { preorder: { within_days: 14 } },
        },
        low_stock: { threshold: 2, listings_max: 1 },
      },
    },
    now,
  );
  await store.availability.activateRuleSet(rules.version, { author: 'demo' }, now);
  return {
    variants: variants.length,
    bundles: variants.length - plain.length,
    locations: demoLocations.length,
    receipts: receipts.length,
    purchaseOrders: orders.length,
    channels: channels.length,
    listings,
    ruleSetVersion: rules.version,
  };
}
