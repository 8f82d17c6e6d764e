/**
 * Connector conformance, Bol.com half (docs/ARCHITECTURE.md, A new connector, step 6): BolConnector
 * against the Bol simulator (sim/bol/bol-simulator.ts), a real HTTP server on loopback. No mocks:
 * every case goes through fetch, the token endpoint, the rate windows and the fault switches.
 *
 * Goal: what the port promises holds for bol - absolute pushes read back, token renewed before
 * it expires (and shared by concurrent pushes), errors classified (retry vs permanent, with
 * bol's Retry-After), the client-side windows keep bol's 429 count at ZERO under a 10x burst
 * (with a control that shows the simulator does count), a lost answer retried without double
 * application, managedByRetailer chosen so open orders are not subtracted twice, and orders
 * polled with paging into business-event keys, deduplicated across polls. Last, the generated
 * types are checked fresh against the spec.
 *
 * Time is real (the simulator is an HTTP server); token lifetimes are shortened to seconds so
 * renewal happens inside a test, and the burst runs at bol's real 50 PATCH/s (about 10 s).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PushItem, PushOutcome } from '../../../src/connectors/channel-connector.js';
import { BolConnector, type BolConnectorConfig } from '../../../src/connectors/bol/bol-connector.js';
import { initialBolOrdersCursor, readBolOrdersCursor } from '../../../src/connectors/bol/bol-orders.js';
import type { OrderLineEvent } from '../../../src/connectors/channel-intake.js';
import { BolSimulator, bolSimulatorRateRules, type BolSimulatorOptions } from '../../../sim/bol/bol-simulator.js';

const clientId = 'onhand-sim';
const clientSecret = 'onhand-sim-secret';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withBol(
  options: { simulator?: BolSimulatorOptions; connector?: Partial<BolConnectorConfig> },
  body: (sim: BolSimulator, connector: BolConnector, config: BolConnectorConfig) => Promise<void>,
): Promise<void> {
  const sim = new BolSimulator(options.simulator);
  const url = await sim.start();
  const config: BolConnectorConfig = {
    account: 'shop1',
    baseUrl: url,
    tokenUrl: sim.tokenUrl,
    clientId,
    clientSecret,
    ...options.connector,
  };
  try {
    await body(sim, new BolConnector(config), config);
  } finally {
    await sim.stop();
  }
}

function item(externalId: string, quantity: number, listingId = `lst_${externalId.slice(0, 8)}`): PushItem {
  return {
    listingId,
    externalId,
    externalLocationId: null,
    quantity,
    expectedChannelQuantity: null,
    idempotencyKey: `${listingId}:${quantity}`,
  };
}

/** Pushes like the dispatcher would: re-push `retry` outcomes after their retryAfterMs (bounded). */
async function pushUntilSettled(connector: BolConnector, items: PushItem[], attemptsMax = 10): Promise<PushOutcome[]> {
  let outcomes = await connector.pushLevels(items);
  for (let attempt = 1; attempt < attemptsMax && outcomes.some((outcome) => outcome.status === 'retry'); attempt++) {
    const waits = outcomes.map((outcome) => (outcome.status === 'retry' ? (outcome.retryAfterMs ?? 50) : 0));
    await sleep(Math.max(...waits));
    const again = items.filter((_, index) => outcomes[index]!.status === 'retry');
    const retried = await connector.pushLevels(again);
    let next = 0;
    outcomes = outcomes.map((outcome) => (outcome.status === 'retry' ? retried[next++]! : outcome));
  }
  return outcomes;
}

describe('bol: push and read back', () => {
  it('sets absolute amounts with managedByRetailer and reads correctedStock back; unknown offers read as null', async () => {
    await withBol({}, async (sim, connector) => {
      const offers = [sim.seedOffer({ amount: 3 }), sim.seedOffer({ amount: 0 }), sim.seedOffer({ amount: 40 })];
      const outcomes = await connector.pushLevels([item(offers[0]!, 5), item(offers[1]!, 0), item(offers[2]!, 12)]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['ok', 'ok', 'ok'],
      );
      assert.deepEqual(
        outcomes.map((outcome) => (outcome.status === 'ok' ? outcome.channelQuantity : null)),
        [5, 0, 12],
      );
      assert.deepEqual(
        offers.map((offerId) => sim.offerState(offerId).amount),
        [5, 0, 12],
      );
      assert.ok(offers.every((offerId) => sim.offerState(offerId).managedByRetailer));
      const unknown = randomUUID();
      const levels = await connector.readLevels([
        ...offers.map((offerId) => item(offerId, 0)),
        item(unknown, 0, 'lst_unknown'),
        item('not-a-uuid', 0, 'lst_bad'),
      ]);
      assert.deepEqual(
        levels.map((level) => level.quantity),
        [5, 0, 12, null, null],
      );
      assert.equal(levels[3]!.listingId, 'lst_unknown');
      const stats = sim.stats();
      assert.equal(stats.rateLimitViolations, 0);
      assert.equal(stats.unauthorized, 0);
      assert.equal(stats.notAcceptable + stats.unsupportedMediaType, 0, 'the connector speaks v11 on offers');
    });
  });

  it('the simulator refuses the wrong media types as bol does (406 Accept, 415 Content-Type)', async () => {
    await withBol({}, async (sim) => {
      const offerId = sim.seedOffer({ amount: 1 });
      const token = (await (
        await fetch(`${sim.tokenUrl}?grant_type=client_credentials`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
        })
      ).json()) as { access_token: string; token_type: string; expires_in: number };
      assert.equal(token.token_type, 'Bearer');
      assert.equal(token.expires_in, 299);
      const auth = { authorization: `Bearer ${token.access_token}` };
      const v10Read = await fetch(`${sim.url}/retailer/offers/${offerId}`, {
        headers: { ...auth, accept: 'application/vnd.retailer.v10+json' },
      });
      assert.equal(v10Read.status, 406);
      const problem = (await v10Read.json()) as { type: string; status: number; violations: unknown[] };
      assert.equal(problem.type, 'https://api.bol.com/problems');
      assert.equal(problem.status, 406);
      const jsonWrite = await fetch(`${sim.url}/retailer/offers/${offerId}`, {
        method: 'PATCH',
        headers: { ...auth, accept: 'application/vnd.retailer.v11+json', 'content-type': 'application/json' },
        body: JSON.stringify({ stock: { amount: 9 } }),
      });
      assert.equal(jsonWrite.status, 415);
      await jsonWrite.arrayBuffer();
      assert.equal(sim.offerState(offerId).amount, 1, 'refused writes change nothing');
      const good = await fetch(`${sim.url}/retailer/offers/${offerId}`, {
        method: 'PATCH',
        headers: {
          ...auth,
          accept: 'application/vnd.retailer.v11+json',
          'content-type': 'application/vnd.retailer.v11+json',
        },
        body: JSON.stringify({ stock: { amount: 9, managedByRetailer: true } }),
      });
      assert.equal(good.status, 204);
      assert.equal(good.headers.get('x-ratelimit-limit'), '50');
      // 50 per second per client; the refused 415 PATCH reached bol, so it counted too (unless a window rolled over)
      assert.ok(
        ['48', '49'].includes(good.headers.get('x-ratelimit-remaining') ?? ''),
        good.headers.get('x-ratelimit-remaining') ?? 'none',
      );
      assert.ok(Number(good.headers.get('x-ratelimit-reset')) >= 1);
      assert.equal(sim.offerState(offerId).amount, 9);
    });
  });
});

