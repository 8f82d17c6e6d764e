/**
 * Google Merchant Center: a push's inserts as the nested calls of one HTTP batch request
 * (docs/channels/google-merchant-center.md, Calls), against the simulator over loopback.
 *
 * Goal: one request carries a push of several listings, and each nested insert is still what it
 * was alone: counted against the insert quota, judged on its own answer (matched by Content-ID,
 * whatever order Google answers in), retried when its answer is lost. The batch's own refusals
 * (its credentials, a lost connection) reach every input it carried and no other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectChannel } from '../../../src/connectors/connector-registry.js';
import { batchBody, multipartBoundary, parseBatchAnswer } from '../../../src/connectors/gmc/gmc-batch.js';
import { clientEmail, item, keys, withGoogle } from '../../support/google-harness.js';

const statuses = (outcomes: readonly { status: string }[]) => outcomes.map((outcome) => outcome.status);

describe('google: a push as one batch request', () => {
  it('sends the inserts of one push in one request, each counted as an insert', async () => {
    await withGoogle({}, async (sim, connector) => {
      const outcomes = await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 4), item('SKU-3', 0)]);
      assert.deepEqual(statuses(outcomes), ['ok', 'ok', 'ok']);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.listingId),
        ['lst_SKU-1', 'lst_SKU-2', 'lst_SKU-3'],
      );
      assert.equal(sim.stats.batch, 1);
      assert.equal(sim.stats.insert, 3);
      assert.equal(sim.product('en~US~SKU-1')?.availability, 'OUT_OF_STOCK');
      assert.equal(sim.product('en~US~SKU-2')?.availability, 'IN_STOCK');
      assert.equal(sim.product('en~US~SKU-3')?.availability, 'OUT_OF_STOCK');
      assert.equal(connector.rateLimit().available, 57, 'three of the default 60 a minute are spent');
    });
  });

  it('judges each nested answer on its own, matched by label in an answer out of order', async () => {
    await withGoogle({}, async (sim, connector) => {
      sim.refuseOffer('SKU-1', 400);
      const outcomes = await connector.pushLevels([
        item('SKU-1', 0),
        item('SKU-2', 0),
        item('bad~id', 1),
        item('SKU-3', 2),
      ]);
      assert.deepEqual(statuses(outcomes), ['permanent', 'ok', 'permanent', 'ok']);
      assert.match((outcomes[0] as { reason: string }).reason, /400 INVALID_ARGUMENT/);
      assert.equal(sim.stats.batch, 1);
      assert.equal(sim.stats.insert, 3, 'the invalid offer id is never sent');
      assert.equal(sim.product('en~US~SKU-2')?.availability, 'OUT_OF_STOCK');
      assert.equal(sim.product('en~US~SKU-3')?.availability, 'IN_STOCK');
    });
  });

  it('keeps the quota per nested insert: a nested 429 is a retry and blocks the method', async () => {
    await withGoogle(
      { simulator: { perMinute: { insert: 2 } }, connector: { perMinute: { insert: 50 } } },
      async (sim, connector) => {
        const outcomes = await connector.pushLevels([item('SKU-1', 1), item('SKU-2', 1), item('SKU-3', 1)]);
        assert.deepEqual(statuses(outcomes).sort(), ['ok', 'ok', 'retry']);
        const throttled = outcomes.find((outcome) => outcome.status === 'retry') as { reason: string };
        assert.match(throttled.reason, /429 RESOURCE_EXHAUSTED/);
        assert.equal(sim.stats.quotaViolations, 1);
        assert.ok(connector.rateLimit().waitMs > 9_000, 'the 429 blocks inserts for about 10 s');
      },
    );
    await withGoogle(
      { simulator: { perMinute: { insert: 30 } }, connector: { perMinute: { insert: 2 } } },
      async (sim, connector) => {
        const outcomes = await connector.pushLevels([item('SKU-1', 1), item('SKU-2', 1), item('SKU-3', 1)]);
        assert.deepEqual(statuses(outcomes), ['ok', 'ok', 'retry'], 'the client-side budget holds the third back');
        assert.match((outcomes[2] as { reason: string }).reason, /quota spent: not sent/);
        assert.equal(sim.stats.insert, 2);
        assert.equal(sim.stats.quotaViolations, 0);
      },
    );
  });

  it('retries every input of a batch whose answer was lost; the inputs landed, sending again is harmless', async () => {
    await withGoogle({}, async (sim, connector) => {
      sim.faults.loseAnswersNext = 1;
      const lost = await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 0)]);
      assert.deepEqual(statuses(lost), ['retry', 'retry']);
      assert.match((lost[0] as { reason: string }).reason, /may have been applied/);
      assert.equal(sim.product('en~US~SKU-2')?.availability, 'OUT_OF_STOCK', 'applied before the answer was lost');
      const again = await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 0)]);
      assert.deepEqual(statuses(again), ['ok', 'ok']);
      assert.equal(sim.inputCount('en~US~SKU-1'), 2);
      assert.equal(sim.product('en~US~SKU-1')?.availability, 'OUT_OF_STOCK');
    });
  });

  it('renews the token once when Google refuses the batch itself, and sends it again', async () => {
    await withGoogle({}, async (sim, connector) => {
      assert.deepEqual(statuses(await connector.pushLevels([item('SKU-1', 1), item('SKU-2', 1)])), ['ok', 'ok']);
      sim.expireAllTokens();
      const outcomes = await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 0)]);
      assert.deepEqual(statuses(outcomes), ['ok', 'ok']);
      assert.equal(sim.stats.batch, 3, 'the refused batch and the one sent again');
      assert.equal(connector.tokenRequestCount, 2);
      assert.equal(sim.product('en~US~SKU-2')?.availability, 'OUT_OF_STOCK');
    });
  });

  it('classifies a failing batch: 5xx and timeouts retry every input it carried', async () => {
    await withGoogle({ connector: { requestTimeoutMs: 300 } }, async (sim, connector) => {
      sim.faults.failNext = 2;
      sim.faults.failStatus = 503;
      assert.deepEqual(statuses(await connector.pushLevels([item('SKU-1', 1), item('SKU-2', 1), item('SKU-3', 1)])), [
        'retry',
        'retry',
        'ok',
      ]);
      sim.faults.latencyMs = 600;
      const slow = await connector.pushLevels([item('SKU-1', 1), item('SKU-2', 1)]);
      assert.deepEqual(statuses(slow), ['retry', 'retry']);
      assert.match((slow[1] as { reason: string }).reason, /no answer within 300 ms/);
    });
  });

  it('falls back to one request per insert for good when Google refuses the batch request itself', async () => {
    await withGoogle({}, async (sim, connector) => {
      sim.faults.refuseBatches = true;
      const outcomes = await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 4), item('SKU-3', 0)]);
      assert.deepEqual(statuses(outcomes), ['ok', 'ok', 'ok'], 'sent again one by one, none dead-lettered');
      assert.equal(sim.product('en~US~SKU-3')?.availability, 'OUT_OF_STOCK');
      sim.faults.refuseBatches = false;
      assert.deepEqual(statuses(await connector.pushLevels([item('SKU-1', 1), item('SKU-2', 1)])), ['ok', 'ok']);
      assert.equal(sim.stats.batch, 1, 'only the refused batch');
      assert.equal(sim.stats.insert, 5);
    });
  });

  it('sends one request per insert when batching is off', async () => {
    await withGoogle({ connector: { batchRequests: false } }, async (sim, connector) => {
      const outcomes = await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 4), item('SKU-3', 0)]);
      assert.deepEqual(statuses(outcomes), ['ok', 'ok', 'ok']);
      assert.equal(sim.stats.batch, 0);
      assert.equal(sim.stats.insert, 3);
    });
  });
});

describe('google: the batch_requests setting', () => {
  for (const [setting, batches] of [
    [undefined, 1],
    [true, 1],
    [false, 0],
  ] as const)
    it(`batch_requests ${String(setting)}: ${batches} batch request(s) for a push of three`, async () => {
      await withGoogle({}, async (sim) => {
        const connector = connectChannel(
          {
            code: 'google',
            platform: 'gmc',
            settings: {
              connector: {
                merchant_id: sim.account,
                data_source: '7000001',
                client_email: clientEmail,
                private_key: keys.privateKey,
                content_language: 'en',
                feed_label: 'US',
                base_url: sim.url,
                token_url: sim.tokenUrl,
                ...(setting === undefined ? {} : { batch_requests: setting }),
              },
            },
          },
          Date,
        )!;
        const outcomes = await connector.pushLevels([item('SKU-1', 0), item('SKU-2', 4), item('SKU-3', 0)]);
        assert.deepEqual(statuses(outcomes), ['ok', 'ok', 'ok']);
        assert.equal(sim.stats.batch, batches);
        assert.equal(sim.stats.insert, 3);
      });
    });
});

describe('google: the batch format', () => {
  it('writes each part as a whole HTTP request with its label, and reads answers in any order', () => {
    const body = batchBody('b1', [
      {
        id: 'insert-0',
        method: 'POST',
        path: '/products/v1/accounts/1/productInputs:insert?dataSource=x',
        body: '{"a":1}',
      },
      { id: 'get-1', method: 'GET', path: '/products/v1/accounts/1/products/en~US~A', body: null },
    ]);
    assert.equal(
      body,
      '--b1\r\nContent-Type: application/http\r\nContent-ID: <insert-0>\r\n\r\n' +
        'POST /products/v1/accounts/1/productInputs:insert?dataSource=x HTTP/1.1\r\naccept: application/json\r\n' +
        'content-type: application/json\r\n\r\n{"a":1}\r\n' +
        '--b1\r\nContent-Type: application/http\r\nContent-ID: <get-1>\r\n\r\n' +
        'GET /products/v1/accounts/1/products/en~US~A HTTP/1.1\r\naccept: application/json\r\n\r\n\r\n--b1--\r\n',
    );
    const answer =
      'preamble\r\n--z\r\nContent-Type: application/http\r\nContent-ID: <response-get-1>\r\n\r\n' +
      'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{"error":{}}\r\n' +
      '--z\nContent-Type: application/http\nContent-ID: <response-insert-0>\n\nHTTP/1.1 200 OK\n\n{"b":2}\n--z--\r\n';
    const parts = parseBatchAnswer('z', answer);
    assert.deepEqual(parts?.get('insert-0'), { status: 200, text: '{"b":2}' });
    assert.deepEqual(parts?.get('get-1'), { status: 404, text: '{"error":{}}' });
  });

  it('finds the boundary in a quoted or bare parameter, and nothing in another content type', () => {
    assert.equal(multipartBoundary('multipart/mixed; boundary="batch_a=b"'), 'batch_a=b');
    assert.equal(multipartBoundary('multipart/mixed; boundary=batch_x'), 'batch_x');
    assert.equal(multipartBoundary('application/json; charset=UTF-8'), null);
    assert.equal(multipartBoundary(undefined), null);
  });

  it('leaves out parts it cannot read instead of guessing', () => {
    assert.equal(parseBatchAnswer('z', '{"error":"not a batch"}'), null);
    const parts = parseBatchAnswer(
      'z',
      '--z\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n' +
        '--z\r\nContent-ID: <response-a>\r\n\r\nnot a status line\r\n\r\n{}\r\n' +
        '--z\r\nContent-ID: <response-b>\r\n\r\nHTTP/1.1 503 Service Unavailable\r\n\r\n\r\n--z--',
    );
    assert.deepEqual([...(parts?.keys() ?? [])], ['b']);
    assert.deepEqual(parts?.get('b'), { status: 503, text: '' });
  });
});
