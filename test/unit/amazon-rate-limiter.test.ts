/**
 * Goal: the Amazon limiter (src/connectors/amazon/amazon-limits.ts) never lets through a request
 * that finds Amazon's token bucket empty, wherever in its margin each request's transit falls,
 * and it uses the answers it has seen: when answers come back fast, a plan far above the
 * published one is used at its rate, not capped at a burst per jitter margin.
 * Method: a simulated clock; requests sent as soon as the limiter allows, each arriving at
 * Amazon some time within the margin after it left (and before its answer, which sometimes
 * never comes); Amazon's bucket replayed exactly (full at the start, `rate` per second up to
 * `burst`) over the arrivals in arrival order. fast-check draws plans, transits and gaps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  amazonLimits,
  AmazonRateLimiter,
  amazonUsagePlans,
  type AmazonUsagePlan,
  type SendTicket,
} from '../../src/connectors/amazon/amazon-limits.js';

interface Request {
  /** Time after the previous send before this one is wanted. */
  gapMs: number;
  /** Send to arrival at Amazon, within the limiter's margin. */
  transitMs: number;
  /** Arrival to the answer being back; null: no answer ever comes (a lost connection). */
  answerMs: number | null;
}

/** Sends every request as soon as the limiter allows; returns send and arrival times. */
async function run(plan: AmazonUsagePlan, requests: readonly Request[]) {
  let now = 0;
  const limiter = new AmazonRateLimiter({ ...amazonUsagePlans, patchListingsItem: plan }, () => now);
  const pending: { at: number; ticket: SendTicket }[] = [];
  const arrivals: number[] = [];
  const tickets: SendTicket[] = [];
  const answer = () => {
    pending.sort((a, b) => a.at - b.at);
    while (pending.length > 0 && pending[0]!.at <= now) {
      const { ticket } = pending.shift()!;
      limiter.observe('patchListingsItem', ticket, 200, null);
    }
  };
  for (const request of requests) {
    now += request.gapMs;
    for (;;) {
      answer();
      const { waitMs } = limiter.status('patchListingsItem');
      if (waitMs <= 0) break;
      const nextAnswer = pending.length > 0 ? Math.min(...pending.map((p) => p.at)) : Number.POSITIVE_INFINITY;
      now = Math.max(now + 0.001, Math.min(now + waitMs, nextAnswer));
    }
    // No wait is due: acquire takes the slot without a timer.
    const slot = await limiter.acquire('patchListingsItem', 0);
    assert.ok(slot.ok, 'no wait announced, so a slot');
    const { ticket } = slot;
    tickets.push(ticket);
    assert.equal(
      limiter.status('patchListingsItem').waitMs,
      referenceWait(plan, tickets, now),
      'the wait, as a full scan',
    );
    const arrival = now + request.transitMs;
    arrivals.push(arrival);
    if (request.answerMs !== null) pending.push({ at: arrival + request.answerMs, ticket });
  }
  return { arrivals, end: now };
}

/** The limiter's wait by its definition, over every send it remembers (no early stop). */
function referenceWait(plan: AmazonUsagePlan, tickets: readonly SendTicket[], now: number): number {
  const log = tickets.slice(-Math.min(1_000, Math.ceil(plan.burst + plan.rate * 60) + 1));
  const rate = plan.rate * (1 - amazonLimits.rateMarginRatio);
  let earliest = now;
  log.forEach(({ at, answeredAt }, index) => {
    const count = log.length - index + 1;
    if (count <= plan.burst) return;
    const jitter =
      answeredAt === null ? amazonLimits.jitterMarginMs : Math.min(amazonLimits.jitterMarginMs, answeredAt - at);
    earliest = Math.max(earliest, at + jitter + ((count - plan.burst) / rate) * 1000);
  });
  return Math.max(0, Math.ceil(earliest - now));
}

