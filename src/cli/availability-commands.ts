import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import type { Command } from 'commander';
import { explainText } from '../core/availability/compute-available.js';
import type { RuleSet } from '../core/availability/rule-set.js';
import { documentFault, jsonFaults } from '../core/json-bounds.js';
import { limits } from '../core/limits.js';
import { listingAvailability, ruleSetView } from '../api/availability-mapping.js';
import { RuleSetDocument } from '../api/availability-schemas.js';
import { rollbackRefusal } from '../api/rule-set-rollback.js';
import type { AvailabilityPort, ListingRecord, RecomputeReport } from '../store/availability-store.js';
import { systemClock } from '../system-clock.js';
import { CliFailure, integer, say, withDatabase, withStore, type CliRuntime, type Flags } from './cli-support.js';
import { progressBar } from './progress-bar.js';

/**
 * `onhand explain`, `onhand recompute` and `onhand rules ...`: the availability commands.
 * Exit codes: 0 done; 1 the thing named does not exist or the request cannot apply (an unknown
 * listing, a rollback to a later version); 2 a bad rules file (with its name, the JSON error
 * position, or every rule problem with its JSON pointer), as for a bad configuration.
 */

interface RuleProblem {
  path: string;
  message: string;
}

function rulesRejected(file: string, why: string, problems: readonly RuleProblem[]): CliFailure {
  const lines = problems
    .slice(0, limits.problemErrorsMax)
    .map((problem) => `  ${problem.path || '/'}: ${problem.message}`);
  return new CliFailure([`${file}: ${why}`, ...lines].join('\n'), 2);
}