describe('bol: OAuth2 token', () => {
  it('renews the token before it expires: pushes across 2.5 lifetimes never meet a 401', async () => {
    await withBol({ simulator: { tokenLifetimeSeconds: 2 } }, async (sim, connector) => {
      const offerId = sim.seedOffer();
      const started = Date.now();
      let quantity = 0;
      while (Date.now() - started < 5_000) {
        const [outcome] = await connector.pushLevels([item(offerId, ++quantity)]);
        assert.equal(outcome!.status, 'ok', JSON.stringify(outcome));
        await sleep(100);
      }
      const stats = sim.stats();
      assert.equal(stats.unauthorized, 0, 'no push was sent with an expired token');
      assert.ok(stats.tokensIssued >= 3, `renewed (${stats.tokensIssued} tokens)`);
      assert.ok(
        stats.tokensIssued <= 4,
        `renewed once per ~1.6 s lifetime fraction, not per push (${stats.tokensIssued})`,
      );
      assert.equal(connector.tokenRequestCount, stats.tokenRequests);
      assert.equal(sim.offerState(offerId).amount, quantity);
    });
  });

  it('concurrent pushes share one token request (single flight)', async () => {
    await withBol({}, async (sim, connector) => {
      const offers = Array.from({ length: 20 }, () => sim.seedOffer());
      const outcomes = await Promise.all([
        connector.pushLevels(offers.slice(0, 10).map((offerId) => item(offerId, 4))),
        connector.pushLevels(offers.slice(10).map((offerId) => item(offerId, 6))),
      ]);
      assert.ok(outcomes.flat().every((outcome) => outcome.status === 'ok'));
      assert.equal(connector.tokenRequestCount, 1);
      assert.equal(sim.stats().tokensIssued, 1);
    });
  });

  it('a token bol ends early -> one 401, one renewal, the push succeeds', async () => {
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer();
      assert.equal((await connector.pushLevels([item(offerId, 1)]))[0]!.status, 'ok');
      sim.expireAllTokens();
      const [outcome] = await connector.pushLevels([item(offerId, 2)]);
      assert.equal(outcome!.status, 'ok');
      assert.equal(sim.stats().unauthorized, 1);
      assert.equal(sim.stats().tokensIssued, 2);
      assert.equal(sim.offerState(offerId).amount, 2);
    });
  });

  it('token endpoint failures -> retry with a hold-off, then recovery; refused credentials or 403 -> permanent', async () => {
    await withBol({ connector: { tokenFailureHoldOffMs: 200 } }, async (sim, connector) => {
      const offerId = sim.seedOffer();
      sim.injectFaults({ tokenFailuresNext: 1, tokenFailureStatus: 503 });
      const [failed] = await connector.pushLevels([item(offerId, 3)]);
      assert.equal(failed!.status, 'retry');
      assert.ok(failed!.status === 'retry' && failed!.retryAfterMs !== undefined && failed!.retryAfterMs <= 200);
      const [held] = await connector.pushLevels([item(offerId, 3)]);
      assert.equal(held!.status, 'retry', 'no second token request inside the hold-off');
      assert.equal(sim.stats().tokenRequests, 1);
      await sleep(250);
      sim.injectFaults({ tokenFailuresNext: 1, tokenFailureStatus: 0 }); // dropped connection
      assert.equal((await connector.pushLevels([item(offerId, 3)]))[0]!.status, 'retry');
      await sleep(250);
      assert.equal((await connector.pushLevels([item(offerId, 3)]))[0]!.status, 'ok');
      assert.equal(sim.offerState(offerId).amount, 3);
    });
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer();
      sim.revokeClient(clientId);
      const [refused] = await connector.pushLevels([item(offerId, 3)]);
      assert.equal(refused!.status, 'permanent');
      assert.match(refused!.status === 'permanent' ? refused!.reason : '', /refused the client credentials/);
    });
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer({ amount: 8 });
      assert.equal((await connector.pushLevels([item(offerId, 1)]))[0]!.status, 'ok');
      sim.revokeClient(clientId); // tokens stop working AND renewal is refused: persistent 401
      const [persistent401] = await connector.pushLevels([item(offerId, 2)]);
      assert.equal(persistent401!.status, 'permanent');
    });
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer({ amount: 8 });
      sim.denyClient(clientId);
      const [forbidden] = await connector.pushLevels([item(offerId, 2)]);
      assert.equal(forbidden!.status, 'permanent');
      assert.match(forbidden!.status === 'permanent' ? forbidden!.reason : '', /403/);
      assert.equal(sim.offerState(offerId).amount, 8);
    });
  });
});

