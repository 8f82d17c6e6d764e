/**
 * The sync commands as a user runs them: in-process (test/support/cli-harness.ts) on a temp
 * SQLite file prepared through the store port. Goal: `status` prints one readable line per
 * channel (queue depth, oldest pending age humanized, last success, failures, dead letters,
 * p50/p95) and `--json` the same JSON as GET /v1/sync/status; `dead-letters` lists what a
 * channel refused and `dead-letters redrive` sends it back to pending, printing how many; bad
 * arguments stop with a clear message and exit code 2, an unknown channel with exit code 1,
 * changing nothing. Duration humanizing is checked in-process.
 *
 * The rows are made as in production: listings on two channels, receipts through the group
 * committer, and a ChannelDispatcher pushing channel `bol` to a scripted connector that refuses
 * offer-B for good. The clock is pinned 61 s before the real time, because the commands read
 * the real clock (ages, "ago", and the 15-minute latency window): the push 1.5 s later is then
 * at least 59.5 s old when the commands run, in-process and right after.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { humanizeMs } from '../../src/cli/sync-commands.js';
import { limits } from '../../src/core/limits.js';
import type { ChannelConnector, PushItem, PushOutcome } from '../../src/connectors/channel-connector.js';
import { movementCommand } from '../../src/http/api-mapping.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { onhand as run } from '../support/cli-harness.js';

function onhand(args: string[]) {
  return run(args, { USER: 'tester' });
}

/** Acknowledges every push except the offers in `refused` (refused for good). */
const connector: ChannelConnector = {
  platform: 'custom',
  maxBatchSize: 10,
  async pushLevels(items: readonly PushItem[]): Promise<PushOutcome[]> {
    return items.map((item) =>
      item.externalId === 'offer-B'
        ? { listingId: item.listingId, status: 'permanent', reason: 'unknown offer' }
        : { listingId: item.listingId, status: 'ok', channelQuantity: item.quantity },
    );
  },
  async readLevels(items) {
    return items.map((item) => ({ listingId: item.listingId, quantity: null }));
  },
  rateLimit: () => ({ available: 1, capacity: 1, waitMs: 0 }),
};

/**
 * WH1 holds A 5, B 3, C 2. bol lists A, B, C and was pushed 1.5 s after the commit: A and C
 * acknowledged, B dead ("unknown offer"). shop lists A and was never pushed (queue 1).
 */
