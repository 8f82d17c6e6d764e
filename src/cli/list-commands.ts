import { Option, type Command } from 'commander';
import { limits } from '../core/limits.js';
import { activationView } from '../api/list-mapping.js';
import {
  activationKinds,
  reservationListStatuses,
  type ActivationKind,
  type LedgerStore,
  type MovementView,
  type ReservationListStatus,
} from '../store/ledger-store.js';
import { systemClock } from '../system-clock.js';
import { CliFailure, integer, say, withDatabase, withStore, type CliRuntime, type Flags } from './cli-support.js';

/**
 * The lists as a terminal shows them, over the same store calls as the HTTP routes:
 * `onhand reservations list`, `onhand movements [--since] [--follow]`, `onhand po list`; and
 * `onhand deactivate|activate <kind> <ref>`. Each list prints a table (or `--json`, the HTTP
 * route's views) and, when more rows exist, the `--cursor` that continues it.
 * Exit codes: 0 done; 1 nothing to (de)activate by that name, or a usage error commander
 * reports; 2 a bad value (time, cursor, limit, kind).
 */

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  return all
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    )
    .join('\n');
}

function limitOf(flags: Flags): number {
  const limit = Number(flags.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > limits.pageSizeMax)
    throw new CliFailure(`--limit must be between 1 and ${limits.pageSizeMax}`, 2);
  return limit;
}

function timeOf(flags: Flags, name: 'since' | 'until'): number | undefined {
  if (flags[name] === undefined) return undefined;
  const ms = Date.parse(String(flags[name]));
  if (!Number.isFinite(ms)) throw new CliFailure(`--${name} must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z`, 2);
  return ms;
}

function text(flags: Flags, name: string): string | undefined {
  return flags[name] === undefined ? undefined : String(flags[name]);
}

/** A refused cursor is the user's to fix: exit 2 with the reason, like a bad option. */
async function withCursor<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ONH_ERR_CURSOR')
      throw new CliFailure('--cursor is not one this list issued', 2);
    throw error;
  }
}

function pageOptions(command: Command): Command {
  return command
    .option('--cursor <cursor>', 'continue where the previous page ended')
    .option('--limit <n>', `at most this many (1 to ${limits.pageSizeMax})`, integer('--limit'), limits.pageSizeDefault)
    .option('--json', 'print the page as JSON');
}

function movementLine(movement: MovementView): string[] {
  const quantity = movement.quantities;
  const change = (Object.entries(quantity) as [string, number][])
    .filter(([, value]) => value !== 0)
    .map(([bucket, value]) => `${bucket} ${value > 0 ? '+' : ''}${value}`)
    .join(', ');
  return [
    String(movement.id),
    movement.recorded_at,
    movement.type,
    movement.sku,
    movement.location,
    change || '-',
    movement.key,
  ];
}

const movementHeader = ['ID', 'RECORDED', 'TYPE', 'SKU', 'LOCATION', 'CHANGE', 'KEY'];

async function printMovements(
  runtime: CliRuntime,
  store: LedgerStore,
  flags: Flags,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const limit = limitOf(flags);
  const follow = Boolean(flags.follow);
  const polls = Number(flags.polls ?? 0);
  const intervalMs = Number(flags.intervalMs ?? limits.movementFeedPollMsDefault);
  const filters = {
    since: timeOf(flags, 'since'),
    until: timeOf(flags, 'until'),
    type: text(flags, 'type'),
    location: text(flags, 'location'),
    limit,
  };
  let cursor = text(flags, 'cursor');
  let printedHeader = false;
  // Bounded: one page without --follow; with it, until --polls polls (0: until interrupted).
  for (let poll = 1; ; poll += 1) {
    const page = await withCursor(() => store.ledger.movementFeed({ ...filters, cursor }));
    if (flags.json) {
      if (follow) for (const item of page.items) say(runtime, JSON.stringify(item));
      else say(runtime, JSON.stringify(page, null, 2));
    } else if (page.items.length > 0) {
      const rows = page.items.map(movementLine);
      const lines = table(movementHeader, rows).split('\n');
      say(runtime, (printedHeader ? lines.slice(1) : lines).join('\n'));
      printedHeader = true;
    } else if (!follow) say(runtime, 'no movements');
    cursor = page.next_cursor ?? cursor;
    if (!follow) {
      if (!flags.json && page.has_more && page.next_cursor) say(runtime, `more: --cursor ${page.next_cursor}`);
      return;
    }
    if (page.next_cursor === null) return; // --until reached
    if (polls > 0 && poll >= polls) return;
    if (!page.has_more) await sleep(intervalMs);
  }
}

