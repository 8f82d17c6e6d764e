import type { EpochMs } from './clock.js';

/**
 * Alert rules: pure. The figures of every channel go in, with the alerts open now; what must
 * fire and what must resolve comes out. An alert is open per rule and channel while its
 * condition holds: it fires once when the condition starts and resolves once when it ends, so
 * a condition that stays true across evaluations produces nothing new.
 */

export const alertRules = ['drift', 'oldest_pending', 'connection_failing', 'dead_letters', 'order_silence'] as const;
export type AlertRule = (typeof alertRules)[number];

/** How one channel stands at the evaluation instant. */
export interface ChannelFigures {
  channel: string;
  /** Listings of the channel, and those whose channel shows something else than it acknowledged. */
  listings: number;
  drifted: number;
  /** Age of the oldest change not yet acknowledged; null when nothing waits. */
  oldestPendingAgeMs: number | null;
  /** Failed attempts of the most retried waiting push (0: nothing failing). */
  consecutiveFailures: number;
  lastSuccessAt: EpochMs | null;
  deadLetters: number;
  /** When the channel's newest order line was first recorded; null when it has none yet. */
  lastOrderLineAt: EpochMs | null;
  /**
   * The channel's usual gap between order lines: a high percentile of the gaps between the
   * distinct creation times of its recent lines (null when it has none), and how many gaps
   * that figure was learnt from.
   */
  usualOrderGapMs: number | null;
  orderGaps: number;
}

/** The order-silence rule: silent for longer than `factor` times the channel's usual gap, and never less than `floorMs`. */
export interface OrderSilenceThreshold {
  floorMs: number;
  factor: number;
  /** Gaps needed before a channel's usual gap is trusted; with fewer the rule does not apply. */
  gapsMin: number;
}

/** Thresholds; a rule whose threshold is null is off. */
export interface AlertThresholds {
  /** Drifted listings above this share of the channel's listings, in percent. */
  driftPercent: number | null;
  oldestPendingMs: number | null;
  /** Failing (failures and no success) for at least this long. */
  failingMs: number | null;
  /** Any dead letter. */
  deadLetters: boolean;
  /** No order line recorded for longer than the channel's own usual gap allows. */
  orderSilence: OrderSilenceThreshold | null;
}

export type AlertDetail = Record<string, number | string | null>;

export interface AlertCondition {
  rule: AlertRule;
  channel: string;
  detail: AlertDetail;
}

export interface OpenAlertRef {
  id: string;
  rule: AlertRule;
  channel: string;
}

export interface AlertTransitions {
  fire: AlertCondition[];
  resolve: OpenAlertRef[];
}

/** When a connection started failing: after its last success, and no earlier than the oldest waiting change. */
export function failingSince(figures: ChannelFigures, now: EpochMs): EpochMs | null {
  if (figures.consecutiveFailures <= 0) return null;
  const pendingSince = figures.oldestPendingAgeMs === null ? null : now - figures.oldestPendingAgeMs;
  const candidates = [figures.lastSuccessAt, pendingSince].filter((at): at is EpochMs => at !== null);
  return candidates.length === 0 ? now : Math.max(...candidates);
}

/** How long a channel may stay silent before the rule holds; null when too few gaps are known. */
export function orderSilenceLimitMs(figures: ChannelFigures, threshold: OrderSilenceThreshold): number | null {
  if (figures.usualOrderGapMs === null || figures.orderGaps < threshold.gapsMin) return null;
  return Math.max(threshold.floorMs, figures.usualOrderGapMs * threshold.factor);
}

/** The conditions that hold now, one per rule and channel. */
export function alertConditions(
  channels: readonly ChannelFigures[],
  thresholds: AlertThresholds,
  now: EpochMs,
): AlertCondition[] {
  const out: AlertCondition[] = [];
  for (const figures of channels) {
    const { channel } = figures;
    if (thresholds.driftPercent !== null && figures.listings > 0) {
      const percent = (figures.drifted / figures.listings) * 100;
      if (percent > thresholds.driftPercent)
        out.push({
          rule: 'drift',
          channel,
          detail: { drifted: figures.drifted, listings: figures.listings, percent, threshold: thresholds.driftPercent },
        });
    }
    if (
      thresholds.oldestPendingMs !== null &&
      figures.oldestPendingAgeMs !== null &&
      figures.oldestPendingAgeMs > thresholds.oldestPendingMs
    )
      out.push({
        rule: 'oldest_pending',
        channel,
        detail: { oldest_pending_ms: figures.oldestPendingAgeMs, threshold_ms: thresholds.oldestPendingMs },
      });
    const since = failingSince(figures, now);
    if (thresholds.failingMs !== null && since !== null && now - since >= thresholds.failingMs)
      out.push({
        rule: 'connection_failing',
        channel,
        detail: {
          failing_ms: now - since,
          consecutive_failures: figures.consecutiveFailures,
          last_success_at: figures.lastSuccessAt === null ? null : new Date(figures.lastSuccessAt).toISOString(),
          threshold_ms: thresholds.failingMs,
        },
      });
    if (thresholds.deadLetters && figures.deadLetters > 0)
      out.push({ rule: 'dead_letters', channel, detail: { dead_letters: figures.deadLetters } });
    const silenceLimitMs =
      thresholds.orderSilence === null ? null : orderSilenceLimitMs(figures, thresholds.orderSilence);
    if (silenceLimitMs !== null && figures.lastOrderLineAt !== null && now - figures.lastOrderLineAt > silenceLimitMs)
      out.push({
        rule: 'order_silence',
        channel,
        detail: {
          silent_ms: now - figures.lastOrderLineAt,
          last_order_line_at: new Date(figures.lastOrderLineAt).toISOString(),
          usual_gap_ms: figures.usualOrderGapMs,
          gaps: figures.orderGaps,
          threshold_ms: silenceLimitMs,
        },
      });
  }
  return out;
}

/**
 * What changes: a condition with no open alert of its rule and channel fires; an open alert
 * whose condition no longer holds (or whose channel is gone) resolves. Open alerts whose
 * condition still holds are left alone.
 */
export function alertTransitions(
  open: readonly OpenAlertRef[],
  channels: readonly ChannelFigures[],
  thresholds: AlertThresholds,
  now: EpochMs,
): AlertTransitions {
  const key = (alert: { rule: AlertRule; channel: string }) => `${alert.rule}\u0000${alert.channel}`;
  const holding = alertConditions(channels, thresholds, now);
  const holds = new Set(holding.map(key));
  const opened = new Set(open.map(key));
  return {
    fire: holding.filter((condition) => !opened.has(key(condition))),
    resolve: open.filter((alert) => !holds.has(key(alert))),
  };
}
