/**
 * Goal: the log reads well on a terminal and parses anywhere else, says one line per thing an
 * operator follows (a channel order ingested, a push batch), keeps per-request noise at debug,
 * tells expected failures in one warn line without a stack, and never carries a secret.
 *
 * Method: a server over SQLite (http-harness) whose logger writes through logDestination into a
 * buffer that claims to be, or not to be, a TTY; requests through app.inject(). The order and
 * push lines are checked on the intake's and the dispatcher's callbacks and on the entries
 * main.ts hands to the logger (src/api/log-events.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { failureLogEntry, logListingIdsMax, orderLogEntry, pushBatchLogEntry } from '../../src/api/log-events.js';
import { logDestination } from '../../src/http/log-output.js';
import type { OrderIngestSummary } from '../../src/ingest/order-ingest-report.js';
import type { DispatchResult } from '../../src/store/outbox-port.js';
import { type HttpHarness, startHttpHarness } from '../support/http-harness.js';

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { output: { isTTY, write: (text: string) => chunks.push(text) }, text: () => chunks.join(''), chunks };
}

describe('log output', () => {
  const harnesses: HttpHarness[] = [];
  after(async () => {
    for (const harness of harnesses) await harness.close();
  });
  async function serverLogging(isTTY: boolean, level: string) {
    const sink = capture(isTTY);
    const harness = await startHttpHarness({ logger: { level, stream: logDestination(sink.output) } });
    harnesses.push(harness);
    sink.chunks.length = 0;
    return { harness, sink };
  }

  it('writes one JSON object per line when stdout is not a TTY', async () => {
    const { harness, sink } = await serverLogging(false, 'debug');
    await harness.call({ method: 'GET', url: '/v1/variants?limit=5', as: 'read' });
    const lines = sink.text().split('\n').filter(Boolean);
    assert.ok(lines.length >= 1);
    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; req?: { url: string } });
    const request = entries.find((entry) => entry.msg === 'request completed');
    assert.ok(request, sink.text());
    assert.equal(request.level, 20, 'the request line is at debug');
    assert.equal(request.req?.url, '/v1/variants?limit=5');
  });

  it('writes readable lines, not JSON, when stdout is a TTY', async () => {
    const { harness, sink } = await serverLogging(true, 'debug');
    await harness.call({ method: 'GET', url: '/v1/variants?limit=5', as: 'read' });
    harness.app.log.info({ channel: 'bol' }, 'pushed 3 listings to bol: 3 ok');
    const text = sink.text();
    assert.match(text, /DEBUG.*request completed/);
    assert.match(text, /INFO.*pushed 3 listings to bol: 3 ok/);
    for (const line of text.split('\n').filter(Boolean)) assert.throws(() => JSON.parse(line), line);
  });

  it('logs nothing per request at info, the default level', async () => {
    const { harness, sink } = await serverLogging(false, 'info');
    for (let request = 0; request < 5; request += 1)
      await harness.call({ method: 'GET', url: '/v1/variants?limit=5', as: 'read' });
    await harness.call({ method: 'GET', url: '/v1/variants/NOPE', as: 'read' }); // a 404 refusal
    assert.equal(sink.text(), '');
  });

  it('never writes a token or a secret from headers or channel settings, in either format', async () => {
    for (const isTTY of [false, true]) {
      const { harness, sink } = await serverLogging(isTTY, 'trace');
      const token = `onh_admin_${'t'.repeat(43)}`;
      const secrets = ['shpat_accesstokensecret0001', 'whsec_webhooksecret0002', 'bol_clientsecret0003'];
      await harness.call({
        method: 'GET',
        url: '/v1/variants',
        as: null,
        headers: { authorization: `Bearer ${token}` },
      });
      const channel = {
        code: 'shop',
        settings: {
          connector: {
            shop_domain: 'shop.myshopify.com',
            access_token: secrets[0],
            webhook_secret: secrets[1],
            client_secret: secrets[2],
          },
        },
      };
      harness.app.log.info({ channel }, 'channel');
      harness.app.log.warn({ settings: channel.settings }, 'settings');
      harness.app.log.info({ req: { headers: { authorization: `Bearer ${token}`, cookie: token } } }, 'headers');
      const text = sink.text();
      assert.ok(text.includes('shop.myshopify.com'), 'the settings were logged');
      for (const secret of [token.slice(10), ...secrets]) assert.ok(!text.includes(secret), `${secret} in:\n${text}`);
    }
  });
});

describe('log lines of the background work', () => {
  const order = (outcome: Partial<OrderIngestSummary>): OrderIngestSummary => ({
    orderId: '1042',
    lines: 3,
    changed: 3,
    unchanged: 0,
    info: 0,
    blocked: 0,
    invalid: 0,
    outcome: 'applied',
    reason: null,
    ...outcome,
  });

  it('one info line per channel order: channel, order id, line count, outcome', () => {
    const entry = orderLogEntry('shop', order({}));
    assert.equal(entry.level, 'info');
    assert.deepEqual(
      [entry.fields.channel, entry.fields.order, entry.fields.lines, entry.fields.outcome],
      ['shop', '1042', 3, 'applied'],
    );
    assert.equal(entry.message, 'order 1042 from shop, 3 lines: applied');
    const blocked = orderLogEntry('shop', order({ changed: 2, blocked: 1, outcome: 'blocked', reason: 'no listing' }));
    assert.equal(blocked.message, 'order 1042 from shop, 3 lines: blocked: no listing');
    assert.equal(orderLogEntry('shop', order({ changed: 0, unchanged: 3, outcome: 'unchanged' })).level, 'debug');
  });

  it('one info line per push batch: channel, listing ids (or the count), outcomes', () => {
    const results: DispatchResult[] = [
      { listingId: '1', desiredVersion: 1, status: 'ok', channelQuantity: 4, pushedQuantity: 4 },
      { listingId: '2', desiredVersion: 1, status: 'retry', dueAt: 0, error: 'HTTP 429 rate limited', dead: false },
      { listingId: '3', desiredVersion: 1, status: 'permanent', error: 'HTTP 404 offer unknown' },
    ];
    const entry = pushBatchLogEntry('bol', results);
    assert.equal(entry.level, 'info');
    assert.deepEqual(entry.fields.listingIds, ['1', '2', '3']);
    assert.deepEqual(entry.fields.outcomes, { ok: 1, retry: 1, permanent: 1 });
    assert.equal(entry.message, 'pushed 3 listings to bol: 1 ok, 1 retry, 1 permanent (HTTP 429 rate limited)');
    const many = Array.from({ length: logListingIdsMax + 1 }, (_, index) => ({
      ...results[0]!,
      listingId: `${index}`,
    }));
    const big = pushBatchLogEntry('bol', many);
    assert.equal(big.fields.listingIds, undefined, 'a big batch carries the count only');
    assert.equal(big.fields.listings, logListingIdsMax + 1);
  });

  it('an expected failure is one warn line with the reason and no stack; a bug keeps its stack', () => {
    const down = failureLogEntry(
      'push to bol failed',
      { channel: 'bol' },
      new Error('connect ECONNREFUSED 10.0.0.9:443'),
    );
    assert.equal(down.level, 'warn');
    assert.equal(down.fields.reason, 'connect ECONNREFUSED 10.0.0.9:443');
    assert.equal(down.fields.err, undefined, 'no error object, so no stack');
    assert.equal(down.message, 'push to bol failed: connect ECONNREFUSED 10.0.0.9:443');
    const rate = failureLogEntry(
      'order poll of bol failed',
      {},
      new Error('HTTP 429: rate budget spent\n retry in 2s'),
    );
    assert.equal(rate.message, 'order poll of bol failed: HTTP 429: rate budget spent retry in 2s');
    const bug = failureLogEntry(
      'push to bol failed',
      {},
      new TypeError("Cannot read properties of undefined (reading 'x')"),
    );
    assert.equal(bug.level, 'error');
    assert.ok(bug.fields.err instanceof TypeError);
  });
});
