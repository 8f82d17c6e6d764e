/**
 * The availability commands as a user runs them: in-process (test/support/cli-harness.ts) on
 * a temp SQLite file prepared through the store port. Goal: `explain` prints the readable
 * explanation of each listing (naming the limiting bundle component and each rule's units),
 * `recompute` prints its report with progress on stderr, `rules` creates, dry-runs, activates
 * and rolls back versions, and a bad rules file stops with exit code 2 and a message naming the
 * file and the problem (JSON position, or each rule problem with its path), changing nothing.
 * The progress bar's two renderings (terminal and plain) are checked in-process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { progressBar, progressLine } from '../../src/cli/progress-bar.js';
import { movementCommand } from '../../src/http/api-mapping.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { onhand as run } from '../support/cli-harness.js';

const referenceTime = Date.parse('2026-03-02T09:00:00.000Z');

function onhand(args: string[]) {
  return run(args, { USER: 'tester' });
}

/**
 * WH1 holds 10 A and 4 B; KIT = 1 A + 2 B, so 2 kits (B limits). Channel bol <- WH1 lists A
 * and KIT. Rule set v1 (active): bol holds back 1 unit and shows at most 5: A 5, KIT 1.
 */
async function prepare(database: string): Promise<void> {
  const store = new SqliteStore({ filename: database });
  await store.migrate();
  let n = 0;
  const ledger = new GroupCommitter(store, { now: () => referenceTime }, { next: (prefix) => `${prefix}_${++n}` });
  try {
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main warehouse', kind: 'warehouse' }], referenceTime);
    await store.catalogue.upsertVariants(
      [
        { sku: 'A', name: 'Variant A' },
        { sku: 'B', name: 'Variant B' },
        {
          sku: 'KIT',
          name: 'Kit',
          components: [
            { sku: 'A', quantity: 1 },
            { sku: 'B', quantity: 2 },
          ],
        },
      ],
      referenceTime,
    );
    const answers = await ledger.submit([
      movementCommand({ key: 'r1', type: 'receipt', sku: 'A', location: 'WH1', quantity: 10 }),
      movementCommand({ key: 'r2', type: 'receipt', sku: 'B', location: 'WH1', quantity: 4 }),
    ]);
    assert.ok(
      answers.every((answer) => answer.status === 'applied'),
      JSON.stringify(answers),
    );
    await store.availability.upsertChannels(
      [{ code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] }],
      referenceTime,
    );
    const listings = await store.availability.upsertListings(
      [
        { channel: 'bol', externalId: 'bol-A', sku: 'A' },
        { channel: 'bol', externalId: 'bol-KIT', sku: 'KIT' },
      ],
      referenceTime,
    );
    assert.equal(listings.created, 2);
    await store.availability.createRuleSet(
      { rules: { channels: { bol: { cap: 5, buffer: { units: 1 } } } }, author: 'setup', note: 'first' },
      referenceTime,
    );
    await store.availability.activateRuleSet(1, { author: 'setup' }, referenceTime);
  } finally {
    await ledger.close();
    await store.close();
  }
}

