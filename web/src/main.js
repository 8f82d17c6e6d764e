// The operator's dashboard: sign in with an onhand token, then overview, stock, variant,
// channel, rules and import pages, kept current by server-sent events (live.js).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken, whenSignedOut } from './api.js';
import { onLiveStatus, startLive, stopLive } from './live.js';
import { ChannelPage, ChannelsPage } from './pages/channel.js';
import { ImportPage } from './pages/import.js';
import { OverviewPage } from './pages/overview.js';
import { RulesPage } from './pages/rules.js';
import { StockPage } from './pages/stock.js';
import { VariantPage } from './pages/variant.js';
import { ErrorBox, html } from './ui.js';

function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const changed = () => setHash(location.hash || '#/');
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  const [path, search = ''] = hash.slice(1).split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  return html`<form class="signin" data-testid="signin" onSubmit=${async (event) => {
    event.preventDefault();
    setError(null);
    try {
      onSignedIn(await api('POST', '/v1/session', { token: token.trim() }, { signIn: true }));
    } catch (failure) {
      setError(failure);
    }
  }}>
    <h1>onhand</h1>
    <label for="token">API token</label>
    <input id="token" name="token" type="password" autocomplete="off" placeholder="onh_read_…" value=${token}
      onInput=${(event) => setToken(event.target.value)} />
    <button type="submit">Sign in</button>
    <p class="muted">A read token sees everything; write and admin tokens can act. The token stays in this
      browser only as a session cookie the page cannot read.</p>
    <${ErrorBox} error=${error} />
  </form>`;
}

function App() {
  const [session, setSession] = useState(undefined);
  const [live, setLive] = useState(false);
  const route = useRoute();
  useEffect(() => {
    whenSignedOut(() => {
      stopLive();
      setCsrfToken(null);
      setSession(null);
    });
    api('GET', '/v1/session', undefined, { signIn: true }).then(
      (found) => setSession(found),
      () => setSession(null),
    );
    return onLiveStatus(setLive);
  }, []);
  useEffect(() => {
    if (!session) return;
    setCsrfToken(session.csrf_token);
    startLive();
  }, [session]);
  if (session === undefined) return html`<p class="muted">Loading…</p>`;
  if (session === null) return html`<${SignIn} onSignedIn=${setSession} />`;
  const [page = 'overview', ...rest] = route.parts;
  const link = (href, name, label) =>
    html`<a href=${href} class=${page === name ? 'active' : ''} data-testid=${`nav-${name}`}>${label}</a>`;
  let body;
  if (page === 'stock') body = html`<${StockPage} session=${session} params=${route.params} />`;
  else if (page === 'variant') body = html`<${VariantPage} session=${session} sku=${rest[0]} />`;
  else if (page === 'channels' && rest[0]) body = html`<${ChannelPage} session=${session} code=${rest[0]} />`;
  else if (page === 'channels') body = html`<${ChannelsPage} session=${session} />`;
  else if (page === 'rules') body = html`<${RulesPage} session=${session} />`;
  else if (page === 'import') body = html`<${ImportPage} session=${session} />`;
  else body = html`<${OverviewPage} session=${session} />`;
  return html`<div>
    <header class="top">
      <span class="brand">onhand</span>
      ${link('#/', 'overview', 'Overview')} ${link('#/stock', 'stock', 'Stock')}
      ${link('#/channels', 'channels', 'Channels')} ${link('#/rules', 'rules', 'Rules')}
      ${link('#/import', 'import', 'Import')}
      <span class="right">
        <span class=${`live ${live ? 'on' : ''}`} data-testid="live">${live ? 'live' : 'offline'}</span>
        <span data-testid="whoami">${session.name} (${session.scope})</span>
        <button class="secondary" data-testid="signout" onClick=${async () => {
          await api('DELETE', '/v1/session').catch(() => undefined);
          stopLive();
          setCsrfToken(null);
          setSession(null);
        }}>Sign out</button>
      </span>
    </header>
    <main>${body}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
