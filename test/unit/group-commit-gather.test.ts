/**
 * Goal: on a single-writer store the group commit lets the requests that reach the queue over
 * the next few turns of the event loop join one batch (their reads waited behind a synchronous
 * commit), ends the wait on the first turn that adds nothing, and never holds a lone command.
 * Method: a store double that records the size of every batch; submissions made one turn
 * (setImmediate) apart; the same with gathering off, and on a store that is not single-writer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandAnswer } from '../../src/core/ledger/apply-commands.js';
import type { LedgerCommand } from '../../src/core/ledger/command.js';
import { limits } from '../../src/core/limits.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';

function committer(singleWriter: boolean, gatherTurnsMax?: number) {
  const batches: number[] = [];
  const store = {
    capabilities: { engine: 'sqlite', singleWriter, supportsSkipLocked: false },
    ledger: {
      applyBatch: async (items: readonly unknown[]) => {
        batches.push(items.length);
        return items.map(() => ({}) as CommandAnswer);
      },
    },
  } as unknown as Pick<LedgerStore, 'ledger' | 'capabilities'>;
  const ledger = new GroupCommitter(
    store,
    { now: () => 0 },
    { next: (prefix) => `${prefix}_1` },
    gatherTurnsMax === undefined ? {} : { gatherTurnsMax },
  );
  return { ledger, batches };
}

const command = { type: 'receipt' } as unknown as LedgerCommand;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Three submissions, each one turn of the event loop after the previous. */
async function overThreeTurns(ledger: GroupCommitter) {
  const submitted = [ledger.submit([command])];
  await nextTurn();
  submitted.push(ledger.submit([command]));
  await nextTurn();
  submitted.push(ledger.submit([command]));
  await Promise.all(submitted);
}

describe('group commit: gathering on a single-writer store', () => {
  it('takes submissions that arrive over the next turns into one batch', async () => {
    const { ledger, batches } = committer(true);
    await overThreeTurns(ledger);
    assert.deepEqual(batches, [3]);
  });

  it('without gathering, the same submissions are split', async () => {
    const { ledger, batches } = committer(true, 0);
    await overThreeTurns(ledger);
    assert.ok(batches.length > 1, `batches ${JSON.stringify(batches)}`);
  });

  it('a store that is not single-writer does not gather by default', async () => {
    const { ledger, batches } = committer(false);
    await overThreeTurns(ledger);
    assert.ok(batches.length > 1, `batches ${JSON.stringify(batches)}`);
  });

  it('a lone command is committed after a turn that adds nothing, not held', async () => {
    const { ledger, batches } = committer(true);
    let turns = 0;
    let done = false;
    const answer = ledger.submit([command]).then(() => (done = true));
    while (!done && turns < limits.groupCommitGatherTurnsMax + 5) {
      await nextTurn();
      turns += 1;
    }
    await answer;
    assert.deepEqual(batches, [1]);
    assert.ok(turns <= 3, `committed after ${turns} turns`);
  });

  it('refuses a gathering longer than its bound', () => {
    assert.throws(() => committer(true, limits.groupCommitGatherTurnsMax + 1));
  });
});
