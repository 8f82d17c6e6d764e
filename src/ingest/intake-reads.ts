import DataLoader from 'dataloader';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { CataloguePort, LedgerPort } from '../store/ledger-store.js';
import type { OrderLinePort, OrderLineRecord } from '../store/order-lines-port.js';

/**
 * The reads the order-line intake makes before it submits a line's moves, shared by the lines
 * of every delivery that arrives together: 32 webhooks answered at once read their lines in one
 * query and their variants' levels in another, instead of one round trip each per line (on
 * PostgreSQL the round trips, not the CPU, bounded the intake: docs in bench/README.md, "Order
 * webhooks over HTTP").
 *
 * A read is gathered until the event loop's next check phase (setImmediate), so the requests
 * whose bytes were read in the same poll phase share it; a single request waits one loop turn.
 * Nothing is cached across reads: each line and level is read at the moment it is asked for or
 * later, never earlier, so what the intake computes from it is as fresh as the one-by-one read
 * was (the line's row version and the ledger's own locks judge it as before).
 */
export interface IntakeReads {
  line(channel: string, lineKey: string): Promise<OrderLineRecord | null>;
  /** Available units per location of a plain variant; null for a bundle or an unknown sku. */
  available(sku: string): Promise<Map<string, number> | null>;
  /**
   * The kind of every location. A read already on its way is shared (location kinds change by
   * an operator's edit, not between two deliveries a millisecond apart).
   */
  locationKinds(): Promise<Map<string, string>>;
}

/** The positions of a gathered batch's keys, per channel (one statement per channel). */
export function byChannel(keys: readonly { channel: string }[]): Map<string, number[]> {
  const positions = new Map<string, number[]>();
  keys.forEach(({ channel }, index) => {
    const list = positions.get(channel) ?? [];
    list.push(index);
    positions.set(channel, list);
  });
  return positions;
}

/** DataLoader's schedule for the intake's gathered reads: the event loop's next check phase. */
export const nextCheckPhase = (callback: () => void) => {
  setImmediate(callback);
};

export function intakeReads(
  store: {
    orders: Pick<OrderLinePort, 'getLines'>;
    ledger: Pick<LedgerPort, 'availableByLocation'>;
    catalogue: Pick<CataloguePort, 'listLocations'>;
  },
  clock: Clock,
): IntakeReads {
  const lines = new DataLoader<{ channel: string; lineKey: string }, OrderLineRecord | null, string>(
    async (keys) => {
      const found = new Map<string, Map<string, OrderLineRecord>>();
      await Promise.all(
        [...byChannel(keys)].map(async ([channel, indexes]) => {
          found.set(
            channel,
            await store.orders.getLines(
              channel,
              indexes.map((index) => keys[index]!.lineKey),
            ),
          );
        }),
      );
      return keys.map(({ channel, lineKey }) => found.get(channel)?.get(lineKey) ?? null);
    },
    { cache: false, batchScheduleFn: nextCheckPhase, maxBatchSize: limits.intakeReadBatchMax },
  );
  const levels = new DataLoader<string, Map<string, number> | null>(
    async (skus) => {
      const found = await store.ledger.availableByLocation(skus, clock.now());
      return skus.map((sku) => found.get(sku) ?? null);
    },
    { cache: false, batchScheduleFn: nextCheckPhase, maxBatchSize: limits.intakeReadBatchMax },
  );
  let kinds: Promise<Map<string, string>> | undefined;
  return {
    line: (channel, lineKey) => lines.load({ channel, lineKey }),
    available: (sku) => levels.load(sku),
    locationKinds() {
      if (kinds === undefined) {
        const read = store.catalogue
          .listLocations()
          .then((locations) => new Map(locations.map((location) => [location.code, location.kind])));
        kinds = read;
        const forget = () => {
          if (kinds === read) kinds = undefined;
        };
        read.then(forget, forget);
      }
      return kinds;
    },
  };
}
