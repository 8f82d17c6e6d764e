import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { can, ErrorBox, html } from '../ui.js';

/**
 * CSV import: POST /v1/imports/{kind}?dry_run= with the file as text/csv. The answer (200, or
 * 422 with the same shape when a row is bad and nothing was applied) lists what was created,
 * updated and unchanged, and every bad row by line and column.
 */
const kinds = ['variants', 'locations', 'stock', 'purchase-orders', 'listings', 'mappings'];

export function ImportPage({ session }) {
  const [kind, setKind] = useState('variants');
  const [file, setFile] = useState(null);
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function send(dryRun) {
    setError(null);
    setReport(null);
    setBusy(true);
    try {
      const text = await file.text();
      setReport(await api('POST', `/v1/imports/${kind}?dry_run=${dryRun}`, text, { contentType: 'text/csv' }));
    } catch (failure) {
      if (
        failure instanceof ApiError &&
        failure.status === 422 &&
        Array.isArray(failure.body?.errors) &&
        'rows' in failure.body
      )
        setReport(failure.body);
      else setError(failure);
    } finally {
      setBusy(false);
    }
  }
  if (!can(session, 'write'))
    return html`<section data-testid="import"><h1>Import</h1>
      <p class="muted" data-testid="import-needs-write">Importing needs a write token.</p></section>`;
  return html`<section data-testid="import">
    <h1>Import</h1>
    <div class="toolbar">
      <select value=${kind} onChange=${(event) => setKind(event.target.value)} data-testid="import-kind">
        ${kinds.map((name) => html`<option value=${name}>${name}</option>`)}
      </select>
      <input type="file" accept=".csv,text/csv" data-testid="import-file" onChange=${(event) => setFile(event.target.files[0] ?? null)} />
      <button class="secondary" disabled=${!file || busy} data-testid="import-dry-run" onClick=${() => send(true)}>Check (dry run)</button>
      <button disabled=${!file || busy} data-testid="import-apply" onClick=${() => send(false)}>Import</button>
    </div>
    <${ErrorBox} error=${error} />
    ${
      report
        ? html`<div class=${report.errors.length ? 'error' : 'notice'} data-testid="import-report">${`${report.applied ? 'Applied' : report.errors.length ? 'Nothing applied' : 'Dry run, nothing applied'}: ${report.rows} rows; ${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged.`}</div>
        ${
          report.errors.length
            ? html`<table data-testid="import-errors"><thead><tr><th class="num">Line</th><th>Column</th><th>Reason</th></tr></thead>
            <tbody>${report.errors.map((row) => html`<tr><td class="num">${row.line}</td><td>${row.column ?? ''}</td><td>${row.reason}</td></tr>`)}</tbody></table>`
            : null
        }`
        : null
    }
  </section>`;
}
