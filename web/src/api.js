// The dashboard's one door to the API: same origin, the session cookie, the CSRF header on
// every unsafe request, problems (RFC 9457) turned into ApiError.

let csrfToken = null;
let onSignedOut = () => {};

export function setCsrfToken(token) {
  csrfToken = token;
}

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail ?? body?.title ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, body, options = {}) {
  const headers = { accept: 'application/json' };
  let payload;
  if (body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    payload = options.contentType ? body : JSON.stringify(body);
  }
  if (method !== 'GET' && csrfToken) headers['x-onhand-csrf'] = csrfToken;
  const response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) {
    if (response.status === 401 && !options.signIn) onSignedOut();
    throw new ApiError(response.status, data);
  }
  return data;
}

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '' && value !== false) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
