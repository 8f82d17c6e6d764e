import type { Command } from 'commander';
import { connectChannel } from '../connectors/connector-registry.js';
import { reconcileChannel, summaryLine } from '../reconcile/reconcile-pass.js';
import { systemClock } from '../system-clock.js';
import { progressBar } from './progress-bar.js';
import {
  CliExit,
  CliFailure,
  complain,
  say,
  withDatabase,
  withStore,
  type CliRuntime,
  type Flags,
} from './cli-support.js';

/**
 * `onhand reconcile [--channel c] [--full] [--dry-run]`: one reconcile pass per connected
 * channel (src/reconcile/reconcile-pass.ts), a summary line each, and on a terminal a progress
 * bar per channel on stderr. Targeted unless --full; a
 * dry run reads and reports but queues no repair. The passes run in this process with their
 * own connectors; the repairs they queue are pushed by the server's push loop.
 * Exit codes: 0 done; 1 a named channel does not exist or is not connected, or a channel's
 * reads failed; 2 bad arguments.
 */
export function addReconcileCommands(program: Command, runtime: CliRuntime): void {
  withDatabase(program.command('reconcile'))
    .description(
      'read channels back, list drift and queue repairs through the outbox (targeted: listings pushed or changed lately; --full: every listing)',
    )
    .option('--channel <code>', 'only this channel')
    .option('--full', 'read every listing, not only those pushed or changed lately')
    .option('--dry-run', 'read and report, queue no repair')
    .option('--json', 'print the summaries as JSON')
    .action(async (flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const all = await store.availability.listChannels();
        const wanted = flags.channel === undefined ? all : all.filter((each) => each.code === String(flags.channel));
        if (flags.channel !== undefined && wanted.length === 0)
          throw new CliFailure(`no channel ${String(flags.channel)}`, 1);
        const connected = wanted.flatMap((channel) => {
          const connector = connectChannel(channel, systemClock);
          return connector ? [{ channel: channel.code, connector }] : [];
        });
        if (connected.length === 0)
          throw new CliFailure(
            flags.channel === undefined
              ? 'no connected channel (add settings.connector to a channel)'
              : `channel ${String(flags.channel)} is not connected (no settings.connector)`,
            1,
          );
        // On a terminal, a bar per channel on stderr: listings read against the channel's listings
        // (a targeted pass reads only some of them, so its bar jumps to 100% when it ends).
        const interactive = runtime.stderr.isTTY === true;
        const listings = interactive
          ? new Map((await store.kpis.standing(systemClock.now())).map((each) => [each.channel, each.listings]))
          : new Map<string, number>();
        const summaries = [];
        for (const { channel, connector } of connected) {
          const bar = interactive
            ? progressBar(`reconcile ${channel}`, `listings read on ${channel}`, runtime.stderr)
            : null;
          const total = listings.get(channel) ?? 0;
          try {
            const summary = await reconcileChannel(
              { store, connector, clock: systemClock },
              {
                channel,
                mode: flags.full ? 'full' : 'targeted',
                dryRun: flags.dryRun === true,
                ...(bar ? { onProgress: (read: number) => bar.update(read, Math.max(total, read)) } : {}),
              },
            );
            bar?.update(summary.read, summary.read);
            summaries.push(summary);
          } finally {
            bar?.finish();
          }
        }
        if (flags.json) say(runtime, JSON.stringify({ channels: summaries }, null, 2));
        else for (const summary of summaries) say(runtime, summaryLine(summary));
        const failed = summaries.filter((summary) => summary.readErrors > 0);
        for (const summary of failed)
          complain(runtime, `onhand: ${summary.channel}: ${summary.readErrors} listings not read`);
        if (failed.length > 0) throw new CliExit(1);
      }),
    );
}