describe('onhand availability commands', { concurrency: false }, () => {
  let directory: string;
  let database: string;
  const file = (name: string, text: string) => {
    const path = join(directory, name);
    writeFileSync(path, text);
    return path;
  };
  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-availability-cli-'));
    database = join(directory, 'cli.db');
    await prepare(database);
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('answers --help for every availability command', async () => {
    for (const args of [
      ['explain'],
      ['recompute'],
      ['rules'],
      ['rules', 'list'],
      ['rules', 'show'],
      ['rules', 'create'],
      ['rules', 'dry-run'],
      ['rules', 'activate'],
      ['rules', 'rollback'],
    ]) {
      const result = await onhand([...args, '--help']);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, /Usage: onhand/);
    }
  });

  it('explain prints why each listing shows what it shows', async () => {
    const kit = await onhand(['explain', 'KIT', '--channel', 'bol', '--database', database]);
    assert.equal(kit.code, 0, kit.stderr);
    for (const line of [
      'KIT on bol shows 1 (rule set v1)',
      'WH1: available 2, contributes 2 (limited by component B)',
      'pool: 2',
      '- 1 fixed buffer',
      'cap 5: not reached',
      '= 1',
    ]) {
      assert.ok(kit.stdout.includes(line), `${line}\n---\n${kit.stdout}`);
    }
    const a = await onhand(['explain', 'A', '--channel', 'bol', '--database', database]);
    assert.match(a.stdout, /A on bol shows 5 \(rule set v1\)[\s\S]*cap 5: applied\n {2}= 5/);

    const noChannel = await onhand(['explain', 'A', '--channel', 'amazon', '--database', database]);
    assert.equal(noChannel.code, 1);
    assert.match(noChannel.stderr, /no channel amazon/);
    const noListing = await onhand(['explain', 'B', '--channel', 'bol', '--database', database]);
    assert.equal(noListing.code, 1);
    assert.match(noListing.stderr, /no listing of B on channel bol/);
    assert.notEqual((await onhand(['explain', 'A', '--database', database])).code, 0, '--channel is required');
  });

  it('recompute prints its report, with progress on stderr', async () => {
    const result = await onhand(['recompute', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^recomputed 2 listings of 2 variants under rule set v1: \d+ changed\n$/);
    assert.match(result.stderr, /recompute: 100% 2\/2 variants/);
  });

  it('rules create from a bad file exits 2 with a clear message, and creates nothing', async () => {
    const cases: { name: string; text: string; expect: RegExp[] }[] = [
      {
        name: 'broken.json',
        text: '{\n  "channels": {\n    "bol": { "cap": 5, }\n  }\n}\n',
        expect: [/broken\.json is not valid JSON/, /line 3, column \d+/],
      },
      {
        name: 'shape.json',
        text: JSON.stringify({ channels: { bol: { cap: 'five', capp: 1 } } }),
        expect: [/shape\.json: is not a rule set/, /\/channels\/bol\/cap: /, /\/channels\/bol\/capp: /],
      },
      {
        name: 'nul.json',
        text: JSON.stringify({ channels: { bol: { note: 'a\u0000b' } } }),
        expect: [/nul\.json: is not a rule set/, /\/channels\/bol\/note: must not contain U\+0000/],
      },
      {
        name: 'deep.json',
        text: `${'['.repeat(5000)}${']'.repeat(5000)}`,
        expect: [/deep\.json: is not a rule set/, /nests deeper than \d+ levels/],
      },
      {
        name: 'large.json',
        text: JSON.stringify({ note: 'x'.repeat(600 * 1024) }),
        expect: [/large\.json: is not a rule set/, /bytes as JSON; at most 524288/],
      },
      {
        name: 'meaning.json',
        text: JSON.stringify({ defaults: { buffer: { percent: -5 } }, channels: { bol: { cap: -1 }, amazon: {} } }),
        expect: [
          /meaning\.json: rule set rejected/,
          /\/defaults\/buffer\/percent: must be between 0 and 100/,
          /\/channels\/bol\/cap: must be a whole number >= 0/,
          /\/channels\/amazon: unknown channel amazon/,
        ],
      },
    ];
    for (const { name, text, expect } of cases) {
      const result = await onhand(['rules', 'create', '--file', file(name, text), '--database', database]);
      assert.equal(result.code, 2, `${name}: ${result.stdout}${result.stderr}`);
      for (const pattern of expect) assert.match(result.stderr, pattern, name);
    }
    const missing = await onhand(['rules', 'create', '--file', join(directory, 'nope.json'), '--database', database]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read rules file .*nope\.json/);
    const dryRun = await onhand([
      'rules',
      'dry-run',
      '--file',
      join(directory, 'meaning.json'),
      '--database',
      database,
    ]);
    assert.equal(dryRun.code, 2);
    assert.match(dryRun.stderr, /\/channels\/bol\/cap/);
    assert.match(
      (await onhand(['rules', 'list', '--database', database])).stdout,
      /^VERSION\tACTIVE\tCREATED\tAUTHOR\tNOTE\nv1\tactive\t[^\n]*\tsetup\tfirst\n$/,
      'still only v1',
    );
  });

  it('rules create, dry-run, activate and rollback a version; list and show them', async () => {
    const rules = file('v2.json', JSON.stringify({ channels: { bol: { cap: 3 } } }));
    const created = await onhand(['rules', 'create', '--file', rules, '--note', 'tighter', '--database', database]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created rule set v2/);

    const dryRun = await onhand(['rules', 'dry-run', '--file', rules, '--database', database]);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /dry run against active rule set v1: 2 listings, 2 would change/);
    assert.match(dryRun.stdout, /A on bol \(listing \S+\): 5 -> 3/);
    assert.match(dryRun.stdout, /KIT on bol \(listing \S+\): 1 -> 2/);

    const activated = await onhand(['rules', 'activate', '2', '--database', database]);
    assert.equal(activated.code, 0, activated.stderr);
    assert.match(activated.stdout, /rule set v2 is active; recomputed 2 listings of 2 variants under rule set v2/);
    assert.match(activated.stderr, /activate: 100% 2\/2 variants/);
    assert.match(
      (await onhand(['explain', 'A', '--channel', 'bol', '--database', database])).stdout,
      /A on bol shows 3 \(rule set v2\)/,
    );

    const forward = await onhand(['rules', 'rollback', '2', '--database', database]);
    assert.equal(forward.code, 1);
    assert.match(forward.stderr, /cannot roll back: version 2 is not earlier than the active version 2/);
    const unknown = await onhand(['rules', 'activate', '9', '--database', database]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no rule set version 9/);

    const rolledBack = await onhand(['rules', 'rollback', '1', '--note', 'too tight', '--database', database]);
    assert.equal(rolledBack.code, 0, rolledBack.stderr);
    assert.match(
      (await onhand(['explain', 'A', '--channel', 'bol', '--database', database])).stdout,
      /A on bol shows 5 \(rule set v1\)/,
    );

    const list = (await onhand(['rules', 'list', '--database', database])).stdout.trim().split('\n');
    assert.equal(list.length, 3);
    assert.equal(list[0], 'VERSION\tACTIVE\tCREATED\tAUTHOR\tNOTE', 'a header row');
    assert.match(list[1]!, /^v2\t-\t\S+\ttester\ttighter$/);
    assert.match(list[2]!, /^v1\tactive\t/);
    const shown = JSON.parse((await onhand(['rules', 'show', '2', '--database', database])).stdout);
    assert.deepEqual(
      { version: shown.version, author: shown.author, note: shown.note, active: shown.active, rules: shown.rules },
      {
        version: 2,
        author: 'tester',
        note: 'tighter',
        active: false,
        rules: { channels: { bol: { cap: 3 } } },
      },
    );
  });
});

