import type { OrderIngestSummary } from '../ingest/order-ingest-report.js';
import { limits } from '../core/limits.js';
import type { DispatchResult } from '../store/outbox-port.js';

/**
 * The log lines of the background work, as data: main.ts hands them to the logger, tests read
 * them here. Each is `{ level, fields, message }`; the message alone reads as a sentence in a
 * terminal, the fields are what a log shipper indexes.
 *
 * - one line per channel order ingested (a redelivery that changed nothing: debug);
 * - one line per push batch;
 * - a failure the operator expects (a spent rate budget, a channel down, a platform's 4xx): one
 *   warn line with the reason, no stack; a programmer error keeps its stack, at error.
 */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** Listing ids named in a push line at most; above it the line carries the count only. */
export const logListingIdsMax = limits.logListingIdsMax;

export function orderLogEntry(channel: string, order: OrderIngestSummary): LogEntry {
  const lines = `${order.lines} ${order.lines === 1 ? 'line' : 'lines'}`;
  const why = order.reason === null ? '' : `: ${order.reason}`;
  return {
    level: order.outcome === 'unchanged' ? 'debug' : 'info',
    fields: {
      channel,
      order: order.orderId,
      lines: order.lines,
      outcome: order.outcome,
      changed: order.changed,
      blocked: order.blocked,
      invalid: order.invalid,
      ...(order.reason === null ? {} : { reason: order.reason }),
    },
    message: `order ${order.orderId} from ${channel}, ${lines}: ${order.outcome}${why}`,
  };
}

export function pushBatchLogEntry(channel: string, results: readonly DispatchResult[]): LogEntry {
  const outcomes: Record<string, number> = {};
  let reason: string | null = null;
  for (const result of results) {
    const outcome = result.status === 'retry' && result.dead ? 'dead' : result.status;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if ((result.status === 'retry' || result.status === 'permanent') && reason === null) reason = result.error;
  }
  const ids = results.map((result) => result.listingId);
  const summary = Object.entries(outcomes)
    .map(([outcome, count]) => `${count} ${outcome}`)
    .join(', ');
  return {
    level: 'info',
    fields: {
      channel,
      listings: results.length,
      ...(ids.length <= logListingIdsMax ? { listingIds: ids } : {}),
      outcomes,
      ...(reason === null ? {} : { reason }),
    },
    message: `pushed ${results.length} ${results.length === 1 ? 'listing' : 'listings'} to ${channel}: ${summary}${reason === null ? '' : ` (${reason})`}`,
  };
}

/** Errors that only a bug raises: these keep their stack. */
const programmerErrors = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'AssertionError']);

/**
 * A background failure. Connectors and the poll loops report a platform's answer (429, 4xx, 5xx,
 * a refused connection) as a plain error with a reason: the operator expects those, and a stack
 * trace would only bury the reason, so they are one warn line. An error only a bug raises
 * (TypeError, a failed assertion) is logged at error with its stack.
 */
export function failureLogEntry(what: string, fields: Record<string, unknown>, error: unknown): LogEntry {
  const name = error instanceof Error ? error.name : typeof error;
  const reason = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
  if (error instanceof Error && (programmerErrors.has(name) || (error as { code?: unknown }).code === 'ERR_ASSERTION'))
    return { level: 'error', fields: { ...fields, err: error }, message: `${what}: ${reason}` };
  return { level: 'warn', fields: { ...fields, reason }, message: `${what}: ${reason}` };
}
