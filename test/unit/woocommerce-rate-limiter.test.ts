/**
 * Goal: the WooCommerce limiter (src/connectors/woocommerce/woocommerce-limits.ts) keeps the
 * shop's budget in any one-second window wherever the host starts it, AND spreads a busy
 * second instead of spending it at once: at most a tenth of the rate (at least one) starts in
 * any pace window, so a steady load never meets a long silence while the window moves.
 * Method: a simulated clock advanced 1 ms at a time for 3 s; every ms, requests are started
 * while the limiter gives a slot without waiting (acquire with maxWaitMs 0), each answered some
 * ms later; fast-check draws the rate, the concurrency and the answer times. The starts are then
 * checked window by window, and the throughput against what the sliding second allows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { wooLimits, WooRateLimiter } from '../../src/connectors/woocommerce/woocommerce-limits.js';

async function greedy(rate: number, concurrency: number, answerMs: readonly number[]) {
  let now = 0;
  const limiter = new WooRateLimiter({ requestsPerSecond: rate, concurrency }, () => now);
  const starts: number[] = [];
  const pending: { at: number; release: () => void }[] = [];
  for (; now < 3_000; now += 1) {
    for (const due of pending.filter((entry) => entry.at <= now)) {
      due.release();
      pending.splice(pending.indexOf(due), 1);
    }
    for (;;) {
      const slot = await limiter.acquire('write', 0);
      if (!slot.ok) break;
      starts.push(now);
      pending.push({ at: now + answerMs[starts.length % answerMs.length]!, release: slot.release });
    }
  }
  return starts;
}

const mostInAnyWindow = (starts: readonly number[], windowMs: number) => {
  let most = 0;
  for (let first = 0, last = 0; last < starts.length; last += 1) {
    while (starts[last]! - starts[first]! >= windowMs) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
};

describe('WooCommerce limiter', () => {
  it('never more than the rate in any second, nor a tenth of it in any pace window; still near the rate', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 32 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        async (rate, concurrency, answerMs) => {
          const starts = await greedy(rate, concurrency, answerMs);
          assert.ok(mostInAnyWindow(starts, wooLimits.windowMs) <= rate, 'the shop budget in any second');
          const pace = Math.max(1, Math.ceil((rate * wooLimits.paceWindowMs) / wooLimits.windowMs));
          assert.ok(mostInAnyWindow(starts, wooLimits.paceWindowMs) <= pace, `at most ${pace} per pace window`);
          // Concurrency bounds the rate when answers are slow; otherwise the sliding second (with
          // its margin, each request counted until a second after its answer) does.
          const slowest = Math.max(...answerMs);
          const byConcurrency = (concurrency * 3_000) / (slowest + 1);
          const bySecond = (rate * 3_000) / (wooLimits.windowMs + wooLimits.windowMarginMs + slowest + pace);
          assert.ok(
            starts.length >= Math.floor(Math.min(byConcurrency, bySecond)) - pace,
            `${starts.length} starts in 3 s at ${rate}/s`,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a steady load at the rate meets no silence longer than a pace window and the margin', async () => {
    const answerMs = 5;
    const starts = await greedy(100, 32, [answerMs]);
    let longest = 0;
    for (let index = 1; index < starts.length; index += 1)
      longest = Math.max(longest, starts[index]! - starts[index - 1]!);
    // Unpaced, the whole second went at t=0 and the next request waited ~1,055 ms.
    assert.ok(longest <= wooLimits.paceWindowMs + wooLimits.windowMarginMs + answerMs + 1, `longest gap ${longest} ms`);
    assert.ok(mostInAnyWindow(starts, wooLimits.paceWindowMs) <= 10);
  });
});

describe('WooCommerce limiter: a slot given back', () => {
  it('a slot returned unused (nothing was sent) counts neither against the second nor the pace window', async () => {
    const now = 0;
    const limiter = new WooRateLimiter({ requestsPerSecond: 2, concurrency: 1 }, () => now);
    for (let round = 0; round < 5; round += 1) {
      const slot = await limiter.acquire('write', 0);
      assert.ok(slot.ok, `round ${round}: the budget is whole again`);
      assert.equal(limiter.status().available, 0, 'one worker, taken');
      slot.unused();
    }
    assert.deepEqual(limiter.status(), { available: 1, capacity: 2, waitMs: 0 });
    const sent = await limiter.acquire('write', 0);
    assert.ok(sent.ok);
    sent.release();
    const paced = await limiter.acquire('write', 0);
    assert.ok(!paced.ok, 'a slot that was used still counts: the pace window holds one at 2 per second');
  });
});
