import type { AlertRecord } from '../store/alerts-port.js';
import { iso } from './iso-time.js';

/** An alert as the API, the CLI, the log and the webhook show it. */
export interface AlertView {
  id: string;
  rule: string;
  channel: string;
  status: 'open' | 'resolved';
  opened_at: string;
  resolved_at: string | null;
  detail: Record<string, number | string | null>;
}

export function alertView(alert: AlertRecord): AlertView {
  return {
    id: alert.id,
    rule: alert.rule,
    channel: alert.channel,
    status: alert.resolvedAt === null ? 'open' : 'resolved',
    opened_at: iso(alert.openedAt),
    resolved_at: alert.resolvedAt === null ? null : iso(alert.resolvedAt),
    detail: alert.detail,
  };
}

/** The body of a webhook delivery (the delivery id is added by the sender). */
export function alertEvent(event: 'alert.fired' | 'alert.resolved', alert: AlertRecord) {
  return { event, alert: alertView(alert) };
}