describe('bol: error classification', () => {
  it('unknown offer (404) and validation (400) -> permanent at once; a non-UUID offer id is refused without a request', async () => {
    await withBol({}, async (sim, connector) => {
      const unknown = randomUUID();
      const [missing] = await connector.pushLevels([item(unknown, 1)]);
      assert.equal(missing!.status, 'permanent');
      assert.match(missing!.status === 'permanent' ? missing!.reason : '', /unknown bol offer .*404/);
      const offerId = sim.seedOffer({ amount: 2 });
      sim.injectFaults({ rejectNext: 1, rejectStatus: 400 });
      const [invalid] = await connector.pushLevels([item(offerId, 5)]);
      assert.equal(invalid!.status, 'permanent');
      assert.match(invalid!.status === 'permanent' ? invalid!.reason : '', /400.*injected: Injected refusal/);
      const before = sim.stats().requests;
      const [badId] = await connector.pushLevels([item('12345', 1)]);
      const [negative] = await connector.pushLevels([item(offerId, -1)]);
      assert.equal(badId!.status, 'permanent');
      assert.equal(negative!.status, 'permanent');
      assert.equal(sim.stats().requests, before, 'refused locally');
      assert.equal(sim.offerState(offerId).amount, 2);
    });
  });

  it('5xx, timeouts and lost answers -> retry; the retry of the absolute amount lands once', async () => {
    await withBol({ connector: { requestTimeoutMs: 300 } }, async (sim, connector) => {
      const offerId = sim.seedOffer({ amount: 1 });
      sim.injectFaults({ serverErrorsNext: 1, serverErrorStatus: 503 });
      const [unavailable] = await connector.pushLevels([item(offerId, 4)]);
      assert.equal(unavailable!.status, 'retry');
      assert.equal(sim.offerState(offerId).amount, 1, '5xx: not applied');

      sim.injectFaults({ latencyMs: 600 });
      const [timedOut] = await connector.pushLevels([item(offerId, 4)]);
      assert.equal(timedOut!.status, 'retry');
      assert.match(timedOut!.status === 'retry' ? timedOut!.reason : '', /no answer within 300 ms/);
      sim.clearFaults();
      await sleep(500); // the slow request lands meanwhile (an ambiguous outcome)

      sim.injectFaults({ loseResponsesNext: 1 });
      const [lost] = await connector.pushLevels([item(offerId, 6)]);
      assert.equal(lost!.status, 'retry');
      assert.match(lost!.status === 'retry' ? lost!.reason : '', /may have been applied/);
      assert.equal(sim.offerState(offerId).amount, 6, 'the write landed, only its answer was lost');
      const [again] = await connector.pushLevels([item(offerId, 6)]);
      assert.equal(again!.status, 'ok');
      const state = sim.offerState(offerId);
      assert.equal(state.amount, 6, 'absolute: never 12');
      assert.deepEqual(
        state.stockHistory.map((entry) => entry.amount),
        [4, 6, 6],
      );
      assert.equal(sim.stats().lostResponses, 1);
    });
  });

  it("a 429 storm -> retry with bol's Retry-After, and nothing is sent before it elapses", async () => {
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer();
      sim.injectFaults({ throttleStormNext: 2, throttleStormRetryAfterSeconds: 1 });
      const [throttled] = await connector.pushLevels([item(offerId, 7)]);
      assert.equal(throttled!.status, 'retry');
      assert.equal(throttled!.status === 'retry' ? throttled!.retryAfterMs : undefined, 1000);
      const budget = connector.rateLimit();
      assert.equal(budget.available, 0);
      assert.ok(budget.waitMs > 800 && budget.waitMs <= 1000, `waits out Retry-After (${budget.waitMs})`);
      const started = Date.now();
      const outcomes = await pushUntilSettled(connector, [item(offerId, 7)]);
      assert.equal(outcomes[0]!.status, 'ok');
      assert.ok(Date.now() - started >= 1_900, 'two Retry-After periods were honoured');
      const stats = sim.stats();
      assert.equal(stats.injectedThrottles, 2);
      assert.equal(stats.retryAfterViolations, 0);
      assert.equal(stats.rateLimitViolations, 0);
      assert.equal(sim.offerState(offerId).amount, 7);
    });
  });
});

