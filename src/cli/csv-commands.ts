import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { limits } from '../core/limits.js';
import {
  type ExportKind,
  exportKinds,
  listingsCsv,
  locationsCsv,
  movementsCsv,
  stockCsv,
  variantsCsv,
} from '../api/csv-export.js';
import { ImportApplyError, type ImportReport, importCsv } from '../api/csv-import.js';
import { importKinds, isImportKind } from '../csv/csv-kinds.js';
import { GroupCommitter } from '../store/group-commit.js';
import type { LedgerStore } from '../store/ledger-store.js';
import { randomIds, systemClock } from '../system-clock.js';
import {
  CliExit,
  CliFailure,
  type CliRuntime,
  complain,
  type Flags,
  say,
  withDatabase,
  withStore,
} from './cli-support.js';
import { progressBar } from './progress-bar.js';

/**
 * `onhand import <kind> FILE` and `onhand export <kind>`: the same code as
 * `POST /v1/imports/{kind}` and `GET /v1/exports/*.csv` (src/api/csv-import.ts, csv-export.ts),
 * printed for a terminal. Every bad row goes to stderr as `FILE:LINE: column <name>: <reason>`,
 * so an editor or `grep` can jump to it; the summary goes to stdout. Exit codes: 0 done, 1 rows
 * were bad (or applying failed), 2 a usage error.
 */

function summary(report: ImportReport, dryRun: boolean): string {
  const counts = `${report.kind}: ${report.rows} rows, ${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged`;
  if (report.applied) return report.errors.length > 0 ? `${counts}; ${report.errors.length} bad rows left out` : counts;
  if (dryRun) return `${counts} (dry run: nothing applied)`;
  return `${counts} would be; nothing applied: ${report.errors.length} bad rows (--apply-good applies the others)`;
}

function printErrors(runtime: CliRuntime, file: string, report: ImportReport): void {
  for (const error of report.errors)
    complain(runtime, `${file}:${error.line}: column ${error.column}: ${error.reason}`);
}

async function readCsvFile(file: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new CliFailure(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      2,
    );
  }
  if (size > limits.csvImportBytesMax)
    throw new CliFailure(
      `${file} is ${size} bytes; at most ${limits.csvImportBytesMax} are imported at once (split the file)`,
      2,
    );
  // Invalid UTF-8 becomes U+FFFD, which the row check refuses in the field that holds it.
  return new TextDecoder('utf-8', { fatal: false }).decode(await readFile(file));
}

const exporters: Record<ExportKind, (store: LedgerStore, flags: Flags) => AsyncGenerator<string>> = {
  stock: (store) => stockCsv(store),
  movements: (store, flags) =>
    movementsCsv(store, { since: timeFlag(flags, 'since'), until: timeFlag(flags, 'until') }),
  variants: (store) => variantsCsv(store),
  locations: (store) => locationsCsv(store),
  listings: (store) => listingsCsv(store),
};

function timeFlag(flags: Flags, name: 'since' | 'until'): number | undefined {
  const text = flags[name] as string | undefined;
  if (text === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (!Number.isFinite(ms))
    throw new CliFailure(`--${name} must be an ISO 8601 time (2026-03-01T00:00:00Z), not ${text}`, 2);
  return ms;
}

export function addCsvCommands(program: Command, runtime: CliRuntime): void {
  withDatabase(program.command('import'))
    .description(`import a CSV file: ${importKinds.join(', ')} (columns in docs/csv.md)`)
    .argument('[kind]', importKinds.join('|'))
    .argument('[file]', 'the CSV file, UTF-8, header on line 1')
    .option('--dry-run', 'check and resolve every row, apply none')
    .option('--apply-good', 'apply the good rows even when some are bad (they are still reported)')
    .action(async (kind: string | undefined, file: string | undefined, flags: Flags) => {
      if (kind === undefined || file === undefined)
        throw new CliFailure(`usage: onhand import <${importKinds.join('|')}> FILE [--dry-run] [--apply-good]`, 2);
      if (!isImportKind(kind)) throw new CliFailure(`unknown kind ${kind}: one of ${importKinds.join(', ')}`, 2);
      const text = await readCsvFile(file);
      const dryRun = flags.dryRun === true;
      await withStore(runtime, flags, async (store) => {
        const ledger = new GroupCommitter(store, systemClock, randomIds);
        const bar = runtime.stderr.isTTY ? progressBar(`import ${kind}`, 'rows', runtime.stderr) : undefined;
        let report: ImportReport;
        try {
          report = await importCsv({ store, ledger, clock: systemClock }, kind, text, {
            dryRun,
            mode: flags.applyGood === true ? 'good' : 'all',
            onProgress: bar ? (done, total) => bar.update(Math.floor(done / 2), Math.floor(total / 2)) : undefined,
          });
        } catch (error) {
          bar?.finish();
          if (!(error instanceof ImportApplyError)) throw error;
          printErrors(runtime, file, error.report);
          say(runtime, summary(error.report, dryRun));
          throw new CliFailure(error.message, 1);
        } finally {
          await ledger.close();
        }
        bar?.finish();
        printErrors(runtime, file, report);
        say(runtime, summary(report, dryRun));
        if (report.errors.length > 0) throw new CliExit(1);
      });
    });

  withDatabase(program.command('export'))
    .description(`write a CSV export to stdout or --out: ${exportKinds.join(', ')} (columns in docs/csv.md)`)
    .argument('[kind]', exportKinds.join('|'))
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--since <iso>', 'movements: recorded at or after this time')
    .option('--until <iso>', 'movements: recorded before this time')
    .action(async (kind: string | undefined, flags: Flags) => {
      if (kind === undefined || !(exportKinds as readonly string[]).includes(kind))
        throw new CliFailure(
          `usage: onhand export <${exportKinds.join('|')}> [--out FILE] [--since ISO] [--until ISO]`,
          2,
        );
      const chunks = exporters[kind as ExportKind];
      // Checked before the store is opened: a bad flag is a usage error, not a half-written file.
      timeFlag(flags, 'since');
      timeFlag(flags, 'until');
      await withStore(runtime, flags, async (store) => {
        const out = flags.out as string | undefined;
        if (out === undefined) {
          for await (const chunk of chunks(store, flags)) runtime.stdout.write(chunk);
          return;
        }
        const stream = createWriteStream(out);
        try {
          for await (const chunk of chunks(store, flags)) if (!stream.write(chunk)) await once(stream, 'drain');
        } finally {
          stream.end();
          await once(stream, 'close');
        }
        complain(runtime, `wrote ${kind} to ${out}`);
      });
    });
}
