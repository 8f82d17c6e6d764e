import { Type, type Static } from '@sinclair/typebox';
import { Closed, Nullable, Timestamp } from './schema-primitives.js';

/** Request and response schemas of `GET /v1/kpis`; the CLI's `--json` prints the same view. */

export const KpiQuery = Closed({
  window: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 10,
      description: 'How far back: `<n>h` or `<n>d` (`1h`, `24h`, `7d`); default `24h`, at most 90 days',
    }),
  ),
});
export type KpiQuery = Static<typeof KpiQuery>;

const Count = Type.Integer({ minimum: 0 });
const Milliseconds = Nullable(Type.Number({ minimum: 0 }));

const figures = {
  lines_booked: Type.Integer({
    minimum: 0,
    description: 'Channel order lines that booked units (an order movement) in the window',
  }),
  oversells: Type.Integer({
    minimum: 0,
    description: "Of their order movements, those the ledger recorded as true oversells (the channel's pool short)",
  }),
  oversold_units: Count,
  oversell_rate: Nullable(
    Type.Number({ minimum: 0, description: 'oversells / lines_booked; null when no line booked units' }),
  ),
  stock_cancellations: Type.Integer({
    minimum: 0,
    description: 'Order lines cancelled in the window after an oversell of the same line',
  }),
  latency_samples: Count,
  update_latency_p50_ms: Milliseconds,
  update_latency_p95_ms: Milliseconds,
  queue_depth: Type.Integer({ minimum: 0, description: 'Listings waiting to be pushed, now' }),
  oldest_pending_age_ms: Milliseconds,
  dead_letters: Count,
  intake_inbox: Type.Integer({ minimum: 0, description: 'Order lines in the intake inbox (blocked), now' }),
  listings: Type.Integer({ minimum: 0, description: 'Listings, at the window end' }),
  drift_more: Type.Integer({
    minimum: 0,
    description: 'Listings whose channel was last seen showing more than it acknowledged, no push pending, now',
  }),
  drift_less: Type.Integer({
    minimum: 0,
    description: 'Listings whose channel was last seen showing less than it acknowledged, no push pending, now',
  }),
  drift_rate: Nullable(
    Type.Number({ minimum: 0, description: '(drift_more + drift_less) / listings; null without listings' }),
  ),
  drift_rate_target: Type.Number({ minimum: 0, description: "The field's target for drift_rate: under 0.002 (0.2%)" }),
};

export const ChannelKpiView = Type.Object({ channel: Type.String(), platform: Type.String(), ...figures });
export type ChannelKpiView = Static<typeof ChannelKpiView>;

export const KpiView = Type.Object({
  window: Type.String(),
  from: Timestamp,
  to: Timestamp,
  latency_since: Type.Union([Timestamp, Type.Null()], {
    description: 'The oldest push-latency sample kept (one hour): latency covers the window from here on',
  }),
  totals: Type.Object(figures),
  channels: Type.Array(ChannelKpiView),
});
export type KpiView = Static<typeof KpiView>;
