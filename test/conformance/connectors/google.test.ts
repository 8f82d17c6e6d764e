/**
 * Connector conformance, Google Merchant Center (docs/ARCHITECTURE.md, A new connector, step 6):
 * GmcConnector against the Google simulator (sim/google/google-simulator.ts), a real HTTP server on
 * loopback, no mocks: every case goes through fetch, the token endpoint (an RS256 JWT verified
 * against the service account's public key), the minute quotas and the fault switches.
 *
 * Goal: what the port promises holds for a feed-only availability channel - a quantity becomes
 * IN_STOCK or OUT_OF_STOCK, a pre-order offer PREORDER (or BACKORDER) with its date, read back
 * as a quantity that agrees with the acknowledged one exactly when the availability does; the
 * token is minted, reused and renewed before it expires; a burst stays inside the per-minute
 * quota with ZERO violations (and a control shows the simulator counts them); transient and
 * permanent failures are told apart; a lost answer is retried without harm. End to end, on every
 * store: a sale on another channel (an order polled from Bol.com) turns the Google product
 * OUT_OF_STOCK when it takes the last unit.
 *
 * Time is real except in the renewal case, where one fake clock drives both sides.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BolSimulator } from '../../../sim/bol/bol-simulator.js';
import { GoogleSimulator } from '../../../sim/google/google-simulator.js';
import { BolConnector } from '../../../src/connectors/bol/bol-connector.js';
import type { PushItem, PushOutcome } from '../../../src/connectors/channel-connector.js';
import { connectChannel } from '../../../src/connectors/connector-registry.js';
import { ConnectorSettingsError, redactChannelSettings } from '../../../src/connectors/connector-settings.js';
import type { GmcConnector } from '../../../src/connectors/gmc/gmc-connector.js';
import type { LedgerCommand } from '../../../src/core/ledger/command.js';
import { OrderLineIntake } from '../../../src/ingest/order-line-intake.js';
import { storeOrderItemMatcher } from '../../../src/ingest/order-item-match.js';
import { OrderPolling } from '../../../src/ingest/order-polling.js';
import { readBack } from '../../../src/reconcile/read-back.js';
import { reconcileChannel } from '../../../src/reconcile/reconcile-pass.js';
import { GroupCommitter } from '../../../src/store/group-commit.js';
import type { LedgerStore } from '../../../src/store/ledger-store.js';
import { Propagation } from '../../../src/sync/propagation.js';
import { defaultRetryPolicy } from '../../../src/sync/retry-policy.js';
import {
  clientEmail,
  googleConnector,
  item,
  keys,
  serviceAccount,
  sleep,
  withGoogle,
} from '../../support/google-harness.js';
import { startHttpHarness } from '../../support/http-harness.js';
import { STORES, type TestStore } from '../../support/stores.js';

/** Pushes like the dispatcher: re-push `retry` outcomes after their retryAfterMs (bounded). */
async function pushUntilSettled(connector: GmcConnector, items: PushItem[], attemptsMax = 6): Promise<PushOutcome[]> {
  let outcomes = await connector.pushLevels(items);
  for (let attempt = 1; attempt < attemptsMax && outcomes.some((outcome) => outcome.status === 'retry'); attempt++) {
    const waits = outcomes.map((outcome) =>
      outcome.status === 'retry' ? Math.min(outcome.retryAfterMs ?? 50, 200) : 0,
    );
    await sleep(Math.max(...waits));
    const again = items.filter((_, index) => outcomes[index]!.status === 'retry');
    const retried = await connector.pushLevels(again);
    let next = 0;
    outcomes = outcomes.map((outcome) => (outcome.status === 'retry' ? retried[next++]! : outcome));
  }
  return outcomes;
}

const day = 86_400_000;

