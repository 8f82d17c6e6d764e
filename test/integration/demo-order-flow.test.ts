/**
 * Goal: the demo's order flow (`serve --demo`) over the equivalent of 30 minutes records no false
 * oversell, keeps the ledger consistent, leaves the intake inbox empty, and survives a restart
 * on the same database and a second demo process beside the first.
 *
 * Method: the demo catalogue, a real onhand HTTP server (the Shopify simulator's signed webhooks
 * arrive there) and the demo's simulators, on a simulated clock: every 3 simulated seconds one
 * shopper action (demo-orders.ts: web orders, sales at the store's till, fulfilments from the
 * warehouse holding the units or from the Rotterdam 3PL, cancellations, refunds; Bol.com orders
 * shipped and cancelled in parts; Amazon orders Pending or paid, shipped in parts, cancelled),
 * then the webhooks are awaited, Bol.com and Amazon are polled every other step and the
 * dispatchers push until nothing is due, as the loops of `serve` would; the WooCommerce shop's
 * webhooks are awaited and its orders polled every tenth step. 600 steps; then everything is
 * stopped and started again on the same database for 100 more. An Amazon order lowers what the
 * other channels show. Loopback only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { issueToken } from '../../src/api/tokens.js';
import type { DemoChannels } from '../../src/demo/demo-channels.js';
import { type DemoReport, loadDemo, startDemoChannels } from '../../src/demo/demo.js';
import { buildServer } from '../../src/http/server.js';
import { storeOrderItemMatcher } from '../../src/ingest/order-item-match.js';
import { OrderLineIntake } from '../../src/ingest/order-line-intake.js';
import { OrderPolling } from '../../src/ingest/order-polling.js';
import { channelRuntime } from '../../src/main.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { type ChannelRuntime, Propagation } from '../../src/sync/propagation.js';
import { defaultRetryPolicy } from '../../src/sync/retry-policy.js';
import { STORES, type TestStore } from '../support/stores.js';

const stepMs = 3000;
const thirtyMinutes = 600;
const afterRestart = 100;

/** One onhand process with the demo: server, intake, push and poll loops driven by hand. */
class DemoProcess {
  private constructor(
    readonly store: LedgerStore,
    readonly ledger: GroupCommitter,
    readonly app: FastifyInstance,
    readonly orders: OrderLineIntake,
    readonly demo: DemoChannels,
    readonly propagation: Propagation,
    readonly polling: OrderPolling,
    readonly errors: string[],
    /** What loadDemo reported (what `serve --demo` logs); null on a restart, the catalogue being there. */
    readonly report: DemoReport | null,
  ) {}

  static async start(store: LedgerStore, clock: { now(): number }, seed: number): Promise<DemoProcess> {
    let key = 0;
    const ids = { next: (prefix: string) => `${prefix}_${seed}_${++key}` };
    const ledger = new GroupCommitter(store, clock, ids);
    const orders = new OrderLineIntake({ store, ledger, clock, match: storeOrderItemMatcher(store.availability) });
    const app = await buildServer({ store, ledger, orders, clock, ids });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const report = await loadDemo(store, ledger, clock);
    const errors: string[] = [];
    const demo = await startDemoChannels(store, ledger, clock, address, {
      ids,
      orderIntervalMs: 0,
      seed,
      onError: (error) => errors.push(`demo step: ${String(error)}`),
    });
    assert.ok(demo, 'the demo channels exist');
    const runtimes: ChannelRuntime[] = [];
    for (const channel of await store.availability.listChannels()) {
      const runtime = channelRuntime(channel, clock);
      if (runtime) runtimes.push(runtime);
    }
    const onError = (channel: string, error: unknown) => errors.push(`${channel}: ${String(error)}`);
    const owner = `demo-${seed}`;
    const propagation = new Propagation({
      store,
      ledger,
      clock,
      owner,
      policy: defaultRetryPolicy,
      channels: runtimes,
      onError,
    });
    const polling = new OrderPolling({ store, orders, clock, owner, channels: runtimes, onError });
    return new DemoProcess(store, ledger, app, orders, demo, propagation, polling, errors, report);
  }

