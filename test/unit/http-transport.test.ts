/**
 * The connectors' HTTP transport (src/connectors/http-transport.ts) against a local server: an
 * answer comes back whole (status, headers, body as sent by the server, the request's method,
 * path, query, headers and body as the caller gave them); every failure is a `network` answer,
 * never a throw: a refused connection, no answer within the deadline, a body that stalls after
 * its headers (one deadline covers the exchange), the caller's signal, a URL that is not one.
 * An answer longer than its bound is not read. The process is not kept alive by its idle sockets.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpTransport } from '../../src/connectors/http-transport.js';

let server: Server;
let base: string;
const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];

before(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      if (request.url === '/silent') return; // never answers
      if (request.url === '/sized') {
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3000' });
        response.end('s'.repeat(3000));
        return;
      }
      if (request.url === '/chunks') {
        // 4,001 bytes over many writes, a two-byte character split between two of them
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.write('a'.repeat(1999));
        response.write(Buffer.from([0xc3]));
        setTimeout(() => {
          response.write(Buffer.from([0xa9]));
          response.end('b'.repeat(2000));
        }, 20);
        return;
      }
      if (request.url === '/stall') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.write('the first half'); // and never the rest
        return;
      }
      response.setHeader('set-cookie', ['a=1', 'b=2']);
      response.writeHead(207, { 'content-type': 'application/json', 'x-rate': '5' });
      response.end('{"ok":"é"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

// Bounded: a transport that ignores its deadline fails here instead of hanging the run.
describe('HttpTransport', { timeout: 30_000 }, () => {
  it('sends the request as given and returns the whole answer', async () => {
    const transport = new HttpTransport();
    const body = JSON.stringify({ amount: 3, note: 'ü' });
    const answer = await transport.send({
      method: 'PUT',
      url: `${base}/offers/7/stock?x=1&y=%20`,
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body,
      timeoutMs: 5000,
    });
    transport.close();
    assert.equal(answer.kind, 'answer');
    if (answer.kind !== 'answer') return;
    assert.equal(answer.status, 207);
    assert.equal(answer.text, '{"ok":"é"}');
    assert.equal(answer.headers['x-rate'], '5');
    assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2']);
    const request = seen.at(-1)!;
    assert.equal(request.method, 'PUT');
    assert.equal(request.url, '/offers/7/stock?x=1&y=%20');
    assert.equal(request.headers.authorization, 'Bearer t');
    assert.equal(request.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(request.body, body);
  });

  it('reads an answer of a stated length whole, and one longer than its bound not at all', async () => {
    const request = { method: 'GET', url: `${base}/sized`, headers: {}, body: null, timeoutMs: 5000 };
    const roomy = new HttpTransport({ answerBytesMax: 3000 });
    const whole = await roomy.send(request);
    roomy.close();
    assert.equal(whole.kind === 'answer' && whole.text, 's'.repeat(3000));
    const tight = new HttpTransport({ answerBytesMax: 2999 });
    const cut = await tight.send(request);
    tight.close();
    assert.equal(cut.kind === 'network' && cut.reason, 'the answer is longer than 2999 bytes: not read');
  });

  it('reads an answer in pieces whole, and one longer than its bound not at all', async () => {
    const request = { method: 'GET', url: `${base}/chunks`, headers: {}, body: null, timeoutMs: 5000 };
    const roomy = new HttpTransport({ answerBytesMax: 4001 });
    const whole = await roomy.send(request);
    roomy.close();
    assert.equal(whole.kind, 'answer');
    assert.equal(whole.kind === 'answer' && whole.text, `${'a'.repeat(1999)}é${'b'.repeat(2000)}`);
    const tight = new HttpTransport({ answerBytesMax: 4000 });
    const cut = await tight.send(request);
    tight.close();
    assert.deepEqual(cut, {
      kind: 'network',
      reason: 'the answer is longer than 4000 bytes: not read',
      timedOut: false,
      aborted: false,
    });
  });

  it('answers network, never throws, for a refused connection and a bad URL', async () => {
    const transport = new HttpTransport();
    const refused = await transport.send({
      method: 'GET',
      url: 'http://127.0.0.1:1/',
      headers: {},
      body: null,
      timeoutMs: 5000,
    });
    assert.equal(refused.kind, 'network');
    if (refused.kind === 'network') {
      assert.match(refused.reason, /ECONNREFUSED/);
      assert.equal(refused.timedOut, false);
      assert.equal(refused.aborted, false);
    }
    const bad = await transport.send({ method: 'GET', url: 'not a url', headers: {}, body: null, timeoutMs: 5000 });
    assert.equal(bad.kind, 'network');
    transport.close();
  });

  for (const path of ['/silent', '/stall'])
    it(`one deadline covers the exchange: ${path === '/silent' ? 'no answer' : 'a body that stalls'}`, async () => {
      const transport = new HttpTransport();
      const started = performance.now();
      const answer = await transport.send({
        method: 'GET',
        url: `${base}${path}`,
        headers: {},
        body: null,
        timeoutMs: 200,
      });
      const elapsed = performance.now() - started;
      transport.close();
      assert.deepEqual(answer, {
        kind: 'network',
        reason: 'no answer within 200 ms',
        timedOut: true,
        aborted: false,
      });
      // Bounded by the deadline, not by a socket or body timeout of its own (seconds to minutes).
      assert.ok(elapsed >= 190 && elapsed < 3000, `${elapsed} ms`);
    });

  it("the caller's signal ends the exchange as aborted, before or during it", async () => {
    const transport = new HttpTransport();
    const during = new AbortController();
    setTimeout(() => during.abort(), 50);
    const answer = await transport.send({
      method: 'GET',
      url: `${base}/silent`,
      headers: {},
      body: null,
      timeoutMs: 10_000,
      signal: during.signal,
    });
    assert.deepEqual(answer, { kind: 'network', reason: 'aborted by the caller', timedOut: false, aborted: true });
    const sent = seen.length;
    const early = await transport.send({
      method: 'GET',
      url: `${base}/`,
      headers: {},
      body: null,
      timeoutMs: 10_000,
      signal: AbortSignal.abort(),
    });
    assert.equal(early.kind, 'network');
    assert.equal(early.kind === 'network' && early.aborted, true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, sent, 'an exchange aborted before it started is not sent');
    transport.close();
  });

  it('idle keep-alive sockets do not keep the process alive', async () => {
    const script = `
      const { HttpTransport } = await import(${JSON.stringify(new URL('../../src/connectors/http-transport.ts', import.meta.url).pathname)});
      const answer = await new HttpTransport().send({ method: 'GET', url: ${JSON.stringify(`${base}/`)}, headers: {}, body: null, timeoutMs: 5000 });
      console.log(answer.kind, answer.status);`;
    // Asynchronous: this process's server answers the child. A child kept alive is killed at 20 s and fails.
    const child = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(child.stdout.trim(), 'answer 207');
  });
});