describe('google: availability pushed and read back', () => {
  it('maps a quantity to IN_STOCK or OUT_OF_STOCK and reads it back as the quantity sent', async () => {
    await withGoogle({}, async (sim, connector) => {
      const outcomes = await connector.pushLevels([item('SKU-1', 7), item('SKU-2', 0)]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['ok', 'ok'],
      );
      assert.equal(sim.product('en~US~SKU-1')?.availability, 'IN_STOCK');
      assert.equal(sim.product('en~US~SKU-2')?.availability, 'OUT_OF_STOCK');
      assert.deepEqual(sim.product('en~US~SKU-1')?.customAttributes, [{ name: 'onhand_quantity', value: '7' }]);
      const levels = await connector.readLevels([item('SKU-1', 0), item('SKU-2', 0), item('NOT-THERE', 0)]);
      assert.deepEqual(
        levels.map((level) => level.quantity),
        [7, 0, null],
        'what was sent where the availability agrees; null for a product Google does not have',
      );
    });
  });

  it('shows a pre-order offer as PREORDER with its latest date, or BACKORDER by setting', async () => {
    const earliestAt = (Math.floor(Date.now() / day) + 10) * day;
    const latestAt = earliestAt + 4 * day;
    await withGoogle({}, async (sim, connector) => {
      await connector.pushLevels([
        item('SKU-1', 0, { quantity: 12, earliestAt, latestAt }),
        item('SKU-2', 3, { quantity: 12, earliestAt, latestAt }),
        item('SKU-3', 0, { quantity: 0, earliestAt, latestAt }),
      ]);
      assert.deepEqual(
        [sim.product('en~US~SKU-1')?.availability, sim.product('en~US~SKU-1')?.availabilityDate],
        ['PREORDER', new Date(latestAt).toISOString()],
      );
      assert.equal(sim.product('en~US~SKU-2')?.availability, 'IN_STOCK', 'stock on hand wins over the offer');
      assert.equal(sim.product('en~US~SKU-3')?.availability, 'OUT_OF_STOCK', 'an offer of 0 units is no offer');
      const overdue = Date.now() - day;
      await connector.pushLevels([item('SKU-3', 0, { quantity: 5, earliestAt: overdue, latestAt: overdue })]);
      assert.equal(sim.product('en~US~SKU-3')?.availability, 'OUT_OF_STOCK', 'a date already past is no date');
      const levels = await connector.readLevels([item('SKU-1', 0)]);
      assert.equal(levels[0]?.quantity, 0, 'a pre-order reads as not in stock: consistent with the 0 pushed');
    });
    await withGoogle({ connector: { preorderAs: 'BACKORDER' } }, async (sim, connector) => {
      await connector.pushLevels([item('SKU-1', 0, { quantity: 2, earliestAt, latestAt: null })]);
      assert.deepEqual(
        [sim.product('en~US~SKU-1')?.availability, sim.product('en~US~SKU-1')?.availabilityDate],
        ['BACKORDER', new Date(earliestAt).toISOString()],
      );
    });
  });

  it('judges drift on availability: an edit out of band reads as more or less than acknowledged', async () => {
    await withGoogle({}, async (sim, connector) => {
      await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 5)]);
      sim.editAvailability('en~US~SKU-1', 'IN_STOCK');
      sim.editAvailability('en~US~SKU-2', 'OUT_OF_STOCK');
      const levels = await connector.readLevels([item('SKU-1', 0), item('SKU-2', 0)]);
      assert.deepEqual(
        levels.map((level) => level.quantity),
        [1, 0],
        'in stock over an acknowledged 0 reads as 1 (more: repaired at once); out of stock over 5 as 0 (less)',
      );
      await connector.pushLevels([item('SKU-1', 0)]);
      assert.equal(sim.product('en~US~SKU-1')?.availability, 'OUT_OF_STOCK', 'a later insert wins over the edit');
    });
  });

  it('answers what it sent while Google is still processing the input', async () => {
    await withGoogle(
      { simulator: { processingDelayMs: 60_000 }, connector: { processingGraceMs: 120_000 } },
      async (sim, connector) => {
        await connector.pushLevels([item('SKU-1', 0)]);
        assert.equal(sim.product('en~US~SKU-1')?.availability, 'IN_STOCK', 'not processed yet');
        const levels = await connector.readLevels([item('SKU-1', 0)]);
        assert.equal(levels[0]?.quantity, 0);
        assert.equal(sim.stats.get, 0, 'no read spent on a product still processing');
      },
    );
  });

  it('reads the whole feed on the bulk path, a page of 1,000 at a time', async () => {
    const offers = Array.from({ length: 1_500 }, (_, index) => `BULK-${index}`);
    await withGoogle({ offers }, async (sim, connector) => {
      await connector.pushLevels([item('BULK-7', 4), item('BULK-8', 0)]);
      const levels = new Map<string, number>();
      let pages = 0;
      for await (const page of connector.readAllLevels()) {
        pages++;
        for (const level of page) levels.set(level.externalId, level.quantity);
      }
      assert.equal(pages, 2);
      assert.equal(levels.size, 1_500);
      assert.deepEqual([levels.get('BULK-7'), levels.get('BULK-8'), levels.get('BULK-9')], [4, 0, 1]);
      assert.equal(sim.stats.list, 2);
    });
  });
});

