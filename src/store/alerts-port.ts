import type { AlertDetail, AlertRule } from '../core/alerts.js';
import type { EpochMs } from '../core/clock.js';

/** An alert as stored: open while `resolvedAt` is null. */
export interface AlertRecord {
  id: string;
  rule: AlertRule;
  channel: string;
  openedAt: EpochMs;
  resolvedAt: EpochMs | null;
  /** The figures when it opened. */
  detail: AlertDetail;
}

/** What the alert rules need per channel besides sync status and drift. */
export interface ChannelActivity {
  channel: string;
  listings: number;
  /** When the channel's newest order line was first recorded, or null. */
  lastOrderLineAt: EpochMs | null;
}

/**
 * The alert slice (`store.alerts`): the alerts open and resolved, at most one open per rule
 * and channel (the database refuses a second), and the activity figures of the rules.
 */
export interface AlertPort {
  channelActivity(): Promise<ChannelActivity[]>;
  /**
   * A channel's usual gap between order lines: the limits.alertOrderGapPercentile percentile of
   * the gaps between the distinct creation times of its newest lines (at most
   * limits.alertOrderGapLinesMax, within limits.alertOrderGapWindowMs of the newest), and how
   * many gaps there were; null and 0 when there is none.
   */
  usualOrderGap(channel: string): Promise<{ usualOrderGapMs: number | null; orderGaps: number }>;
  /** Alerts open now, per rule (rules with none are left out). */
  openCounts(): Promise<{ rule: AlertRule; open: number }[]>;
  /** Open an alert; null when one of the same rule and channel is already open (fired by someone else). */
  open(alert: { rule: AlertRule; channel: string; detail: AlertDetail }, now: EpochMs): Promise<AlertRecord | null>;
  /** Resolve an open alert; null when it was already resolved. */
  resolve(id: string, now: EpochMs): Promise<AlertRecord | null>;
  /** Newest first: the open ones, the resolved ones, or all, at most `limit`. */
  list(options: { status: 'open' | 'resolved' | 'all'; limit: number }): Promise<AlertRecord[]>;
}
