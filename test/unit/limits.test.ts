/**
 * Goal: the bounds in src/core/limits.ts keep the relations the code relies on, and a set that
 * breaks one is caught (the module checks its own set with the same function at load).
 * Method: checkLimits on the real set, then on sets with one relation broken each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLimits, limitRelations, limits, type Limits } from '../../src/core/limits.js';

describe('limits', () => {
  it('every relation holds for the real set', () => {
    assert.deepEqual(checkLimits(limits), []);
    assert.ok(limitRelations.length >= 20, `${limitRelations.length} relations`);
  });

  it('every bound is a finite number, never negative, and the set is frozen', () => {
    for (const [name, value] of Object.entries(limits)) {
      assert.ok(Number.isFinite(value) && value >= 0, `${name} = ${value}`);
    }
    assert.ok(Object.isFrozen(limits));
  });

  const broken: [string, Partial<Limits>, RegExp][] = [
    ['a lease as long as a claim', { leaseTtlMs: limits.claimTtlMs }, /claim outlives the lease/],
    ['an idle sleep longer than the lease', { dispatchIdleMs: limits.leaseTtlMs + 1 }, /renews its lease/],
    ['an error pause longer than the lease', { dispatchErrorPauseMs: limits.leaseTtlMs }, /renews its lease/],
    ['a request timeout longer than a claim', { outboundRequestTimeoutMs: limits.claimTtlMs }, /still claimed/],
    [
      'a rate wait longer than the request',
      { bolLimiterWaitMsMax: limits.outboundRequestTimeoutMs },
      /rate budget never takes longer/,
    ],
    ['a first retry delay above the longest', { retryInitialDelayMs: limits.retryDelayMsMax + 1 }, /first retry delay/],
    ['a backoff that shrinks', { retryBackoffCoefficient: 0.5 }, /backoff never shrinks/],
    [
      'default attempts above the ceiling',
      { retryAttemptsMax: limits.retryAttemptsCeiling + 1 },
      /attempts lie within/,
    ],
    ['a webhook body above the request body', { webhookBodyBytesMax: limits.requestBodyBytesMax + 1 }, /webhook body/],
    ['a CSV field too short for a bundle', { csvFieldLengthMax: 1_000 }, /fit one CSV field/],
    ['a CSV import deadline below the request deadline', { csvImportTimeoutMs: 1_000 }, /CSV import takes at least/],
    [
      'a deadline sweep too slow for the request deadline',
      { requestDeadlineSweepMs: limits.requestTimeoutMs },
      /deadline sweep runs/,
    ],
    [
      'a request deadline after the idle socket timeout',
      { requestTimeoutMs: limits.connectionTimeoutMs + 1 },
      /own deadline/,
    ],
    [
      'samples dropped inside the latency window',
      { pushSampleRetentionMs: limits.pushLatencyWindowMs - 1 },
      /whole window/,
    ],
    [
      'a movements request above a group commit',
      { movementsPerRequestMax: limits.groupCommitBatchSizeMax + 1 },
      /fits one group commit/,
    ],
    ['a sweep default below its minimum', { sweepIntervalMsDefault: limits.sweepIntervalMsMin - 1 }, /sweep interval/],
    ['a Bol.com token used past its lifetime', { bolTokenUseRatioMax: 1 }, /token/],
    ['a claim smaller than a Bol.com push', { claimBatchSizeMax: limits.bolPushBatchSizeMax - 1 }, /push batch/],
    [
      'a default group commit above its ceiling',
      { groupCommitBatchSizeMax: limits.groupCommitBatchSizeCeiling + 1 },
      /within its ceiling/,
    ],
    [
      'a queue shorter than a group commit',
      { groupCommitQueueDepthMax: limits.groupCommitBatchSizeCeiling - 1 },
      /can queue/,
    ],
    ['a default page above the largest', { pageSizeDefault: limits.pageSizeMax + 1 }, /page size/],
    ['a cursor bound below a reservation cursor', { listCursorLengthMax: 100 }, /reservation cursor fits/],
    ['a cursor bound below a purchase order cursor', { listCursorLengthMax: 500 }, /purchase order cursor fits/],
    ['a read-back chunk above a page', { readBackChunkMax: limits.pageSizeMax + 1 }, /read-back chunk/],
    [
      'a receive deadline after the handler deadline',
      { requestReceiveTimeoutMs: limits.requestTimeoutMs },
      /stalled body is answered 408/,
    ],
    [
      'settings nested deeper than a request',
      { channelSettingsDepthMax: limits.requestJsonDepthMax },
      /nest within a request/,
    ],
    ['a rule set larger than a request body', { ruleSetBytesMax: limits.requestBodyBytesMax }, /fit one request body/],
    ['quantities whose sums lose precision', { quantityMax: Number.MAX_SAFE_INTEGER }, /exact integers/],
    [
      'a retention default above its maximum',
      { idempotencyRetentionDaysDefault: limits.idempotencyRetentionDaysMax + 1 },
      /retention/,
    ],
    [
      'a refresh default above its maximum',
      { availabilityRefreshMsDefault: limits.availabilityRefreshMsMax + 1 },
      /availability refresh/,
    ],
    ['a pool default above its maximum', { pgPoolSizeDefault: limits.pgPoolSizeMax + 1 }, /pool size/],
    ['a heap growth default above its maximum', { heapGrowthPercentDefault: 301 }, /default heap growth/],
    ['a heap growth default below its minimum', { heapGrowthPercentDefault: 5 }, /default heap growth/],
    ['more problem errors than commands', { problemErrorsMax: limits.movementsPerRequestMax + 1 }, /more errors/],
    ['a path parameter too short for a code', { pathParameterLengthMax: limits.codeLengthMax }, /percent-encoded/],
    ["a keep-alive within the load balancers' timeout", { keepAliveTimeoutMs: 60_000 }, /keep-alive/],
    [
      'more Bol.com pushes in flight than a batch holds',
      { bolPushConcurrencyMax: limits.bolPushBatchSizeMax + 1 },
      /push concurrency/,
    ],
    [
      'a WooCommerce budget wait as long as a claim',
      { wooLimiterWaitMsMax: limits.claimTtlMs },
      /WooCommerce batch request/,
    ],
    [
      'a WooCommerce default above its ceiling',
      { wooConcurrencyDefault: limits.wooConcurrencyCeiling + 1 },
      /default WooCommerce budget/,
    ],
    ['a WooCommerce read-back with all the budget', { wooReadSharePercent: 100 }, /leaves budget to pushes/],
    ['WooCommerce pacing over the whole second', { wooPaceWindowMs: 1000 }, /spreads a second over several windows/],
    [
      'more Bol.com details per poll than the cursor carries',
      { bolOrderDetailsPerPollMax: limits.bolDeferredOrdersMax + 1 },
      /order details/,
    ],
    [
      'a targeted reconcile window shorter than its interval',
      { reconcileTargetedWindowMs: limits.reconcileTargetedIntervalMs - 1 },
      /targeted reconcile pass/,
    ],
    [
      'a read-back budget reserve of the whole budget',
      { reconcileBudgetReservePercent: 100 },
      /budget that is not empty/,
    ],
    ['a drift page above the page size', { reconcileDriftPageMax: limits.pageSizeMax + 1 }, /page of drifted listings/],
    ['webhook retries beyond their time bound', { alertWebhookAttemptsMax: 20 }, /last retry of a webhook delivery/],
    ['a drift count below one page', { alertDriftCountMax: 1 }, /one page of drift is counted/],
    [
      'a default targeted interval below what a channel may set',
      { reconcileTargetedIntervalMs: limits.reconcileTargetedIntervalMsMin - 1 },
      /default schedule is one a channel could set/,
    ],
    [
      'a full audit allowed more often than the longest targeted interval',
      { reconcileFullIntervalMsMin: limits.reconcileTargetedIntervalMsMax - 1 },
      /full audit is never more frequent/,
    ],
    [
      'a schedule tick as long as the shortest interval',
      { reconcileScheduleTickMs: limits.reconcileTargetedIntervalMsMin },
      /schedule looks often enough/,
    ],
    ['a stock page above the list page bound', { stockPageSizeMax: limits.pageSizeMax + 1 }, /stock page/],
    ['a default stock page above its maximum', { stockPageSizeDefault: limits.stockPageSizeMax + 1 }, /stock page/],
    [
      'an order line page above the list page bound',
      { orderLinePageSizeMax: limits.pageSizeMax + 1 },
      /order line page/,
    ],
    [
      'a default order line page above its maximum',
      { orderLinePageSizeDefault: limits.orderLinePageSizeMax + 1 },
      /order line page/,
    ],
    ['a session idle bound above its absolute bound', { sessionIdleMs: limits.sessionAbsoluteMs + 1 }, /session idles/],
    [
      'a session touched no more often than it idles out',
      { sessionTouchIntervalMs: limits.sessionIdleMs },
      /session idles/,
    ],
    ['an event heartbeat after the socket deadline', { eventHeartbeatMs: limits.connectionTimeoutMs }, /heartbeat/],
    [
      'an event stream backlog beyond the resume ring',
      { eventStreamBacklogMax: limits.eventRingSizeMax + 1 },
      /resume from the ring/,
    ],
  ];
  for (const [name, change, why] of broken) {
    it(`catches ${name}`, () => {
      const candidate: Limits = { ...limits, ...change };
      const found = checkLimits(candidate);
      assert.ok(
        found.some((each) => why.test(each)),
        `${JSON.stringify(change)} gave ${JSON.stringify(found)}`,
      );
    });
  }

  it('every relation is caught by at least one broken set above', () => {
    const caught = new Set<string>();
    for (const [, change] of broken) for (const why of checkLimits({ ...limits, ...change })) caught.add(why);
    assert.deepEqual(
      limitRelations.map((relation) => relation.why).filter((why) => !caught.has(why)),
      [],
    );
  });
});
