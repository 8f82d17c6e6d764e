/**
 * `onhand alerts` as a user runs it (in-process) on a temp SQLite file: the open alerts as a
 * table, `--all` with the resolved ones, `--json` the same view as GET /v1/alerts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { onhand } from '../support/cli-harness.js';

const opened = Date.parse('2026-12-06T10:00:00.000Z');

describe('onhand alerts', { concurrency: false }, () => {
  let directory: string;
  let database: string;
  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-alert-cli-'));
    database = join(directory, 'cli.db');
    const store = new SqliteStore({ filename: database });
    await store.migrate();
    const old = await store.alerts.open(
      { rule: 'drift', channel: 'shop', detail: { percent: 2.5, drifted: 5 } },
      opened,
    );
    await store.alerts.resolve(old!.id, opened + 60_000);
    await store.alerts.open({ rule: 'dead_letters', channel: 'bol', detail: { dead_letters: 3 } }, opened + 120_000);
    await store.close();
  });
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('prints the open alerts', async () => {
    const result = await onhand(['alerts', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^RULE +CHANNEL +STATUS +OPENED +RESOLVED +DETAIL$/);
    assert.match(lines[1]!, /^dead_letters +bol +open +2026-12-06T10:02:00.000Z +- +dead_letters=3$/);
    assert.equal(lines.length, 2);
  });

  it('--all adds the resolved ones, newest first', async () => {
    const result = await onhand(['alerts', '--all', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(
      lines[2]!,
      /^drift +shop +resolved +2026-12-06T10:00:00.000Z +2026-12-06T10:01:00.000Z +percent=2.5 drifted=5$/,
    );
  });

  it('--json prints the view of GET /v1/alerts', async () => {
    const result = await onhand(['alerts', '--all', '--json', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout);
    assert.deepEqual(
      body.alerts.map((alert: { rule: string; status: string }) => [alert.rule, alert.status]),
      [
        ['dead_letters', 'open'],
        ['drift', 'resolved'],
      ],
    );
  });
});
