/**
 * `onhand inbox` and `onhand inbox retry` as a user runs them, in-process on a temp SQLite
 * file: a channel order line whose item matches no variant is listed with its reason; once the
 * variant exists, `inbox retry` applies it (the reservation appears) and the inbox is empty;
 * bad arguments exit 2 and an unknown channel or line exits 1, changing nothing; a line held by
 * an event onhand did not understand stays held on `inbox retry` and is applied once
 * `inbox retry --dismiss` sets the event aside.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { onhand } from '../support/cli-harness.js';

describe('onhand inbox', () => {
  let directory: string;
  let database: string;
  const line = 'custom:acct:1001:1';

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'onhand-order-cli-'));
    database = join(directory, 'onhand.db');
    const store = new SqliteStore({ filename: database });
    await store.migrate();
    const now = Date.now();
    await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], now);
    await store.availability.upsertChannels(
      [{ code: 'shop', name: 'Shop', platform: 'custom', locations: ['WH1'] }],
      now,
    );
    const ledger = new GroupCommitter(store, { now: () => Date.now() }, { next: (prefix) => `${prefix}_1` });
    const intake = new OrderLineIntake({
      store,
      ledger,
      clock: { now: () => Date.now() },
      match: storeOrderItemMatcher(store.availability),
    });
    const report = await intake.ingest((await store.availability.getChannel('shop'))!, [
      {
        lineKey: line,
        eventId: 'order',
        orderId: '1001',
        lineId: '1',
        item: { externalId: 'item-9', sku: 'MUG-BLUE', barcode: null },
        occurredAt: now - 1000,
        fact: { kind: 'ordered', quantity: 2, version: 1, fulfilledBy: 'merchant', locationId: null },
      },
    ]);
    assert.equal(report.blocked.length, 1);
    await ledger.close();
    await store.close();
  });

  after(() => rmSync(directory, { recursive: true, force: true }));

  it('lists a blocked line with its reason', async () => {
    const result = await onhand(['inbox', '--database', database]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /shop\s+custom:acct:1001:1\s+MUG-BLUE\s+\S+\s+unmapped: /);
    const json = JSON.parse((await onhand(['inbox', '--json', '--database', database])).stdout);
    assert.equal(json.lines[0].line_key, line);
    assert.equal(json.lines[0].status, 'blocked');
  });

  it('refuses bad arguments and unknown names, changing nothing', async () => {
    assert.equal((await onhand(['inbox', '--limit', '0', '--database', database])).code, 2);
    assert.equal((await onhand(['inbox', '--channel', 'nope', '--database', database])).code, 1);
    assert.equal((await onhand(['inbox', 'retry', '--line', line, '--database', database])).code, 2);
    assert.equal(
      (await onhand(['inbox', 'retry', '--channel', 'shop', '--line', 'x', '--database', database])).code,
      1,
    );
    assert.match((await onhand(['inbox', '--database', database])).stdout, /custom:acct:1001:1/);
  });

  it('applies the line once its variant exists', async () => {
    const still = await onhand(['inbox', 'retry', '--database', database]);
    assert.equal(still.code, 0, still.stderr);
    assert.match(still.stdout, /still blocked 1/);
    const store = new SqliteStore({ filename: database });
    await store.catalogue.upsertVariants([{ sku: 'MUG-BLUE', name: 'Blue mug' }], Date.now());
    await store.close();
    const retried = await onhand(['inbox', 'retry', '--channel', 'shop', '--database', database]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /applied 1/);
    assert.match((await onhand(['inbox', '--database', database])).stdout, /the intake inbox is empty/);
    const check = new SqliteStore({ filename: database });
    const stock = await check.ledger.getStock('MUG-BLUE', Date.now());
    await check.close();
    assert.equal(stock?.total.reserved, 2);
  });

  it('keeps a line held by an event not understood until `inbox retry --dismiss`', async () => {
    const store = new SqliteStore({ filename: database });
    const ledger = new GroupCommitter(store, { now: () => Date.now() }, { next: (prefix) => `${prefix}_2` });
    const intake = new OrderLineIntake({
      store,
      ledger,
      clock: { now: () => Date.now() },
      match: storeOrderItemMatcher(store.availability),
    });
    const event = {
      lineKey: line,
      orderId: '1001',
      lineId: '1',
      item: { externalId: 'item-9', sku: 'MUG-BLUE', barcode: null },
      occurredAt: Date.now() - 1000,
    };
    const report = await intake.ingest((await store.availability.getChannel('shop'))!, [
      { ...event, eventId: 'return:7', fact: { kind: 'not_understood', reason: 'status "lost in transit"' } },
      { ...event, eventId: 'cancel', fact: { kind: 'cancelled', quantity: null } },
    ]);
    await ledger.close();
    await store.close();
    assert.equal(report.blocked.length, 1);
    const args = ['inbox', 'retry', '--channel', 'shop', '--line', line, '--database', database];
    const held = await onhand(args);
    assert.equal(held.code, 0, held.stderr);
    assert.match(held.stdout, /still blocked: not understood: event return:7: status "lost in transit"/);
    assert.equal((await onhand(['inbox', 'retry', '--dismiss', '--database', database])).code, 2);
    const dismissed = await onhand([...args, '--dismiss']);
    assert.equal(dismissed.code, 0, dismissed.stderr);
    assert.match(dismissed.stdout, /: changed/);
    const check = new SqliteStore({ filename: database });
    const stock = await check.ledger.getStock('MUG-BLUE', Date.now());
    await check.close();
    assert.equal(stock?.total.reserved, 0, 'the cancellation held with the line is applied');
  });
});
