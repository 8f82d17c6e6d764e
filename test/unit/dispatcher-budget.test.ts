/**
 * Goal: the claim loops of one dispatcher share a rate-limited connector's budget even while
 * their claims are still on their way from the store: rows out never exceed the budget, and what
 * a claim did not find goes back to the budget.
 * Method: four rounds started together (as the run loop's four claim loops do) over an outbox
 * whose claims answer only when the test opens them, and a channel that holds every push; the
 * limits the rounds asked the store for, and the rows out at the channel, are counted. Found on
 * PostgreSQL under load (test/integration/dispatcher-loop.test.ts saw 3 rows out for a budget
 * of 2): each loop computed its share before any claim had come back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PushItem, PushOutcome } from '../../src/connectors/channel-connector.js';
import type { DispatchRow, OutboxPort } from '../../src/store/outbox-port.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { ScriptedChannel } from '../support/scripted-channel.js';

class HeldChannel extends ScriptedChannel {
  out = 0;
  peak = 0;
  private readonly releases: (() => void)[] = [];
  override async pushLevels(items: readonly PushItem[]): Promise<PushOutcome[]> {
    this.out += items.length;
    this.peak = Math.max(this.peak, this.out);
    await new Promise<void>((resolve) => this.releases.push(resolve));
    this.out -= items.length;
    return super.pushLevels(items);
  }
  release(): void {
    for (const resolve of this.releases.splice(0)) resolve();
  }
  override rateLimit() {
    return { available: 2, capacity: 2, waitMs: 0 };
  }
}

function gatedOutbox(pending: number) {
  const asked: number[] = [];
  const gates: (() => void)[] = [];
  let next = 0;
  const row = (): DispatchRow => {
    next += 1;
    return {
      listingId: String(next),
      externalId: `offer-${next}`,
      externalLocationId: null,
      quantity: 1,
      desiredVersion: 1,
      channelQuantity: null,
      attempts: 0,
      pendingSince: null,
    };
  };
  const outbox = {
    acquireLease: async () => 1,
    releaseLease: async () => undefined,
    claimDue: async (_channel: string, _epoch: number, _now: number, limit: number) => {
      asked.push(limit);
      await new Promise<void>((resolve) => gates.push(resolve));
      const taken = Math.min(limit, pending);
      pending -= taken;
      return Array.from({ length: taken }, row);
    },
    recordResults: async () => true,
  } as unknown as OutboxPort;
  const open = () => {
    for (const resolve of gates.splice(0)) resolve();
  };
  return { outbox, asked, open };
}

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });
const settle = () => new Promise((resolve) => setImmediate(resolve));
const dispatcherOver = (channel: HeldChannel, outbox: OutboxPort) =>
  new ChannelDispatcher({
    channel: 'bol',
    connector: channel,
    outbox,
    clock: { now: () => 1_000 },
    owner: 'p1',
    policy,
  });

describe('dispatcher: a rate-limited budget shared by claims in flight', () => {
  it('four rounds at once ask the store for the budget once, and never have more rows out', async () => {
    const channel = new HeldChannel();
    const { outbox, asked, open } = gatedOutbox(4);
    const dispatcher = dispatcherOver(channel, outbox);
    const rounds = [1, 2, 3, 4].map(() => dispatcher.tick());
    await settle();
    assert.deepEqual(asked, [2], 'one claim for the whole budget; the other rounds wait for it');
    open();
    await settle();
    assert.equal(channel.out, 2);
    // While the two are out, more rounds claim nothing.
    assert.equal(await dispatcher.tick(), 0);
    channel.release();
    assert.deepEqual(await Promise.all(rounds), [2, 0, 0, 0]);
    assert.equal(channel.peak, 2);
  });

  it('what a claim did not find goes back to the budget', async () => {
    const channel = new HeldChannel();
    const { outbox, asked, open } = gatedOutbox(1);
    const dispatcher = dispatcherOver(channel, outbox);
    const first = dispatcher.tick();
    await settle();
    open();
    await settle();
    assert.equal(channel.out, 1, 'one row found of the two asked for');
    const second = dispatcher.tick();
    await settle();
    assert.deepEqual(asked, [2, 1], 'the next round asks for the one left');
    open();
    channel.release();
    assert.deepEqual(await Promise.all([first, second]), [1, 0]);
  });
});
