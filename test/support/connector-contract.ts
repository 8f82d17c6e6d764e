/**
 * The one connector contract: what the ChannelConnector port (src/connectors/channel-connector.ts)
 * promises, stated once and run over every connector against its simulator on loopback
 * (test/conformance/connectors/contract.test.ts). Each platform's own conformance file then
 * covers what only that platform has (compare-and-set, tokens, feeds, webhooks).
 *
 * A target adapts one simulator: it seeds items, reads what the platform itself shows (never the
 * connector's word), and injects the faults every platform can suffer (a 5xx before the write, a
 * write that lands but whose answer is lost). The cases push the way the dispatcher does: in
 * batches of `maxBatchSize`, re-pushing `retry` outcomes after their `retryAfterMs`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelConnector, PushItem, PushOutcome } from '../../src/connectors/channel-connector.js';

export interface ContractRig {
  readonly connector: ChannelConnector;
  /** Creates an item on the platform showing `quantity`; its ids as a listing would carry them. */
  addItem(quantity: number): Promise<ContractItemRef> | ContractItemRef;
  /** A well-formed id the platform does not know. */
  unknownItem(): ContractItemRef;
  /** What the platform itself shows for the item (its own state, not an API read). */
  shown(item: ContractItemRef): number | null;
  /** The next API write is answered 5xx and not applied. */
  failNextWrite(): void;
  /** The next API write is applied, then its answer is lost (the connection drops). */
  loseNextWriteAnswer(): void;
  /** Requests the platform refused because the client exceeded its rate budget. Must stay 0. */
  violations(): number;
  /** Items pushed in the burst case: several times the platform's budget window. */
  readonly burstSize: number;
  /** Items per call in the burst (default maxBatchSize): 1 where the budget counts calls, not items. */
  readonly burstBatchSize?: number;
  /**
   * How much faster than real time the simulator's and the connector's shared clock runs (a
   * per-minute quota passes in a second at 60); retry waits are scaled down by it. Default 1.
   */
  readonly timeScale?: number;
  /**
   * What a push to an item the platform does not know gets: `permanent` (the default), or
   * `accepted` where the platform takes any input and shows nothing for it (a product feed).
   */
  readonly unknownPush?: 'permanent' | 'accepted';
  stop(): Promise<void>;
}

export interface ContractItemRef {
  externalId: string;
  externalLocationId: string | null;
}

export interface ContractTarget {
  /** Platform name as the registry knows it. */
  readonly name: string;
  start(): Promise<ContractRig>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let serial = 0;

function pushItem(ref: ContractItemRef, quantity: number, listingId = `lst_${++serial}`): PushItem {
  return {
    listingId,
    externalId: ref.externalId,
    externalLocationId: ref.externalLocationId,
    quantity,
    expectedChannelQuantity: null,
    idempotencyKey: `${listingId}:q${quantity}:${serial}`,
  };
}

/**
 * As the dispatcher pushes: `workers` loops sharing the connection, batches of `batchSize`,
 * `retry` outcomes again after their wait (bounded in rounds).
 */
async function pushSettled(
  connector: ChannelConnector,
  items: readonly PushItem[],
  options: { roundsMax?: number; batchSize?: number; workers?: number; timeScale?: number | undefined } = {},
) {
  const { roundsMax = 20, batchSize = connector.maxBatchSize, workers = 1, timeScale = 1 } = options;
  const settled = new Map<string, PushOutcome>();
  let pending = [...items];
  for (let round = 0; round < roundsMax && pending.length > 0; round++) {
    const again: PushItem[] = [];
    let waitMs = 0;
    const queue = [...pending];
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (;;) {
          const batch = queue.splice(0, batchSize);
          if (batch.length === 0) return;
          const outcomes = await connector.pushLevels(batch);
          assert.equal(outcomes.length, batch.length, 'one outcome per item');
          outcomes.forEach((outcome, index) => {
            assert.equal(outcome.listingId, batch[index]!.listingId, 'outcomes in the order of the items');
            if (outcome.status === 'retry') {
              again.push(batch[index]!);
              waitMs = Math.max(waitMs, outcome.retryAfterMs ?? 50);
            } else settled.set(outcome.listingId, outcome);
          });
        }
      }),
    );
    pending = again;
    if (pending.length > 0) await sleep(Math.min(waitMs / timeScale, 5_000));
  }
  assert.equal(pending.length, 0, `every push settled within ${roundsMax} rounds`);
  return settled;
}