describe('progress bar', () => {
  it('redraws one line in place on a terminal, only when it changes', async () => {
    const written: string[] = [];
    const bar = progressBar('recompute', 'listings', { isTTY: true, write: (text: string) => written.push(text) });
    bar.update(0, 1_000_000);
    bar.update(450_000, 1_000_000);
    bar.update(450_000, 1_000_000);
    bar.update(1_000_000, 1_000_000);
    bar.finish();
    assert.deepEqual(written, [
      `\r[${'.'.repeat(30)}]   0% 0/1000000 listings`,
      `\r[${'#'.repeat(14)}${'.'.repeat(16)}]  45% 450000/1000000 listings`,
      `\r[${'#'.repeat(30)}] 100% 1000000/1000000 listings`,
      '\n',
    ]);
  });

  it('prints a plain line per 10% elsewhere, and one at the end', async () => {
    const written: string[] = [];
    const bar = progressBar('activate', 'variants', { isTTY: false, write: (text: string) => written.push(text) });
    for (let done = 0; done <= 1000; done += 50) bar.update(done, 1000);
    bar.finish();
    assert.equal(written.length, 11);
    assert.equal(written[0], 'activate: 0% 0/1000 variants\n');
    assert.equal(written[4], 'activate: 40% 400/1000 variants\n');
    assert.equal(written[10], 'activate: 100% 1000/1000 variants\n');
    assert.equal(progressLine(0, 0, 'variants').includes('100% 0/0'), true, 'nothing to do is done');
  });
});
