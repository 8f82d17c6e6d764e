import type { Clock } from '../core/clock.js';
import type { ChannelConnector, PushItem, PushOutcome } from '../connectors/channel-connector.js';
import { retryDelayMs, validateRetryPolicy, type RetryPolicy } from './retry-policy.js';
import type { DispatchResult, DispatchRow, OutboxPort } from '../store/outbox-port.js';
import { limits } from '../core/limits.js';

/**
 * The push loop of ONE channel connection (docs/ARCHITECTURE.md, The data flow, step 6). Each tick:
 * 1. take or renew the channel's lease (one process pushes a channel at a time, so the
 *    platform's rate limit holds cluster-wide; a dead owner's lease expires after `leaseTtlMs`);
 * 2. claim the due rows, most urgent first (the store orders them), bounded by `batchSizeMax`;
 * 3. push them through the connector in its batch size (absolute quantities, compare-and-set
 *    where the platform has it, an idempotency key per desired version);
 * 4. record every answer under the lease epoch: ok -> done (or pending again if a newer value
 *    arrived meanwhile), stale -> push again at once with what the channel showed, retry ->
 *    backoff with jitter (Retry-After wins), after `attemptsMax` -> dead letter, permanent ->
 *    dead letter at once, keeping the newest desired value.
 * A throttled or failing channel only slows its own loop: every channel has its own.
 */
export interface ChannelDispatcherOptions {
  channel: string;
  connector: ChannelConnector;
  outbox: OutboxPort;
  clock: Clock;
  /** This process's name in the lease table. */
  owner: string;
  policy: RetryPolicy;
  /** Injected randomness for jitter (tests pin it). @default Math.random */
  random?: () => number;
  /**
   * Renewed while the owner works, so a dead owner's channel is taken over once it runs out
   * (docs/RELIABILITY.md, section 12). @default limits.leaseTtlMs
   */
  leaseTtlMs?: number;
  /** How long a claim shields its rows; a crashed pusher's rows come back after it. @default limits.claimTtlMs */
  claimMs?: number;
  /** Rows claimed per tick. @default limits.claimBatchSizeMax */
  batchSizeMax?: number;
  /** Sleep when nothing was due (or the rate budget is empty), unless woken. @default limits.dispatchIdleMs */
  idleMs?: number;
  /**
   * Sleep after a tick that pushed something: changes arriving meanwhile coalesce into the next
   * claim (one write carries several ledger changes), which keeps a busy channel from spending
   * one platform call, and one event-loop turn, per movement. @default limits.dispatchBusyMs
   */
  busyMs?: number;
  /**
   * Claims being pushed at once by the run loop (`start`). Each claims at most one connector
   * batch (`maxBatchSize` rows), pushes it and records it on its own, so a change committed
   * while a batch is in flight goes out in the next free claim instead of waiting for the
   * slowest request of the batch before it. Claims are disjoint (a claimed row is not claimable
   * until its result is recorded), and a rate-limited connector's budget is shared: a claim takes
   * at most what the budget has left after the rows already in flight. `tick()` itself is
   * unchanged (one claim, pushed batch after batch). Measured in bench/README.md (Propagation).
   * @default limits.claimsInFlightMax
   */
  claimsInFlightMax?: number;
  onError?: (error: unknown) => void;
  /**
   * Told of every recorded answer (metrics): its status, and for an acknowledged push the time
   * from the oldest unacknowledged commit to now, as the push-latency samples measure it.
   */
  onResult?: (status: DispatchResult['status'], latencyMs: number | null) => void;
  /** Told once per pushed batch, after its results are recorded, with every listing's result (the log's one line per batch). */
  onBatch?: (results: readonly DispatchResult[]) => void;
  /** Told when a round claims nothing because the platform's rate budget is spent, with the wait it announces (metrics). */
  onRateLimited?: (waitMs: number) => void;
}