export function addListCommands(
  program: Command,
  runtime: CliRuntime,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): void {
  const reservations = program.command('reservations').description('reservations: `reservations list`');
  pageOptions(withDatabase(reservations.command('list')))
    .description('list reservations, newest first (GET /v1/reservations)')
    .addOption(
      new Option('--status <status>', 'active (pending, not expired), committed, released, expired or all')
        .choices(reservationListStatuses as string[])
        .default('active'),
    )
    .option('--sku <sku>', 'only this variant')
    .option('--location <code>', 'only this location')
    .option('--channel <code>', 'only reservations made by this channel')
    .action(async (flags: Flags) => {
      const limit = limitOf(flags);
      await withStore(runtime, flags, async (store) => {
        const page = await withCursor(() =>
          store.ledger.listReservations(
            {
              status: flags.status as ReservationListStatus,
              sku: text(flags, 'sku'),
              location: text(flags, 'location'),
              channel: text(flags, 'channel'),
              cursor: text(flags, 'cursor'),
              limit,
            },
            systemClock.now(),
          ),
        );
        if (flags.json) return say(runtime, JSON.stringify(page, null, 2));
        if (page.items.length === 0) return say(runtime, 'no reservations');
        say(
          runtime,
          table(
            ['ID', 'CREATED', 'STATUS', 'SKU', 'LOCATION', 'QUANTITY', 'EXPIRES'],
            page.items.map((item) => [
              item.id,
              item.created_at,
              item.status,
              item.sku,
              item.location,
              item.committed_quantity > 0 ? `${item.committed_quantity}/${item.quantity}` : String(item.quantity),
              item.expires_at ?? '-',
            ]),
          ),
        );
        if (page.next_cursor) say(runtime, `more: --cursor ${page.next_cursor}`);
      });
    });

  pageOptions(withDatabase(program.command('movements')))
    .description('every movement, oldest first, from --since or --cursor; --follow keeps printing new ones')
    .option('--since <time>', 'start at the first movement recorded at or after this time (ISO 8601)')
    .option('--until <time>', 'stop before the first movement recorded at or after this time')
    .option('--type <type>', 'only this movement type (receipt, sale, reserve...)')
    .option('--location <code>', 'only this location')
    .option('--follow', 'keep polling for new movements (stop with Ctrl-C)')
    .option(
      '--interval-ms <ms>',
      'with --follow: wait between polls once caught up',
      integer('--interval-ms'),
      limits.movementFeedPollMsDefault,
    )
    .option('--polls <n>', 'with --follow: stop after n polls (0: never)', integer('--polls'), 0)
    .action(async (flags: Flags) => {
      limitOf(flags);
      await withStore(runtime, flags, (store) => printMovements(runtime, store, flags, sleep));
    });

  const po = program.command('po').description('purchase orders: `po list`');
  pageOptions(withDatabase(po.command('list')))
    .description('list purchase orders in id order (GET /v1/purchase-orders)')
    .addOption(new Option('--status <status>', 'open, closed or cancelled').choices(['open', 'closed', 'cancelled']))
    .option('--sku <sku>', 'only orders with a line of this variant')
    .action(async (flags: Flags) => {
      const limit = limitOf(flags);
      await withStore(runtime, flags, async (store) => {
        const page = await withCursor(() =>
          store.catalogue.listPurchaseOrders({
            status: flags.status as 'open' | 'closed' | 'cancelled' | undefined,
            sku: text(flags, 'sku'),
            cursor: text(flags, 'cursor'),
            limit,
          }),
        );
        if (flags.json) return say(runtime, JSON.stringify(page, null, 2));
        if (page.items.length === 0) return say(runtime, 'no purchase orders');
        say(
          runtime,
          table(
            ['ID', 'STATUS', 'SUPPLIER', 'LINES', 'ORDERED', 'RECEIVED', 'INCOMING'],
            page.items.map((order) => {
              const sum = (pick: (line: (typeof order.lines)[number]) => number) =>
                String(order.lines.reduce((total, line) => total + pick(line), 0));
              return [
                order.id,
                order.status,
                order.supplier ?? '-',
                String(order.lines.length),
                sum((line) => line.quantityOrdered),
                sum((line) => line.quantityReceived),
                sum((line) => line.incoming),
              ];
            }),
          ),
        );
        if (page.next_cursor) say(runtime, `more: --cursor ${page.next_cursor}`);
      });
    });

  for (const active of [false, true]) {
    const verb = active ? 'activate' : 'deactivate';
    withDatabase(program.command(verb))
      .description(
        active
          ? 'activate a variant, location, channel or listing again'
          : 'deactivate a variant, location, channel or listing (nothing is deleted; effects: docs/LISTS.md)',
      )
      .argument('<kind>', activationKinds.join(', '))
      .argument('<ref>', 'sku, location code, channel code or listing id')
      .action(async (kind: string, ref: string, flags: Flags) => {
        if (!activationKinds.includes(kind as ActivationKind))
          throw new CliFailure(`<kind> must be one of ${activationKinds.join(', ')}`, 2);
        if (kind === 'listing' && !/^[1-9][0-9]{0,14}$/.test(ref))
          throw new CliFailure('a listing id is a whole number', 2);
        await withStore(runtime, flags, async (store) => {
          const record = await store.availability.setActive(
            kind as ActivationKind,
            ref,
            active,
            'cli',
            systemClock.now(),
          );
          if (!record) throw new CliFailure(`no ${kind} ${ref}`, 1);
          const view = activationView(record);
          say(
            runtime,
            record.changed
              ? `${kind} ${ref} ${active ? 'activated' : `deactivated at ${view.deactivated_at}`}`
              : `${kind} ${ref} was already ${active ? 'active' : 'deactivated'}`,
          );
        });
      });
  }
}