async function prepare(database: string): Promise<void> {
  let now = Date.now() - 61_000;
  const clock = { now: () => now };
  const store = new SqliteStore({ filename: database });
  await store.migrate();
  let n = 0;
  const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++n}` });
  try {
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main warehouse', kind: 'warehouse' }], now);
    await store.catalogue.upsertVariants(
      ['A', 'B', 'C'].map((sku) => ({ sku, name: `Variant ${sku}` })),
      now,
    );
    await store.availability.upsertChannels(
      [
        { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
        { code: 'shop', name: 'Own shop', platform: 'shopify', locations: ['WH1'] },
      ],
      now,
    );
    await store.availability.upsertListings(
      [
        ...['A', 'B', 'C'].map((sku) => ({ channel: 'bol', externalId: `offer-${sku}`, sku })),
        { channel: 'shop', externalId: 'shop-A', sku: 'A' },
      ],
      now,
    );
    const answers = await ledger.submit(
      (
        [
          ['A', 5],
          ['B', 3],
          ['C', 2],
        ] as const
      ).map(([sku, quantity]) => movementCommand({ key: `r-${sku}`, type: 'receipt', sku, location: 'WH1', quantity })),
    );
    assert.ok(
      answers.every((answer) => answer.status === 'applied'),
      JSON.stringify(answers),
    );
    now += 1_500;
    const policy = validateRetryPolicy({
      initialDelayMs: 1000,
      backoffCoefficient: 2,
      delayMsMax: 8000,
      attemptsMax: 3,
    });
    const pusher = new ChannelDispatcher({
      channel: 'bol',
      connector,
      outbox: store.outbox,
      clock,
      owner: 'pusher-1',
      policy,
      leaseTtlMs: 1_000,
    });
    while ((await pusher.tick()) > 0);
    await pusher.stop();
  } finally {
    await ledger.close();
    await store.close();
  }
}

describe('humanizeMs', () => {
  it('says durations the way people read them', async () => {
    const cases: [number, string][] = [
      [0, '0ms'],
      [850, '850ms'],
      [1_500, '1.5s'],
      [9_999, '9.9s'],
      [12_000, '12s'],
      [200_000, '3m 20s'],
      [3_600_000, '1h'],
      [7_500_000, '2h 5m'],
      [97_200_000, '1d 3h'],
    ];
    for (const [ms, text] of cases) assert.equal(humanizeMs(ms), text, String(ms));
  });
});

describe('onhand sync commands', { concurrency: false }, () => {
  let directory: string;
  let database: string;
  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-sync-cli-'));
    database = join(directory, 'cli.db');
    await prepare(database);
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('answers --help for every sync command', async () => {
    for (const args of [['status'], ['dead-letters'], ['dead-letters', 'redrive']]) {
      const result = await onhand([...args, '--help']);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, /Usage: onhand/);
    }
  });

  it('status prints one readable line per channel', async () => {
    const result = await onhand(['status', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, result.stdout);
    assert.match(
      lines[0]!,
      /^CHANNEL +PLATFORM +QUEUED +GRACE +OLDEST PENDING +LAST SUCCESS +FAILURES +DEAD +P50 +P95 +LEASE +LAST ERROR$/,
    );
    // bol: nothing pending, pushed about a minute ago, one dead letter (its error the last one),
    // 1.5 s from commit to acknowledgement.
    assert.match(
      lines[1]!,
      /^bol +bol +0 +0 +- +(59s|1m( \d+s)?) ago +0 +1 +1\.5s +1\.5s +- +unknown offer$/,
      lines[1],
    );
    // shop: never pushed; its listing has waited about a minute, queued (no grace), no error.
    assert.match(lines[2]!, /^shop +shopify +1 +0 +1m( \d+s)? +never +0 +0 +- +- +- +-$/, lines[2]);
    const columns = lines.map((line) =>
      line.indexOf('PLATFORM') >= 0 ? line.indexOf('PLATFORM') : line.search(/ (bol|shopify) /) + 1,
    );
    assert.equal(new Set(columns).size, 1, `aligned columns:\n${result.stdout}`);
  });

  it('status --json prints the same JSON as GET /v1/sync/status', async () => {
    const result = await onhand(['status', '--json', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const { channels } = JSON.parse(result.stdout);
    assert.deepEqual(
      channels.map((each: any) => each.channel),
      ['bol', 'shop'],
    );
    const [bol, shop] = channels;
    assert.deepEqual(Object.keys(bol).sort(), [
      'channel',
      'consecutive_failures',
      'dead_letters',
      'last_error',
      'last_reconcile',
      'last_success_at',
      'lease_owner',
      'oldest_pending_age_ms',
      'platform',
      'push_latency_p50_ms',
      'push_latency_p95_ms',
      'queue_depth',
      'rate_budget',
      'waiting_grace',
    ]);
    assert.equal(bol.rate_budget, null, 'the CLI runs no connector, so it knows no budget');
    assert.equal(typeof bol.last_error, 'string');
    assert.equal(bol.waiting_grace, 0);
    assert.equal(bol.queue_depth, 0);
    assert.equal(bol.dead_letters, 1);
    assert.equal(bol.push_latency_p50_ms, 1_500);
    assert.equal(bol.push_latency_p95_ms, 1_500);
    assert.equal(bol.lease_owner, null, 'the pusher released its lease');
    assert.ok(Date.now() - Date.parse(bol.last_success_at) < 10 * 60_000, bol.last_success_at);
    assert.equal(shop.queue_depth, 1);
    assert.equal(shop.last_success_at, null);
    assert.ok(shop.oldest_pending_age_ms >= 60_000, String(shop.oldest_pending_age_ms));
  });

  it('dead-letters lists what a channel refused, as a table or JSON, all or of one channel', async () => {
    const table = await onhand(['dead-letters', '--database', database]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^LISTING +CHANNEL +SKU +EXTERNAL ID +QUANTITY +ATTEMPTS +SINCE +LAST ERROR$/);
    assert.match(lines[1]!, /^\d+ +bol +B +offer-B +3 +1 +\d{4}-\d\d-\d\dT[\d:.]+Z +unknown offer$/);
    assert.equal(lines.length, 2);

    const json = await onhand(['dead-letters', '--channel', 'bol', '--limit', '1', '--json', '--database', database]);
    assert.equal(json.code, 0, json.stderr);
    const { items } = JSON.parse(json.stdout);
    assert.deepEqual(
      items.map((item: any) => [
        item.channel,
        item.sku,
        item.external_id,
        item.quantity,
        item.attempts,
        item.last_error,
      ]),
      [['bol', 'B', 'offer-B', 3, 1, 'unknown offer']],
    );

    const none = await onhand(['dead-letters', '--channel', 'shop', '--database', database]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, 'no dead letters\n');
    const unknown = await onhand(['dead-letters', '--channel', 'amazon', '--database', database]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /onhand: no channel amazon/);
  });

  it('refuses bad arguments with a clear message and exit code 2, changing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['dead-letters', '--limit', '0'], /--limit must be between 1 and 500/],
      [['dead-letters', '--limit', '501'], /--limit must be between 1 and 500/],
      [['dead-letters', '--limit', 'ten'], /--limit must be a whole number/],
      [['dead-letters', 'bogus'], /too many arguments|unknown command/],
      [['dead-letters', 'redrive'], /dead-letters redrive needs --limit <n> \(1 to 10000\)/],
      [['dead-letters', 'redrive', '--limit', '10001'], /--limit must be between 1 and 10000/],
      [['dead-letters', 'redrive', '--limit', '-1'], /--limit must be a whole number|unknown option/],
      [['dead-letters', 'redrive', '--limit', '0'], /--limit must be between 1 and 10000/],
      [['status', '--verbose'], /unknown option '--verbose'/],
    ];
    for (const [args, message] of cases) {
      const result = await onhand([...args, '--database', database]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
    const unknown = await onhand([
      'dead-letters',
      'redrive',
      '--limit',
      '5',
      '--channel',
      'amazon',
      '--database',
      database,
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no channel amazon/);
    assert.equal(
      JSON.parse((await onhand(['status', '--json', '--database', database])).stdout).channels[0].dead_letters,
      1,
      'nothing changed',
    );
  });

  it('dead-letters redrive moves dead letters back to pending and prints how many', async () => {
    const ofShop = await onhand([
      'dead-letters',
      '--channel',
      'shop',
      'redrive',
      '--limit',
      '5',
      '--database',
      database,
    ]);
    assert.equal(ofShop.code, 0, ofShop.stderr);
    assert.equal(
      ofShop.stdout,
      'redriven 0 dead letters on shop\n',
      '--channel before `redrive` still names the channel',
    );

    const result = await onhand([
      'dead-letters',
      'redrive',
      '--limit',
      '5',
      '--channel',
      'bol',
      '--database',
      database,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'redriven 1 dead letter on bol\n');
    const bol = JSON.parse((await onhand(['status', '--json', '--database', database])).stdout).channels[0];
    assert.equal(bol.dead_letters, 0);
    assert.equal(bol.queue_depth, 1, 'pending again, for the push loop');
    assert.equal((await onhand(['dead-letters', '--database', database])).stdout, 'no dead letters\n');
    assert.equal(
      (await onhand(['dead-letters', 'redrive', '--limit', '5', '--database', database])).stdout,
      'redriven 0 dead letters\n',
    );
  });

  it("status shows each channel's last reconcile pass, kept in the database", async () => {
    const store = new SqliteStore({ filename: database });
    const finishedAt = Date.now() - 2 * 60_000;
    try {
      await store.outbox.recordReconcileRun('bol', {
        mode: 'full',
        startedAt: finishedAt - 5_000,
        finishedAt,
        read: 120,
        unknown: 0,
        driftMore: 2,
        driftLess: 1,
        unconfirmed: 1,
        dead: 0,
        repairs: 2,
        readErrors: 0,
        firstReadError: null,
      });
    } finally {
      await store.close();
    }
    const result = await onhand(['status', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4, result.stdout);
    assert.match(
      lines[3]!,
      /^bol: last reconcile full 2m( \d+s)? ago, 120 read, drift 2 more, 1 less \(1 waiting out the drift grace\), 2 repairs, 0 errors$/,
      lines[3],
    );
    const [bol, shop] = JSON.parse((await onhand(['status', '--json', '--database', database])).stdout).channels;
    assert.deepEqual(
      [
        bol.last_reconcile.mode,
        bol.last_reconcile.finished_at,
        bol.last_reconcile.drift_more,
        bol.last_reconcile.repairs,
      ],
      ['full', new Date(finishedAt).toISOString(), 2, 2],
    );
    assert.equal(shop.last_reconcile, null);
  });

  it('status tells a change held by the drift grace from a queued one', async () => {
    const counts = async () => {
      const lines = (await onhand(['status', '--database', database])).stdout.trimEnd().split('\n');
      return lines.slice(1, 3).map((line) => line.split(/ +/).slice(0, 4).join(' '));
    };
    const before = await counts();
    const store = new SqliteStore({ filename: database });
    try {
      // bol's offer-A was acknowledged at 5; the channel now shows 3 (perhaps a sale whose order
      // is on its way): raising it back waits the grace, it is not queued.
      assert.equal(
        await store.outbox.noticeChannelLevel('bol', 'offer-A', 3, Date.now(), limits.driftGraceMs),
        'drift',
      );
    } finally {
      await store.close();
    }
    const [bolBefore, shopBefore] = before.map((line) => line.split(' ').map(Number));
    assert.deepEqual(await counts(), [
      `bol bol ${bolBefore![2]} ${bolBefore![3]! + 1}`,
      `shop shopify ${shopBefore![2]} ${shopBefore![3]}`,
    ]);
  });
});
