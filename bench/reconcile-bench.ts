/**
 * bench:reconcile - judging drift for a large channel after its read-back: a full audit's bulk
 * levels (readAllLevels pages of 1,000, collected by collectBulkLevels), matched to the
 * channel's listings by readBackChunks in chunks of 250 (the real read-back code), each listing
 * judged by judgeDrift (the real core) against what was last acknowledged. The listings, their
 * desired quantities and their acknowledgements are held in memory (a fake store answering
 * listListings and getAvailability), so the figure is the diff itself, without database reads
 * or the recording of what the channel showed. 0.4% of the listings show something else than
 * acknowledged (0.2% more, 0.2% less); one in 1,000 is unknown to the channel.
 *
 * Usage: npm run bench:reconcile [-- --listings 1000000]
 * Prints one JSON line and a Markdown row: wall time (bulk index, diff), peak RSS, verdicts.
 */
import { parseArgs } from 'node:util';
import type { BulkLevel, ChannelConnector } from '../src/connectors/channel-connector.js';
import { judgeDrift } from '../src/core/drift.js';
import { collectBulkLevels, readBackChunks, type ReadBackStore } from '../src/reconcile/read-back.js';
import type { ListingQuantity, ListingRecord } from '../src/store/availability-store.js';

const { values } = parseArgs({ options: { listings: { type: 'string', default: '1000000' } } });
const count = Number(values.listings);
const id = (index: number) => `L${String(index).padStart(8, '0')}`;
const externalId = (index: number) => `gid://shopify/InventoryItem/${44_000_000_000_000 + index}`;
const desired = (index: number) => index % 50;
/** What the channel shows: the acknowledged (= desired) quantity, except for the drifted ones. */
const shown = (index: number) => (index % 500 === 7 ? desired(index) + 3 : index % 500 === 9 ? 0 : desired(index));

const store: ReadBackStore = {
  async listListings(options) {
    const start = options.afterId === undefined ? 0 : Number(options.afterId.slice(1)) + 1;
    const records: ListingRecord[] = [];
    for (let index = start; index < Math.min(count, start + options.limit); index += 1)
      records.push({
        id: id(index),
        channel: 'shop',
        sku: `V${index}`,
        externalId: String(44_000_000_000_000 + index),
        externalLocationId: null,
        externalRefs: {},
        rank: 0,
        matchedBy: 'sku',
        createdAt: 0,
        updatedAt: 0,
      });
    return records;
  },
  async getAvailability(sku) {
    const index = Number(sku.slice(1));
    const quantity: ListingQuantity = {
      listingId: id(index),
      channel: 'shop',
      sku,
      externalId: String(index),
      quantity: desired(index),
      preorder: null,
      ruleVersion: 1,
      computedAt: 0,
    };
    return [quantity];
  },
};

const connector: ChannelConnector = {
  platform: 'bench',
  maxBatchSize: 250,
  pushLevels: async () => [],
  readLevels: async () => {
    throw new Error('a full pass with a bulk path never reads per listing');
  },
  rateLimit: () => ({ available: 1, capacity: 1, waitMs: 0 }),
  async *readAllLevels() {
    for (let start = 0; start < count; start += 1_000) {
      const page: BulkLevel[] = [];
      for (let index = start; index < Math.min(count, start + 1_000); index += 1)
        if (index % 1_000 !== 3)
          page.push({
            externalId: externalId(index),
            externalLocationId: 'gid://shopify/Location/1',
            quantity: shown(index),
          });
      yield page;
    }
  },
  itemKey: (value) => /(\d+)$/.exec(value)?.[1] ?? value,
};

const startedAt = performance.now();
const bulk = await collectBulkLevels(connector);
if (!(bulk instanceof Map)) throw new Error(bulk.error);
const indexedAt = performance.now();
const verdicts = { consistent: 0, more: 0, less: 0, unknown: 0 };
for await (const chunk of readBackChunks(store, connector, 'shop', { bulk })) {
  for (const listing of chunk) {
    if (listing.shown === null) {
      verdicts.unknown += 1;
      continue;
    }
    const verdict = judgeDrift(
      {
        listingId: listing.listingId,
        desired: listing.desired ?? 0,
        acknowledged: listing.desired,
        acknowledgedAt: 0,
        pushPending: false,
        dead: false,
        shown: listing.shown,
        shownAt: 1,
        shownSince: 1,
        intakeCaughtUpAt: null,
      },
      60_000,
    );
    if (verdict.state === 'drift') verdicts[verdict.direction] += 1;
    else verdicts.consistent += 1;
  }
}
const finishedAt = performance.now();
const result = {
  bench: 'reconcile',
  listings: count,
  wallMs: Math.round(finishedAt - startedAt),
  bulkIndexMs: Math.round(indexedAt - startedAt),
  diffMs: Math.round(finishedAt - indexedAt),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  ...verdicts,
};
console.log(JSON.stringify(result));
console.log('| listings | wall s | bulk index s | diff s | peak RSS MiB | drift more / less | unknown |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
console.log(
  `| ${count.toLocaleString('en')} | ${(result.wallMs / 1000).toFixed(1)} | ${(result.bulkIndexMs / 1000).toFixed(1)} | ${(result.diffMs / 1000).toFixed(1)} | ${result.peakRssMiB} | ${verdicts.more} / ${verdicts.less} | ${verdicts.unknown} |`,
);
