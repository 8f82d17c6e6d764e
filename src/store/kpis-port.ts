import type { EpochMs } from '../core/clock.js';

/** Figures of one channel over a KPI window. */
export interface ChannelKpis {
  channel: string;
  platform: string;
  /** Channel order lines that booked units (an order movement) in the window. */
  linesBooked: number;
  /** Of those movements, the ones the ledger recorded as true oversells (the pool short). */
  oversells: number;
  /** Units sold beyond the pool by those oversells. */
  oversoldUnits: number;
  /** oversells / linesBooked; null when no line booked units. */
  oversellRate: number | null;
  /** Lines cancelled in the window after an oversell of that same line. */
  stockCancellations: number;
  /** Push latency (ledger commit to channel acknowledgement) over the samples kept in the window. */
  latencySamples: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  /** Listings waiting to be pushed now, and the age of the oldest waiting change. */
  queueDepth: number;
  oldestPendingAgeMs: number | null;
  deadLetters: number;
  /** Order lines in the intake inbox (blocked) now. */
  inbox: number;
  /**
   * Reconciliation drift at the window's end, as the store stands (no history is kept): the
   * channel's listings, those whose channel was last seen showing more or less than it
   * acknowledged with no push pending (src/core/drift.ts, confirmed or not, dead letters
   * included), and drifted / listings (null without listings).
   */
  listings: number;
  driftMore: number;
  driftLess: number;
  driftRate: number | null;
}

/** The field's target for the drift rate: under 0.2% of a channel's listings drifted. */
export const driftRateTarget = 0.002;

export interface Kpis {
  from: EpochMs;
  to: EpochMs;
  /** The earliest push-latency sample still kept: latency covers the window from here on. */
  latencySince: EpochMs | null;
  totals: Omit<ChannelKpis, 'channel' | 'platform'>;
  channels: ChannelKpis[];
}

/** How a channel stands now: what waits to be pushed, what gave up, what waits in the intake inbox. */
export interface ChannelStanding {
  channel: string;
  platform: string;
  queueDepth: number;
  oldestPendingAgeMs: number | null;
  deadLetters: number;
  inbox: number;
  /** The channel's listings. */
  listings: number;
  /** Listings in drift now, the channel showing more / less than it acknowledged (as in the KPIs). */
  driftMore: number;
  driftLess: number;
}

/** The KPI slice (`store.kpis`): read-only figures over a window, for `GET /v1/kpis` and `onhand kpis`. */
export interface KpiPort {
  kpis(window: { from: EpochMs; to: EpochMs }): Promise<Kpis>;
  /** Per channel, as it stands at `now` (the gauges of /metrics): a few counts, no window scan. */
  standing(now: EpochMs): Promise<ChannelStanding[]>;
}
