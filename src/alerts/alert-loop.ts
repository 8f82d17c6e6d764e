import { type AlertThresholds, type ChannelFigures, alertRules, alertTransitions } from '../core/alerts.js';
import type { Clock, EpochMs } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { AlertPort, AlertRecord } from '../store/alerts-port.js';
import type { OutboxPort } from '../store/outbox-port.js';

export interface AlertLoopOptions {
  store: { outbox: Pick<OutboxPort, 'syncStatus' | 'listDrift'>; alerts: AlertPort };
  clock: Clock;
  thresholds: AlertThresholds;
  /** @default limits.alertIntervalMs */
  intervalMs?: number;
  /** Called once per alert that opened, and once per alert that resolved, by this process. */
  onFired?: (alert: AlertRecord) => void;
  onResolved?: (alert: AlertRecord) => void;
  onError?: (error: unknown) => void;
}

/**
 * The alert rules, evaluated every `intervalMs` by `serve`: read each channel's figures (sync
 * status, drift, listings, last order line and usual gap between lines), judge them with the pure rules of
 * src/core/alerts.ts against the alerts open in the store, and write the transitions. The
 * store opens at most one alert per rule and channel, so among several processes each
 * transition is written, and reported, by one of them. Reporting is a callback: a slow
 * receiver is the callback's concern (the webhook queues), never the loop's.
 */
export class AlertLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly options: AlertLoopOptions) {}

  /** The figures of every channel now. */
  async figures(now: EpochMs): Promise<ChannelFigures[]> {
    const { outbox, alerts } = this.options.store;
    const activity = new Map((await alerts.channelActivity()).map((entry) => [entry.channel, entry]));
    const out: ChannelFigures[] = [];
    for (const status of await outbox.syncStatus(now)) {
      const seen = activity.get(status.channel);
      out.push({
        channel: status.channel,
        listings: seen?.listings ?? 0,
        drifted: this.options.thresholds.driftPercent === null ? 0 : await this.countDrift(status.channel),
        oldestPendingAgeMs: status.oldestPendingAgeMs,
        consecutiveFailures: status.consecutiveFailures,
        lastSuccessAt: status.lastSuccessAt,
        deadLetters: status.deadLetters,
        lastOrderLineAt: seen?.lastOrderLineAt ?? null,
        ...(this.options.thresholds.orderSilence === null || (seen?.lastOrderLineAt ?? null) === null
          ? { usualOrderGapMs: null, orderGaps: 0 }
          : await alerts.usualOrderGap(status.channel)),
      });
    }
    return out;
  }

  /** One round: returns the alerts this process opened and resolved. */
  async evaluate(): Promise<{ fired: AlertRecord[]; resolved: AlertRecord[] }> {
    const { alerts } = this.options.store;
    const now = this.options.clock.now();
    const figures = await this.figures(now);
    // At most one open per rule and channel: every open alert of the channels there are, and a
    // page more of channels that are gone.
    const open = await alerts.list({
      status: 'open',
      limit: alertRules.length * figures.length + limits.alertListMax,
    });
    const change = alertTransitions(open, figures, this.options.thresholds, now);
    const fired: AlertRecord[] = [];
    const resolved: AlertRecord[] = [];
    for (const alert of change.resolve) {
      const record = await alerts.resolve(alert.id, now);
      if (record) {
        resolved.push(record);
        this.options.onResolved?.(record);
      }
    }
    for (const condition of change.fire) {
      const record = await alerts.open(condition, now);
      if (record) {
        fired.push(record);
        this.options.onFired?.(record);
      }
    }
    return { fired, resolved };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.evaluate()
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs ?? limits.alertIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async countDrift(channel: string): Promise<number> {
    let count = 0;
    let afterId: string | undefined;
    while (count < limits.alertDriftCountMax) {
      const page = await this.options.store.outbox.listDrift(channel, {
        graceMs: limits.driftGraceMs,
        afterId,
        limit: limits.reconcileDriftPageMax,
      });
      count += page.length;
      if (page.length < limits.reconcileDriftPageMax) break;
      afterId = page[page.length - 1]?.listingId;
    }
    return count;
  }
}

/** Thresholds from the configured figures: 0 turns a rule off. */
export function alertThresholds(settings: {
  alertDriftPercent: number;
  alertOldestPendingSeconds: number;
  alertFailingMinutes: number;
  alertOrderSilenceMinutes: number;
  alertOrderSilenceFactor: number;
  alertDeadLetters: boolean;
}): AlertThresholds {
  const positive = (value: number, unit: number) => (value > 0 ? value * unit : null);
  return {
    driftPercent: settings.alertDriftPercent > 0 ? settings.alertDriftPercent : null,
    oldestPendingMs: positive(settings.alertOldestPendingSeconds, 1000),
    failingMs: positive(settings.alertFailingMinutes, 60_000),
    deadLetters: settings.alertDeadLetters,
    orderSilence:
      settings.alertOrderSilenceMinutes > 0
        ? {
            floorMs: settings.alertOrderSilenceMinutes * 60_000,
            factor: settings.alertOrderSilenceFactor,
            gapsMin: limits.alertOrderGapsMin,
          }
        : null,
  };
}