export class ChannelDispatcher {
  private readonly policy: RetryPolicy;
  private stopped = true;
  readonly stats = { ticks: 0, pushed: 0, failed: 0, fencedOut: 0 };

  constructor(private readonly options: ChannelDispatcherOptions) {
    this.policy = validateRetryPolicy(options.policy);
  }

  /** One claim-push-record round; returns how many rows it pushed. */
  async tick(): Promise<number> {
    return this.round(this.options.batchSizeMax ?? limits.claimBatchSizeMax);
  }

  /** Rows claimed and not yet recorded, over every claim of this dispatcher. */
  private rowsInFlight = 0;

  /** The lease as last taken or renewed by this dispatcher; null when it does not hold it. */
  private lease: { epoch: number; renewedAt: number } | null = null;
  private leaseRequest: Promise<number | null> | null = null;

  /**
   * The lease epoch to claim under: renewed once a third of its time to live has passed, not
   * every round (a renewal is a write, and an idle channel's loop polls every `idleMs`). The
   * lease stays ours for its whole TTL after each renewal, so renewing at a third leaves two
   * thirds of margin; if another process took it meanwhile (we were paused past the TTL), the
   * store's epoch checks make our claims empty and our results refused, and the next renewal
   * finds out. Concurrent loops share one request.
   */
  private async leaseEpoch(): Promise<number | null> {
    const { outbox, channel, clock } = this.options;
    const ttl = this.options.leaseTtlMs ?? limits.leaseTtlMs;
    const now = clock.now();
    if (this.lease !== null && now - this.lease.renewedAt < ttl / 3 && now >= this.lease.renewedAt)
      return this.lease.epoch;
    if (this.leaseRequest === null) {
      const request = outbox.acquireLease(channel, this.options.owner, now, ttl).then(
        (epoch) => {
          this.lease = epoch === null ? null : { epoch, renewedAt: now };
          return epoch;
        },
        (error: unknown) => {
          this.lease = null;
          throw error;
        },
      );
      this.leaseRequest = request;
      void request.then(
        () => (this.leaseRequest = null),
        () => (this.leaseRequest = null),
      );
    }
    return this.leaseRequest;
  }

  private async round(batchSizeMax: number): Promise<number> {
    const { outbox, connector, channel, clock } = this.options;
    this.stats.ticks += 1;
    const epoch = await this.leaseEpoch();
    if (epoch === null) return 0;
    // Claim only what the platform takes now (its rate budget), not a big batch: a claimed row
    // carries its desired value from claim time, so a claim that waits seconds in the rate
    // limiter pushes stale values and keeps newer, more urgent rows waiting behind it.
    // Measured (bench:propagation, Bol.com limits): claims of 500 -> at-risk p95 ~7 s.
    // Rows already claimed by another claim of this dispatcher will spend that budget too.
    const budget = connector.rateLimit();
    if (budget.available < 1 && budget.waitMs > 0) {
      this.options.onRateLimited?.(budget.waitMs);
      return 0;
    }
    let limit = batchSizeMax;
    if (Number.isFinite(budget.available)) {
      const left = Math.floor(budget.available) - this.rowsInFlight;
      if (left < 1 && this.rowsInFlight > 0) return 0;
      limit = Math.max(1, Math.min(batchSizeMax, left));
    }
    // The budget is taken before the claim's await, not after it returns: the other claim loops
    // run their rounds meanwhile, and each would otherwise see the whole budget still free
    // (on PostgreSQL, under load: 3 rows out against a budget of 2). What the claim did not
    // find goes back when it returns.
    this.rowsInFlight += limit;
    let rows: DispatchRow[];
    try {
      rows = await outbox.claimDue(channel, epoch, clock.now(), limit, this.options.claimMs ?? limits.claimTtlMs);
    } catch (error) {
      this.rowsInFlight -= limit;
      throw error;
    }
    this.rowsInFlight -= limit - rows.length;
    if (rows.length === 0) return 0;
    let unrecorded = rows.length;
    try {
      for (let start = 0; start < rows.length; start += connector.maxBatchSize) {
        const chunk = rows.slice(start, start + connector.maxBatchSize);
        const outcomes = await this.push(chunk);
        const results = chunk.map((row, index) => this.result(row, outcomes[index]!));
        const recordedAt = clock.now();
        const recorded = await outbox.recordResults(channel, epoch, results, recordedAt);
        this.rowsInFlight -= chunk.length;
        unrecorded -= chunk.length;
        if (!recorded) {
          // Another process took the lease while we pushed: stop; its epoch wins.
          this.stats.fencedOut += 1;
          if (this.lease?.epoch === epoch) this.lease = null;
          return start + chunk.length;
        }
        if (this.options.onResult)
          results.forEach((result, index) => {
            const since = chunk[index]!.pendingSince;
            this.options.onResult!(
              result.status,
              result.status === 'ok' && since !== null ? Math.max(0, recordedAt - since) : null,
            );
          });
        this.options.onBatch?.(results);
        this.stats.pushed += results.filter((result) => result.status === 'ok').length;
        this.stats.failed += results.filter((result) => result.status !== 'ok').length;
      }
    } finally {
      this.rowsInFlight -= unrecorded;
    }
    return rows.length;
  }

