/**
 * Goal: the edge protections, each on every store: text the ledger refuses (NUL, lone
 * surrogates) anywhere in a request, bounded free-form documents (refused at write, shown at
 * read whatever is stored), no secret in a channel's settings shown to a read token, no
 * credential in the log, channel intake keys reserved, order-line events (polled, or in a
 * signed webhook) whose text no store may hold refused before the store and never with a 5xx,
 * and a stalled body answered 408 with its socket closed.
 *
 * Method: app.inject over each store of STORES (test/support/api-server.ts), snapshots before
 * and after every refusal (order lines and the intake inbox included); a property test over
 * generated settings for redaction; one real socket for the stalled body.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { redactChannelSettings } from '../../src/connectors/connector-settings.js';
import { orderLineKey } from '../../src/connectors/channel-intake.js';
import { intakePlatforms } from '../../src/connectors/intake-keys.js';
import { limits } from '../../src/core/limits.js';
import { signShopifyWebhook } from '../../src/connectors/shopify/shopify-webhooks.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { platforms } from '../../src/store/availability-store.js';
import { problemOf, startApiServer, type ApiServer } from '../support/api-server.js';
import { STORES } from '../support/stores.js';

const catalogue = [
  { method: 'PUT', url: '/v1/locations', payload: { locations: [{ code: 'WH1', name: 'Main', kind: 'warehouse' }] } },
  { method: 'PUT', url: '/v1/variants', payload: { variants: [{ sku: 'A', name: 'Variant A' }] } },
] as const;

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level += 1) value = { n: value };
  return value;
}

for (const factory of STORES) {
  describe(`${factory.name}: edge hardening`, { skip: factory.skip }, () => {
    let s: ApiServer;
    const logLines: string[] = [];
    before(async () => {
      const stream = new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      });
      // debug: the request lines (one per request) are at debug since they were ~80% of the info log.
      s = await startApiServer(factory, { logger: { level: 'debug', stream } });
      for (const request of catalogue) assert.equal((await s.call(request)).statusCode, 200);
    });
    after(async () => s?.close());

    async function refusedUnchanged(request: Parameters<ApiServer['call']>[0], status: number, code: string) {
      const before = await s.snapshot();
      const body = problemOf(await s.call(request), status, code);
      assert.deepEqual(await s.snapshot(), before, 'a refused request changes nothing');
      return body;
    }

    it('refuses NUL and lone surrogates in every part of a request, naming the field', async () => {
      const movement = { type: 'receipt', sku: 'A', location: 'WH1', quantity: 1 };
      for (const [key, path] of [
        ['a\u0000b', '/movements/0/key'],
        ['lone-\ud800', '/movements/0/key'],
        ['lone-\udfff-low', '/movements/0/key'],
      ]) {
        const body = await refusedUnchanged(
          { method: 'POST', url: '/v1/movements', payload: { movements: [{ key, ...movement }] } },
          400,
          'ONH_ERR_VALIDATION',
        );
        assert.deepEqual(
          body.errors.map((error: any) => error.path),
          [path],
        );
      }
      // A surrogate pair is well-formed text and stays accepted.
      const pair = await s.call({
        method: 'POST',
        url: '/v1/movements',
        payload: { movements: [{ key: 'pair-\ud83d\ude00', ...movement }] },
      });
      assert.equal(pair.json().results[0].status, 'applied', pair.body);

      const keyName = await refusedUnchanged(
        {
          method: 'PUT',
          url: '/v1/variants',
          payload: { variants: [{ sku: 'A', name: 'A', attributes: { 'x\u0000': 'y' } }] },
        },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(
        keyName.errors.map((error: any) => error.path),
        ['/variants/0/attributes/x\u0000'],
      );
      const param = await refusedUnchanged(
        { method: 'GET', url: '/v1/stock/A%00', as: 'read' },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(
        param.errors.map((error: any) => error.path),
        ['params/sku'],
      );
      const query = await refusedUnchanged(
        { method: 'GET', url: '/v1/variants?after=%00', as: 'read' },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(
        query.errors.map((error: any) => error.path),
        ['querystring/after'],
      );
    });

    it('refuses over-deep and over-large channel settings and rule sets at write time', async () => {
      const channel = { code: 'deep', name: 'Deep', platform: 'custom', locations: ['WH1'] };
      const deep = await refusedUnchanged(
        {
          method: 'PUT',
          url: '/v1/channels',
          payload: { channels: [{ ...channel, settings: { a: nested(limits.channelSettingsDepthMax) } }] },
        },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(
        deep.errors.map((error: any) => error.path),
        ['/channels/0/settings'],
      );
      const veryDeep = await refusedUnchanged(
        {
          method: 'PUT',
          url: '/v1/channels',
          headers: { 'content-type': 'application/json' },
          // As text: JSON.stringify itself overflows the stack on 5,000 levels.
          payload: `{"channels":[${JSON.stringify(channel).slice(0, -1)},"settings":{"a":${'{"n":'.repeat(5_000)}1${'}'.repeat(5_000)}}}]}`,
        },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.ok(veryDeep.errors.length >= 1);
      const large = await refusedUnchanged(
        {
          method: 'PUT',
          url: '/v1/channels',
          payload: { channels: [{ ...channel, settings: { a: 'x'.repeat(limits.channelSettingsBytesMax) } }] },
        },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(
        large.errors.map((error: any) => error.path),
        ['/channels/0/settings'],
      );
      const ok = await s.call({
        method: 'PUT',
        url: '/v1/channels',
        payload: { channels: [{ ...channel, settings: { a: nested(limits.channelSettingsDepthMax - 1) } }] },
      });
      assert.equal(ok.statusCode, 200, ok.body);

      const exclude = Array.from({ length: 200 }, (_, index) => `L${index}`.padEnd(90, 'x'));
      const channels = Object.fromEntries(
        Array.from({ length: 40 }, (_, index) => [`c${index}`, { exclude_locations: exclude }]),
      );
      const rules = await refusedUnchanged(
        { method: 'POST', url: '/v1/rule-sets', payload: { rules: { channels } } },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(
        rules.errors.map((error: any) => error.path),
        ['/rules'],
      );
    });

    it('refuses connector settings that would not start: unknown fields, wrong types, missing fields', async () => {
      const connector = {
        shop_domain: 'a.myshopify.com',
        access_token: 'env:SHOP_TOKEN',
        location_id: 'gid-1',
        webhook_secret: 'w',
      };
      const channel = (settings: object) => ({
        code: 'c1',
        name: 'C',
        platform: 'shopify',
        locations: ['WH1'],
        settings,
      });
      const body = await refusedUnchanged(
        {
          method: 'PUT',
          url: '/v1/channels',
          payload: {
            channels: [
              channel({ connector: { ...connector, webhook_secrets: 'typo' } }),
              channel({ connector: { ...connector, webhook_secret: { a: 1 }, location_id: undefined } }),
            ],
          },
        },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(body.errors.map((error: any) => error.path).sort(), [
        '/channels/0/settings/connector/webhook_secrets',
        '/channels/1/settings/connector/location_id',
        '/channels/1/settings/connector/webhook_secret',
      ]);
      assert.equal(
        (await s.call({ method: 'PUT', url: '/v1/channels', payload: { channels: [channel({ connector })] } }))
          .statusCode,
        200,
      );
    });

    it("refuses a reconcile schedule outside limits.ts's bounds, naming the field", async () => {
      const channel = (reconcile: unknown) => ({
        code: 'r1',
        name: 'R',
        platform: 'bol',
        locations: ['WH1'],
        settings: { reconcile },
      });
      const body = await refusedUnchanged(
        {
          method: 'PUT',
          url: '/v1/channels',
          payload: {
            channels: [
              channel({ targetedIntervalMs: limits.reconcileTargetedIntervalMsMin - 1, fullIntervalMs: 1.5 }),
              channel({ fullIntervalMs: limits.reconcileFullIntervalMsMax + 1, everyMs: 5 }),
              channel('hourly'),
            ],
          },
        },
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.deepEqual(body.errors.map((error: any) => error.path).sort(), [
        '/channels/0/settings/reconcile/fullIntervalMs',
        '/channels/0/settings/reconcile/targetedIntervalMs',
        '/channels/1/settings/reconcile/everyMs',
        '/channels/1/settings/reconcile/fullIntervalMs',
        '/channels/2/settings/reconcile',
      ]);
      const bounds = body.errors.find((error: any) => error.path.endsWith('/0/settings/reconcile/targetedIntervalMs'));
      assert.match(
        bounds.message,
        new RegExp(`from ${limits.reconcileTargetedIntervalMsMin} to ${limits.reconcileTargetedIntervalMsMax}`),
      );
      const stored = await s.call({
        method: 'PUT',
        url: '/v1/channels',
        payload: {
          channels: [
            channel({
              targetedIntervalMs: limits.reconcileTargetedIntervalMsMin,
              fullIntervalMs: limits.reconcileFullIntervalMsMax,
            }),
          ],
        },
      });
      assert.equal(stored.statusCode, 200, stored.body);
    });

    it('shows channels whatever their stored settings hold (an older version stored deeper ones)', async () => {
      await s.store.availability.upsertChannels(
        [
          {
            code: 'old',
            name: 'Old',
            platform: 'shopify',
            locations: ['WH1'],
            settings: { connector: { webhook_secret: nested(4_000) }, deep: nested(4_000) },
          },
        ],
        0,
      );
      const list = await s.call({ method: 'GET', url: '/v1/channels', as: 'read' });
      assert.equal(list.statusCode, 200, list.body.slice(0, 300));
      const old = list.json().items.find((item: any) => item.code === 'old');
      assert.deepEqual(old.settings, { connector: { webhook_secret: '***' }, deep: '***' });
      assert.equal((await s.call({ method: 'GET', url: '/v1/channels/old', as: 'read' })).statusCode, 200);
      // Overwritten, as an operator would, so that later snapshots compare shallow documents.
      await s.store.availability.upsertChannels(
        [{ code: 'old', name: 'Old', platform: 'shopify', locations: ['WH1'], settings: {} }],
        0,
      );
    });

    it('shows a read token no secret: by field kind, URLs without userinfo, env references as they are', async () => {
      const settings = {
        shop_domain: 'shop.myshopify.com',
        passwd: 'hunter2',
        authorization: 'Basic c2VjcmV0',
        connector: {
          shop_domain: 'shop.myshopify.com',
          access_token: 'shpat_secret',
          webhook_secret: { nested: 'whsec_secret' },
          previous_webhook_secret: 'env:SHOP_PREVIOUS_SECRET',
          location_id: ['gid-secret'],
          base_url: 'https://user:pass-secret@example.com/admin',
          private_key_pem: '-----BEGIN PRIVATE KEY-----secret',
        },
      };
      await s.store.availability.upsertChannels(
        [{ code: 'shh', name: 'Shh', platform: 'shopify', locations: ['WH1'], settings }],
        0,
      );
      const shown = await s.call({ method: 'GET', url: '/v1/channels/shh', as: 'read' });
      assert.deepEqual(shown.json().settings, {
        shop_domain: 'shop.myshopify.com',
        passwd: '***',
        authorization: '***',
        connector: {
          shop_domain: 'shop.myshopify.com',
          access_token: '***',
          webhook_secret: '***',
          previous_webhook_secret: 'env:SHOP_PREVIOUS_SECRET',
          location_id: '***',
          base_url: 'https://example.com/admin',
          private_key_pem: '***',
        },
      });
      assert.ok(
        !/secret|hunter2|pass-secret|c2VjcmV0/.test(
          JSON.stringify(shown.json().settings).replace(/webhook_secret|env:SHOP_PREVIOUS_SECRET/g, ''),
        ),
      );
    });

    it('reserves the keys of onhand and of every channel intake (422, nothing applied)', async () => {
      const movement = { type: 'receipt', sku: 'A', location: 'WH1', quantity: 1 };
      assert.deepEqual([...intakePlatforms].sort(), [...platforms].sort(), 'every platform is reserved');
      for (const prefix of [
        'sys:',
        ...platforms.map((platform) => `${orderLineKey(platform, 'acct', 'o', 'l').split(':')[0]}:`),
      ]) {
        const body = await refusedUnchanged(
          {
            method: 'POST',
            url: '/v1/movements',
            as: 'write',
            payload: {
              movements: [
                { key: 'mine-1', ...movement },
                { key: `${prefix}shop:1:2:order`, ...movement },
              ],
            },
          },
          422,
          'ONH_ERR_RESERVED_KEY',
        );
        assert.deepEqual(
          body.errors.map((error: any) => error.path),
          ['/movements/1/key'],
        );
        await refusedUnchanged(
          {
            method: 'POST',
            url: '/v1/reservations',
            as: 'write',
            payload: { key: `${prefix}r`, sku: 'A', location: 'WH1', quantity: 1 },
          },
          422,
          'ONH_ERR_RESERVED_KEY',
        );
        await refusedUnchanged(
          { method: 'POST', url: '/v1/reservations/res_x/commit', as: 'write', payload: { key: `${prefix}c` } },
          422,
          'ONH_ERR_RESERVED_KEY',
        );
        await refusedUnchanged(
          { method: 'POST', url: '/v1/reservations/res_x/release', as: 'write', payload: { key: `${prefix}c` } },
          422,
          'ONH_ERR_RESERVED_KEY',
        );
      }
    });

    it('keeps order-line events from a poll whose text the ledger does not accept in the inbox, escaped and bounded, moving no stock', async () => {
      await s.store.availability.upsertChannels(
        [{ code: 'poll', name: 'Poll', platform: 'bol', locations: ['WH1'], settings: {} }],
        0,
      );
      const intake = new OrderLineIntake({
        store: s.store,
        ledger: s.ledger,
        clock: { now: () => Date.now() },
        match: storeOrderItemMatcher(s.store.availability),
      });
      const event = {
        eventId: 'order',
        orderId: 'o-1',
        lineId: '1',
        item: { externalId: 'gid-9', sku: 'A', barcode: null },
        occurredAt: 0,
        fact: { kind: 'ordered', quantity: 1, version: 1, fulfilledBy: 'merchant', locationId: null },
      } as const;
      const before = await s.snapshot();
      const report = await intake.ingest((await s.store.availability.getChannel('poll'))!, [
        { ...event, lineKey: 'bol:acct:o-1:\ud800' },
        { ...event, lineKey: 'bol:acct:o-1:2', item: { ...event.item, sku: 'A\u0000' } },
        { ...event, lineKey: 'bol:acct:o-1:3', eventId: 'x'.repeat(limits.idempotencyKeyLengthMax * 10) },
        { ...event, lineKey: 'bol:acct:o-1:4', fact: { ...event.fact, quantity: limits.quantityMax + 1 } },
        // Longer than a PostgreSQL index entry holds (2,704 bytes, random so it does not compress):
        // refused on both engines alike.
        { ...event, lineKey: 'bol:acct:o-1:5', orderId: randomBytes(3_000).toString('hex') },
        {
          ...event,
          lineKey: 'bol:acct:o-1:6',
          item: { ...event.item, externalId: randomBytes(3_000).toString('hex'), sku: 'none' },
        },
        { ...event, lineKey: 'bol:acct:o-1:7', item: { ...event.item, sku: 'A'.repeat(5_000) } },
      ]);
      // The lone surrogate is escaped, and the key marked with a hash of the original.
      const keys = report.invalid.map((refusal) => refusal.lineKey);
      assert.match(keys[0]!, /^bol:acct:o-1:\\ud800#[0-9a-f]{16}$/);
      assert.deepEqual(
        keys.slice(1),
        [2, 3, 4, 5, 6, 7].map((line) => `bol:acct:o-1:${line}`),
      );
      assert.deepEqual(
        [report.events, report.changed, report.blocked.map((line) => line.lineKey).sort()],
        [7, 0, [...keys].sort()],
      );
      const after = (await s.snapshot()) as { ledger: unknown };
      assert.deepEqual(after.ledger, (before as { ledger: unknown }).ledger, 'no stock moved');
      // Each waits in the inbox with its reason; every stored text is storable and bounded.
      const inbox = (await s.store.orders.inbox({ channel: 'poll', limit: 100 })).lines;
      assert.deepEqual(inbox.map((line) => line.lineKey).sort(), [...keys].sort());
      for (const line of inbox) {
        assert.match(line.reason ?? '', /^not understood: event /);
        for (const text of [line.lineKey, line.orderId, line.lineId, line.item.externalId, line.item.sku ?? ''])
          assert.ok(text.length <= limits.textLengthMax && !text.includes('\u0000'), text.slice(0, 80));
        assert.equal(line.seq, 0, 'nothing applied');
      }
      const sku = (await s.store.orders.getLine('poll', 'bol:acct:o-1:2'))!.item.sku!;
      assert.match(sku, /^A\\u0000#[0-9a-f]{16}$/);
      assert.match((await s.store.orders.getLine('poll', 'bol:acct:o-1:4'))!.reason!, /quantity above/);
    });

    it('keeps bad text in a signed webhook out of the store, never answering 5xx', async () => {
      const shopDomain = 'hardening.myshopify.com';
      const secret = 'hardening-webhook-secret';
      await s.store.availability.upsertChannels(
        [
          {
            code: 'hooks',
            name: 'Hooks',
            platform: 'shopify',
            locations: ['WH1'],
            settings: {
              connector: {
                shop_domain: shopDomain,
                access_token: 'shpat_hardening',
                location_id: 'gid://shopify/Location/1',
                webhook_secret: secret,
              },
            },
          },
        ],
        0,
      );
      // Raw JSON text, so escapes reach the parser as a platform would send them.
      const order = (sku: string, extra = '') =>
        `{"id":5001,"created_at":"2026-03-02T08:00:00Z","updated_at":"2026-03-02T08:00:00Z","line_items":[{"id":6001,"variant_id":7001,"sku":${sku},"quantity":1}]${extra}}`;
      const deliver = (body: string) =>
        s.call({
          method: 'POST',
          url: '/webhooks/shopify/hooks',
          as: null,
          payload: body,
          headers: {
            'content-type': 'application/json',
            'x-shopify-topic': 'orders/create',
            'x-shopify-shop-domain': shopDomain,
            'x-shopify-hmac-sha256': signShopifyWebhook(body, secret),
          },
        });
      const before = await s.snapshot();
      for (const [body, status] of [
        [order('"A\\u0000"'), 400],
        [order('"lone-\\ud800"'), 400],
        [order('"lone-\\udfff-low"'), 400],
        [order(JSON.stringify('A'.repeat(10_000))), 400],
        [order('"A"', `,"note":${JSON.stringify('x'.repeat(limits.webhookBodyBytesMax))}`), 413],
      ] as const) {
        const response = await deliver(body);
        assert.equal(response.statusCode, status, response.body.slice(0, 300));
        assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
        if (status === 400) assert.equal(response.json().code, 'ONH_ERR_WEBHOOK_INVALID');
      }
      assert.deepEqual(await s.snapshot(), before, 'nothing of a refused delivery was stored');
      // The same delivery with good text is taken: the refusals above were the text's.
      const good = await deliver(order('"A"'));
      assert.equal(good.statusCode, 200, good.body);
      assert.deepEqual(good.json(), { events: 1, changed: 1, unchanged: 0, blocked: 0, invalid: 0, ignored: false });
      assert.equal((await s.store.ledger.getStock('A', Date.now()))?.total.reserved, 1);
    });

    it('never logs a credential: query-string tokens, Authorization, webhook signatures', async () => {
      logLines.length = 0;
      const secret = `onh_admin_${'q'.repeat(43)}`;
      await s.call({ method: 'GET', url: `/v1/variants?access_token=${secret}&limit=5`, as: null });
      await s.call({ method: 'GET', url: `/v1/variants?${secret}`, as: 'read' });
      await s.call({
        method: 'GET',
        url: '/v1/variants?limit=5',
        as: null,
        headers: { authorization: `Bearer ${secret}` },
      });
      await s.call({
        method: 'POST',
        url: '/webhooks/shopify/shh',
        payload: '{}',
        headers: { 'content-type': 'application/json', 'x-shopify-hmac-sha256': secret },
      });
      s.app.log.info(
        { req: { headers: { 'x-shopify-hmac-sha256': secret, authorization: secret, cookie: secret } } },
        'headers',
      );
      const log = logLines.join('');
      assert.ok(log.includes('limit=5'), 'declared query parameters are logged');
      assert.ok(log.includes('[redacted]'));
      assert.ok(!log.includes('q'.repeat(20)), 'a credential reached the log');
      for (const token of Object.values(s.tokens)) assert.ok(!log.includes(token.slice(10)), 'a token reached the log');
    });

    it('answers a stalled body 408 as a problem and closes its socket promptly', async () => {
      await s.app.listen({ port: 0, host: '127.0.0.1' });
      const deadlineMs = 300;
      assert.equal(s.app.server.requestTimeout, limits.requestReceiveTimeoutMs);
      assert.ok(
        s.app.server.headersTimeout <= s.app.server.requestTimeout,
        'else Node never checks a body against requestTimeout',
      );
      // Shortened for the test, keeping the relation the server configures.
      s.app.server.headersTimeout = deadlineMs;
      s.app.server.requestTimeout = deadlineMs;
      const socket = connect((s.app.server.address() as AddressInfo).port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += String(chunk)));
      const started = Date.now();
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.on('error', () => undefined);
      socket.write(
        `POST /v1/movements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.write}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"movements":`,
      );
      await closed;
      const elapsedMs = Date.now() - started;
      assert.match(received, /^HTTP\/1\.1 408 /);
      assert.match(received, /content-type: application\/problem\+json/i);
      assert.match(received, /"code":"ONH_ERR_REQUEST_TIMEOUT"/);
      assert.ok(elapsedMs < deadlineMs + limits.requestReceiveCheckIntervalMs + 1_000, `closed after ${elapsedMs} ms`);
    });
  });
}

describe('channel settings redaction (property)', () => {
  const runs = Number(process.env.ONHAND_FUZZ_RUNS ?? 200);
  const secret = fc.stringMatching(/^[A-Za-z0-9]{12,20}$/).map((text) => `SECRET${text}`);
  const knownNames = [
    'connector',
    'shop_domain',
    'access_token',
    'webhook_secret',
    'previous_webhook_secret',
    'base_url',
    'token_url',
    'client_id',
    'client_secret',
    'account',
    'location_id',
    'api_version',
    'poll_interval_ms',
    'private_key',
    'private_key_id',
    'client_email',
    'merchant_id',
    'feed_label',
    'store_url',
    'consumer_key',
    'consumer_secret',
    'requests_per_second',
    'concurrency',
  ];
  const name = fc.oneof(
    fc.constantFrom(...knownNames, 'passwd', 'auth', 'authorization', 'private_key_pem', '__proto__', 'key'),
    fc.string({ maxLength: 12 }),
  );
  // Every leaf that carries the secret: raw, in a URL's userinfo, in a query, as an object or array.
  const secretLeaf = fc.oneof(
    secret,
    secret.map((text) => `https://user:${text}@example.com/x`),
    secret.map((text) => `https://${text}@example.com/`),
    secret.map((text) => `postgres://u:${text}@db/x`),
    secret.map((text) => ({ value: text })),
    secret.map((text) => [text]),
    secret.map((text) => `env:${text}-not-a-name`),
  );
  const leaf = fc.oneof(
    secretLeaf,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant('env:SOME_NAME'),
    fc.string({ maxLength: 8 }),
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('node'), { maxLength: 3 }),
      fc.dictionary(name, tie('node'), { maxKeys: 4 }),
    ),
  })).node;
  const settings = fc.dictionary(name, fc.oneof(tree, fc.dictionary(name, tree, { maxKeys: 6 })), { maxKeys: 8 });

  it('never shows a secret outside a plain field holding it whole, whatever the settings hold', () => {
    fc.assert(
      fc.property(fc.constantFrom(...platforms), settings, (platform, generated) => {
        const shown = JSON.stringify(redactChannelSettings(platform, generated));
        // The only place a generated secret may show is the whole string value of a field the
        // platform's connector calls plain (an id, a domain): that is not a secret by definition.
        const allowed = new Set<string>();
        const plainOf: Record<string, string[]> = {
          shopify: ['shop_domain', 'location_id', 'api_version'],
          bol: ['client_id', 'account', 'managed_by_retailer', 'poll_interval_ms'],
          gmc: ['merchant_id', 'data_source', 'client_email', 'private_key_id', 'content_language', 'feed_label'],
          woocommerce: ['account', 'requests_per_second', 'concurrency', 'poll_interval_ms'],
        };
        const plain = new Set(plainOf[platform] ?? []);
        const collect = (object: unknown) => {
          if (object === null || typeof object !== 'object' || Array.isArray(object)) return;
          for (const [key, value] of Object.entries(object))
            if (plain.has(key) && typeof value === 'string' && !value.includes('://')) allowed.add(value);
        };
        collect(generated);
        collect((generated as Record<string, unknown>).connector);
        for (const match of shown.matchAll(/SECRET[A-Za-z0-9]{12,20}/g)) {
          assert.ok(
            [...allowed].some((value) => value.includes(match[0])),
            `shown: ${match[0]} in ${shown}`,
          );
        }
      }),
      { numRuns: runs },
    );
  });
});
