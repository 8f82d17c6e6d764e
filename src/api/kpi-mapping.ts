import { type ChannelKpis, driftRateTarget, type Kpis } from '../store/kpis-port.js';
import { iso } from './iso-time.js';
import type { KpiView } from './kpi-schemas.js';

type Figures = Omit<ChannelKpis, 'channel' | 'platform'>;

function figuresView(figures: Figures): KpiView['totals'] {
  return {
    lines_booked: figures.linesBooked,
    oversells: figures.oversells,
    oversold_units: figures.oversoldUnits,
    oversell_rate: figures.oversellRate,
    stock_cancellations: figures.stockCancellations,
    latency_samples: figures.latencySamples,
    update_latency_p50_ms: figures.latencyP50Ms,
    update_latency_p95_ms: figures.latencyP95Ms,
    queue_depth: figures.queueDepth,
    oldest_pending_age_ms: figures.oldestPendingAgeMs,
    dead_letters: figures.deadLetters,
    intake_inbox: figures.inbox,
    listings: figures.listings,
    drift_more: figures.driftMore,
    drift_less: figures.driftLess,
    drift_rate: figures.driftRate,
    drift_rate_target: driftRateTarget,
  };
}

export function kpiView(window: string, kpis: Kpis): KpiView {
  return {
    window,
    from: iso(kpis.from),
    to: iso(kpis.to),
    latency_since: kpis.latencySince === null ? null : iso(kpis.latencySince),
    totals: figuresView(kpis.totals),
    channels: kpis.channels.map((channel) => ({
      channel: channel.channel,
      platform: channel.platform,
      ...figuresView(channel),
    })),
  };
}