  private async push(rows: readonly DispatchRow[]): Promise<PushOutcome[]> {
    const items: PushItem[] = rows.map((row) => ({
      listingId: row.listingId,
      externalId: row.externalId,
      externalLocationId: row.externalLocationId,
      quantity: row.quantity,
      expectedChannelQuantity: row.channelQuantity,
      idempotencyKey: `onhand:${row.listingId}:v${row.desiredVersion}`,
      ...(row.preorder ? { preorder: row.preorder } : {}),
    }));
    try {
      const outcomes = await this.options.connector.pushLevels(items);
      if (outcomes.length !== items.length)
        throw new Error(`connector answered ${outcomes.length} outcomes for ${items.length} items`);
      return outcomes;
    } catch (error) {
      // A connector must not throw for a platform answer; if it does, treat it as retryable.
      return items.map((item) => ({
        listingId: item.listingId,
        status: 'retry' as const,
        reason: `connector error: ${(error as Error).message}`,
      }));
    }
  }

  private result(row: DispatchRow, outcome: PushOutcome): DispatchResult {
    const base = { listingId: row.listingId, desiredVersion: row.desiredVersion };
    switch (outcome.status) {
      case 'ok':
        return { ...base, status: 'ok', channelQuantity: outcome.channelQuantity, pushedQuantity: row.quantity };
      case 'stale':
        if (row.attempts + 1 >= this.policy.attemptsMax) {
          return { ...base, status: 'retry', dueAt: this.options.clock.now(), error: outcome.reason, dead: true };
        }
        return { ...base, status: 'stale', channelQuantity: outcome.channelQuantity };
      case 'retry': {
        const attempt = row.attempts + 1;
        const delay = retryDelayMs(this.policy, attempt, (this.options.random ?? Math.random)(), outcome.retryAfterMs);
        return {
          ...base,
          status: 'retry',
          dueAt: this.options.clock.now() + delay,
          error: outcome.reason,
          dead: attempt >= this.policy.attemptsMax,
        };
      }
      case 'permanent':
        return { ...base, status: 'permanent', error: outcome.reason };
    }
  }

  /**
   * Run until stopped: `claimsInFlightMax` claim loops, each claiming at most one connector
   * batch; a loop claims again at once after a claim that pushed something (after `busyMs`),
   * else sleeps `idleMs` or until `wake()`.
   */
  start(): void {
    this.stopped = false;
    const loops = Math.max(1, this.options.claimsInFlightMax ?? limits.claimsInFlightMax);
    const batch = Math.min(
      this.options.batchSizeMax ?? limits.claimBatchSizeMax,
      loops > 1 ? this.options.connector.maxBatchSize : Number.POSITIVE_INFINITY,
    );
    for (let index = 0; index < loops; index += 1) this.startLoop(index, batch, loops);
  }