describe('google: service account token', () => {
  it('mints one token for concurrent pushes, with an RS256 JWT the endpoint verifies', async () => {
    await withGoogle({}, async (sim, connector) => {
      await connector.pushLevels([item('SKU-1', 1), item('SKU-2', 1), item('SKU-3', 1)]);
      assert.equal(connector.tokenRequestCount, 1);
      assert.equal(sim.stats.tokensIssued, 1);
      assert.equal(sim.stats.tokenRejections, 0);
    });
  });

  it('renews the token before it expires, and once more after Google ends it early', async () => {
    let now = Date.UTC(2026, 11, 6, 12);
    const clock = { now: () => now };
    await withGoogle(
      { simulator: { tokenLifetimeSeconds: 3_599, now: clock.now }, connector: { clock } },
      async (sim, connector) => {
        await connector.pushLevels([item('SKU-1', 1)]);
        now += 2_000_000; // 56 % of the lifetime: reused
        await connector.pushLevels([item('SKU-1', 2)]);
        assert.equal(connector.tokenRequestCount, 1);
        now += 1_000_000; // 83 %: used once more while one renewal runs in the background
        await connector.pushLevels([item('SKU-1', 3)]);
        await sleep(100);
        assert.equal(connector.tokenRequestCount, 2);
        now += 2_500_000; // the first token has expired; the renewed one (69 % of its life) is still good
        await connector.pushLevels([item('SKU-1', 4)]);
        assert.equal(connector.tokenRequestCount, 2);
        sim.expireAllTokens();
        const outcomes = await connector.pushLevels([item('SKU-1', 5)]);
        assert.equal(outcomes[0]?.status, 'ok', 'a 401 renews the token once and repeats the call');
        assert.equal(connector.tokenRequestCount, 3);
        assert.equal(sim.stats.tokenRejections, 0);
      },
    );
  });

  it('refuses an assertion signed by another key, as a permanent failure', async () => {
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    await withGoogle({ connector: { privateKey: other.privateKey } }, async (sim, connector) => {
      const outcomes = await connector.pushLevels([item('SKU-1', 1)]);
      assert.equal(outcomes[0]?.status, 'permanent');
      assert.match(sim.stats.lastTokenRejection, /Signature/);
      assert.doesNotMatch(JSON.stringify(outcomes), /PRIVATE KEY/);
    });
  });
});