/** Amazon's bucket over the arrivals: the first arrival that finds it empty, or null. */
function firstRefusal(plan: AmazonUsagePlan, arrivals: readonly number[]): number | null {
  let tokens = plan.burst;
  let last = Number.NEGATIVE_INFINITY;
  for (const [index, at] of [...arrivals].sort((a, b) => a - b).entries()) {
    if (last !== Number.NEGATIVE_INFINITY) tokens = Math.min(plan.burst, tokens + ((at - last) / 1000) * plan.rate);
    last = at;
    if (tokens < 1 - 1e-9) return index;
    tokens -= 1;
  }
  return null;
}

describe('the Amazon rate limiter', () => {
  it('property: no request finds the bucket empty, for any transit within the margin and any answers', async () => {
    const request = fc.record({
      gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 })),
      transitMs: fc.integer({ min: 0, max: amazonLimits.jitterMarginMs }),
      answerMs: fc.option(fc.integer({ min: 0, max: 300 }), { nil: null, freq: 5 }),
    });
    const plan = fc.record({
      rate: fc.constantFrom(0.5, 2, 5, 50, 1_000),
      burst: fc.constantFrom(1, 2, 5, 10, 30),
    });
    await fc.assert(
      fc.asyncProperty(plan, fc.array(request, { minLength: 1, maxLength: 120 }), async (usage, requests) => {
        const { arrivals } = await run(usage, requests);
        assert.equal(firstRefusal(usage, arrivals), null);
      }),
      { numRuns: 400 },
    );
  });

  it('with fast answers, a large granted rate is used at that rate, not a burst per margin', async () => {
    const plan = { rate: 1_000, burst: 5 };
    const requests = Array.from({ length: 300 }, () => ({ gapMs: 0, transitMs: 1, answerMs: 1 }));
    const { arrivals, end } = await run(plan, requests);
    assert.equal(firstRefusal(plan, arrivals), null);
    // A burst of 5 per 250 ms margin would need 15 s for 300 requests.
    assert.ok(end < 1_000, `300 requests took ${end} ms of simulated time`);
  });

  it('while nothing is answered, it keeps the whole margin: a burst per margin at most', async () => {
    const plan = { rate: 1_000, burst: 5 };
    const requests = Array.from({ length: 30 }, () => ({ gapMs: 0, transitMs: 1, answerMs: null }));
    const { end } = await run(plan, requests);
    assert.ok(end >= 5 * amazonLimits.jitterMarginMs, `30 unanswered requests went within ${end} ms`);
  });
});

describe('Amazon limiter: a waiting send and the answers', () => {
  it('a send waiting on the margin of unanswered sends goes once their answers are back, not after the margin', async () => {
    let now = 0;
    const limiter = new AmazonRateLimiter(
      { ...amazonUsagePlans, patchListingsItem: { rate: 1_000_000, burst: 5 } },
      () => now,
    );
    const tickets: SendTicket[] = [];
    for (let index = 0; index < 5; index += 1) {
      const slot = await limiter.acquire('patchListingsItem', 0);
      assert.ok(slot.ok);
      tickets.push(slot.ticket);
    }
    assert.ok(limiter.status('patchListingsItem').waitMs >= amazonLimits.jitterMarginMs - 1, 'a burst out, unanswered');
    let sixth: SendTicket | null = null;
    const waiting = limiter.acquire('patchListingsItem', 10_000).then((slot) => {
      assert.ok(slot.ok);
      sixth = slot.ticket;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(sixth, null, 'still waiting while the burst is unanswered');
    now = 3;
    for (const ticket of tickets) limiter.observe('patchListingsItem', ticket, 200, null);
    now = 10; // before the woken acquire looks again
    // The margin (250 ms of real timer) has not passed: only the answers can have let it go.
    await Promise.race([waiting, new Promise((resolve) => setTimeout(resolve, 100))]);
    assert.notEqual(sixth, null, 'sent after the answers, not after the margin');
    now = 1_000; // lets the unwoken acquire of a broken limiter end
    await waiting;
    assert.equal(sixth!.at, 10);
  });
});
