/**
 * Goal: `applyHeapGrowth` really changes how far V8 lets the heap grow (the setting behind
 * `--heap-growth-percent`), and 0 leaves V8 to decide.
 * Method: the same allocation pattern in three fresh processes (setting 50, setting 0, no call):
 * a fixed live set plus a stream of objects that live long enough to reach the old generation,
 * as requests waiting on a batch do. The largest heap seen with 50 is well under the one V8
 * chooses alone; 0 behaves as no call. A setting that is never applied (or applied as 0) fails
 * the first assertion. The pattern is deterministic in allocation count, not in time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

function largestHeapMiB(percent: number | null): number {
  const script = `
    import { getHeapStatistics } from 'node:v8';
    import { applyHeapGrowth } from './src/config/heap-growth.ts';
    ${percent === null ? '' : `applyHeapGrowth(${percent});`}
    const live = Array.from({ length: 300_000 }, (_, i) => ({ i, s: 'live-' + i }));
    const ring = new Array(200_000);
    let largest = 0;
    for (let n = 0; n < 4_000_000; n += 1) {
      ring[n % ring.length] = { n, pair: [n, n + 1], s: 'x' + (n & 1023) };
      if ((n & 16383) === 0) largest = Math.max(largest, getHeapStatistics().total_heap_size);
    }
    console.log(JSON.stringify({ largest: largest / 1048576, live: live.length }));
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim()).largest;
}

describe('heap growth setting', () => {
  it('holds the heap well under what V8 chooses alone; 0 leaves V8 to decide', () => {
    const tight = largestHeapMiB(50);
    const untouched = largestHeapMiB(null);
    const zero = largestHeapMiB(0);
    assert.ok(tight < untouched * 0.8, `with 50%: ${tight.toFixed(0)} MiB, V8 alone: ${untouched.toFixed(0)} MiB`);
    assert.ok(
      Math.abs(zero - untouched) < untouched * 0.15,
      `with 0: ${zero.toFixed(0)} MiB, V8 alone: ${untouched.toFixed(0)} MiB`,
    );
  });
});