export function connectorContract(target: ContractTarget): void {
  describe(`${target.name}: the connector contract`, () => {
    let rig: ContractRig;
    before(async () => {
      rig = await target.start();
    });
    after(async () => {
      await rig.stop();
    });

    it('pushes absolute quantities, reads them back, and a repeat of the same value changes nothing', async () => {
      const refs = [await rig.addItem(3), await rig.addItem(0), await rig.addItem(40)];
      const items = refs.map((ref, index) => pushItem(ref, [5, 0, 12][index]!));
      const settled = await pushSettled(rig.connector, items, { timeScale: rig.timeScale });
      for (const [index, item] of items.entries()) {
        assert.deepEqual(settled.get(item.listingId), {
          listingId: item.listingId,
          status: 'ok',
          channelQuantity: item.quantity,
        });
        assert.equal(rig.shown(refs[index]!), item.quantity, 'the platform shows what was pushed');
      }
      const read = await rig.connector.readLevels(items);
      assert.deepEqual(
        read,
        items.map((item) => ({ listingId: item.listingId, quantity: item.quantity })),
      );
      const again = await pushSettled(rig.connector, [pushItem(refs[2]!, 12)], { timeScale: rig.timeScale });
      assert.equal([...again.values()][0]!.status, 'ok');
      assert.equal(rig.shown(refs[2]!), 12);
      assert.equal(rig.violations(), 0);
    });

    it('an item the platform does not know reads as null; its push is permanent, or on a feed taken and never shown', async () => {
      const known = await rig.addItem(2);
      const unknown = rig.unknownItem();
      const read = await rig.connector.readLevels([pushItem(unknown, 0, 'unknown'), pushItem(known, 0, 'known')]);
      assert.deepEqual(read, [
        { listingId: 'unknown', quantity: null },
        { listingId: 'known', quantity: 2 },
      ]);
      const outcomes = await rig.connector.pushLevels([pushItem(unknown, 4, 'unknown-push')]);
      assert.equal(outcomes.length, 1);
      if (rig.unknownPush === 'accepted') {
        assert.equal(outcomes[0]!.status, 'ok', JSON.stringify(outcomes[0]));
        assert.equal(rig.shown(unknown), null, 'the platform took the input and shows nothing for it');
      } else {
        assert.equal(outcomes[0]!.status, 'permanent', JSON.stringify(outcomes[0]));
        assert.ok((outcomes[0] as { reason: string }).reason.length > 0, 'a permanent outcome says why');
      }
    });

    it('a 5xx before the write is a retry; the retry lands', async () => {
      const ref = await rig.addItem(1);
      rig.failNextWrite();
      const item = pushItem(ref, 9);
      const first = await rig.connector.pushLevels([item]);
      assert.equal(first[0]!.status, 'retry', JSON.stringify(first[0]));
      assert.equal(rig.shown(ref), 1, 'nothing applied by the failed request');
      const settled = await pushSettled(rig.connector, [item], { timeScale: rig.timeScale });
      assert.equal(settled.get(item.listingId)?.status, 'ok');
      assert.equal(rig.shown(ref), 9);
    });

    it('a write whose answer is lost is a retry, and pushing the same absolute value again ends right', async () => {
      const ref = await rig.addItem(6);
      rig.loseNextWriteAnswer();
      const item = pushItem(ref, 2);
      const first = await rig.connector.pushLevels([item]);
      assert.equal(first[0]!.status, 'retry', JSON.stringify(first[0]));
      assert.equal(rig.shown(ref), 2, 'the write landed although its answer was lost');
      const settled = await pushSettled(rig.connector, [item], { timeScale: rig.timeScale });
      assert.equal(settled.get(item.listingId)?.status, 'ok');
      assert.equal(rig.shown(ref), 2, 'an absolute quantity applied twice is still the quantity');
    });

    it('a burst several times the rate budget: every item set, zero rate-limit violations', async () => {
      const refs: ContractItemRef[] = [];
      for (let index = 0; index < rig.burstSize; index++) refs.push(await rig.addItem(0));
      const items = refs.map((ref, index) => pushItem(ref, (index % 23) + 1));
      const before = rig.violations();
      const settled = await pushSettled(rig.connector, items, {
        roundsMax: 200,
        batchSize: rig.burstBatchSize ?? rig.connector.maxBatchSize,
        workers: 3,
        timeScale: rig.timeScale,
      });
      assert.equal(rig.violations() - before, 0, 'the platform never had to refuse a request');
      assert.ok([...settled.values()].every((outcome) => outcome.status === 'ok'));
      for (const [index, ref] of refs.entries()) assert.equal(rig.shown(ref), (index % 23) + 1);
    });
  });
}
