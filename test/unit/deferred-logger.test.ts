/**
 * Goal: a request's deferred logger writes what a pino child would (the request id bound, the
 * level honoured) and makes no child while nothing is logged at an enabled level.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { deferredChildLogger } from '../../src/http/deferred-logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('deferred request logger', () => {
  it('writes enabled levels with the request id bound, drops disabled ones without a child', () => {
    const { lines, logger } = capture();
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => {
      children += 1;
      return child(...args);
    }) as typeof logger.child;
    const log = deferredChildLogger(logger, { reqId: 'req-7' }, {});
    log.debug('not written');
    log.trace({ detail: 1 }, 'not written either');
    assert.equal(children, 0, 'no child for messages below the level');
    assert.equal(log.level, 'info');
    log.info({ order: 'A-1' }, 'written');
    log.error('failed');
    assert.equal(children, 1, 'one child, made at the first enabled message');
    assert.deepEqual(
      lines.map((line) => [line.reqId, line.msg, line.order]),
      [
        ['req-7', 'written', 'A-1'],
        ['req-7', 'failed', undefined],
      ],
    );
  });

  it('a route with its own level gets a real child at once', () => {
    const { lines, logger } = capture();
    const log = deferredChildLogger(logger, { reqId: 'req-8' }, { level: 'debug' });
    log.debug('written at the route level');
    assert.deepEqual(
      lines.map((line) => [line.reqId, line.msg]),
      [['req-8', 'written at the route level']],
    );
  });
});