/** Line and column of a JSON.parse error, when V8 gives its position (`... in JSON at position 12`). */
function jsonErrorAt(error: Error, text: string): string {
  const position = /at position (\d+)/.exec(error.message);
  if (!position) return error.message;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${error.message} (line ${line}, column ${column})`;
}

/** A rules file: JSON with the shape of a rule set (the same schema as the API's `rules`). */
function readRulesFile(file: string): RuleSet {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read rules file ${file}: ${(error as Error).message}`, 2);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${file} is not valid JSON: ${jsonErrorAt(error as Error, text)}`, 2);
  }
  // The same bounds the API applies to `rules` (src/http/plugins/availability.ts), checked
  // before the schema so a hostile file cannot make the schema walk deep.
  const textFaults = jsonFaults(parsed, { depthMax: limits.requestJsonDepthMax, faultsMax: limits.problemErrorsMax });
  if (textFaults.length > 0) throw rulesRejected(file, 'is not a rule set', textFaults);
  const sizeFault = documentFault(parsed, { depthMax: limits.requestJsonDepthMax, bytesMax: limits.ruleSetBytesMax });
  if (sizeFault) throw rulesRejected(file, 'is not a rule set', [{ path: '', message: sizeFault }]);
  const problems = [...Value.Errors(RuleSetDocument, parsed)].map((error) => ({
    path: error.path,
    message: error.message,
  }));
  if (problems.length > 0) throw rulesRejected(file, 'is not a rule set', problems);
  return parsed as RuleSet;
}

/** The store refuses rules that mean something impossible with a CatalogueError (by code). */
async function refusingBadRules<T>(file: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const refusal = error as { code?: unknown; message?: string; errors?: RuleProblem[] };
    if (refusal?.code !== 'ONH_ERR_CATALOGUE') throw error;
    throw rulesRejected(file, refusal.message ?? 'rule set rejected', refusal.errors ?? []);
  }
}

/** Run a bulk recompute with a progress bar on stderr (the store reports variants done). */
async function withProgress<T>(
  runtime: CliRuntime,
  label: string,
  work: (onProgress: (done: number, total: number) => void) => Promise<T>,
): Promise<T> {
  const bar = progressBar(label, 'variants', runtime.stderr);
  try {
    return await work(bar.update);
  } finally {
    bar.finish();
  }
}

function recomputeSummary(report: RecomputeReport): string {
  const rules = report.ruleVersion === null ? 'no active rule set' : `rule set v${report.ruleVersion}`;
  return `recomputed ${report.listings} listings of ${report.variants} variants under ${rules}: ${report.changed} changed`;
}

/** Every listing of a sku on a channel, page by page. */
async function listingsOf(store: AvailabilityPort, sku: string, channel: string): Promise<ListingRecord[]> {
  const listings: ListingRecord[] = [];
  for (let afterId: string | undefined; ; ) {
    const page = await store.listListings({ channel, sku, afterId, limit: limits.pageSizeMax });
    listings.push(...page);
    if (page.length < limits.pageSizeMax) return listings;
    afterId = page[page.length - 1]!.id;
  }
}

function authorOption(command: Command): Command {
  return command
    .option('--author <name>', 'who does this, for the audit (default: $USER)')
    .option('--note <text>', 'why, for the audit');
}

function author(flags: Flags, env: NodeJS.ProcessEnv): string {
  return String(flags.author ?? env.USER ?? env.LOGNAME ?? 'cli');
}

export function addAvailabilityCommands(program: Command, runtime: CliRuntime): void {
  withDatabase(program.command('explain'))
    .description('why each listing of a variant on a channel shows what it shows')
    .argument('<sku>', 'the variant')
    .requiredOption('--channel <code>', 'the channel')
    .action(async (sku: string, flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const channel = String(flags.channel);
        if (!(await store.availability.getChannel(channel))) throw new CliFailure(`no channel ${channel}`, 1);
        const listings = await listingsOf(store.availability, sku, channel);
        if (listings.length === 0) throw new CliFailure(`no listing of ${sku} on channel ${channel}`, 1);
        const texts: string[] = [];
        for (const listing of listings) {
          const explained = await store.availability.explainListing(listing.id, systemClock.now());
          if (explained)
            texts.push(
              `listing ${listing.id} (${listing.externalId})\n${explainText(sku, listingAvailability(explained))}`,
            );
        }
        say(runtime, texts.join('\n\n'));
      }),
    );

  withDatabase(program.command('recompute'))
    .description('recompute what every listing shows (progress on stderr, the report on stdout)')
    .action(async (flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const report = await withProgress(runtime, 'recompute', (onProgress) =>
          store.availability.recomputeAll(systemClock.now(), onProgress),
        );
        say(runtime, recomputeSummary(report));
      }),
    );

  const rules = program.command('rules').description('versioned availability rule sets');

  withDatabase(rules.command('list'))
    .description('every version, newest first: version, active, created, author, note')
    .action(async (flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const versions = await store.availability.listRuleSets();
        if (versions.length === 0) say(runtime, 'no rule sets');
        else say(runtime, 'VERSION\tACTIVE\tCREATED\tAUTHOR\tNOTE');
        for (const each of versions) {
          say(
            runtime,
            `v${each.version}\t${each.active ? 'active' : '-'}\t${new Date(each.createdAt).toISOString()}\t${each.author}\t${each.note ?? ''}`,
          );
        }
      }),
    );

  withDatabase(rules.command('show'))
    .description('one version as JSON (its `rules` are a valid rules file)')
    .argument('<version>', 'version number', integer('version'))
    .action(async (version: number, flags: Flags) =>
      withStore(runtime, flags, async (store) => {
        const record = await store.availability.getRuleSet(version);
        if (!record) throw new CliFailure(`no rule set version ${version}`, 1);
        say(runtime, JSON.stringify(ruleSetView(record), null, 2));
      }),
    );

  authorOption(withDatabase(rules.command('create')))
    .description('create a version from a rules file (not activated)')
    .requiredOption('--file <path>', 'JSON rules file')
    .action(async (flags: Flags) => {
      const file = String(flags.file);
      const ruleSet = readRulesFile(file); // before opening the store: a bad file touches nothing
      await withStore(runtime, flags, async (store) => {
        const created = await refusingBadRules(file, () =>
          store.availability.createRuleSet(
            { rules: ruleSet, author: author(flags, runtime.env), note: flags.note as string | undefined },
            systemClock.now(),
          ),
        );
        say(
          runtime,
          `created rule set v${created.version}; it is not active: onhand rules dry-run --file ${file}, then onhand rules activate ${created.version}`,
        );
      });
    });

  withDatabase(rules.command('dry-run'))
    .description('what every listing would show under a rules file, against now (nothing is stored)')
    .requiredOption('--file <path>', 'JSON rules file')
    .option(
      '--limit <n>',
      `changes to list (at most ${limits.pageSizeMax})`,
      integer('--limit'),
      limits.pageSizeDefault,
    )
    .action(async (flags: Flags) => {
      const file = String(flags.file);
      const ruleSet = readRulesFile(file);
      const limit = Math.min(Math.max(1, Number(flags.limit)), limits.pageSizeMax);
      await withStore(runtime, flags, async (store) => {
        const report = await refusingBadRules(file, () =>
          store.availability.dryRunRuleSet(ruleSet, systemClock.now(), limit),
        );
        const base = report.baseVersion === null ? 'no active rule set' : `active rule set v${report.baseVersion}`;
        say(runtime, `dry run against ${base}: ${report.listings} listings, ${report.changed} would change`);
        for (const change of report.changes) {
          say(
            runtime,
            `  ${change.sku} on ${change.channel} (listing ${change.listingId}): ${change.current} -> ${change.proposed}`,
          );
        }
        if (report.changed > report.changes.length)
          say(runtime, `  ... and ${report.changed - report.changes.length} more`);
      });
    });

  for (const action of ['activate', 'rollback'] as const) {
    authorOption(withDatabase(rules.command(action)))
      .description(
        action === 'activate'
          ? 'make a version active and recompute every listing'
          : 'activate an earlier version and recompute every listing',
      )
      .argument('<version>', 'version number', integer('version'))
      .action(async (version: number, flags: Flags) =>
        withStore(runtime, flags, async (store) => {
          if (!(await store.availability.getRuleSet(version)))
            throw new CliFailure(`no rule set version ${version}`, 1);
          if (action === 'rollback') {
            const refusal = await rollbackRefusal(store.availability, version);
            if (refusal) throw new CliFailure(`cannot roll back: ${refusal.reason}`, 1);
          }
          const by = { author: author(flags, runtime.env), note: flags.note as string | undefined };
          const report = await withProgress(runtime, action, (onProgress) =>
            refusingBadRules(`rule set v${version}`, () =>
              store.availability.activateRuleSet(version, by, systemClock.now(), onProgress),
            ),
          );
          say(runtime, `rule set v${version} is active; ${recomputeSummary(report)}`);
        }),
      );
  }
}