  /** Push until nothing is due (bounded). */
  async drain(): Promise<void> {
    for (let round = 0; round < 20; round += 1) {
      let pushed = 0;
      for (const dispatcher of this.propagation.dispatchers.values()) pushed += await dispatcher.tick();
      if (pushed === 0) return;
    }
  }

  /** One simulated step: a shopper's action, its webhooks, a Bol.com poll every other step, the pushes. */
  async step(index: number): Promise<void> {
    await this.demo.step();
    await this.demo.simulators?.woo?.settled();
    if (index % 10 === 0) await this.polling.pollOnce('woo');
    if (index % 2 !== 0) return;
    await this.demo.simulators?.shopify.webhooksIdle({ includeScheduled: false });
    await this.polling.pollOnce('bol');
    await this.polling.pollOnce('amazon');
    if (index % 20 === 0) await this.orders.retryDue();
    await this.drain();
  }

  async stop(): Promise<void> {
    // In the order of main.ts's shutdown.
    await this.app.close();
    await this.polling.stop();
    await this.propagation.stop();
    await this.demo.stop();
    await this.ledger.close();
  }
}

async function lineCounts(store: LedgerStore): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const row of await store.orders.countLines())
    counts[`${row.channel}:${row.status}`] = (counts[`${row.channel}:${row.status}`] ?? 0) + row.lines;
  return counts;
}

/** on_hand per location over every plain variant. */
async function onHandByLocation(store: LedgerStore): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const variant of await store.catalogue.listVariants({ limit: 1000 })) {
    if (variant.sku.startsWith('BUNDLE-')) continue;
    for (const level of (await store.ledger.getStock(variant.sku, Date.now()))?.locations ?? [])
      out.set(level.location, (out.get(level.location) ?? 0) + level.on_hand);
  }
  return out;
}

const total = (counts: Record<string, number>, channel: string) =>
  Object.entries(counts)
    .filter(([key]) => key.startsWith(`${channel}:`))
    .reduce((sum, [, lines]) => sum + lines, 0);

