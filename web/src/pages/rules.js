import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { can, ConfirmButton, ErrorBox, html, useData, when } from '../ui.js';

/**
 * Rule sets: every version; a version's document; the dry-run difference it would make against
 * the active one; activate and roll back, each behind a confirmation dialog.
 */
export function RulesPage({ session }) {
  const list = useData(() => api('GET', '/v1/rule-sets'));
  const events = useData(() => api('GET', '/v1/rule-sets/events'));
  const [selected, setSelected] = useState(null);
  const [document, setDocument] = useState('');
  const [dryRun, setDryRun] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const admin = can(session, 'admin');
  const versions = list.data?.items ?? [];
  const active = versions.find((version) => version.active);

  async function select(version) {
    setError(null);
    setDryRun(null);
    setNotice(null);
    try {
      const view = await api('GET', `/v1/rule-sets/${version}`);
      setSelected(view);
      setDocument(JSON.stringify(view.rules, null, 2));
    } catch (failure) {
      setError(failure);
    }
  }
  function parsed() {
    try {
      return JSON.parse(document);
    } catch {
      throw Object.assign(new Error('the rule set is not valid JSON'), { body: null });
    }
  }
  async function run(action) {
    setError(null);
    setNotice(null);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    }
    list.reload();
    events.reload();
  }
  return html`<section data-testid="rules">
    <h1>Rules</h1>
    <${ErrorBox} error=${error || list.error} />
    ${notice ? html`<div class="notice" data-testid="rules-notice">${notice}</div>` : null}
    <table data-testid="rule-versions"><thead><tr><th>Version</th><th>Note</th><th>Created</th><th>Active</th><th></th></tr></thead>
      <tbody>${versions.map(
        (
          version,
        ) => html`<tr data-testid=${`rule-version-${version.version}`}><td>v${version.version}</td><td>${version.note ?? ''}</td><td>${when(version.created_at)}</td>
          <td>${version.active ? html`<span class="pill good" data-testid="rule-active">active since ${when(version.activated_at)}</span>` : ''}</td>
          <td><button class="secondary" data-testid=${`rule-open-${version.version}`} onClick=${() => select(version.version)}>Open</button></td></tr>`,
      )}</tbody></table>
    ${versions.length === 0 ? html`<p class="muted">No rule set yet: every listing shows what its pool has.</p>` : null}
    ${
      selected
        ? html`<h2>Version ${selected.version} ${selected.active ? '(active)' : ''}</h2>
        <textarea rows="14" style="width: 100%; font-family: monospace" data-testid="rule-document" readonly=${!admin}
          value=${document} onInput=${(event) => setDocument(event.target.value)}></textarea>
        <div class="toolbar">
          ${
            admin
              ? html`<button class="secondary" data-testid="rule-dry-run" onClick=${() => run(async () => setDryRun(await api('POST', '/v1/rule-sets/dry-run', { rules: parsed(), limit: 100 })))}>Dry run</button>
              <button class="secondary" data-testid="rule-save" onClick=${() =>
                run(async () => {
                  const created = await api('POST', '/v1/rule-sets', { rules: parsed(), note: 'from the dashboard' });
                  setNotice(`Saved as version ${created.version} (not active yet)`);
                  await select(created.version);
                })}>Save as new version</button>
              ${
                !selected.active
                  ? html`<${ConfirmButton} label=${active && selected.version < active.version ? `Roll back to v${selected.version}` : `Activate v${selected.version}`}
                    testid="rule-activate" danger=${true}
                    title=${active && selected.version < active.version ? `Roll back to version ${selected.version}?` : `Activate version ${selected.version}?`}
                    message="Every listing's quantity is recomputed with this rule set at once and pushed to the channels."
                    onConfirm=${() =>
                      run(async () => {
                        const rollback = active && selected.version < active.version;
                        await api('POST', `/v1/rule-sets/${selected.version}/${rollback ? 'rollback' : 'activate'}`, {
                          note: 'from the dashboard',
                        });
                        setNotice(`Version ${selected.version} is active`);
                        await select(selected.version);
                      })} />`
                  : null
              }`
              : html`<span class="muted" data-testid="rules-needs-admin">Dry run, activation and rollback need an admin token.</span>`
          }
        </div>`
        : null
    }
    ${
      dryRun
        ? html`<h2>Dry run against ${dryRun.base_version === null ? 'no rule set' : `v${dryRun.base_version}`}</h2>
        <p data-testid="dry-run-summary">${dryRun.changed} of ${dryRun.listings} listings would change.</p>
        <table data-testid="dry-run"><thead><tr><th>Channel</th><th>Sku</th><th class="num">Now</th><th class="num">Would show</th></tr></thead>
          <tbody>${dryRun.changes.map(
            (change) =>
              html`<tr><td>${change.channel}</td><td>${change.sku}</td><td class="num">${change.current}</td><td class=${`num ${change.proposed < change.current ? 'bad' : 'good'}`}>${change.proposed}</td></tr>`,
          )}</tbody></table>`
        : null
    }
    <h2>History</h2>
    <table><thead><tr><th>When</th><th>Version</th><th>Action</th><th>By</th><th>Note</th></tr></thead>
      <tbody>${(events.data?.items ?? []).map(
        (event) =>
          html`<tr><td>${when(event.at)}</td><td>v${event.version}</td><td>${event.action}</td><td>${event.author}</td><td>${event.note ?? ''}</td></tr>`,
      )}</tbody></table>
  </section>`;
}
