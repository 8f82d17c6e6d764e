import type { MarketplaceStockLevel } from '../channel-intake.js';
import type { AmazonClient, InventorySummary } from './amazon-client.js';
import { amazonLimits } from './amazon-limits.js';
import { parseAmazonTime } from './amazon-order-events.js';

/**
 * FBA inventory in (docs/channels/amazon.md, FBA inventory): getInventorySummaries for the
 * channel's seller SKUs, 50 a call, granularityType Marketplace in the first marketplace,
 * following NextToken, at most `inventoryCallsPerReadMax` calls a read, each inside the
 * operation's bucket (2 per second, burst 2).
 *
 * A summary's units that are the merchant's and not yet shipped are `fulfillableQuantity` plus
 * `reservedQuantity.pendingCustomerOrderQuantity`: Amazon moves an ordered unit from fulfillable
 * to pending, and onhand books the same order as a reservation at the marketplace location, so
 * counting fulfillable alone would take the unit off twice. A summary without details is skipped.
 */
export interface FbaInventoryRead {
  levels: MarketplaceStockLevel[];
  calls: number;
  error?: string;
}

export function fbaLevel(summary: InventorySummary, now: number): MarketplaceStockLevel | null {
  const details = summary.inventoryDetails;
  if (summary.sellerSku === undefined || details?.fulfillableQuantity === undefined) return null;
  const pending = details.reservedQuantity?.pendingCustomerOrderQuantity ?? 0;
  const onHand = details.fulfillableQuantity + pending;
  if (!Number.isInteger(onHand) || onHand < 0) return null;
  return {
    externalId: summary.sellerSku,
    onHand,
    updatedAt: summary.lastUpdatedTime === undefined ? now : parseAmazonTime(summary.lastUpdatedTime, now),
  };
}

export async function readFbaInventory(
  client: AmazonClient,
  query: { marketplaceId: string; sellerSkus: readonly string[]; now: () => number },
  signal?: AbortSignal,
): Promise<FbaInventoryRead> {
  const wanted = new Set(query.sellerSkus);
  const result: FbaInventoryRead = { levels: [], calls: 0 };
  const skus = [...wanted];
  for (let start = 0; start < skus.length; start += amazonLimits.inventorySkusPerCallMax) {
    const chunk = skus.slice(start, start + amazonLimits.inventorySkusPerCallMax);
    let nextToken: string | null = null;
    do {
      if (result.calls >= amazonLimits.inventoryCallsPerReadMax) {
        result.error = `FBA inventory read stopped after ${result.calls} calls (${start} of ${skus.length} SKUs read)`;
        return result;
      }
      result.calls++;
      const answer = await client.getInventorySummaries(
        { marketplaceId: query.marketplaceId, sellerSkus: chunk, nextToken },
        signal,
      );
      if (answer.kind === 'failed') {
        result.error = answer.reason;
        return result;
      }
      for (const summary of answer.body.payload?.inventorySummaries ?? []) {
        if (summary.sellerSku === undefined || !wanted.has(summary.sellerSku)) continue;
        const level = fbaLevel(summary, query.now());
        if (level !== null) result.levels.push(level);
      }
      nextToken = answer.body.pagination?.nextToken ?? null;
    } while (nextToken !== null);
  }
  return result;
}