// SQLite only: the engines' equality is the conformance suites' job, and one run keeps this
// file near 15 s.
for (const factory of STORES.filter((each) => each.name === 'sqlite')) {
  describe(`${factory.name}: the demo's order flow`, { skip: factory.skip, concurrency: false }, () => {
    let test: TestStore;
    // Simulated time runs ahead of the real clock by the steps taken, and on with it meanwhile
    // (a client waiting for a rate window sees the window pass).
    let skew = 0;
    const clock = { now: () => Date.now() + skew };
    let first: DemoProcess;

    /** What every check after a run asks: no oversell, a consistent ledger, an empty inbox. */
    const healthy = async (run: DemoProcess) => {
      const { token } = await issueToken(run.store, { name: 'check', scope: 'admin' }, clock, {
        next: (prefix) => `${prefix}_check_${clock.now()}`,
      });
      const answer = await run.app.inject({
        url: '/v1/oversells?limit=100',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(answer.statusCode, 200);
      assert.deepEqual(answer.json().items, [], 'no oversell: every order was for stock the pool had');
      const verify = await run.store.ledger.verify();
      assert.deepEqual(verify.mismatches, [], 'the ledger verifies');
      const inbox = await run.store.orders.inbox({ limit: 10 });
      assert.deepEqual(
        inbox.lines.map((line) => `${line.lineKey}: ${line.reason}`),
        [],
        'the intake inbox is empty',
      );
      assert.deepEqual(run.errors, []);
    };

    before(async () => {
      test = await factory.create();
    });
    after(async () => {
      await first?.stop().catch(() => undefined);
      await test.cleanup();
    });

    it('runs 30 simulated minutes: orders spread over the locations, 0 oversells', async () => {
      first = await DemoProcess.start(test.store, clock, 1);
      // The load's report, as `serve --demo` logs it, counts what is in the store.
      assert.equal(first.report?.channels, (await test.store.availability.listChannels()).length);
      assert.equal(first.report?.locations, (await test.store.catalogue.listLocations()).length);
      await first.drain();
      const onHandBefore = await onHandByLocation(test.store);
      for (let index = 1; index <= thirtyMinutes; index += 1) {
        skew += stepMs;
        await first.step(index);
      }
      skew += 60_000;
      await first.polling.pollOnce('bol');
      await first.polling.pollOnce('amazon');
      await first.polling.pollOnce('woo');
      await first.orders.retryDue();
      await first.drain();
      assert.deepEqual(await test.store.outbox.listDeadLetters({ limit: 10 }), [], 'every push was taken');
      const counts = first.demo.counts!;
      const lines = await lineCounts(test.store);
      const amazonStats = first.demo.simulators!.amazon!.stats();
      console.log(
        'demo flow, 30 simulated minutes:',
        JSON.stringify({
          ...counts,
          lines,
          amazonRequests: amazonStats.requests,
          amazonFeeds: amazonStats.feedsCreated,
        }),
      );
      assert.ok(counts.shopifyOrders >= 100 && counts.bolOrders >= 80, JSON.stringify(counts));
      assert.ok(counts.posSales >= 10 && counts.fulfilmentsFromRtm >= 5, JSON.stringify(counts));
      assert.ok(counts.cancellations + counts.refunds >= 20 && counts.bolCancellations >= 10, JSON.stringify(counts));
      assert.ok(total(lines, 'shop') >= counts.shopifyOrders && total(lines, 'bol') >= counts.bolOrders);
      assert.ok(counts.amazonOrders >= 40 && counts.amazonShipments >= 20, JSON.stringify(counts));
      assert.ok(total(lines, 'amazon') >= counts.amazonOrders, JSON.stringify(lines));
      // The till's sales shipped from the store, the 3PL's fulfilments from Rotterdam.
      const onHandAfter = await onHandByLocation(test.store);
      assert.ok(onHandBefore.get('STORE-UTR')! - onHandAfter.get('STORE-UTR')! >= counts.posSales);
      assert.ok(onHandBefore.get('WH-RTM')! - onHandAfter.get('WH-RTM')! >= counts.fulfilmentsFromRtm);
      await healthy(first);
      const shopify = first.demo.simulators!.shopify;
      assert.equal(shopify.stats.webhooksAbandoned, 0);
      assert.equal(shopify.stats.rateLimitViolations, 0);
      assert.equal(first.demo.simulators!.bol.stats().rateLimitViolations, 0);
      assert.equal(first.demo.simulators!.amazon!.stats().rateLimitViolations, 0);
      const woo = first.demo.simulators!.woo!.stats();
      assert.ok(counts.wooOrders >= 50 && counts.wooCompleted >= 20, JSON.stringify(counts));
      assert.ok(total(lines, 'woo') >= counts.wooOrders, JSON.stringify(lines));
      assert.deepEqual([woo.rateLimitViolations, woo.webhooksFailed, woo.pings], [0, 0, 4]);
    });

    it('an Amazon order lowers what Shopify and Bol.com show for the same variant', async () => {
      const { shopify, bol, amazon } = first.demo.simulators!;
      const shown = async (sku: string) => {
        const listings = (await test.store.availability.getAvailability(sku)) ?? [];
        const of = (channel: string) => listings.find((listing) => listing.channel === channel)!;
        return {
          shop: shopify.available(of('shop').externalId),
          bol: bol.offerState(of('bol').externalId).amount,
          amazon: amazon!.listing(sku)?.quantity ?? null,
          desired: { shop: of('shop').quantity, bol: of('bol').quantity },
        };
      };
      // A plain variant every channel shows at least 3 of, below Bol.com's cap.
      let sku: string | undefined;
      for (const variant of await test.store.catalogue.listVariants({ limit: 1000 })) {
        if (variant.sku.startsWith('BUNDLE-')) continue;
        const now = await shown(variant.sku);
        if ((now.shop ?? 0) >= 3 && now.bol >= 3 && now.bol < 15 && (now.amazon ?? 0) >= 3) {
          sku = variant.sku;
          break;
        }
      }
      assert.ok(sku, 'a variant in stock everywhere');
      const before = await shown(sku);
      amazon!.createOrder({ items: [{ sku, quantity: 2 }], status: 'Unshipped' });
      skew += 5_000;
      await first.polling.pollOnce('amazon');
      await first.drain();
      const after = await shown(sku);
      assert.ok(after.desired.shop < before.desired.shop, `shop: ${JSON.stringify({ before, after })}`);
      assert.ok(after.desired.bol < before.desired.bol, `bol: ${JSON.stringify({ before, after })}`);
      assert.equal(after.shop, after.desired.shop, 'Shopify shows what onhand computed');
      assert.equal(after.bol, after.desired.bol, 'Bol.com shows what onhand computed');
      await healthy(first);
    });

    it('a second demo process on the same database keeps the running simulators and starts none', async () => {
      const before = await test.store.availability.getChannel('shop');
      const other = await test.reopen();
      let key = 0;
      const ids = { next: (prefix: string) => `${prefix}_other_${++key}` };
      const ledger = new GroupCommitter(other, clock, ids);
      const second = await startDemoChannels(other, ledger, clock, 'http://127.0.0.1:9', { ids, orderIntervalMs: 0 });
      assert.equal(second?.running, false);
      assert.match(second!.describe(), /another onhand process/);
      assert.deepEqual(await other.availability.getChannel('shop'), before, 'connector settings untouched');
      await second!.stop();
      await ledger.close();
    });

    it('after a restart on the same database new orders are applied, none blocked, still 0 oversells', async () => {
      const beforeRestart = await lineCounts(test.store);
      const settingsBefore = (await test.store.availability.getChannel('shop'))!.settings;
      await first.stop();
      skew += 5 * 60_000;
      const store = await test.reopen();
      const again = await DemoProcess.start(store, clock, 2);
      first = again;
      assert.equal(again.demo.running, true, 'the stopped run answers no more: this one starts its own');
      const settingsAfter = (await store.availability.getChannel('shop'))!.settings;
      assert.notDeepEqual(settingsAfter.connector, settingsBefore.connector, 'connector rewritten');
      assert.deepEqual(settingsAfter.orders, settingsBefore.orders, 'the same location map');
      await again.drain();
      for (let index = 1; index <= afterRestart; index += 1) {
        skew += stepMs;
        await again.step(index);
      }
      skew += 60_000;
      await again.polling.pollOnce('bol');
      await again.polling.pollOnce('amazon');
      await again.polling.pollOnce('woo');
      await again.drain();
      const afterCounts = await lineCounts(store);
      console.log(
        'after the restart:',
        JSON.stringify({ ...again.demo.counts, before: beforeRestart, after: afterCounts }),
      );
      assert.ok(total(afterCounts, 'shop') > total(beforeRestart, 'shop'), 'new Shopify lines');
      assert.ok(total(afterCounts, 'bol') > total(beforeRestart, 'bol'), 'new Bol.com lines');
      assert.ok(total(afterCounts, 'amazon') > total(beforeRestart, 'amazon'), 'new Amazon lines');
      assert.equal(afterCounts['amazon:blocked'] ?? 0, 0);
      assert.equal(afterCounts['shop:blocked'] ?? 0, 0);
      assert.equal(afterCounts['bol:blocked'] ?? 0, 0);
      assert.ok(total(afterCounts, 'woo') > total(beforeRestart, 'woo'), 'new WooCommerce lines');
      assert.equal(afterCounts['woo:blocked'] ?? 0, 0);
      await healthy(again);
    });
  });
}