  /**
   * Loops sleeping because nothing was due: `wake()` ends their sleep. One of them sleeps
   * `idleMs` and polls again (rows come due by time, after a backoff, and other processes
   * commit without waking us); the others are parked (null: no timer) until a wake or a full
   * claim needs them, so an idle channel costs one poll per `idleMs`, not one per loop.
   */
  private readonly sleeping = new Map<number, NodeJS.Timeout | null>();
  /** Loops waiting after an error or in `busyMs`: not woken early. */
  private readonly pausing = new Map<number, NodeJS.Timeout>();
  private readonly runningLoops = new Map<number, Promise<void>>();

  private startLoop(index: number, batch: number, loops: number): void {
    const run = () => {
      this.sleeping.delete(index);
      this.pausing.delete(index);
      if (this.stopped) return;
      this.handOverPolling();
      const round = this.round(batch)
        .then((pushed) => {
          // A full claim: more is probably due; let a sleeping loop claim it too.
          if (pushed >= batch && loops > 1) this.wake();
          if (this.stopped) return;
          if (pushed > 0) this.pausing.set(index, setTimeout(run, this.options.busyMs ?? limits.dispatchBusyMs));
          else if (this.wakeMissed) {
            // A wake came while every loop was claiming: its claim may have been too early.
            this.wakeMissed = false;
            this.pausing.set(index, setTimeout(run, 0));
          } else {
            // One idle loop polls; the others park. The poller is whichever found nothing while
            // no other was polling, so a loop held by a slow push never leaves the channel unpolled.
            const polling = [...this.sleeping.values()].some((timer) => timer !== null);
            this.sleeping.set(index, polling ? null : setTimeout(run, this.options.idleMs ?? limits.dispatchIdleMs));
          }
        })
        .catch((error) => {
          this.options.onError?.(error);
          if (!this.stopped) this.pausing.set(index, setTimeout(run, limits.dispatchErrorPauseMs));
        });
      this.runningLoops.set(index, round);
      this.wakers.set(index, run);
    };
    run();
  }

  private readonly wakers = new Map<number, () => void>();

  /**
   * A loop is leaving its sleep: if it was the one polling and others are parked, one of them
   * polls next, so a round that ends up waiting on a slow push leaves the channel polled.
   */
  private handOverPolling(): void {
    let parked: number | undefined;
    for (const [index, timer] of this.sleeping) {
      if (timer !== null) return;
      parked ??= index;
    }
    if (parked === undefined) return;
    const next = this.wakers.get(parked)!;
    this.sleeping.set(parked, setTimeout(next, this.options.idleMs ?? limits.dispatchIdleMs));
  }

  /**
   * Something may be due now (the ledger committed a new desired value): one sleeping loop
   * claims at once instead of after the rest of its `idleMs`. Loops waiting after an error or in
   * `busyMs` are left alone; when every loop is claiming, the first that finds nothing claims
   * once more instead of sleeping (its claim may have preceded the commit).
   */
  wake(): void {
    if (this.stopped) return;
    for (const [index, timer] of this.sleeping) {
      if (timer !== null) clearTimeout(timer);
      this.sleeping.delete(index);
      this.wakers.get(index)!();
      return;
    }
    this.wakeMissed = true;
  }

  /** A wake found no sleeping loop: the next loop about to sleep claims once more first. */
  private wakeMissed = false;

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [...this.sleeping.values(), ...this.pausing.values()]) if (timer !== null) clearTimeout(timer);
    this.sleeping.clear();
    this.pausing.clear();
    await Promise.all(this.runningLoops.values());
    await this.options.outbox.releaseLease(this.options.channel, this.options.owner).catch(() => undefined);
  }
}
