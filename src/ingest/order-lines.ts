import { jsonFaults } from '../core/json-bounds.js';
import { limits } from '../core/limits.js';
import type { ChannelOrderLine } from '../connectors/channel-connector.js';
import type { CommandAnswer } from '../core/ledger/apply-commands.js';
import type { LedgerCommand } from '../core/ledger/command.js';
import type { GroupCommitter } from '../store/group-commit.js';
import type { ChannelRecord } from '../store/availability-store.js';
import type { OutboxPort } from '../store/outbox-port.js';
import { payloadHash } from './payload-hash.js';

/**
 * Channel order lines (from webhooks or polling) become ledger FACTS: an order the channel
 * accepted is recorded even when it drives available below zero (then it is an oversell).
 *
 * - The idempotency key is the line's business key (`<platform>:<account>:<order>:<line>:<kind>`),
 *   never a delivery or poll id: a redelivered webhook or a re-polled page maps to the same key
 *   and changes nothing.
 * - The payload hash covers what the event means (kind, sku, location, quantity, order), not
 *   when it was delivered.
 * - The variant comes from the channel's listing (by the item's external id), else the line's
 *   own sku; the location is the channel's first (preferred) location. A line that names no
 *   known item is reported, never dropped silently.
 */
export interface OrderIngestReport {
  applied: number;
  replayed: number;
  refused: { key: string; status: string; detail?: string | undefined }[];
  unmapped: { key: string; externalId: string; sku: string | null }[];
}

const typeOf = { order: 'order', cancellation: 'cancellation', return: 'return' } as const;

export async function ingestOrderLines(
  lines: readonly ChannelOrderLine[],
  channel: Pick<ChannelRecord, 'code' | 'platform' | 'locations'>,
  store: Pick<OutboxPort, 'listingByExternalId'>,
  ledger: GroupCommitter,
): Promise<OrderIngestReport> {
  const report: OrderIngestReport = { applied: 0, replayed: 0, refused: [], unmapped: [] };
  const location = channel.locations[0];
  const commands: LedgerCommand[] = [];
  for (const line of lines) {
    // Text no store may hold (core/json-bounds.ts) is refused here, whatever the platform sent.
    const fault = jsonFaults(line, { depthMax: limits.requestJsonDepthMax, faultsMax: 1 })[0];
    if (fault) {
      report.refused.push({ key: line.key, status: 'invalid', detail: `${fault.path} ${fault.message}` });
      continue;
    }
    const sku = (await store.listingByExternalId(channel.code, line.externalId))?.sku ?? line.sku;
    if (!sku || location === undefined) {
      report.unmapped.push({ key: line.key, externalId: line.externalId, sku: line.sku });
      continue;
    }
    const meaning = { kind: line.kind, sku, location, quantity: line.quantity, order: line.orderReference };
    commands.push({
      type: typeOf[line.kind],
      key: line.key,
      payloadHash: payloadHash(meaning),
      sku,
      location,
      quantity: line.quantity,
      occurredAt: line.occurredAt,
      source: { system: channel.platform, reference: line.orderReference },
    } as LedgerCommand);
  }
  const answers: CommandAnswer[] = commands.length > 0 ? await ledger.submit(commands) : [];
  for (const answer of answers) {
    if (answer.status === 'applied') report.applied += 1;
    else if (answer.status === 'exists') report.replayed += 1;
    else report.refused.push({ key: answer.key, status: answer.status, detail: answer.detail });
  }
  return report;
}
