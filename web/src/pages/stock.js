import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { throttledRefresh, useLive } from '../live.js';
import { ErrorBox, html, useData } from '../ui.js';

/**
 * The stock grid: GET /v1/stock pages, filters and sorts on the server (250,000 variants). A
 * live `stock` event naming a variant on the page (or too many levels to name) reloads the page,
 * at most once a second.
 */
export function StockPage() {
  const [filters, setFilters] = useState({ q: '', sku_prefix: '', location: '', low_stock: false, sort: 'sku' });
  const [cursors, setCursors] = useState([undefined]);
  const cursor = cursors[cursors.length - 1];
  const locations = useData(() => api('GET', '/v1/locations'));
  const page = useData(
    () => api('GET', `/v1/stock${query({ ...filters, cursor, limit: 50 })}`),
    [JSON.stringify(filters), cursor],
  );
  const [flashed, setFlashed] = useState(new Set());
  const refresh = useMemo(() => throttledRefresh(() => page.reload(), 1000), [page.reload]);
  useLive((kind, data) => {
    if (kind === 'reset') return refresh();
    if (kind !== 'stock' && kind !== 'listing') return;
    const shown = new Set((page.data?.items ?? []).map((item) => item.sku));
    const touched = (data.levels ?? []).map((level) => level.sku).filter((sku) => shown.has(sku));
    if (touched.length > 0 || data.more > 0) {
      setFlashed(new Set(touched));
      refresh();
    }
  });
  useEffect(() => setCursors([undefined]), [JSON.stringify(filters)]);
  const set = (name) => (event) =>
    setFilters({ ...filters, [name]: event.target.type === 'checkbox' ? event.target.checked : event.target.value });
  const locationList = locations.data?.items ?? locations.data?.locations ?? [];
  const codes = filters.location ? [filters.location] : locationList.map((location) => location.code);
  return html`<section data-testid="stock">
    <h1>Stock</h1>
    <div class="toolbar">
      <input type="search" placeholder="Search sku or name" value=${filters.q} onInput=${set('q')} data-testid="stock-search" />
      <input placeholder="Sku prefix" value=${filters.sku_prefix} onInput=${set('sku_prefix')} data-testid="stock-prefix" />
      <select value=${filters.location} onChange=${set('location')} data-testid="stock-location">
        <option value="">All locations</option>
        ${locationList.map((location) => html`<option value=${location.code}>${location.code}</option>`)}
      </select>
      <label><input type="checkbox" checked=${filters.low_stock} onChange=${set('low_stock')} data-testid="stock-low" /> Low stock only</label>
      <select value=${filters.sort} onChange=${set('sort')} data-testid="stock-sort">
        <option value="sku">Sort by sku</option>
        <option value="available">Sort by available</option>
      </select>
    </div>
    <${ErrorBox} error=${page.error} />
    <table data-testid="stock-grid">
      <thead><tr>
        <th>Sku</th><th>Name</th>
        ${codes.map((code) => html`<th class="num" title="on hand / reserved / available / incoming">${code}<br /><span class="muted">on hand · res · avail · inc</span></th>`)}
        <th class="num">Available</th><th>Channels (desired / shown)</th>
      </tr></thead>
      <tbody>
        ${(page.data?.items ?? []).map((item) => {
          const at = new Map(item.locations.map((level) => [level.location, level]));
          return html`<tr key=${item.sku} class=${flashed.has(item.sku) ? 'flash' : ''} data-testid=${`stock-row-${item.sku}`}>
            <td><a href=${`#/variant/${encodeURIComponent(item.sku)}`}>${item.sku}</a></td>
            <td>${item.name}</td>
            ${codes.map((code) => {
              const level = at.get(code);
              return html`<td class="num" data-testid=${`stock-${item.sku}-${code}`}>${level ? `${level.on_hand} · ${level.reserved} · ${level.available} · ${level.incoming}` : '—'}</td>`;
            })}
            <td class=${`num ${item.total.available <= 0 ? 'bad' : ''}`} data-testid=${`stock-available-${item.sku}`}>${item.total.available}</td>
            <td>${item.channels.map(
              (listing) => html`<span class=${`pill ${listing.drift ? 'bad' : ''}`} title=${listing.external_id}>
                ${listing.channel}: ${listing.desired} / ${listing.shown ?? '?'}${listing.drift ? ` (drift ${listing.drift > 0 ? '+' : ''}${listing.drift})` : ''}${listing.state === 'dead' ? ' dead' : ''}
              </span> `,
            )}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${page.data && page.data.items.length === 0 ? html`<p class="muted">No variants match.</p>` : null}
    <div class="toolbar" style="margin-top: 0.6rem">
      <button class="secondary" disabled=${cursors.length <= 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
      <span class="muted">Page ${cursors.length}</span>
      <button class="secondary" disabled=${!page.data?.next_cursor} data-testid="stock-next"
        onClick=${() => setCursors([...cursors, page.data.next_cursor])}>Next</button>
    </div>
  </section>`;
}
