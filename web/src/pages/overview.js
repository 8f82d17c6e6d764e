import { api } from '../api.js';
import { throttledRefresh, useLive } from '../live.js';
import { duration, ErrorBox, html, percent, useData, when } from '../ui.js';
import { useMemo } from 'preact/hooks';

/** `35% (26 of 40 left)`, or a dash when the channel's connector does not run in this process. */
export function rateBudget(budget) {
  if (!budget) return '—';
  return `${budget.in_use_percent}% (${Math.floor(budget.available)} of ${Math.floor(budget.capacity)} left)`;
}

function shorten(text) {
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

export function OverviewPage() {
  const kpis = useData(() => api('GET', '/v1/kpis?window=24h'));
  const sync = useData(() => api('GET', '/v1/sync/status'));
  const alerts = useData(() => api('GET', '/v1/alerts?status=open&limit=50'));
  const refresh = useMemo(
    () =>
      throttledRefresh(() => {
        kpis.reload();
        sync.reload();
        alerts.reload();
      }, 2000),
    [],
  );
  useLive((kind) => {
    if (kind !== 'stock') refresh();
  });
  const totals = kpis.data?.totals;
  return html`<section data-testid="overview">
    <h1>Overview</h1>
    <${ErrorBox} error=${kpis.error || sync.error || alerts.error} />
    <div class="cards">
      <div class="card"><div class="muted">Oversell rate (24 h)</div>
        <div class="value" data-testid="kpi-oversell">${percent(totals?.oversell_rate)}</div>
        <div class="muted">${totals?.oversells ?? 0} of ${totals?.lines_booked ?? 0} order lines</div></div>
      <div class="card"><div class="muted">Update latency p95</div>
        <div class="value" data-testid="kpi-latency">${duration(totals?.update_latency_p95_ms)}</div>
        <div class="muted">p50 ${duration(totals?.update_latency_p50_ms)}</div></div>
      <div class="card"><div class="muted">Drift</div>
        <div class="value" data-testid="kpi-drift">${percent(totals?.drift_rate)}</div>
        <div class="muted">${(totals?.drift_more ?? 0) + (totals?.drift_less ?? 0)} of ${totals?.listings ?? 0} listings; target under ${percent(totals?.drift_rate_target)}</div></div>
      <div class="card"><div class="muted">Queue depth</div>
        <div class="value" data-testid="kpi-queue">${totals?.queue_depth ?? '—'}</div>
        <div class="muted">oldest ${duration(totals?.oldest_pending_age_ms)}; inbox ${totals?.intake_inbox ?? 0}</div></div>
    </div>
    <h2>Channel connections</h2>
    <div class="cards">
      ${(sync.data?.channels ?? []).map(
        (channel) => html`<div class="card" data-testid=${`channel-card-${channel.channel}`}>
          <strong><a href=${`#/channels/${encodeURIComponent(channel.channel)}`}>${channel.channel}</a></strong>
          <span class="muted"> ${channel.platform}</span>
          <span class=${`pill ${channel.lease_owner ? 'good' : ''}`}>${channel.lease_owner ? 'connected' : 'not pushing here'}</span>
          <dl>
            <dt>Last success</dt><dd>${when(channel.last_success_at)}</dd>
            <dt>Failures in a row</dt><dd class=${channel.consecutive_failures ? 'bad' : ''}>${channel.consecutive_failures}</dd>
            <dt>Queue</dt><dd>${channel.queue_depth}</dd>
            <dt>Oldest pending</dt><dd>${duration(channel.oldest_pending_age_ms)}</dd>
            <dt>Push p95</dt><dd>${duration(channel.push_latency_p95_ms)}</dd>
            <dt>Dead letters</dt><dd class=${channel.dead_letters ? 'bad' : ''}>${channel.dead_letters}</dd>
            <dt>Held by drift grace</dt><dd>${channel.waiting_grace ?? 0}</dd>
            <dt>Rate budget in use</dt><dd data-testid=${`channel-rate-${channel.channel}`} class=${channel.rate_budget?.in_use_percent >= 90 ? 'bad' : ''}>${rateBudget(channel.rate_budget)}</dd>
            <dt>Last error</dt><dd data-testid=${`channel-error-${channel.channel}`} class=${channel.last_error ? 'bad' : ''} title=${channel.last_error ?? ''}>${channel.last_error ? shorten(channel.last_error) : '—'}</dd>
            <dt>Last reconcile</dt><dd>${channel.last_reconcile ? `${when(channel.last_reconcile.finished_at)}${channel.last_reconcile.first_read_error ? ` (error: ${channel.last_reconcile.first_read_error})` : ''}` : '—'}</dd>
          </dl>
        </div>`,
      )}
      ${sync.data && sync.data.channels.length === 0 ? html`<p class="muted">No channels yet.</p>` : null}
    </div>
    <h2>Open alerts</h2>
    ${
      alerts.data?.alerts?.length
        ? html`<table data-testid="alerts"><thead><tr><th>Rule</th><th>Channel</th><th>Opened</th><th>Detail</th></tr></thead>
        <tbody>${alerts.data.alerts.map(
          (
            alert,
          ) => html`<tr><td class="bad">${alert.rule}</td><td>${alert.channel}</td><td>${when(alert.opened_at)}</td>
            <td><code>${JSON.stringify(alert.detail)}</code></td></tr>`,
        )}</tbody></table>`
        : html`<p class="muted" data-testid="alerts-none">No open alerts.</p>`
    }
  </section>`;
}