describe('google: quotas and failures', () => {
  it('keeps a burst inside the per-minute quota: zero violations, the rest told to wait', async () => {
    await withGoogle(
      { simulator: { perMinute: { insert: 30 } }, connector: { perMinute: { insert: 30 } } },
      async (sim, connector) => {
        const offers = Array.from({ length: 45 }, (_, index) => `SKU-${index}`);
        sim.seedProducts(offers.map((offerId) => ({ offerId })));
        const outcomes: PushOutcome[] = [];
        for (let start = 0; start < offers.length; start += connector.maxBatchSize)
          outcomes.push(
            ...(await connector.pushLevels(offers.slice(start, start + connector.maxBatchSize).map((o) => item(o, 1)))),
          );
        const ok = outcomes.filter((outcome) => outcome.status === 'ok').length;
        const waiting = outcomes.filter((outcome) => outcome.status === 'retry');
        assert.equal(ok, 30);
        assert.equal(waiting.length, 15);
        assert.ok(waiting.every((outcome) => outcome.status === 'retry' && (outcome.retryAfterMs ?? 0) > 50_000));
        assert.equal(connector.rateLimit().available, 0);
        assert.equal(sim.stats.insert, 30, 'nothing over the budget was sent');
        assert.equal(sim.stats.quotaViolations, 0);
      },
    );
  });

  it('control: a client with a larger budget than the account has is answered 429 and counted', async () => {
    await withGoogle(
      { simulator: { perMinute: { insert: 5 } }, connector: { perMinute: { insert: 50 } } },
      async (sim, connector) => {
        const outcomes = await connector.pushLevels(
          ['SKU-1', 'SKU-2', 'SKU-3', 'SKU-1', 'SKU-2', 'SKU-3', 'SKU-1'].map((o, i) => ({
            ...item(o, i),
            listingId: `l${i}`,
          })),
        );
        const throttled = outcomes.filter((outcome) => outcome.status === 'retry');
        assert.equal(throttled.length, 2);
        assert.match((throttled[0] as { reason: string }).reason, /429 RESOURCE_EXHAUSTED/);
        assert.equal(sim.stats.quotaViolations, 2);
        assert.ok(connector.rateLimit().waitMs > 9_000, 'a 429 blocks the method with a backoff (about 10 s)');
      },
    );
  });

  it('classifies 5xx, 429 storms and timeouts as retry; 400, 403 and 404 as permanent', async () => {
    await withGoogle({ connector: { requestTimeoutMs: 300 } }, async (sim, connector) => {
      sim.faults.failNext = 1;
      sim.faults.failStatus = 503;
      assert.equal((await connector.pushLevels([item('SKU-1', 1)]))[0]?.status, 'retry');
      sim.faults.stormNext = 1;
      const storm = (await connector.pushLevels([item('SKU-1', 1)]))[0];
      assert.equal(storm?.status, 'retry');
      assert.ok(storm?.status === 'retry' && (storm.retryAfterMs ?? 0) >= 10_000);
      assert.equal(sim.stats.quotaViolations, 0, "Google's own storm is not the client's violation");
    });
    await withGoogle({ connector: { requestTimeoutMs: 300 } }, async (sim, connector) => {
      assert.equal((await connector.pushLevels([item('SKU-1', 1)]))[0]?.status, 'ok', 'token in hand');
      sim.faults.latencyMs = 600;
      const slow = (await connector.pushLevels([item('SKU-1', 1)]))[0];
      assert.equal(slow?.status, 'retry');
      assert.match((slow as { reason: string }).reason, /no answer within 300 ms/);
      sim.faults.latencyMs = 0;
      sim.refuseOffer('SKU-2', 400);
      sim.refuseOffer('SKU-3', 403);
      const outcomes = await connector.pushLevels([item('SKU-2', 1), item('SKU-3', 1), item('bad~id', 1)]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['permanent', 'permanent', 'permanent'],
      );
      assert.match((outcomes[0] as { reason: string }).reason, /400 INVALID_ARGUMENT/);
      assert.match((outcomes[1] as { reason: string }).reason, /403 PERMISSION_DENIED/);
    });
    await withGoogle({ connector: { dataSource: '9999' } }, async (_sim, connector) => {
      const outcome = (await connector.pushLevels([item('SKU-1', 1)]))[0];
      assert.equal(outcome?.status, 'permanent');
      assert.match((outcome as { reason: string }).reason, /404 NOT_FOUND/);
    });
  });

  it('retries a write whose answer was lost: the same input lands again, no harm', async () => {
    await withGoogle({}, async (sim, connector) => {
      sim.faults.loseAnswersNext = 1;
      const first = await connector.pushLevels([item('SKU-1', 0)]);
      assert.equal(first[0]?.status, 'retry');
      assert.match((first[0] as { reason: string }).reason, /may have been applied/);
      assert.equal(sim.product('en~US~SKU-1')?.availability, 'OUT_OF_STOCK', 'the write landed');
      const settled = await pushUntilSettled(connector, [item('SKU-1', 0)]);
      assert.equal(settled[0]?.status, 'ok');
      assert.equal(sim.inputCount('en~US~SKU-1'), 2);
      assert.equal(sim.product('en~US~SKU-1')?.availability, 'OUT_OF_STOCK');
    });
  });
});

