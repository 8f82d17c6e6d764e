import type { Command } from 'commander';
import { limits } from '../core/limits.js';
import { orderLineView } from '../api/order-mapping.js';
import { storeOrderItemMatcher } from '../ingest/order-item-match.js';
import { OrderLineIntake } from '../ingest/order-line-intake.js';
import { GroupCommitter } from '../store/group-commit.js';
import type { OrderLineRecord } from '../store/order-lines-port.js';
import { randomIds, systemClock } from '../system-clock.js';
import { CliFailure, integer, say, withDatabase, withStore, type CliRuntime, type Flags } from './cli-support.js';

/**
 * `onhand inbox` lists the channel order lines that could not be applied yet, with the reason;
 * `onhand inbox retry` takes them up again now (one line, one channel, or all, bounded);
 * `--dismiss` with `--line` sets aside the line's events onhand did not understand. The
 * same views and the same intake as GET /v1/intake/inbox and POST /v1/intake/inbox/retry.
 * Exit codes: 0 done; 1 a named channel or line does not exist; 2 bad arguments.
 */
function inboxTable(lines: readonly OrderLineRecord[]): string {
  const rows = [
    ['CHANNEL', 'LINE', 'ITEM', 'SINCE', 'REASON'],
    ...lines.map((line) => [
      line.channel,
      line.lineKey,
      line.item.sku ?? line.item.externalId,
      new Date(line.updatedAt).toISOString(),
      line.reason ?? '-',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    )
    .join('\n');
}

export function addOrderCommands(program: Command, runtime: CliRuntime): void {
  const inbox = withDatabase(program.command('inbox'))
    .description('list channel order lines that could not be applied yet, with the reason (`inbox retry` tries again)')
    .option('--channel <code>', 'only this channel')
    .option('--limit <n>', `at most this many (1 to ${limits.pageSizeMax})`, integer('--limit'), limits.pageSizeDefault)
    .option('--json', 'print JSON (the same as GET /v1/intake/inbox)')
    .action(async (flags: Flags) => {
      const limit = Number(flags.limit);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > limits.pageSizeMax)
        throw new CliFailure(`--limit must be between 1 and ${limits.pageSizeMax}`, 2);
      await withStore(runtime, flags, async (store) => {
        const channel = flags.channel === undefined ? undefined : String(flags.channel);
        if (channel !== undefined && !(await store.availability.getChannel(channel)))
          throw new CliFailure(`no channel ${channel}`, 1);
        const page = await store.orders.inbox({ channel, limit });
        if (flags.json)
          say(runtime, JSON.stringify({ lines: page.lines.map(orderLineView), next: page.next }, null, 2));
        else say(runtime, page.lines.length === 0 ? 'the intake inbox is empty' : inboxTable(page.lines));
      });
    });

  withDatabase(inbox.command('retry'))
    .description('take blocked order lines up again now: one line (--channel and --line), one channel, or all')
    .option('--channel <code>', 'only this channel')
    .option('--line <key>', 'only this line (its line key, as `inbox` shows it)')
    .option('--dismiss', "with --line: set aside the line's events onhand did not understand, then apply it")
    .action(async (own: Flags) => {
      const parent = inbox.opts();
      const channel = (own.channel ?? (inbox.getOptionValueSource('channel') === 'cli' ? parent.channel : undefined)) as
        | string
        | undefined;
      const line = own.line as string | undefined;
      if (line !== undefined && channel === undefined) throw new CliFailure('--line needs --channel', 2);
      if (own.dismiss && line === undefined) throw new CliFailure('--dismiss needs --line', 2);
      await withStore(runtime, { ...own, database: own.database ?? parent.database }, async (store) => {
        if (channel !== undefined && !(await store.availability.getChannel(channel)))
          throw new CliFailure(`no channel ${channel}`, 1);
        const ledger = new GroupCommitter(store, systemClock, randomIds);
        try {
          const intake = new OrderLineIntake({
            store,
            ledger,
            clock: systemClock,
            match: storeOrderItemMatcher(store.availability),
          });
          if (line !== undefined) {
            if (!(await store.orders.getLine(channel!, line))) throw new CliFailure(`no line ${line} of ${channel}`, 1);
            const outcome = await intake.retry(channel!, line, { dismiss: own.dismiss === true });
            say(
              runtime,
              outcome.kind === 'blocked' ? `still blocked: ${outcome.reason}` : `line ${line}: ${outcome.kind}`,
            );
            return;
          }
          const report = await intake.retryDue({ channel });
          say(
            runtime,
            `applied ${report.changed}, unchanged ${report.unchanged}, still blocked ${report.blocked.length}`,
          );
          for (const blocked of report.blocked) say(runtime, `  ${blocked.lineKey}: ${blocked.reason}`);
        } finally {
          await ledger.close();
        }
      });
    });
}