describe('bol: rate limits', () => {
  it('a burst of 10x the PATCH window (500 offers at 50/s) -> zero violations at bol, every offer set', async () => {
    await withBol({}, async (sim, connector) => {
      const offers = Array.from({ length: 500 }, () => sim.seedOffer());
      const queue = offers.map((offerId, index) => item(offerId, index % 37));
      const done = new Map<string, PushOutcome>();
      const started = Date.now();
      // Three dispatcher loops share the connection, as concurrent claims would.
      await Promise.all(
        Array.from({ length: 3 }, async () => {
          for (;;) {
            const batch = queue.splice(0, connector.maxBatchSize);
            if (batch.length === 0) return;
            const outcomes = await connector.pushLevels(batch);
            outcomes.forEach((outcome, index) => {
              if (outcome.status === 'retry') queue.push(batch[index]!);
              else done.set(outcome.listingId, outcome);
            });
            const wait = Math.max(
              0,
              ...outcomes.map((outcome) => (outcome.status === 'retry' ? (outcome.retryAfterMs ?? 0) : 0)),
            );
            if (wait > 0) await sleep(wait);
          }
        }),
      );
      const elapsedMs = Date.now() - started;
      const stats = sim.stats();
      assert.equal(stats.rateLimitViolations, 0, 'bol never had to say 429');
      assert.equal(stats.retryAfterViolations, 0);
      assert.equal(stats.requestsByRule['offers-write'], 500, 'one PATCH per offer, none wasted');
      assert.equal(done.size, 500);
      assert.ok([...done.values()].every((outcome) => outcome.status === 'ok'));
      for (const [index, offerId] of offers.entries()) assert.equal(sim.offerState(offerId).amount, index % 37);
      assert.ok(elapsedMs >= 9_000, `bounded by bol's 50/s (${elapsedMs} ms)`);
      // No timing assertion here (tests never assert speed): a sliding window over the
      // server's arrival times jitters with machine load. bol's own fixed-window count (the
      // violations above) is the oracle, and the bench measures the rate.
    });
  });

  /** bol's published rules with the offer writes at `capacity` per second. */
  const offerWritesAt = (capacity: number) =>
    bolSimulatorRateRules.map((rule) => (rule.name === 'offers-write' ? { ...rule, capacity } : rule));

  it('adopts a higher capacity bol states on its answers (x-ratelimit-limit) and stays inside it', async () => {
    await withBol({ simulator: { rateRules: offerWritesAt(400) } }, async (sim, connector) => {
      assert.equal(connector.rateLimit().capacity, 50, 'the published capacity before any answer');
      const first = sim.seedOffer();
      assert.equal((await connector.pushLevels([item(first, 1)]))[0]!.status, 'ok');
      assert.equal(connector.rateLimit().capacity, 400, 'what the answer stated');
      // 160 writes at once: at the published 50 per second, those past the limiter's wait
      // (1.5 s) would answer retry; at 400 they all go.
      const offers = Array.from({ length: 160 }, () => sim.seedOffer());
      const outcomes = (
        await Promise.all(
          Array.from({ length: 8 }, (_, batch) =>
            connector.pushLevels(offers.slice(batch * 20, batch * 20 + 20).map((offerId) => item(offerId, 2))),
          ),
        )
      ).flat();
      assert.deepEqual(
        outcomes.filter((outcome) => outcome.status !== 'ok'),
        [],
      );
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });

  it('adopts a lower capacity bol states, and bol never has to say 429', async () => {
    await withBol({ simulator: { rateRules: offerWritesAt(10) } }, async (sim, connector) => {
      const first = sim.seedOffer();
      assert.equal((await connector.pushLevels([item(first, 1)]))[0]!.status, 'ok');
      assert.equal(connector.rateLimit().capacity, 10);
      const offers = Array.from({ length: 40 }, () => sim.seedOffer());
      for (let start = 0; start < offers.length; start += 20) {
        const outcomes = await pushUntilSettled(
          connector,
          offers.slice(start, start + 20).map((offerId) => item(offerId, 3)),
        );
        assert.ok(outcomes.every((outcome) => outcome.status === 'ok'));
      }
      assert.equal(sim.stats().rateLimitViolations, 0, 'the published 50 per second would have been refused');
      for (const offerId of offers) assert.equal(sim.offerState(offerId).amount, 3);
    });
  });

  it('control: without the client-side windows the same burst makes bol answer 429', async () => {
    await withBol(
      { connector: { rateRules: [], maxBatchSize: 100, pushConcurrencyMax: 100 } },
      async (sim, connector) => {
        const offers = Array.from({ length: 200 }, () => sim.seedOffer());
        const outcomes = (
          await Promise.all(
            [0, 100].map((start) =>
              connector.pushLevels(offers.slice(start, start + 100).map((offerId) => item(offerId, 1))),
            ),
          )
        ).flat();
        assert.ok(sim.stats().rateLimitViolations > 0, 'the simulator counts violations');
        const throttled = outcomes.filter((outcome) => outcome.status === 'retry');
        assert.ok(
          throttled.length > 0 &&
            throttled.every((outcome) => outcome.status === 'retry' && outcome.retryAfterMs !== undefined),
        );
      },
    );
  });
});

describe('bol: managedByRetailer and open orders', () => {
  it('true (default): after onhand ingests a bol order and pushes, bol shows the desired amount, not the order subtracted twice', async () => {
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer();
      assert.equal((await connector.pushLevels([item(offerId, 10)]))[0]!.status, 'ok');
      await sleep(5); // the order is placed after our update
      sim.createOrder({ items: [{ offerId, quantity: 3 }] });
      assert.deepEqual(
        (await connector.readLevels([item(offerId, 0)]))[0]!.quantity,
        7,
        'bol subtracts the order it knows we have not seen',
      );
      // onhand ingests the order: the ledger's desired quantity becomes 7, pushed as an absolute amount
      assert.equal((await connector.pushLevels([item(offerId, 7)]))[0]!.status, 'ok');
      assert.equal(sim.offerState(offerId).correctedStock, 7);
      // re-pushing the same value (a retry) changes nothing
      assert.equal((await connector.pushLevels([item(offerId, 7)]))[0]!.status, 'ok');
      assert.equal(sim.offerState(offerId).correctedStock, 7);
      assert.equal((await connector.readLevels([item(offerId, 0)]))[0]!.quantity, 7);
    });
  });

  it('control: false with the ledger amount subtracts the open order twice (why true is the default)', async () => {
    await withBol({ connector: { managedByRetailer: false } }, async (sim, connector) => {
      const offerId = sim.seedOffer({ managedByRetailer: false });
      await connector.pushLevels([item(offerId, 10)]);
      sim.createOrder({ items: [{ offerId, quantity: 3 }] });
      await connector.pushLevels([item(offerId, 7)]);
      assert.equal(sim.offerState(offerId).correctedStock, 4, '10 - 3 in the ledger, - 3 again at bol');
    });
  });
});

