import type { EpochMs } from './clock.js';

/**
 * One listing's drift model: what onhand wants the channel to show, what the channel
 * acknowledged, and what the channel was last seen showing, each with its time. Built by the
 * store from the listing's outbox row; judged by {@link judgeDrift}.
 */
export interface ListingSyncState {
  listingId: string;
  /** The ledger's desired quantity. */
  desired: number;
  /** The last push the channel acknowledged (quantity and time); null before the first. */
  acknowledged: number | null;
  acknowledgedAt: EpochMs | null;
  /** A push is queued or in flight (the outbox row is pending). */
  pushPending: boolean;
  /** The row is a dead letter: it is not pushed until redriven. */
  dead: boolean;
  /** What the channel was last seen showing (read back, a level notice, a push answer); null when never seen. */
  shown: number | null;
  /** When it was last seen showing it. */
  shownAt: EpochMs | null;
  /** Since when it has been seen showing that same value (the first of the reads that agree). */
  shownSince: EpochMs | null;
  /**
   * When the channel's order intake last caught up: the start of the latest order poll whose
   * cursor was saved (its orders are in the ledger by then). Null where orders arrive by
   * webhook (the platform retries a delivery for hours, so nothing marks the intake as caught
   * up) or before the first poll.
   */
  intakeCaughtUpAt: EpochMs | null;
}

export type DriftVerdict =
  /** The channel shows what it acknowledged, or nothing is known to compare. */
  | { state: 'consistent' }
  /** A push is queued or in flight: what the channel shows will change anyway. */
  | { state: 'in-flight' }
  /**
   * The channel shows something else than it acknowledged. `more`: an oversell risk, repaired
   * at once. `less`: perhaps a sale whose order has not reached onhand yet, so repairing it
   * (raising the channel) waits until two reads at least the grace apart agree, or until an
   * order poll that started after the read has been recorded; until then `confirmed` is false.
   */
  | {
      state: 'drift';
      direction: 'more' | 'less';
      shown: number;
      acknowledged: number;
      confirmed: boolean;
      dead: boolean;
    };

/**
 * Judge one listing. A listing has drifted when the channel shows something else than what it
 * last acknowledged while no push is pending. Showing more is repairable on one read: lowering
 * a channel never relists sold stock. Showing less is repairable only once the same value has
 * been seen for at least `graceMs` (two reads agree across the grace for unseen sales): an
 * order taken by the channel reaches onhand within the grace and lowers the desired quantity,
 * which queues a push and ends the drift before it is repaired. On a polled channel one read
 * is enough once the intake has caught up past it: a poll that started after the first read
 * showing the value saved its cursor, so every order the channel took before that read is in the
 * ledger (a sale after it would have changed what later reads show). A dead letter is reported
 * but never repaired here (redrive does that).
 */
export function judgeDrift(state: ListingSyncState, graceMs: number): DriftVerdict {
  if (state.pushPending && !state.dead) return { state: 'in-flight' };
  if (state.shown === null || state.acknowledged === null || state.shown === state.acknowledged)
    return { state: 'consistent' };
  const direction = state.shown > state.acknowledged ? 'more' : 'less';
  const agreedFor = state.shownSince === null || state.shownAt === null ? 0 : state.shownAt - state.shownSince;
  const caughtUp =
    state.intakeCaughtUpAt !== null && state.shownSince !== null && state.intakeCaughtUpAt > state.shownSince;
  const confirmed = direction === 'more' || agreedFor >= graceMs || caughtUp;
  return {
    state: 'drift',
    direction,
    shown: state.shown,
    acknowledged: state.acknowledged,
    confirmed,
    dead: state.dead,
  };
}

/** Whether the verdict asks for a repair push now. */
export function needsRepair(verdict: DriftVerdict): boolean {
  return verdict.state === 'drift' && verdict.confirmed && !verdict.dead;
}
