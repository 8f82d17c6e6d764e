import { useMemo, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { throttledRefresh, useLive } from '../live.js';
import { ErrorBox, html, useData, when } from '../ui.js';

/** One step of an availability explanation, in words. */
export function explainStep(step) {
  switch (step.step) {
    case 'location':
      return `${step.location}: ${step.available} available, contributes ${step.contributes}`;
    case 'pool':
      return `Pool of the channel's locations: ${step.units}`;
    case 'shares':
      return `Shared with other channels: ${step.percent}% held back (${step.held_back} units)`;
    case 'allocation':
      return `Allocated to ${step.channel}: ${step.units}`;
    case 'buffer':
      return `Buffer (${step.kind}): ${step.units} held back${step.detail ? ` (${step.detail})` : ''}`;
    case 'zero_threshold':
      return `Show 0 at or below ${step.at_or_below}: ${step.applied ? 'applied' : 'not needed'}`;
    case 'low_stock':
      return `Low stock (threshold ${step.threshold}, at most ${step.listings_max} listings, this one #${step.position}): ${step.applied ? 'applied' : 'not needed'}`;
    case 'cap':
      return `Cap at ${step.cap}: ${step.applied ? 'applied' : 'not reached'}`;
    case 'result':
      return `Shows ${step.quantity}`;
    default:
      return JSON.stringify(step);
  }
}

function Explanation({ listingId }) {
  const explained = useData(() => api('GET', `/v1/listings/${encodeURIComponent(listingId)}/explain`), [listingId]);
  if (explained.error) return html`<${ErrorBox} error=${explained.error} />`;
  if (!explained.data) return html`<span class="muted">…</span>`;
  return html`<ol class="steps">${explained.data.explanation.map((step) => html`<li>${explainStep(step)}</li>`)}</ol>
    <span class="muted">rule set v${explained.data.rule_version}</span>`;
}

export function VariantPage({ sku }) {
  const stock = useData(() => api('GET', `/v1/stock/${encodeURIComponent(sku)}`), [sku]);
  const availability = useData(() => api('GET', `/v1/availability/${encodeURIComponent(sku)}`), [sku]);
  const [cursors, setCursors] = useState([undefined]);
  const cursor = cursors[cursors.length - 1];
  const movements = useData(
    () => api('GET', `/v1/stock/${encodeURIComponent(sku)}/movements${query({ cursor, limit: 20 })}`),
    [sku, cursor],
  );
  const reservations = useData(
    () => api('GET', `/v1/reservations${query({ sku, status: 'active', limit: 50 })}`),
    [sku],
  );
  const orderLines = useData(() => api('GET', `/v1/order-lines${query({ sku, status: 'open', limit: 50 })}`), [sku]);
  const refresh = useMemo(
    () =>
      throttledRefresh(() => {
        stock.reload();
        availability.reload();
        movements.reload();
        reservations.reload();
        orderLines.reload();
      }, 1000),
    [sku],
  );
  useLive((kind, data) => {
    if (kind === 'reset' || kind === 'listing' || kind === 'push') return refresh();
    if (kind === 'stock' && ((data.levels ?? []).some((level) => level.sku === sku) || data.more > 0)) refresh();
  });
  const view = stock.data;
  return html`<section data-testid="variant">
    <h1>${sku} <span class="muted">${view?.name ?? ''}</span></h1>
    <${ErrorBox} error=${stock.error} />
    ${view?.is_bundle ? html`<p class="notice">A bundle of ${view.components.map((c) => `${c.quantity} × ${c.sku}`).join(', ')}: its levels follow from its components.</p>` : null}
    <h2>Levels per location</h2>
    <table data-testid="variant-levels"><thead><tr><th>Location</th><th class="num">On hand</th><th class="num">Reserved</th>
      <th class="num">Available</th><th class="num">Damaged</th><th class="num">Quarantine</th><th class="num">In transit</th>
      <th class="num">Incoming</th><th>Last count</th></tr></thead>
      <tbody>${(view?.locations ?? []).map(
        (
          level,
        ) => html`<tr data-testid=${`variant-level-${level.location}`}><td>${level.location}</td><td class="num">${level.on_hand}</td>
          <td class="num">${level.reserved}</td><td class="num" data-testid=${`variant-available-${level.location}`}>${level.available}</td>
          <td class="num">${level.damaged}</td><td class="num">${level.quarantine}</td><td class="num">${level.in_transit}</td>
          <td class="num">${level.incoming}</td><td>${when(level.last_count_at)}</td></tr>`,
      )}
      ${
        view
          ? html`<tr><th>Total</th><th class="num">${view.total.on_hand}</th><th class="num">${view.total.reserved}</th>
        <th class="num" data-testid="variant-available-total">${view.total.available}</th><th class="num">${view.total.damaged}</th>
        <th class="num">${view.total.quarantine}</th><th class="num">${view.total.in_transit}</th><th class="num">${view.total.incoming}</th><th></th></tr>`
          : null
      }
      </tbody></table>
    ${
      view?.incoming?.length
        ? html`<h2>Incoming</h2><table><thead><tr><th>Purchase order</th><th>Line</th><th>Location</th><th class="num">Quantity</th><th>Expected</th></tr></thead>
      <tbody>${view.incoming.map((line) => html`<tr><td>${line.purchase_order}</td><td>${line.line}</td><td>${line.location}</td><td class="num">${line.quantity}</td><td>${when(line.expected_at)}</td></tr>`)}</tbody></table>`
        : null
    }
    <h2>Channels</h2>
    <${ErrorBox} error=${availability.error} />
    <table data-testid="variant-listings"><thead><tr><th>Channel</th><th>Item</th><th class="num">Quantity</th><th>Why</th></tr></thead>
      <tbody>${(availability.data?.listings ?? []).map(
        (
          listing,
        ) => html`<tr data-testid=${`variant-listing-${listing.channel}`}><td><a href=${`#/channels/${encodeURIComponent(listing.channel)}`}>${listing.channel}</a></td>
          <td>${listing.external_id}</td><td class="num" data-testid=${`variant-quantity-${listing.channel}`}>${listing.quantity}${listing.preorder ? ` (+${listing.preorder.quantity} preorder)` : ''}</td>
          <td><${Explanation} listingId=${listing.listing_id} key=${`${listing.listing_id}-${listing.computed_at}-${listing.quantity}-${listing.rule_version}`} /></td></tr>`,
      )}</tbody></table>
    ${availability.data && availability.data.listings.length === 0 ? html`<p class="muted">Not listed on any channel.</p>` : null}
    <h2>Active reservations</h2>
    <${ErrorBox} error=${reservations.error} />
    <table data-testid="variant-reservations"><thead><tr><th>Reservation</th><th>Location</th><th>Channel</th>
      <th class="num">Quantity</th><th class="num">Committed</th><th>Expires</th><th>Created</th></tr></thead>
      <tbody>${(reservations.data?.items ?? []).map(
        (
          reservation,
        ) => html`<tr data-testid=${`variant-reservation-${reservation.id}`}><td><code>${reservation.id}</code></td><td>${reservation.location}</td>
          <td>${reservation.channel ?? '—'}</td><td class="num">${reservation.quantity}</td><td class="num">${reservation.committed_quantity}</td>
          <td>${when(reservation.expires_at)}</td><td>${when(reservation.created_at)}</td></tr>`,
      )}</tbody></table>
    ${reservations.data && reservations.data.items.length === 0 ? html`<p class="muted" data-testid="variant-reservations-none">No active reservations.</p>` : null}
    ${reservations.data?.next_cursor ? html`<p class="muted">The 50 newest are shown.</p>` : null}
    <h2>Open order lines</h2>
    <${ErrorBox} error=${orderLines.error} />
    <table data-testid="variant-order-lines"><thead><tr><th>Channel</th><th>Order</th><th>Line</th><th>Per location</th><th>Changed</th></tr></thead>
      <tbody>${(orderLines.data?.items ?? []).map(
        (
          line,
        ) => html`<tr data-testid=${`variant-order-line-${line.channel}-${line.order_id}-${line.line_id}`}><td><a href=${`#/channels/${encodeURIComponent(line.channel)}`}>${line.channel}</a></td>
          <td>${line.order_id}</td><td>${line.line_id}</td>
          <td>${
            Object.entries(line.applied)
              .map(([location, effect]) => `${location}: ${effect.reserved} reserved, ${effect.shipped} shipped`)
              .join('; ') || '—'
          }</td><td>${when(line.updated_at)}</td></tr>`,
      )}</tbody></table>
    ${orderLines.data && orderLines.data.items.length === 0 ? html`<p class="muted" data-testid="variant-order-lines-none">No open order lines.</p>` : null}
    ${orderLines.data?.next_cursor ? html`<p class="muted">The 50 newest are shown.</p>` : null}
    <h2>Movements</h2>
    <${ErrorBox} error=${movements.error} />
    <table data-testid="variant-movements"><thead><tr><th>When</th><th>Type</th><th>Location</th><th class="num">Δ on hand</th>
      <th class="num">Δ reserved</th><th class="num">Available after</th><th>Source / reason</th></tr></thead>
      <tbody>${(movements.data?.items ?? []).map(
        (
          movement,
        ) => html`<tr><td>${when(movement.occurred_at)}</td><td>${movement.type}${movement.oversold ? html` <span class="pill bad">oversold ${movement.oversold}</span>` : null}</td>
          <td>${movement.location}</td><td class="num">${movement.quantities.on_hand}</td><td class="num">${movement.quantities.reserved}</td>
          <td class="num">${movement.resulting.available}</td>
          <td>${[movement.source.system, movement.source.reference, movement.reason].filter(Boolean).join(' · ')}</td></tr>`,
      )}</tbody></table>
    <div class="toolbar" style="margin-top: 0.6rem">
      <button class="secondary" disabled=${cursors.length <= 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Newer</button>
      <button class="secondary" disabled=${!movements.data?.next_cursor} onClick=${() => setCursors([...cursors, movements.data.next_cursor])}>Older</button>
    </div>
  </section>`;
}
