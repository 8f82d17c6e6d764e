/**
 * Goal: the whole-request deadline (src/http/request-deadline.ts) answers a handler that runs
 * past it with 503 ONH_ERR_TIMEOUT (outcome unknown), leaves a request that finishes in time
 * alone, and takes a route's own `deadlineMs`.
 *
 * Method: a bare Fastify app with the deadline and the problem handler, on a real socket.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { limits } from '../../src/core/limits.js';
import { problemErrorHandler } from '../../src/http/errors.js';
import { installRequestDeadlines } from '../../src/http/request-deadline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('request deadline', () => {
  let app: FastifyInstance;
  let base: string;
  let slowFinished = false;

  before(async () => {
    app = Fastify();
    app.setErrorHandler(problemErrorHandler);
    installRequestDeadlines(app);
    app.get('/slow', { config: { deadlineMs: 100 } }, async () => {
      await sleep(100 + 4 * limits.requestDeadlineSweepMs);
      slowFinished = true;
      return { late: true };
    });
    app.get('/quick', { config: { deadlineMs: 100 } }, async () => {
      await sleep(20);
      return { ok: true };
    });
    app.get('/default', async () => ({ deadline: 'default' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(() => app.close());

  it('answers a handler past its deadline with 503 ONH_ERR_TIMEOUT, before the handler ends', async () => {
    const started = performance.now();
    const response = await fetch(`${base}/slow`);
    const elapsed = performance.now() - started;
    assert.equal(response.status, 503);
    const body = (await response.json()) as { code: string };
    assert.equal(body.code, 'ONH_ERR_TIMEOUT');
    assert.equal(slowFinished, false, 'the answer came from the deadline, not from the handler');
    assert.ok(elapsed >= 100, `answered after the deadline (${elapsed} ms)`);
  });

  it('leaves a request that finishes in time alone', async () => {
    for (let round = 0; round < 3; round += 1) {
      const response = await fetch(`${base}/quick`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { ok: true });
    }
    // Past the deadline of those requests: nothing is sent to them late.
    await sleep(100 + 2 * limits.requestDeadlineSweepMs);
    const response = await fetch(`${base}/default`);
    assert.deepEqual(await response.json(), { deadline: 'default' });
  });
});
