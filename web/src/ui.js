import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/** Load `fetcher()` now and whenever `reload()` is called; keeps the last good data on error. */
export function useData(fetcher, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    fetcher().then(
      (data) => mine === generation.current && setState({ data, error: null, loading: false }),
      (error) => mine === generation.current && setState((old) => ({ ...old, error, loading: false })),
    );
  }, deps);
  useEffect(reload, [reload]);
  return { ...state, reload };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const problem = error.body;
  return html`<div class="error" role="alert">
    ${error.message}
    ${problem?.errors?.length ? html`<ul>${problem.errors.map((e) => html`<li>${e.path}: ${e.message}</li>`)}</ul>` : null}
  </div>`;
}

export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString();
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function percent(rate) {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(2)}%`;
}

/** A button that asks before it acts: a modal <dialog> with the consequence spelled out. */
export function ConfirmButton({ label, title, message, onConfirm, danger, testid, disabled }) {
  const dialog = useRef(null);
  const [busy, setBusy] = useState(false);
  return html`<span>
    <button class=${danger ? 'danger' : ''} data-testid=${testid} disabled=${disabled || busy}
      onClick=${() => dialog.current.showModal()}>${label}</button>
    <dialog ref=${dialog} data-testid=${`${testid}-dialog`}>
      <h2>${title}</h2>
      <p>${message}</p>
      <div class="toolbar">
        <button class=${danger ? 'danger' : ''} data-testid=${`${testid}-confirm`} onClick=${async () => {
          setBusy(true);
          dialog.current.close();
          try {
            await onConfirm();
          } finally {
            setBusy(false);
          }
        }}>Confirm</button>
        <button class="secondary" onClick=${() => dialog.current.close()}>Cancel</button>
      </div>
    </dialog>
  </span>`;
}

/** What a token of `scope` may do: read < write < admin. */
export function can(session, needed) {
  const rank = { read: 0, write: 1, admin: 2 };
  return session && rank[session.scope] >= rank[needed];
}
