/**
 * Goal: the configuration version check behind getChannel is shared only by calls made before
 * it starts; a call made after a check started (and so possibly after a write the check missed)
 * gets a check of its own. This is what lets concurrent webhook deliveries share one read
 * without ever serving a call a version older than the call.
 * Method: SqlAvailabilityViews over a scripted executor whose version reads resolve when the
 * test says so, counting the reads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { SqlExecutor } from '../../src/store/sql/sql-executor.js';
import { SqlAvailabilityViews } from '../../src/store/sql/sql-availability-views.js';
import { sqliteDialect } from '../../src/store/sqlite/sqlite-executor.js';

class Views extends SqlAvailabilityViews {}

function scripted() {
  const versionReads: ((version: number) => void)[] = [];
  let channelReads = 0;
  const executor: SqlExecutor = {
    dialect: sqliteDialect,
    get: (sql) => {
      assert.match(sql, /config_version FROM availability_state/);
      return new Promise((resolve) =>
        versionReads.push((version) => resolve({ config_version: version } as never)),
      ) as never;
    },
    all: async (sql) => {
      if (/FROM channels/.test(sql)) {
        channelReads += 1;
        return [{ id: 1, code: 'shop', name: `v${channelReads}`, platform: 'shopify', settings: '{}' }] as never;
      }
      return [] as never;
    },
    run: async () => 0,
  };
  return { views: new Views(executor), versionReads, channelReads: () => channelReads };
}

describe('channel reads: the shared version check', () => {
  it('calls made before the check starts share it; a call after it starts gets its own', async () => {
    const { views, versionReads } = scripted();
    const first = [views.getChannel('shop'), views.getChannel('shop'), views.getChannel('shop')];
    await nextTurn();
    assert.equal(versionReads.length, 1, 'three calls before the check started: one read');
    // The check is on its way; a write may commit now; a call made now must not join it.
    const later = views.getChannel('shop');
    await nextTurn();
    assert.equal(versionReads.length, 2, 'the call after the check started has its own');
    versionReads[0]!(1);
    versionReads[1]!(2);
    for (const channel of await Promise.all([...first, later])) assert.equal(channel!.code, 'shop');
  });

  it('reads the channel rows again only when the version moved', async () => {
    const { views, versionReads, channelReads } = scripted();
    const answer = async (version: number) => {
      const read = views.getChannel('shop');
      await nextTurn();
      versionReads.at(-1)!(version);
      return (await read)!.name;
    };
    assert.equal(await answer(1), 'v1');
    assert.equal(await answer(1), 'v1');
    assert.equal(channelReads(), 1);
    assert.equal(await answer(2), 'v2');
    assert.equal(channelReads(), 2);
  });
});
