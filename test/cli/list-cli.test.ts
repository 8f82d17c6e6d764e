/**
 * `onhand reservations list`, `onhand movements`, `onhand po list` and `onhand
 * deactivate|activate` as a user runs them, in-process on a temp SQLite file: each list prints
 * a table, the cursor that continues it, and --json the HTTP body; --follow prints what commits
 * between polls; deactivation prints what changed; bad arguments exit 2 and an unknown name 1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { onhand } from '../support/cli-harness.js';

describe('onhand lists and deactivation', () => {
  let directory: string;
  let database: string;

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-list-cli-'));
    database = join(directory, 'onhand.db');
    const store = new SqliteStore({ filename: database });
    await store.migrate();
    const now = Date.parse('2026-12-01T10:00:00Z');
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
    await store.catalogue.upsertVariants(
      ['MUG', 'CUP'].map((sku) => ({ sku, name: sku })),
      now,
    );
    let n = 0;
    const ledger = new GroupCommitter(store, { now: () => now }, { next: (prefix) => `${prefix}_${++n}` });
    await ledger.submit([
      { type: 'receipt', key: 'rcv-mug', payloadHash: 'a', sku: 'MUG', location: 'WH1', quantity: 10 } as LedgerCommand,
      { type: 'receipt', key: 'rcv-cup', payloadHash: 'b', sku: 'CUP', location: 'WH1', quantity: 4 } as LedgerCommand,
      { type: 'reserve', key: 'cart-1', payloadHash: 'c', sku: 'MUG', location: 'WH1', quantity: 2 } as LedgerCommand,
      { type: 'reserve', key: 'cart-2', payloadHash: 'd', sku: 'CUP', location: 'WH1', quantity: 1 } as LedgerCommand,
    ]);
    for (const [id, status] of [
      ['PO-1', 'open'],
      ['PO-2', 'closed'],
    ] as const)
      await store.catalogue.upsertPurchaseOrder(
        {
          id,
          status,
          supplier: 'Acme',
          lines: [{ line: 1, sku: 'MUG', location: 'WH1', quantity: 5, expectedAt: null }],
        },
        now,
      );
    await ledger.close();
    await store.close();
  });

  after(() => rmSync(directory, { recursive: true, force: true }));

  it('reservations list prints a table, pages with --cursor, filters by sku', async () => {
    const result = await onhand(['reservations', 'list', '--database', database, '--limit', '1']);
    assert.equal(result.code, 0, result.stderr);
    const [header, row, more] = result.stdout.trim().split('\n');
    assert.match(header!, /^ID\s+CREATED\s+STATUS\s+SKU\s+LOCATION\s+QUANTITY\s+EXPIRES$/);
    assert.match(row!, /^res_\d+\s+2026-12-01T10:00:00.000Z\s+pending\s+CUP\s+WH1\s+1\s+-$/);
    const cursor = /^more: --cursor (\S+)$/.exec(more!)![1]!;
    const next = await onhand(['reservations', 'list', '--database', database, '--cursor', cursor, '--json']);
    const page = JSON.parse(next.stdout);
    assert.deepEqual(
      page.items.map((item: { sku: string }) => item.sku),
      ['MUG'],
    );
    assert.equal(page.next_cursor, null);
    const bySku = await onhand(['reservations', 'list', '--database', database, '--sku', 'NONE']);
    assert.equal(bySku.stdout.trim(), 'no reservations');
    const bad = await onhand(['reservations', 'list', '--database', database, '--status', 'open']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Allowed choices are active, committed, released, expired, all/);
    const tampered = await onhand(['reservations', 'list', '--database', database, '--cursor', 'AAAA']);
    assert.equal(tampered.code, 2);
    assert.match(tampered.stderr, /--cursor is not one this list issued/);
  });

  it('movements prints the feed oldest first; --follow prints what commits between polls', async () => {
    const result = await onhand(['movements', '--database', database, '--since', '2026-12-01T00:00:00Z']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+RECORDED\s+TYPE\s+SKU\s+LOCATION\s+CHANGE\s+KEY$/);
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(/\s+/)[2]),
      ['receipt', 'receipt', 'reserve', 'reserve'],
    );
    assert.match(lines[1]!, /on_hand \+10\s+rcv-mug$/);
    const typed = await onhand(['movements', '--database', database, '--type', 'reserve', '--json']);
    assert.equal(JSON.parse(typed.stdout).items.length, 2);
    // Follow from the end: a movement recorded by another writer while it waits is printed.
    const end = JSON.parse((await onhand(['movements', '--database', database, '--json'])).stdout).next_cursor;
    const following = onhand([
      'movements',
      '--database',
      database,
      '--cursor',
      end,
      '--follow',
      '--json',
      '--interval-ms',
      '200',
      '--polls',
      '3',
    ]);
    const writer = new SqliteStore({ filename: database });
    const ledger = new GroupCommitter(writer, { now: () => Date.now() }, { next: (prefix) => `${prefix}_w` });
    await ledger.submit([
      {
        type: 'adjustment',
        key: 'found-1',
        payloadHash: 'e',
        sku: 'CUP',
        location: 'WH1',
        quantity: 1,
        reason: 'found',
      } as LedgerCommand,
    ]);
    await ledger.close();
    await writer.close();
    const followed = await following;
    assert.equal(followed.code, 0, followed.stderr);
    assert.deepEqual(
      followed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).key),
      ['found-1'],
    );
    const bad = await onhand(['movements', '--database', database, '--since', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since must be an ISO 8601 time/);
  });

  it('po list prints orders with their totals and filters by status', async () => {
    const result = await onhand(['po', 'list', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+STATUS\s+SUPPLIER\s+LINES\s+ORDERED\s+RECEIVED\s+INCOMING$/);
    assert.match(lines[1]!, /^PO-1\s+open\s+Acme\s+1\s+5\s+0\s+5$/);
    assert.match(lines[2]!, /^PO-2\s+closed\s+Acme\s+1\s+5\s+0\s+0$/);
    const closed = await onhand(['po', 'list', '--database', database, '--status', 'closed', '--json']);
    assert.deepEqual(
      JSON.parse(closed.stdout).items.map((order: { id: string }) => order.id),
      ['PO-2'],
    );
  });

  it('deactivate and activate print what changed, idempotently; an unknown name exits 1', async () => {
    const first = await onhand(['deactivate', 'variant', 'MUG', '--database', database]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^variant MUG deactivated at \d{4}-\d\d-\d\dT/);
    const again = await onhand(['deactivate', 'variant', 'MUG', '--database', database]);
    assert.equal(again.stdout.trim(), 'variant MUG was already deactivated');
    const history = await onhand(['movements', '--database', database, '--json']);
    assert.ok(JSON.parse(history.stdout).items.some((item: { sku: string }) => item.sku === 'MUG'));
    assert.equal(
      (await onhand(['activate', 'variant', 'MUG', '--database', database])).stdout.trim(),
      'variant MUG activated',
    );
    const unknown = await onhand(['deactivate', 'location', 'NOPE', '--database', database]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no location NOPE/);
    assert.equal((await onhand(['deactivate', 'shelf', 'X', '--database', database])).code, 2);
    assert.equal((await onhand(['deactivate', 'listing', 'abc', '--database', database])).code, 2);
  });
});