/** A bearer token from the simulator's token endpoint, for requests sent by hand. */
async function simToken(sim: BolSimulator): Promise<string> {
  const answer = await fetch(`${sim.tokenUrl}?grant_type=client_credentials`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
  });
  return ((await answer.json()) as { access_token: string }).access_token;
}

type ListedItem = {
  orderItemId: string;
  fulfilmentMethod: string;
  fulfilmentStatus: string;
  quantity: number;
  quantityShipped: number;
  quantityCancelled: number;
  cancellationRequest: boolean;
};

/** `GET /retailer/orders?<query>` by hand: the listed items in list order. */
async function listItems(sim: BolSimulator, token: string, query: string): Promise<ListedItem[]> {
  const answer = await fetch(`${sim.url}/retailer/orders?${query}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.retailer.v10+json' },
  });
  assert.equal(answer.status, 200);
  const body = (await answer.json()) as { orders?: { orderItems: ListedItem[] }[] };
  return (body.orders ?? []).flatMap((order) => order.orderItems);
}

describe('bol simulator: the order lifecycle', () => {
  it('FBR and FBB items, partial shipments and cancellations, listed per the spec filters and the change interval', async () => {
    let now = Date.parse('2026-03-02T10:00:00Z');
    await withBol({ simulator: { now: () => now } }, async (sim) => {
      const fbr = sim.seedOffer({ reference: 'SKU-FBR' });
      const fbb = sim.seedOffer({ fulfilmentMethod: 'FBB' });
      const order = sim.createOrder({
        items: [
          { offerId: fbr, quantity: 5 },
          { offerId: fbb, quantity: 3 },
        ],
      });
      const [fbrItem, fbbItem] = order.orderItemIds as [string, string];
      let token = await simToken(sim);
      const ids = (items: ListedItem[]) => items.map((item) => item.orderItemId);
      assert.deepEqual(ids(await listItems(sim, token, '')), [fbrItem], 'defaults: FBR, OPEN');
      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=FBB')), [fbbItem]);
      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=ALL')), [fbrItem, fbbItem]);

      now += 10 * 60_000;
      token = await simToken(sim); // tokens live 299 s
      sim.shipOrderItem(order.orderId, fbrItem, 2);
      sim.cancelOrderItem(order.orderId, fbrItem, 1);
      sim.requestCancellation(order.orderId, fbbItem);
      sim.cancelOrderItem(order.orderId, fbbItem);
      assert.throws(() => sim.shipOrderItem(order.orderId, fbbItem), /0 open/);
      const all = await listItems(sim, token, 'fulfilment-method=ALL&status=ALL');
      assert.deepEqual(
        all.map((item) => [
          item.fulfilmentMethod,
          item.fulfilmentStatus,
          item.quantityShipped,
          item.quantityCancelled,
          item.cancellationRequest,
        ]),
        [
          ['FBR', 'OPEN', 2, 1, false],
          ['FBB', 'HANDLED', 0, 3, true],
        ],
      );
      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=ALL&status=OPEN')), [fbrItem]);
      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=ALL&status=SHIPPED')), [fbrItem]);

      now += 5 * 60_000;
      token = await simToken(sim);
      sim.shipOrderItem(order.orderId, fbrItem);
      const recent = 'fulfilment-method=ALL&status=ALL&change-interval-minute=';
      assert.deepEqual(ids(await listItems(sim, token, `${recent}2`)), [fbrItem], 'only the item changed since');
      assert.deepEqual(ids(await listItems(sim, token, `${recent}6`)), [fbrItem, fbbItem]);
      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=ALL&status=OPEN')), []);

      const detail = (await (
        await fetch(`${sim.url}/retailer/orders/${order.orderId}`, {
          headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.retailer.v10+json' },
        })
      ).json()) as {
        orderItems: { fulfilment: { method: string }; quantityShipped: number; quantityCancelled: number }[];
      };
      assert.deepEqual(
        detail.orderItems.map((item) => [item.fulfilment.method, item.quantityShipped, item.quantityCancelled]),
        [
          ['FBR', 4, 1],
          ['FBB', 0, 3],
        ],
      );

      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=FBR&status=ALL')), [fbrItem]);
      sim.injectFaults({ replayOrderListNext: 1 });
      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=FBB&status=ALL')), [fbrItem], 'replayed');
      assert.deepEqual(ids(await listItems(sim, token, 'fulfilment-method=FBB&status=ALL')), [fbbItem]);
      assert.equal(sim.stats().replayedOrderLists, 1);
    });
  });
});

/** What an event says, compactly: `<orderItemId> <eventId> <quantity> [<fulfilledBy>]`. */
function brief(event: OrderLineEvent): string {
  const fact = event.fact;
  const quantity = 'quantity' in fact ? fact.quantity : null;
  return [event.lineId, event.eventId, quantity, ...(fact.kind === 'ordered' ? [fact.fulfilledBy] : [])].join(' ');
}

const listQueries = (sim: BolSimulator) =>
  sim
    .requestLog()
    .filter((record) => record.path === '/retailer/orders')
    .map((record) => new URLSearchParams(record.query));
const detailCount = (sim: BolSimulator) =>
  sim.requestLog().filter((record) => record.path.startsWith('/retailer/orders/')).length;

describe('bol: orders polling', () => {
  it('pages through the open orders of both fulfilment methods, one order event per item, nothing repeated on a re-poll', async () => {
    await withBol({}, async (sim, connector) => {
      const first = sim.seedOffer({ reference: 'SKU-RED-M' });
      const second = sim.seedOffer({ reference: 'SKU-BLUE-L', fulfilmentMethod: 'FBB' });
      const placed: { orderId: string; orderItemIds: string[] }[] = [];
      for (let index = 0; index < 54; index++)
        placed.push(sim.createOrder({ items: [{ offerId: first, quantity: 1 + (index % 3) }] }));
      placed.push(
        sim.createOrder({
          items: [
            { offerId: first, quantity: 1 },
            { offerId: second, quantity: 2 },
          ],
        }),
      );
      const shipped = sim.createOrder({ items: [{ offerId: first, quantity: 1 }] });
      sim.shipOrderItem(shipped.orderId, shipped.orderItemIds[0]!); // HANDLED: not in the OPEN list

      // Poll 1: a full scan of the OPEN items, two pages (50 + 5 orders).
      const poll1 = await connector.pollOrderEvents(initialBolOrdersCursor());
      assert.equal(poll1.error, undefined);
      assert.equal(poll1.pagesRead, 2);
      assert.equal(poll1.scanCompleted, true);
      assert.equal(poll1.events.length, 56);
      assert.ok(poll1.events.every((event) => event.eventId === 'order' && event.fact.kind === 'ordered'));
      const last = placed[54]!;
      const event = poll1.events.find(
        (candidate) => candidate.lineKey === `bol:shop1:${last.orderId}:${last.orderItemIds[1]}`,
      );
      assert.ok(event, 'line key = bol:<account>:<orderId>:<orderItemId>');
      assert.equal(event.orderId, last.orderId);
      assert.equal(event.lineId, last.orderItemIds[1]);
      assert.deepEqual(event.item, {
        externalId: second,
        sku: 'SKU-BLUE-L',
        barcode: sim.offerState(second).ean,
      });
      assert.deepEqual(event.fact, {
        kind: 'ordered',
        quantity: 2,
        version: 0,
        fulfilledBy: 'marketplace',
        locationId: null,
      });
      assert.equal(new Set(poll1.events.map((candidate) => candidate.lineKey)).size, 56);
      assert.deepEqual(
        listQueries(sim).map((query) => [query.get('page'), query.get('fulfilment-method'), query.get('status')]),
        [
          ['1', 'ALL', 'OPEN'],
          ['2', 'ALL', 'OPEN'],
        ],
      );

      // Poll 2: a quick scan of every status changed recently. Only the order shipped a moment ago,
      // which the OPEN scan did not list, is new: one detail, its order and shipment.
      let cursor = readBolOrdersCursor(JSON.stringify(poll1.cursor)); // saved as JSON
      const detailsBefore = detailCount(sim);
      const poll2 = await connector.pollOrderEvents(cursor);
      assert.deepEqual(poll2.events.map(brief), [
        `${shipped.orderItemIds[0]} order 1 merchant`,
        `${shipped.orderItemIds[0]} shipped 1`,
      ]);
      assert.equal(detailCount(sim), detailsBefore + 1);
      const quick = listQueries(sim).at(-1)!;
      assert.deepEqual(
        [quick.get('fulfilment-method'), quick.get('status'), quick.get('change-interval-minute')],
        ['ALL', 'ALL', '2'],
      );
      cursor = poll2.cursor;

      // A new order, a customer's request (no event) and a confirmed cancellation (one event).
      const fresh = sim.createOrder({ items: [{ offerId: second, quantity: 4 }] });
      const requested = placed[3]!;
      sim.requestCancellation(requested.orderId, requested.orderItemIds[0]!);
      const cancelled = placed[4]!;
      sim.requestCancellation(cancelled.orderId, cancelled.orderItemIds[0]!);
      sim.cancelOrderItem(cancelled.orderId, cancelled.orderItemIds[0]!);
      const poll3 = await connector.pollOrderEvents(cursor);
      assert.deepEqual(poll3.events.map(brief).sort(), [
        `${cancelled.orderItemIds[0]} cancel ${1 + (4 % 3)}`,
        `${fresh.orderItemIds[0]} order 4 marketplace`,
      ]);
      const poll4 = await connector.pollOrderEvents(poll3.cursor);
      assert.deepEqual(poll4.events, [], 'each change is reported once');

      // Crash before the cursor was saved: re-polling with the OLD cursor yields the SAME events.
      const replay = await connector.pollOrderEvents(cursor);
      assert.deepEqual(replay.events.map(brief).sort(), poll3.events.map(brief).sort());

      const stats = sim.stats();
      assert.equal(stats.rateLimitViolations, 0);
      assert.equal(stats.notAcceptable, 0, 'the connector speaks v10 on orders');
    });
  });

  it('an FBR and an FBB item shipped and cancelled in parts: each change once, with its totals', async () => {
    // Real time plus the minutes a test skips, so the rate windows still see time pass.
    let skipped = 0;
    const clock = { now: () => Date.now() + skipped };
    await withBol({ simulator: { now: clock.now }, connector: { clock } }, async (sim, connector) => {
      const fbr = sim.seedOffer({ reference: 'SKU-FBR' });
      const fbb = sim.seedOffer({ reference: 'SKU-FBB', fulfilmentMethod: 'FBB' });
      const order = sim.createOrder({
        items: [
          { offerId: fbr, quantity: 5 },
          { offerId: fbb, quantity: 3 },
        ],
      });
      const [r, b] = order.orderItemIds as [string, string];
      let cursor = initialBolOrdersCursor();
      const poll = async (minutes: number) => {
        skipped += minutes * 60_000;
        const result = await connector.pollOrderEvents(cursor);
        assert.equal(result.error, undefined);
        cursor = readBolOrdersCursor(JSON.stringify(result.cursor));
        return result.events;
      };
      const step = async (minutes: number, change: () => void) => {
        skipped += minutes * 60_000;
        change();
        return (await poll(0)).map(brief);
      };

      assert.deepEqual((await poll(0)).map(brief), [`${r} order 5 merchant`, `${b} order 3 marketplace`]);
      assert.deepEqual(
        await step(1, () => {
          sim.shipOrderItem(order.orderId, r, 2);
          sim.cancelOrderItem(order.orderId, r, 1);
        }),
        [`${r} cancel 1`, `${r} shipped 2`],
      );
      assert.deepEqual(
        await step(1, () => {
          sim.shipOrderItem(order.orderId, b, 1); // bol ships from its warehouse
          sim.requestCancellation(order.orderId, b);
        }),
        [`${b} shipped 1`],
        'a request alone is no event',
      );
      const events = await poll(0);
      assert.deepEqual(events, [], 'nothing changed since');
      assert.deepEqual(
        await step(1, () => {
          sim.cancelOrderItem(order.orderId, b); // the retailer confirms: the 2 open units
          sim.shipOrderItem(order.orderId, r); // the last 2 units
        }),
        [`${r} shipped 4`, `${b} cancel 2`],
      );
      const fromScratch = await connector.pollOrderEvents(initialBolOrdersCursor());
      assert.deepEqual(fromScratch.events.length, 0, 'a full scan from scratch lists OPEN items only: none left');
      assert.deepEqual(await poll(1), [], 'handled items listed again, unchanged: no event');

      // The events carry the totals and dates bol gives.
      const second = sim.createOrder({ items: [{ offerId: fbr, quantity: 2 }] });
      assert.deepEqual((await poll(1)).map(brief), [`${second.orderItemIds[0]} order 2 merchant`]);
      // A pause far longer than bol's 60-minute change interval: the item shipped meanwhile has
      // left the OPEN list, yet the full scan that follows reads its detail.
      skipped += 30 * 60_000;
      const before = clock.now();
      sim.shipOrderItem(second.orderId, second.orderItemIds[0]!);
      const after = clock.now();
      const afterPause = await poll(120);
      assert.deepEqual(afterPause.map(brief), [`${second.orderItemIds[0]} shipped 2`]);
      const occurredAt = afterPause[0]!.occurredAt;
      assert.ok(occurredAt >= before && occurredAt <= after, 'when bol says it changed');
      assert.equal(listQueries(sim).at(-1)!.get('status'), 'OPEN', 'a full scan after the pause');
      assert.deepEqual(await poll(1), []);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });

  it('nothing missed across pages, details over the budget carried in the cursor, a stale page caught up', async () => {
    // Real time plus the minutes a test skips, so the rate windows still see time pass.
    let skipped = 0;
    const clock = { now: () => Date.now() + skipped };
    await withBol({ simulator: { now: clock.now }, connector: { clock } }, async (sim, connector) => {
      const offerId = sim.seedOffer();
      const orders = Array.from({ length: 120 }, () => sim.createOrder({ items: [{ offerId, quantity: 2 }] }));
      const poll1 = await connector.pollOrderEvents(initialBolOrdersCursor());
      assert.equal(poll1.pagesRead, 3);
      assert.equal(poll1.detailsRead, 100, 'at most orderDetailsPerPollMax details a poll');
      assert.equal(poll1.cursor.deferredOrderIds.length, 20);
      assert.equal(poll1.caughtUpTo, null, 'orders left for the next poll: not caught up');
      // Meanwhile one reported order and one not yet read ship in part.
      skipped += 60_000;
      sim.shipOrderItem(orders[0]!.orderId, orders[0]!.orderItemIds[0]!, 1);
      sim.shipOrderItem(orders[119]!.orderId, orders[119]!.orderItemIds[0]!, 1);
      const poll2StartedAt = clock.now();
      const poll2 = await connector.pollOrderEvents(poll1.cursor);
      assert.deepEqual(poll2.cursor.deferredOrderIds, []);
      assert.ok(poll2.caughtUpTo !== null && poll2.caughtUpTo >= poll2StartedAt, 'caught up to its own scan start');
      const all = [...poll1.events, ...poll2.events];
      assert.equal(new Set(all.filter((event) => event.eventId === 'order').map((event) => event.lineKey)).size, 120);
      assert.deepEqual(
        poll2.events
          .filter((event) => event.eventId === 'shipped')
          .map(brief)
          .sort(),
        [`${orders[0]!.orderItemIds[0]} shipped 1`, `${orders[119]!.orderItemIds[0]} shipped 1`].sort(),
      );
      assert.ok(Object.keys(poll2.cursor.items).length === 120);
      assert.ok(JSON.stringify(poll2.cursor).length < 120 * 100, 'a few dozen bytes per remembered item');

      // A stale list answer (the previous body served again) hides a shipment for one poll only.
      skipped += 60_000;
      sim.shipOrderItem(orders[5]!.orderId, orders[5]!.orderItemIds[0]!);
      sim.injectFaults({ replayOrderListNext: 1 });
      const stale = await connector.pollOrderEvents(poll2.cursor);
      assert.equal(sim.stats().replayedOrderLists, 1);
      assert.deepEqual(stale.events, []);
      skipped += 60_000;
      const caughtUp = await connector.pollOrderEvents(stale.cursor);
      assert.deepEqual(caughtUp.events.map(brief), [`${orders[5]!.orderItemIds[0]} shipped 2`]);
      assert.equal(sim.stats().rateLimitViolations, 0);
    });
  });

  it('a failing page keeps the scan position; the next poll resumes and loses nothing', async () => {
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer();
      for (let index = 0; index < 60; index++) sim.createOrder({ items: [{ offerId, quantity: 1 }] });
      sim.injectFaults({ serverErrorsNext: 1, serverErrorStatus: 500 });
      const failed = await connector.pollOrderEvents(initialBolOrdersCursor());
      assert.equal(failed.error?.status, 'retry');
      assert.deepEqual(failed.events, []);
      assert.equal(failed.scanCompleted, false);
      assert.equal(failed.caughtUpTo, null);
      const resumed = await connector.pollOrderEvents(failed.cursor);
      assert.equal(resumed.error, undefined);
      assert.equal(resumed.caughtUpTo, failed.cursor.scan?.startedAt, 'caught up to when the scan it ended began');
      assert.equal(resumed.events.length, 60);
    });
  });
});

describe('bol: orders through the connector port', () => {
  it('pollOrders: null starts a scan, the cursor is an opaque string that resumes it, a failure is a partial batch with a reason', async () => {
    await withBol({ connector: { pollIntervalMs: 2000 } }, async (sim, connector) => {
      assert.equal(connector.pollIntervalMs, 2000);
      const offerId = sim.seedOffer({ reference: 'SKU-PORT' });
      const order = sim.createOrder({ items: [{ offerId, quantity: 2 }] });
      const first = await connector.pollOrders(null);
      assert.equal(first.error, undefined);
      assert.deepEqual(
        first.events.map((event) => [event.lineKey, event.eventId, event.item.externalId, event.item.sku]),
        [[`bol:shop1:${order.orderId}:${order.orderItemIds[0]}`, 'order', offerId, 'SKU-PORT']],
      );
      assert.equal(typeof first.cursor, 'string');
      assert.deepEqual((await connector.pollOrders(first.cursor)).events, [], 'the saved cursor remembers the line');
      assert.equal(
        (await connector.pollOrders(null)).events.length,
        1,
        'from the start again: the same line and event, which the fold merges',
      );
      sim.injectFaults({ serverErrorsNext: 1, serverErrorStatus: 500 });
      const failed = await connector.pollOrders(first.cursor);
      assert.ok(failed.error !== undefined && failed.error.length > 0);
      assert.deepEqual(failed.events, []);
      await assert.rejects(connector.pollOrders('not json'));
    });
  });

  it('pollOrders reads a cursor saved by the previous version and reports what it could not have followed', async () => {
    await withBol({}, async (sim, connector) => {
      const offerId = sim.seedOffer();
      const order = sim.createOrder({ items: [{ offerId, quantity: 3 }] });
      const itemId = order.orderItemIds[0]!;
      // What the previous version saved after reporting the order (OPEN FBR orders only).
      const version1 = JSON.stringify({
        version: 1,
        scan: null,
        lastScanStartedAt: Date.now() - 60_000,
        lastFullScanStartedAt: Date.now() - 60_000,
        deferredOrderIds: [],
        items: { [`${order.orderId}/${itemId}`]: { quantity: 3, cancelled: false, seenAt: Date.now() - 60_000 } },
      });
      sim.shipOrderItem(order.orderId, itemId, 2);
      const batch = await connector.pollOrders(version1);
      assert.equal(batch.error, undefined);
      assert.deepEqual(batch.events.map(brief), [`${itemId} shipped 2`]);
      assert.equal((JSON.parse(batch.cursor) as { version: number }).version, 2);
      assert.deepEqual((await connector.pollOrders(batch.cursor)).events, []);
    });
  });
});

describe('bol: generated types', () => {
  it('src/connectors/bol/generated is what scripts/generate-bol-types.mjs makes from specs/bol', () => {
    const out = mkdtempSync(join(tmpdir(), 'onhand-bol-types-'));
    try {
      const run = spawnSync(process.execPath, ['scripts/generate-bol-types.mjs', '--out', out], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      for (const file of ['offers-v11.ts', 'retailer-v10.ts']) {
        const committed = readFileSync(join('src/connectors/bol/generated', file), 'utf8');
        assert.ok(
          committed === readFileSync(join(out, file), 'utf8'),
          `${file} is stale: run npm run generate:bol and commit`,
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('specs/bol holds unmodified copies of ../shared/specs/bol (when that folder is present)', (context) => {
    const shared = join('..', 'shared', 'specs', 'bol');
    if (!existsSync(shared)) {
      context.skip(`${shared} not present`);
      return;
    }
    for (const file of ['offers-api-v11.json', 'retailer-api-v10.json']) {
      assert.ok(
        readFileSync(join('specs/bol', file)).equals(readFileSync(join(shared, file))),
        `specs/bol/${file} differs from ${shared}/${file}`,
      );
    }
  });
});
