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
