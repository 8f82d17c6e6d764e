/**
 * `GET /v1/events` (server-sent events): a stock change committed through the API arrives on an
 * open stream with an id; a client that reconnects with Last-Event-ID gets what it missed, in
 * order, from the ring; an id the ring no longer holds (or of another run) gets `reset`; the
 * catch-up mode answers and ends; closing the server ends open streams.
 * Method: the SQLite HTTP harness listening on a loopback port, read with node:http.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { limits } from '../../src/core/limits.js';
import { startHttpHarness, type HttpHarness } from '../support/http-harness.js';

interface Frame {
  id?: string;
  event?: string;
  data?: string;
}

/** An open event stream: frames parsed as they arrive. */
class Stream {
  readonly frames: Frame[] = [];
  private buffer = '';
  private waiters: (() => void)[] = [];
  constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end = this.buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const frame: Frame = {};
        for (const line of block.split('\n')) {
          const match = /^(id|event|data): (.*)$/.exec(line);
          if (match) frame[match[1] as keyof Frame] = match[2]!;
        }
        if (frame.event) this.frames.push(frame);
        end = this.buffer.indexOf('\n\n');
      }
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }
  async until(count: number): Promise<Frame[]> {
    const deadline = Date.now() + 5000;
    while (this.frames.length < count) {
      assert.ok(Date.now() < deadline, `only ${this.frames.length} of ${count} events arrived`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.frames;
  }
  close(): void {
    this.response.destroy();
  }
}

describe('GET /v1/events', () => {
  let h: HttpHarness;
  let port: number;
  let key = 0;

  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    port = (h.app.server.address() as AddressInfo).port;
  });
  after(async () => h.close());

  function open(headers: Record<string, string> = {}): Promise<Stream> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/events',
          headers: { authorization: `Bearer ${h.tokens.read}`, accept: 'text/event-stream', ...headers },
        },
        (response) => {
          assert.equal(response.statusCode, 200);
          assert.match(String(response.headers['content-type']), /^text\/event-stream/);
          resolve(new Stream(response));
        },
      );
      request.on('error', reject);
      request.end();
    });
  }

  async function receive(sku: string, quantity: number): Promise<void> {
    const response = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: { movements: [{ key: `e-${++key}`, type: 'receipt', sku, location: 'WH1', quantity }] },
    });
    assert.equal(response.statusCode, 200, response.body);
  }

  it('sends a committed stock change with an id, and resumes after Last-Event-ID from the ring', async () => {
    const first = await open();
    await receive('A', 5);
    const [event] = await first.until(1);
    assert.equal(event!.event, 'stock');
    assert.match(event!.id!, /^[a-z0-9]+-\d+$/);
    const data = JSON.parse(event!.data!);
    assert.deepEqual(data.levels, [{ sku: 'A', location: 'WH1', on_hand: 5, reserved: 0, available: 5 }]);
    first.close();

    // Missed while disconnected:
    await receive('B', 2);
    await receive('C', 3);
    const resumed = await open({ 'last-event-id': event!.id! });
    const frames = await resumed.until(2);
    assert.deepEqual(
      frames.map((frame) => JSON.parse(frame.data!).levels[0].sku),
      ['B', 'C'],
    );
    assert.ok(frames.every((frame) => frame.event === 'stock'));
    // ... and live after the replay:
    await receive('A', 1);
    const live = await resumed.until(3);
    assert.equal(JSON.parse(live[2]!.data!).levels[0].on_hand, 6);
    resumed.close();
  });

  it('answers reset to an id the ring does not hold, and catches up without a stream in catch-up mode', async () => {
    const stale = await open({ 'last-event-id': 'zzzz-1' });
    const [reset] = await stale.until(1);
    assert.equal(reset!.event, 'reset');
    stale.close();

    const before = await h.app.inject({
      method: 'GET',
      url: '/v1/events?mode=catch-up',
      headers: { authorization: `Bearer ${h.tokens.read}` },
    });
    assert.equal(before.statusCode, 200);
    assert.doesNotMatch(before.body, /event: stock/, 'no Last-Event-ID: nothing to catch up');
    const ids = [...before.body.matchAll(/^id: (.+)$/gm)];
    assert.equal(ids.length, 0);
    const stream = await open();
    await receive('B', 1);
    const [one] = await stream.until(1);
    stream.close();
    await receive('C', 1);
    const caughtUp = await h.app.inject({
      method: 'GET',
      url: '/v1/events?mode=catch-up',
      headers: { authorization: `Bearer ${h.tokens.read}`, 'last-event-id': one!.id! },
    });
    assert.equal(caughtUp.statusCode, 200);
    const events = caughtUp.body.split('\n\n').filter((block) => block.includes('event: stock'));
    assert.equal(events.length, 1);
    assert.match(events[0]!, /"sku":"C"/);
  });

  /** Open a stream; a refusal is read whole instead. */
  function tryOpen(): Promise<{ status: number; stream?: Stream; body: string; retryAfter?: string }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        { host: '127.0.0.1', port, path: '/v1/events', headers: { authorization: `Bearer ${h.tokens.read}` } },
        (response) => {
          if (response.statusCode === 200) return resolve({ status: 200, stream: new Stream(response), body: '' });
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              body,
              retryAfter: String(response.headers['retry-after']),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end();
    });
  }

  it(`bounds the streams open at once (${limits.eventStreamsMax}): one more is answered 503 as a problem`, async () => {
    // The streams of the tests before may still be closing on the server side: wait them out.
    const deadline = Date.now() + 5000;
    for (;;) {
      const streams: Stream[] = [];
      let refused: Awaited<ReturnType<typeof tryOpen>> | undefined;
      while (!refused && streams.length <= limits.eventStreamsMax) {
        const attempt = await tryOpen();
        if (attempt.stream) streams.push(attempt.stream);
        else refused = attempt;
      }
      for (const stream of streams) stream.close();
      assert.ok(refused, 'one more than the bound was refused');
      if (streams.length < limits.eventStreamsMax && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      assert.equal(streams.length, limits.eventStreamsMax);
      assert.equal(refused.status, 503);
      assert.equal(JSON.parse(refused.body).code, 'ONH_ERR_UNAVAILABLE');
      assert.equal(refused.retryAfter, String(Math.ceil(limits.eventRetryMs / 1000)));
      return;
    }
  });

  it('refuses an anonymous stream', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/v1/events?mode=catch-up' });
    assert.equal(response.statusCode, 401);
  });
});