describe('google: channel settings', () => {
  const settings = {
    merchant_id: '1234567',
    data_source: '7000001',
    client_email: clientEmail,
    private_key: keys.privateKey,
    private_key_id: 'abc123',
    content_language: 'en',
    feed_label: 'US',
  };

  it('builds the connector from settings and never shows the private key to a read token', () => {
    const connector = connectChannel({ code: 'google', platform: 'gmc', settings: { connector: settings } }, Date);
    assert.equal(connector?.platform, 'gmc');
    assert.equal(connector?.pollOrders, undefined, 'feed only: no orders in');
    const shown = redactChannelSettings('gmc', { connector: settings });
    assert.equal((shown.connector as Record<string, unknown>).private_key, '***');
    assert.equal((shown.connector as Record<string, unknown>).client_email, clientEmail);
    assert.doesNotMatch(JSON.stringify(shown), /PRIVATE KEY/);
  });

  it('over HTTP: checked when stored, shown to a read token without the key, never logged', async () => {
    const logged: string[] = [];
    const stream = { write: (line: string) => logged.push(line) };
    const h = await startHttpHarness({ logger: { level: 'trace', stream } });
    try {
      await h.seedCatalogue();
      const put = (connector: Record<string, unknown>) =>
        h.call({
          method: 'PUT',
          url: '/v1/channels',
          as: 'admin',
          payload: {
            channels: [
              { code: 'google', name: 'Google', platform: 'gmc', locations: ['WH1'], settings: { connector } },
            ],
          },
        });
      const { private_key: _key, ...withoutKey } = settings;
      const refused = await put({ ...withoutKey, feed_lable: 'US' });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.match(refused.body, /private_key/);
      assert.match(refused.body, /feed_lable/);
      const stored = await put(settings);
      assert.equal(stored.statusCode, 200, stored.body);
      const shown = await h.call({ method: 'GET', url: '/v1/channels/google', as: 'read' });
      assert.equal(shown.json().settings.connector.private_key, '***');
      assert.equal(shown.json().settings.connector.merchant_id, '1234567');
      const keyLine = keys.privateKey.split('\n')[1]!.slice(0, 40);
      const everything = stored.body + shown.body + logged.join('');
      assert.ok(!everything.includes('PRIVATE KEY') && !everything.includes(keyLine), 'no part of the key');
      assert.ok(logged.length > 0, 'the requests were logged');
    } finally {
      await h.close();
    }
  });

  it('refuses a key that is not an RSA PEM without quoting it', () => {
    const bad = { ...settings, private_key: '-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----' };
    assert.throws(
      () => connectChannel({ code: 'google', platform: 'gmc', settings: { connector: bad } }, Date),
      (error: unknown) =>
        error instanceof ConnectorSettingsError &&
        /private_key/.test(error.message) &&
        !/not-a-key/.test(error.message),
    );
  });
});

