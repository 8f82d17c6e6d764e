import { useMemo, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { throttledRefresh, useLive } from '../live.js';
import { can, ConfirmButton, duration, ErrorBox, html, useData, when } from '../ui.js';

export function ChannelsPage() {
  const channels = useData(() => api('GET', '/v1/channels'));
  return html`<section data-testid="channels">
    <h1>Channels</h1>
    <${ErrorBox} error=${channels.error} />
    <table><thead><tr><th>Code</th><th>Name</th><th>Platform</th><th>Locations</th></tr></thead>
      <tbody>${(channels.data?.items ?? []).map(
        (
          channel,
        ) => html`<tr><td><a href=${`#/channels/${encodeURIComponent(channel.code)}`} data-testid=${`channel-link-${channel.code}`}>${channel.code}</a></td>
          <td>${channel.name}</td><td>${channel.platform}</td><td>${(channel.locations ?? []).join(', ')}</td></tr>`,
      )}</tbody></table>
  </section>`;
}

export function ChannelPage({ session, code }) {
  const sync = useData(() => api('GET', '/v1/sync/status'), [code]);
  const dead = useData(() => api('GET', `/v1/dead-letters${query({ channel: code, limit: 100 })}`), [code]);
  const drift = useData(() => api('GET', `/v1/reconcile/drift${query({ channel: code, limit: 100 })}`), [code]);
  const inbox = useData(() => api('GET', `/v1/intake/inbox${query({ channel: code, limit: 100 })}`), [code]);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const refresh = useMemo(
    () =>
      throttledRefresh(() => {
        sync.reload();
        dead.reload();
        drift.reload();
        inbox.reload();
      }, 2000),
    [code],
  );
  useLive((kind, data) => {
    if (kind === 'reset' || ((kind === 'push' || kind === 'sync' || kind === 'alert') && data.channel === code))
      refresh();
  });
  async function act(label, run) {
    setError(null);
    setNotice(null);
    try {
      setNotice(`${label}: ${await run()}`);
    } catch (failure) {
      setError(failure);
    }
    refresh();
  }
  const status = sync.data?.channels.find((entry) => entry.channel === code);
  return html`<section data-testid="channel">
    <h1>Channel ${code}</h1>
    <${ErrorBox} error=${error || sync.error} />
    ${notice ? html`<div class="notice" data-testid="channel-notice">${notice}</div>` : null}
    ${
      status
        ? html`<div class="cards"><div class="card"><dl>
          <dt>Platform</dt><dd>${status.platform}</dd>
          <dt>Pushing process</dt><dd>${status.lease_owner ?? 'none'}</dd>
          <dt>Last success</dt><dd>${when(status.last_success_at)}</dd>
          <dt>Failures in a row</dt><dd>${status.consecutive_failures}</dd>
          <dt>Queue</dt><dd data-testid="channel-queue">${status.queue_depth}</dd>
          <dt>Oldest pending</dt><dd>${duration(status.oldest_pending_age_ms)}</dd>
          <dt>Push p50 / p95</dt><dd>${duration(status.push_latency_p50_ms)} / ${duration(status.push_latency_p95_ms)}</dd>
          <dt>Dead letters</dt><dd data-testid="channel-dead-count">${status.dead_letters}</dd>
        </dl></div></div>`
        : html`<p class="muted">No sync status for this channel.</p>`
    }

    <h2>Dead letters</h2>
    <${ErrorBox} error=${dead.error} />
    <div class="toolbar">
      ${
        can(session, 'admin')
          ? html`<${ConfirmButton} label="Redrive all" testid="redrive" title=${`Redrive the dead letters of ${code}?`}
            message="Each is pushed again with its newest desired quantity, its attempts reset."
            disabled=${!dead.data?.items.length}
            onConfirm=${() => act('Redrive', async () => `${(await api('POST', '/v1/dead-letters/redrive', { channel: code, limit: 1000 })).redriven} moved back to pending`)} />`
          : html`<span class="muted" data-testid="redrive-needs-admin">Redrive needs an admin token.</span>`
      }
    </div>
    <table data-testid="dead-letters"><thead><tr><th>Sku</th><th>Item</th><th class="num">Desired</th><th class="num">Attempts</th><th>Last error</th><th>Since</th></tr></thead>
      <tbody>${(dead.data?.items ?? []).map(
        (
          letter,
        ) => html`<tr data-testid=${`dead-${letter.sku}`}><td><a href=${`#/variant/${encodeURIComponent(letter.sku)}`}>${letter.sku}</a></td><td>${letter.external_id}</td>
          <td class="num">${letter.quantity}</td><td class="num">${letter.attempts}</td><td class="bad">${letter.last_error ?? ''}</td><td>${when(letter.since)}</td></tr>`,
      )}</tbody></table>
    ${dead.data && dead.data.items.length === 0 ? html`<p class="muted" data-testid="dead-none">No dead letters.</p>` : null}

    <h2>Drift</h2>
    <${ErrorBox} error=${drift.error} />
    <div class="toolbar">
      ${
        can(session, 'admin')
          ? html`<${ConfirmButton} label="Reconcile now" testid="reconcile" title=${`Reconcile ${code} now?`}
            message="Reads the channel back and queues a repair for every listing whose drift is confirmed."
            onConfirm=${() =>
              act('Reconcile', async () => {
                const result = await api('POST', '/v1/reconcile', { channel: code });
                const summary = result.channels[0];
                return summary ? `read ${summary.read}, ${summary.repairs.length} repairs queued` : 'done';
              })} />`
          : null
      }
    </div>
    <table data-testid="drift"><thead><tr><th>Sku</th><th>Item</th><th>Direction</th><th class="num">Desired</th><th class="num">Acknowledged</th><th class="num">Shown</th><th>Confirmed</th></tr></thead>
      <tbody>${(drift.data?.items ?? []).map(
        (
          entry,
        ) => html`<tr><td><a href=${`#/variant/${encodeURIComponent(entry.sku)}`}>${entry.sku}</a></td><td>${entry.external_id}</td><td>${entry.direction}</td>
          <td class="num">${entry.desired}</td><td class="num">${entry.acknowledged}</td><td class="num bad">${entry.shown}</td><td>${entry.confirmed ? 'yes' : 'not yet'}${entry.dead ? ' (dead letter)' : ''}</td></tr>`,
      )}</tbody></table>
    ${drift.data && drift.data.items.length === 0 ? html`<p class="muted">No drift.</p>` : null}

    <h2>Intake inbox</h2>
    <${ErrorBox} error=${inbox.error} />
    <div class="toolbar">
      ${
        can(session, 'write')
          ? html`<button data-testid="inbox-retry" disabled=${!inbox.data?.lines.length} onClick=${() =>
              act('Retry', async () => {
                const result = await api('POST', '/v1/intake/inbox/retry', { channel: code });
                return `${result.retried} retried, ${result.changed} applied, ${result.still_blocked.length} still blocked`;
              })}>Retry all</button>`
          : null
      }
    </div>
    <table data-testid="inbox"><thead><tr><th>Order</th><th>Line</th><th>Item</th><th>Status</th><th>Updated</th></tr></thead>
      <tbody>${(inbox.data?.lines ?? []).map(
        (line) =>
          html`<tr><td>${line.order_id}</td><td>${line.line_id}</td><td>${line.item.sku ?? line.item.external_id}</td><td>${line.status}${line.reason ? `: ${line.reason}` : ''}</td><td>${when(line.updated_at)}</td></tr>`,
      )}</tbody></table>
    ${inbox.data && inbox.data.lines.length === 0 ? html`<p class="muted">The inbox is empty.</p>` : null}
  </section>`;
}
