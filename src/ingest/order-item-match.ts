import DataLoader from 'dataloader';
import type { OrderLineItem } from '../connectors/channel-intake.js';
import { limits } from '../core/limits.js';
import type { AvailabilityPort } from '../store/availability-store.js';
import { byChannel, nextCheckPhase } from './intake-reads.js';
import type { OrderItemMatcher } from './order-line-intake.js';

/**
 * Order lines are matched to variants as listings are: an explicit mapping of the item, the
 * channel's listing with that external id, a listing that carries the id among its references
 * (a Shopify listing is keyed by inventory item and carries its variant), then the sku, then a
 * barcode only one variant has (store.availability.findOrderItems).
 *
 * The lines asked for until the event loop's next check phase are matched together, one
 * statement per channel among them, as the intake's other reads are (intake-reads.ts): the
 * lines of one order and of the deliveries answered with it. Nothing is cached: a line is
 * matched against the listings and mappings as they are when its batch is read, never earlier.
 */
export function storeOrderItemMatcher(availability: Pick<AvailabilityPort, 'findOrderItems'>): OrderItemMatcher {
  const matches = new DataLoader<{ channel: string; item: OrderLineItem }, string | null, string>(
    async (keys) => {
      const answers = new Array<string | null>(keys.length).fill(null);
      await Promise.all(
        [...byChannel(keys)].map(async ([channel, indexes]) => {
          const found = await availability.findOrderItems(
            channel,
            indexes.map((index) => keys[index]!.item),
          );
          indexes.forEach((index, at) => {
            answers[index] = found[at]?.sku ?? null;
          });
        }),
      );
      return answers;
    },
    { cache: false, batchScheduleFn: nextCheckPhase, maxBatchSize: limits.intakeReadBatchMax },
  );
  return (channel, item) => matches.load({ channel, item });
}
