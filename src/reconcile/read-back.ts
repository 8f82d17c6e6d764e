import { limits } from '../core/limits.js';
import type { ChannelConnector } from '../connectors/channel-connector.js';
import type { AvailabilityPort } from '../store/availability-store.js';

/** One listing: what onhand wants the channel to show against what the channel shows. */
export interface ListingReadBack {
  listingId: string;
  sku: string;
  externalId: string;
  externalLocationId: string | null;
  /** The stored desired quantity; null when none is computed yet. */
  desired: number | null;
  /** What the channel shows now; null when the channel does not know the item (or the read failed). */
  shown: number | null;
  /** Why the read of this listing's chunk failed; null when it was read. */
  readError: string | null;
}

export type ReadBackStore = Pick<AvailabilityPort, 'listListings' | 'getAvailability'>;

export interface ReadBackOptions {
  /** Listings per readLevels call, at most limits.readBackChunkMax. @default limits.readBackChunkMax */
  chunkSize?: number;
  signal?: AbortSignal;
  /**
   * Which listings to read, a page at a time in id order (a targeted reconcile pass's
   * selection). @default every listing of the channel (`store.listListings`)
   */
  select?: (
    afterId: string | undefined,
    limit: number,
  ) => Promise<{ id: string; sku: string; externalId: string; externalLocationId: string | null }[]>;
  /** Called before each chunk's readLevels (a reconcile pass waits there for the rate budget). */
  beforeRead?: () => Promise<void>;
  /**
   * What one bulk read showed (collectBulkLevels): the listings are judged against it and
   * readLevels is not called. A failed bulk read marks every listing with its error.
   */
  bulk?: BulkLevels | { error: string };
}

/** One bulk read's levels by the channel's item id: where, and the quantity shown. */
export type BulkLevels = Map<string, { externalLocationId: string | null; quantity: number }>;

/**
 * Every level the channel shows, through the connector's bulk path (readAllLevels), indexed by
 * item id. The platform's pages are read one at a time; what is kept is one small entry per
 * level (about 100 bytes), so a million listings stay near 100 MB. Items at other locations than
 * the connection's are kept by their first level only (a listing names one location). Returns
 * the error when the read fails.
 */
export async function collectBulkLevels(
  connector: ChannelConnector,
  signal?: AbortSignal,
): Promise<BulkLevels | { error: string }> {
  const levels: BulkLevels = new Map();
  if (!connector.readAllLevels) return { error: `${connector.platform} has no bulk read` };
  try {
    for await (const page of connector.readAllLevels(signal)) {
      for (const level of page) {
        const key = connector.itemKey?.(level.externalId) ?? level.externalId;
        if (!levels.has(key))
          levels.set(key, { externalLocationId: level.externalLocationId, quantity: level.quantity });
      }
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    return { error: (error instanceof Error ? error.message : String(error)).slice(0, limits.textLengthMax) };
  }
  return levels;
}

/**
 * Reads back what a channel shows for its listings, one chunk at a time: a page of the
 * channel's listings from the store (in id order), their stored desired quantities, then one
 * readLevels call for the page. Memory and the size of each platform call stay bounded by the
 * chunk, whatever the number of listings. A chunk whose read fails is yielded with `readError`
 * on each listing and the walk goes on: one bad page never hides the others.
 *
 * Cost per chunk: one listListings page, one getAvailability per distinct sku in the page, and
 * one readLevels call (which the connector splits to its platform's own limits).
 */
export async function* readBackChunks(
  store: ReadBackStore,
  connector: ChannelConnector,
  channel: string,
  options: ReadBackOptions = {},
): AsyncGenerator<ListingReadBack[]> {
  const chunkSize = Math.max(1, Math.min(options.chunkSize ?? limits.readBackChunkMax, limits.readBackChunkMax));
  let afterId: string | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const listings = options.select
      ? await options.select(afterId, chunkSize)
      : await store.listListings({ channel, afterId, limit: chunkSize });
    if (listings.length === 0) return;
    afterId = listings[listings.length - 1]!.id;

    const desired = new Map<string, number>();
    for (const sku of new Set(listings.map((listing) => listing.sku))) {
      for (const quantity of (await store.getAvailability(sku)) ?? [])
        desired.set(quantity.listingId, quantity.quantity);
    }

    const shown = new Map<string, number | null>();
    let readError: string | null = null;
    const bulk = options.bulk;
    if (bulk instanceof Map) {
      for (const listing of listings) {
        const level = bulk.get(connector.itemKey?.(listing.externalId) ?? listing.externalId);
        const here =
          level !== undefined &&
          (listing.externalLocationId === null ||
            level.externalLocationId === null ||
            sameItem(connector, level.externalLocationId, listing.externalLocationId));
        shown.set(listing.id, here ? level.quantity : null);
      }
    } else if (bulk !== undefined) readError = bulk.error;
    else
      try {
        await options.beforeRead?.();
        const levels = await connector.readLevels(
          listings.map((listing) => ({
            listingId: listing.id,
            externalId: listing.externalId,
            externalLocationId: listing.externalLocationId,
          })),
          options.signal,
        );
        for (const level of levels) shown.set(level.listingId, level.quantity);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        readError =
          error instanceof Error
            ? error.message.slice(0, limits.textLengthMax)
            : String(error).slice(0, limits.textLengthMax);
      }

    yield listings.map((listing) => ({
      listingId: listing.id,
      sku: listing.sku,
      externalId: listing.externalId,
      externalLocationId: listing.externalLocationId,
      desired: desired.get(listing.id) ?? null,
      shown: shown.get(listing.id) ?? null,
      readError,
    }));
    if (listings.length < chunkSize) return;
  }
}

/** Every listing of the channel, read back (readBackChunks collected). */
export async function readBack(
  store: ReadBackStore,
  connector: ChannelConnector,
  channel: string,
  options: ReadBackOptions = {},
): Promise<ListingReadBack[]> {
  const all: ListingReadBack[] = [];
  for await (const chunk of readBackChunks(store, connector, channel, options)) all.push(...chunk);
  return all;
}

/** The same id by the connector's reading of its forms (Shopify: numeric or gid). */
function sameItem(connector: ChannelConnector, one: string, other: string): boolean {
  return one === other || (connector.itemKey !== undefined && connector.itemKey(one) === connector.itemKey(other));
}
