import type { Command } from 'commander';
import { type AlertView, alertView } from '../api/alert-mapping.js';
import { limits } from '../core/limits.js';
import { say, withDatabase, withStore, type CliRuntime, type Flags } from './cli-support.js';

/**
 * `onhand alerts [--all] [--json]`: the alerts open now (with --all, the resolved ones too),
 * newest first; the same view as `GET /v1/alerts`.
 */

const detailText = (detail: AlertView['detail']) =>
  Object.entries(detail)
    .map(
      ([name, value]) =>
        `${name}=${value === null ? '-' : typeof value === 'number' ? Number(value.toFixed(3)) : value}`,
    )
    .join(' ');

/** The alerts as a table, or a line saying there are none. */
export function alertTable(alerts: readonly AlertView[], all: boolean): string {
  if (alerts.length === 0) return all ? 'no alerts' : 'no open alerts';
  const rows = [
    ['RULE', 'CHANNEL', 'STATUS', 'OPENED', 'RESOLVED', 'DETAIL'],
    ...alerts.map((alert) => [
      alert.rule,
      alert.channel,
      alert.status,
      alert.opened_at,
      alert.resolved_at ?? '-',
      detailText(alert.detail),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  return rows
    .map((cells) =>
      cells
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function addAlertCommands(program: Command, runtime: CliRuntime): void {
  withDatabase(program.command('alerts'))
    .description('alerts open now (drift, waiting changes, failing connections, dead letters, silent order sources)')
    .option('--all', 'also the resolved alerts, newest first')
    .option('--json', 'print the alerts as JSON (the same as GET /v1/alerts)')
    .action(async (flags: Flags) => {
      const all = flags.all === true;
      await withStore(runtime, flags, async (store) => {
        const alerts = (await store.alerts.list({ status: all ? 'all' : 'open', limit: limits.alertListMax })).map(
          alertView,
        );
        say(runtime, flags.json ? JSON.stringify({ alerts }, null, 2) : alertTable(alerts, all));
      });
    });
}
