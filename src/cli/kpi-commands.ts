import { CommanderError, type Command } from 'commander';
import { kpiView } from '../api/kpi-mapping.js';
import { defaultKpiWindow, parseKpiWindow } from '../api/kpi-window.js';
import { type ChannelKpis, driftRateTarget, type Kpis } from '../store/kpis-port.js';
import { systemClock } from '../system-clock.js';
import { CliFailure, say, withDatabase, withStore, type CliRuntime, type Flags } from './cli-support.js';
import { humanizeMs } from './sync-commands.js';

/**
 * `onhand kpis [--window 24h] [--json]`: the same figures as `GET /v1/kpis`. Exit codes: 0
 * done; 2 a bad --window or another argument error.
 */

const dash = (ms: number | null) => (ms === null ? '-' : humanizeMs(ms));
const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(2)}%`);

function row(name: string, figures: Omit<ChannelKpis, 'channel' | 'platform'>): string[] {
  return [
    name,
    String(figures.linesBooked),
    `${figures.oversells} (${percent(figures.oversellRate)})`,
    String(figures.stockCancellations),
    dash(figures.latencyP50Ms),
    dash(figures.latencyP95Ms),
    String(figures.queueDepth),
    dash(figures.oldestPendingAgeMs),
    String(figures.deadLetters),
    String(figures.inbox),
    `${figures.driftMore + figures.driftLess}/${figures.listings} (${percent(figures.driftRate)})`,
  ];
}

/** The KPIs as a table, one line per channel and a total. */
export function kpiTable(window: string, kpis: Kpis): string {
  const rows = [
    ['CHANNEL', 'LINES', 'OVERSELLS', 'CANCELLED', 'P50', 'P95', 'QUEUE', 'OLDEST', 'DEAD', 'INBOX', 'DRIFT'],
    ...kpis.channels.map((channel) => row(channel.channel, channel)),
    row('total', kpis.totals),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  const text = rows.map((cells) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
  const since =
    kpis.latencySince === null
      ? 'no push-latency samples kept'
      : `latency from ${new Date(Math.max(kpis.latencySince, kpis.from)).toISOString()}`;
  return [
    `window ${window} (${new Date(kpis.from).toISOString()} to ${new Date(kpis.to).toISOString()}); ${since}`,
    ...text,
    `drift: drifted listings / listings at the window's end; the target is under ${percent(driftRateTarget)}`,
  ].join('\n');
}

export function addKpiCommands(program: Command, runtime: CliRuntime): void {
  withDatabase(program.command('kpis'))
    .exitOverride((error: CommanderError) => {
      throw new CommanderError(error.exitCode === 0 ? 0 : 2, error.code, error.message);
    })
    .description(
      'KPIs over a window: oversell rate, update latency p50/p95, cancellations after an oversell, queue, dead letters, intake inbox, reconciliation drift',
    )
    .option('--window <window>', 'how far back: <n>h or <n>d, like 1h, 24h or 7d', defaultKpiWindow)
    .option('--json', 'print the KPIs as JSON (the same as GET /v1/kpis)')
    .action(async (flags: Flags) => {
      const window = String(flags.window ?? defaultKpiWindow);
      const parsed = parseKpiWindow(window);
      if ('error' in parsed) throw new CliFailure(`--window ${parsed.error}`, 2);
      await withStore(runtime, flags, async (store) => {
        const to = systemClock.now();
        const kpis = await store.kpis.kpis({ from: to - parsed.ms, to });
        say(runtime, flags.json ? JSON.stringify(kpiView(window, kpis), null, 2) : kpiTable(window, kpis));
      });
    });
}
