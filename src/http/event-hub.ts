import assert from 'node:assert';
import type { CommandAnswer } from '../core/ledger/apply-commands.js';
import { limits } from '../core/limits.js';

/**
 * The in-process event hub behind `GET /v1/events` (plugins/events.ts): what the dashboard
 * shows live. The ledger commit path, the dispatchers and the alert loop do not import it: they
 * take plain callbacks (`GroupCommitter.onCommit`, `onResult`, `onFired`/`onResolved`) that
 * `server.ts` and `main.ts` point at {@link EventPublisher.publish}, as they do for metrics.
 *
 * Events are numbered within a process run: an id is `<run>-<sequence>`, so a client that
 * reconnects with `Last-Event-ID` after a restart is told to reload (`reset`) instead of being
 * resumed from someone else's sequence. The newest `limits.eventRingSizeMax` events are kept in
 * a ring for resuming; nothing is written anywhere else.
 */

export type LiveEventKind = 'stock' | 'listing' | 'push' | 'alert' | 'sync';

export interface LiveEvent {
  id: string;
  kind: LiveEventKind;
  data: Record<string, unknown>;
}

/** The small port publishers see. */
export interface EventPublisher {
  publish(kind: LiveEventKind, data: Record<string, unknown>): void;
}

/** Levels listed in one `stock` event; a larger batch says how many more there were. */
const levelsPerEventMax = 100;

export class EventHub implements EventPublisher {
  private readonly ring: LiveEvent[] = [];
  private sequence = 0;
  private readonly listeners = new Set<(event: LiveEvent) => void>();

  /** @param run names this process run in the ids (the start time in base 36 will do). */
  constructor(
    private readonly run: string,
    private readonly ringSizeMax: number = limits.eventRingSizeMax,
  ) {
    assert(/^[a-z0-9]+$/.test(run), 'a run name is lowercase letters and digits');
    assert(ringSizeMax >= 1);
  }

  publish(kind: LiveEventKind, data: Record<string, unknown>): void {
    this.sequence += 1;
    const event: LiveEvent = { id: `${this.run}-${this.sequence}`, kind, data };
    this.ring.push(event);
    if (this.ring.length > this.ringSizeMax) this.ring.shift();
    for (const listener of this.listeners) listener(event);
  }

  /** One `stock` event per committed batch: the levels it left (the first 100 of them). */
  publishCommit(answers: readonly CommandAnswer[]): void {
    const levels = new Map<string, Record<string, unknown>>();
    for (const answer of answers) {
      if (answer.status !== 'applied' || !answer.level) continue;
      for (const level of [answer.level, ...(answer.parts ?? []).map((part) => part.level)]) {
        const { sku, location, on_hand, reserved, available } = level;
        levels.set(`${sku}\u0000${location}`, { sku, location, on_hand, reserved, available });
      }
    }
    if (levels.size === 0) return;
    const all = [...levels.values()];
    this.publish('stock', {
      levels: all.slice(0, levelsPerEventMax),
      more: Math.max(0, all.length - levelsPerEventMax),
    });
  }

  /** Listen to every event from now on; returns the unsubscribe. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /**
   * The events after `lastId`: none when it is absent (a fresh client reads the current state
   * itself); `'gone'` when it is not of this run or older than the ring, so the client must
   * reload what it shows.
   */
  since(lastId: string | undefined): LiveEvent[] | 'gone' {
    if (lastId === undefined || lastId === '') return [];
    const match = /^([a-z0-9]+)-(\d{1,15})$/.exec(lastId);
    if (!match || match[1] !== this.run) return 'gone';
    const last = Number(match[2]);
    if (last > this.sequence) return 'gone';
    const oldest = this.sequence - this.ring.length + 1;
    if (last < oldest - 1) return 'gone';
    return this.ring.slice(last - oldest + 1);
  }
}

/**
 * Push outcomes arrive one per listing (500 per claim): they are counted per channel and sent
 * as one `push` event per channel at most every `intervalMs`, so a busy channel does not flush
 * the ring that reconnecting clients resume from.
 */
export class PushOutcomeBatcher {
  private readonly counts = new Map<string, Record<string, number>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: EventPublisher,
    private readonly intervalMs = 1_000,
  ) {}

  add(channel: string, status: string): void {
    const counts = this.counts.get(channel) ?? {};
    counts[status] = (counts[status] ?? 0) + 1;
    this.counts.set(channel, counts);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [channel, counts] of this.counts) {
      this.events.publish('push', { channel, outcomes: counts });
      this.events.publish('sync', { channel });
    }
    this.counts.clear();
  }
}
