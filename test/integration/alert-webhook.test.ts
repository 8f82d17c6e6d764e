/**
 * The signed alert webhook (src/alerts/alert-webhook.ts) against a receiver on loopback: the
 * signature is the base64 HMAC-SHA256 of the raw body with the secret; a 500 is retried and the
 * event delivered once, under the same delivery id and body; a 4xx is not retried; `send`
 * returns before the receiver answers.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AlertWebhook, deliveryHeader, signatureHeader } from '../../src/alerts/alert-webhook.js';
import { Secret } from '../../src/config/config-schema.js';

const secret = 'alert-secret-of-the-test-0123456789';

interface Received {
  body: string;
  signature: string | undefined;
  delivery: string | undefined;
}

describe('alert webhook', () => {
  const received: Received[] = [];
  let answers: number[] = [];
  let url = '';
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: request.headers[signatureHeader] as string | undefined,
        delivery: request.headers[deliveryHeader] as string | undefined,
      });
      response.statusCode = answers.shift() ?? 200;
      response.end();
    });
  });
  let next = 0;
  const ids = { next: (prefix: string) => `${prefix}_${++next}` };
  const delivered: { id: string; attempts: number }[] = [];
  const failed: { id: string; reason: string }[] = [];
  const webhook = () =>
    new AlertWebhook({
      url,
      secret: new Secret(secret),
      ids,
      retryDelayMs: 20,
      onDelivered: (delivery) => delivered.push(delivery),
      onFailed: (delivery) => failed.push(delivery),
    });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/onhand`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('signs the raw body with the secret', async () => {
    received.length = 0;
    const sender = webhook();
    const id = sender.send({ event: 'alert.fired', alert: { rule: 'dead_letters', channel: 'bol' } });
    await sender.idle();
    assert.equal(received.length, 1);
    const [one] = received;
    assert.ok(one?.signature);
    const expected = createHmac('sha256', secret).update(one.body).digest();
    assert.ok(timingSafeEqual(Buffer.from(one.signature, 'base64'), expected));
    assert.equal(one.delivery, id);
    assert.deepEqual(JSON.parse(one.body), {
      delivery_id: id,
      event: 'alert.fired',
      alert: { rule: 'dead_letters', channel: 'bol' },
    });
    assert.ok(!one.body.includes(secret));
  });

  it('retries a 500 and delivers once, with the same delivery id and body', async () => {
    received.length = 0;
    delivered.length = 0;
    answers = [500, 200];
    const sender = webhook();
    const started = Date.now();
    const id = sender.send({ event: 'alert.resolved', alert: { rule: 'drift', channel: 'shop' } });
    assert.ok(Date.now() - started < 20, 'send does not wait for the receiver');
    await sender.idle();
    assert.equal(received.length, 2);
    assert.deepEqual(
      received.map((each) => each.delivery),
      [id, id],
    );
    assert.equal(received[0]?.body, received[1]?.body);
    assert.equal(received[0]?.signature, received[1]?.signature);
    assert.deepEqual(delivered, [{ id, attempts: 2, status: 200 }]);
  });

  it('gives up on a 4xx at once, and after the last attempt on 5xx', async () => {
    received.length = 0;
    failed.length = 0;
    answers = [400];
    const refused = webhook();
    refused.send({ event: 'alert.fired' });
    await refused.idle();
    assert.equal(received.length, 1);
    assert.equal(failed[0]?.reason, 'HTTP 400');

    received.length = 0;
    answers = [503, 503, 503];
    const limited = new AlertWebhook({
      url,
      secret: new Secret(secret),
      ids,
      retryDelayMs: 5,
      attemptsMax: 3,
      onFailed: (d) => failed.push(d),
    });
    limited.send({ event: 'alert.fired' });
    await limited.idle();
    assert.equal(received.length, 3);
    assert.deepEqual(failed.at(-1), { id: failed.at(-1)?.id, attempts: 3, reason: 'HTTP 503' });
  });

  it('retries a receiver that does not answer in time', async () => {
    const slow = createServer((request, response) => {
      request.resume();
      if (slowCalls++ === 0) return; // never answers: the sender times out
      response.end();
    });
    let slowCalls = 0;
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const sender = new AlertWebhook({
      url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`,
      secret: new Secret(secret),
      ids,
      retryDelayMs: 5,
      timeoutMs: 100,
      onDelivered: (delivery) => delivered.push(delivery),
    });
    delivered.length = 0;
    sender.send({ event: 'alert.fired' });
    await sender.idle();
    slow.closeAllConnections();
    await new Promise((resolve) => slow.close(resolve));
    assert.equal(slowCalls, 2);
    assert.equal(delivered[0]?.attempts, 2);
  });
});
