import { CommanderError, type Command } from 'commander';
import type { EpochMs } from '../core/clock.js';
import { limits } from '../core/limits.js';
import { deadLetterView, syncStatusView } from '../api/sync-mapping.js';
import { redriveLimitMax } from '../api/sync-schemas.js';
import type { ChannelSyncStatus, DeadLetter } from '../store/outbox-port.js';
import { systemClock } from '../system-clock.js';
import { CliFailure, integer, say, withDatabase, withStore, type CliRuntime, type Flags } from './cli-support.js';

/**
 * `onhand status` and `onhand dead-letters [redrive]`: propagation as an operator sees it.
 * Exit codes: 0 done; 1 a named channel does not exist; 2 bad arguments (an unknown option, a
 * missing or out-of-range --limit), as for a bad configuration.
 */

/** A duration for people: `850ms`, `1.5s`, `12s`, `3m 20s`, `2h 5m`, `1d 3h`. */
export function humanizeMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${Number((Math.floor(ms / 100) / 10).toFixed(1))}s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours}h` : `${hours}h ${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d ${hours % 24}h`;
}

function latency(ms: number | null): string {
  return ms === null ? '-' : humanizeMs(ms);
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The sync status as a table, one line per channel connection; then each channel's last
 * reconcile pass. QUEUED are the changes due now or retried after a failure; GRACE those held
 * back on purpose by the drift grace (the channel shows less, perhaps a sale whose order is
 * still on its way): waiting there is no fault. LAST ERROR is the connection's most recent.
 */
export function statusTable(channels: readonly ChannelSyncStatus[], now: EpochMs): string {
  if (channels.length === 0) return 'no channels';
  const header = [
    'CHANNEL',
    'PLATFORM',
    'QUEUED',
    'GRACE',
    'OLDEST PENDING',
    'LAST SUCCESS',
    'FAILURES',
    'DEAD',
    'P50',
    'P95',
    'LEASE',
    'LAST ERROR',
  ];
  const rows = channels.map((status) => [
    status.channel,
    status.platform,
    String(status.queueDepth - status.waitingGrace),
    String(status.waitingGrace),
    status.oldestPendingAgeMs === null ? '-' : humanizeMs(status.oldestPendingAgeMs),
    status.lastSuccessAt === null ? 'never' : `${humanizeMs(Math.max(0, now - status.lastSuccessAt))} ago`,
    String(status.consecutiveFailures),
    String(status.deadLetters),
    latency(status.pushLatencyP50Ms),
    latency(status.pushLatencyP95Ms),
    status.leaseOwner ?? '-',
    status.lastError ?? '-',
  ]);
  const reconciled = channels.flatMap((status) => {
    const run = status.lastReconcile;
    if (run === null) return [];
    const parts = [
      `${status.channel}: last reconcile ${run.mode} ${humanizeMs(Math.max(0, now - run.finishedAt))} ago`,
      `${run.read} read`,
      `drift ${run.driftMore} more, ${run.driftLess} less${run.unconfirmed > 0 ? ` (${run.unconfirmed} waiting out the drift grace)` : ''}`,
      `${run.repairs} ${run.repairs === 1 ? 'repair' : 'repairs'}`,
      `${run.readErrors} ${run.readErrors === 1 ? 'error' : 'errors'}${run.firstReadError === null ? '' : ` (${run.firstReadError})`}`,
    ];
    return [parts.join(', ')];
  });
  return [table([header, ...rows]), ...reconciled].join('\n');
}

function deadLetterTable(letters: readonly DeadLetter[]): string {
  const header = ['LISTING', 'CHANNEL', 'SKU', 'EXTERNAL ID', 'QUANTITY', 'ATTEMPTS', 'SINCE', 'LAST ERROR'];
  const rows = letters.map((letter) => [
    letter.listingId,
    letter.channel,
    letter.sku,
    letter.externalId,
    String(letter.quantity),
    String(letter.attempts),
    letter.since === null ? '-' : new Date(letter.since).toISOString(),
    letter.lastError ?? '-',
  ]);
  return table([header, ...rows]);
}

/** A --limit within bounds, else exit 2 naming the bounds. */
function limitWithin(flags: Flags, max: number): number {
  const limit = Number(flags.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max)
    throw new CliFailure(`--limit must be between 1 and ${max}`, 2);
  return limit;
}

/** Argument errors of these commands exit 2 (commander's default is 1); help still exits 0. */
function usageErrorsExit2(command: Command): Command {
  return command.exitOverride((error: CommanderError) => {
    throw new CommanderError(error.exitCode === 0 ? 0 : 2, error.code, error.message);
  });
}

export function addSyncCommands(program: Command, runtime: CliRuntime): void {
  usageErrorsExit2(withDatabase(program.command('status')))
    .description(
      'sync status per channel: changes queued, changes held by the drift grace, oldest pending age, last success, failures, dead letters, push latency p50/p95, lease, last error; then the last reconcile pass',
    )
    .option('--json', 'print the status as JSON (the same as GET /v1/sync/status)')
    .action(async (flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const now = systemClock.now();
        const channels = await store.outbox.syncStatus(now);
        say(
          runtime,
          flags.json
            ? JSON.stringify({ channels: channels.map((status) => syncStatusView(status)) }, null, 2)
            : statusTable(channels, now),
        );
      }),
    );

  async function knownChannel(
    store: { getChannel(code: string): Promise<unknown> },
    flags: Flags,
  ): Promise<string | undefined> {
    if (flags.channel === undefined) return undefined;
    const channel = String(flags.channel);
    if (!(await store.getChannel(channel))) throw new CliFailure(`no channel ${channel}`, 1);
    return channel;
  }

  // The program's options are not positional, so commander gives the parent every option it
  // knows, wherever it stands: `dead-letters redrive --limit 5 --channel bol` sets the parent's
  // --limit and --channel. Redrive reads its options from both, its own first.
  const deadLetters = usageErrorsExit2(withDatabase(program.command('dead-letters')))
    .description(
      'list dead letters: listings a channel refused for good or after the last retry (`dead-letters redrive` sends them again)',
    )
    .option('--channel <code>', 'only this channel')
    .option('--limit <n>', `at most this many (1 to ${limits.pageSizeMax})`, integer('--limit'), limits.pageSizeDefault)
    .option('--json', 'print JSON (the same as GET /v1/dead-letters)')
    .action(async (flags: Flags) => {
      const limit = limitWithin(flags, limits.pageSizeMax);
      await withStore(runtime, flags, async (store) => {
        const channel = await knownChannel(store.availability, flags);
        const letters = await store.outbox.listDeadLetters({ channel, limit });
        if (flags.json) say(runtime, JSON.stringify({ items: letters.map(deadLetterView) }, null, 2));
        else say(runtime, letters.length === 0 ? 'no dead letters' : deadLetterTable(letters));
      });
    });

  withDatabase(deadLetters.command('redrive'))
    .description(
      'move dead letters back to pending (due now, attempts reset); the push loop sends their newest quantity',
    )
    .option('--limit <n>', `at most this many (1 to ${redriveLimitMax}); required`, integer('--limit'))
    .option('--channel <code>', 'only this channel')
    .action(async (own: Flags) => {
      const parent = deadLetters.opts();
      const given = (name: string) =>
        own[name] ?? (deadLetters.getOptionValueSource(name) === 'cli' ? parent[name] : undefined);
      const flags: Flags = {
        ...own,
        limit: given('limit'),
        channel: given('channel'),
        database: own.database ?? parent.database,
      };
      if (flags.limit === undefined)
        throw new CliFailure(`dead-letters redrive needs --limit <n> (1 to ${redriveLimitMax})`, 2);
      const limit = limitWithin(flags, redriveLimitMax);
      await withStore(runtime, flags, async (store) => {
        const channel = await knownChannel(store.availability, flags);
        const redriven = await store.outbox.redrive({ channel, limit }, systemClock.now());
        say(runtime, `redriven ${redriven} dead letter${redriven === 1 ? '' : 's'}${channel ? ` on ${channel}` : ''}`);
      });
    });
}