for (const factory of STORES) {
  describe(`${factory.name}: a sale elsewhere empties the Google feed`, {
    skip: factory.skip,
    concurrency: false,
  }, () => {
    let test: TestStore;
    let store: LedgerStore;
    let ledger: GroupCommitter;
    let propagation: Propagation;
    let polling: OrderPolling;
    const bolSim = new BolSimulator();
    const google = new GoogleSimulator({ serviceAccounts: [serviceAccount] });
    let offerId = '';
    let gmc: GmcConnector;
    let key = 0;
    const clock = { now: () => Date.now() };

    const drain = async () => {
      for (let round = 0; round < 20; round += 1) {
        let pushed = 0;
        for (const dispatcher of propagation.dispatchers.values()) pushed += await dispatcher.tick();
        if (pushed === 0) return;
      }
      throw new Error('dispatch did not settle');
    };

    before(async () => {
      test = await factory.create();
      store = test.store;
      ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${++key}` });
      const bolUrl = await bolSim.start();
      await google.start();
      offerId = bolSim.seedOffer({ amount: 0 });
      google.seedProducts([{ offerId: 'TEE-M', availability: 'OUT_OF_STOCK' }]);
      await store.catalogue.upsertLocations([{ code: 'WH1', name: 'Main', kind: 'warehouse' }], clock.now());
      await store.catalogue.upsertVariants([{ sku: 'TEE-M', name: 'Tee M' }], clock.now());
      await store.availability.upsertChannels(
        [
          { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
          { code: 'google', name: 'Google', platform: 'gmc', locations: ['WH1'] },
        ],
        clock.now(),
      );
      await store.availability.upsertListings(
        [
          { channel: 'bol', externalId: offerId, sku: 'TEE-M' },
          { channel: 'google', externalId: 'TEE-M', sku: 'TEE-M' },
        ],
        clock.now(),
      );
      const bol = new BolConnector({
        account: 'sim',
        baseUrl: bolUrl,
        tokenUrl: bolSim.tokenUrl,
        clientId: 'onhand-sim',
        clientSecret: 'onhand-sim-secret',
      });
      gmc = googleConnector(google);
      const channels = [
        { channel: 'bol', connector: bol },
        { channel: 'google', connector: gmc },
      ];
      const onError = (channel: string, error: unknown) => assert.fail(`${channel}: ${String(error)}`);
      propagation = new Propagation({
        store,
        ledger,
        clock,
        owner: 'test',
        policy: defaultRetryPolicy,
        onError,
        channels,
      });
      const orders = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
      polling = new OrderPolling({ store, orders, clock, owner: 'test', onError, channels });
    });
    after(async () => {
      await polling.stop();
      await propagation.stop();
      await ledger.close();
      await bolSim.stop();
      await google.stop();
      await test.cleanup();
    });

    it('shows IN_STOCK while units remain and OUT_OF_STOCK once Bol.com sells the last one', async () => {
      await ledger.submit([
        { type: 'receipt', key: 'r-m', payloadHash: 'r-m', sku: 'TEE-M', location: 'WH1', quantity: 2 },
      ] as LedgerCommand[]);
      await drain();
      assert.equal(google.product('en~US~TEE-M')?.availability, 'IN_STOCK');
      bolSim.createOrder({ items: [{ offerId, quantity: 1 }] });
      await polling.pollOnce('bol');
      await drain();
      assert.equal(google.product('en~US~TEE-M')?.availability, 'IN_STOCK', 'one unit left');
      const inputs = google.inputCount('en~US~TEE-M');
      bolSim.createOrder({ items: [{ offerId, quantity: 1 }] });
      await polling.pollOnce('bol');
      await drain();
      assert.equal(google.product('en~US~TEE-M')?.availability, 'OUT_OF_STOCK');
      assert.equal(google.inputCount('en~US~TEE-M'), inputs + 1, 'one insert for the change');
      assert.equal(google.stats.quotaViolations, 0);
    });

    it('reads the feed back consistent, then repairs an edit out of band at once', async () => {
      const consistent = await readBack(store.availability, gmc, 'google');
      assert.deepEqual(
        consistent.map((listing) => [listing.desired, listing.shown]),
        [[0, 0]],
      );
      google.editAvailability('en~US~TEE-M', 'IN_STOCK');
      const summary = await reconcileChannel({ store, connector: gmc, clock }, { channel: 'google', mode: 'full' });
      assert.deepEqual([summary.driftMore, summary.repairs.length], [1, 1]);
      await drain();
      assert.equal(google.product('en~US~TEE-M')?.availability, 'OUT_OF_STOCK', 'the repair push wins');
      assert.equal(google.stats.quotaViolations, 0);
    });
  });
}
