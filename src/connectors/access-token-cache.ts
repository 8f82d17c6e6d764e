/**
 * One access token per connection, shared by every caller: the part of OAuth client-credential,
 * refresh-token and JWT-bearer logins that is the same on every platform (bol.com, Amazon's
 * Login with Amazon, Google's service accounts). Each platform's auth file keeps what differs:
 * how it asks for a token and what its refusals mean.
 *
 * - Renewed early, in one flight: past `renewAt` one background request renews the token while
 *   callers keep using the current one; past `useUntil` they wait for that same request.
 * - A failed request holds further requests off for `holdOffMs` (or the platform's Retry-After
 *   when longer); callers meanwhile get the same error with the time left, without a request.
 * - `invalidate` forgets a token the platform refused, so the next caller asks for a new one.
 */

/** A token and the two instants that drive its renewal (epoch ms, counted from when it was asked for). */
export interface CachedAccessToken {
  token: string;
  /** From here a background request renews it. */
  renewAt: number;
  /** From here callers wait for the new one. */
  useUntil: number;
}

/** What a platform's auth error carries: whether retrying may help, and when. */
export interface AccessTokenError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs?: number | undefined;
}

export interface AccessTokenCacheOptions<E extends AccessTokenError> {
  now: () => number;
  /** Asks the platform for a token; throws the platform's error (or anything, wrapped by `toError`). */
  fetch: () => Promise<CachedAccessToken>;
  /** Least time between a failed request and the next one. */
  holdOffMs: number;
  /** The platform's error for anything `fetch` threw that is not one already. */
  toError: (error: unknown) => E;
  /** The platform's error again, with the time left before a request may be sent. */
  withRetryAfter: (error: E, retryAfterMs: number) => E;
}

export class AccessTokenCache<E extends AccessTokenError> {
  private current: CachedAccessToken | null = null;
  private inflight: Promise<CachedAccessToken> | null = null;
  private failure: { error: E; until: number } | null = null;
  private sent = 0;

  constructor(private readonly options: AccessTokenCacheOptions<E>) {}

  /** Token requests sent so far (tests: renewal happens, concurrent callers share one). */
  get requestCount(): number {
    return this.sent;
  }

  async accessToken(): Promise<string> {
    const now = this.options.now();
    const cached = this.current;
    if (cached !== null && now < cached.renewAt) return cached.token;
    if (cached !== null && now < cached.useUntil) {
      // In the background; a failure shows when the token can no longer be used at the latest.
      this.renew().catch(() => undefined);
      return cached.token;
    }
    return (await this.renew()).token;
  }

  /** The platform refused this token: forget it so the next caller asks for a new one. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = null;
  }

  private renew(): Promise<CachedAccessToken> {
    if (this.inflight !== null) return this.inflight;
    const now = this.options.now();
    if (this.failure !== null && now < this.failure.until) {
      return Promise.reject(this.options.withRetryAfter(this.failure.error, this.failure.until - now));
    }
    this.sent++;
    this.inflight = this.options
      .fetch()
      .then((token) => {
        this.current = token;
        this.failure = null;
        return token;
      })
      .catch((thrown: unknown) => {
        const error = this.options.toError(thrown);
        const holdOffMs = Math.max(error.retryAfterMs ?? 0, this.options.holdOffMs);
        this.failure = { error, until: this.options.now() + holdOffMs };
        throw this.options.withRetryAfter(error, holdOffMs);
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }
}

/** How one platform's token endpoint is asked, and how its answers read as that platform's errors. */
export interface TokenEndpointRequest<E extends AccessTokenError> {
  url: string | URL;
  init: { headers: Record<string, string>; body?: string };
  timeoutMs: number;
  /** Names the endpoint in messages: `<label> token request timed out`, `<label> token endpoint answered 503`. */
  label: string;
  /** Statuses that mean the credentials were refused (permanent), with the refusal's message. */
  refusedStatuses: readonly number[];
  refused: (status: number, oauthError: string) => string;
  error: (message: string, retryable: boolean, retryAfterMs?: number) => E;
  /** How a network failure is described; default "(network)". */
  networkDetail?: (error: unknown) => string;
  /** A wait the platform asked for on a failed answer (Retry-After), if it says so. */
  retryAfterMs?: (response: Response) => number | undefined;
}

/**
 * One POST to a token endpoint (RFC 6749 section 5): the access token and its lifetime, or the
 * platform's error: refused credentials are permanent; timeouts, network failures, other
 * statuses and malformed answers are worth retrying. Not tied to any caller's signal: every
 * caller of the cache shares this request. No credential appears in a message.
 */
export async function requestAccessToken<E extends AccessTokenError>(
  request: TokenEndpointRequest<E>,
): Promise<{ accessToken: string; expiresInS: number }> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: request.init.headers,
      ...(request.init.body === undefined ? {} : { body: request.init.body }),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    throw request.error(
      timedOut
        ? `${request.label} token request timed out after ${request.timeoutMs} ms`
        : `${request.label} token request failed${request.networkDetail ? `: ${request.networkDetail(error)}` : ' (network)'}`,
      true,
    );
  }
  if (request.refusedStatuses.includes(response.status))
    throw request.error(request.refused(response.status, oauthErrorCode(text)), false);
  if (!response.ok)
    throw request.error(
      `${request.label} token endpoint answered ${response.status}`,
      true,
      request.retryAfterMs?.(response),
    );
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw request.error(`${request.label} token endpoint answered malformed JSON`, true);
  }
  if (
    typeof body.access_token !== 'string' ||
    body.access_token === '' ||
    typeof body.expires_in !== 'number' ||
    !(body.expires_in > 0)
  )
    throw request.error(`${request.label} token endpoint answered without access_token/expires_in`, true);
  return { accessToken: body.access_token, expiresInS: body.expires_in };
}

/** The `error` code of a token endpoint's refusal (RFC 6749 5.2), else ''. */
function oauthErrorCode(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error.slice(0, 64) : '';
  } catch {
    return '';
  }
}
