import { AccessTokenCache, type CachedAccessToken, requestAccessToken } from '../access-token-cache.js';
import { bolLimits } from './bol-limits.js';

/**
 * OAuth2 client credentials for bol (docs/channels/bol.md, Authentication):
 * `POST <tokenUrl>?grant_type=client_credentials` with `Authorization: Basic base64(id:secret)`
 * -> `{access_token, token_type: "Bearer", expires_in: 299}`.
 *
 * Why renew early and in one flight: a token sent at second 298 can arrive expired and cost a 401
 * plus a retry; and bol warns that excessive token requests get an IP blocked. So:
 * 1. before `tokenRefreshRatio` of the lifetime (80 %) the cached token is used as is;
 * 2. between 80 % and `tokenUseRatioMax` (95 %) it is still used while ONE background request
 *    renews it;
 * 3. after 95 % callers wait for that same request (single flight: N concurrent pushes, 1 fetch).
 * Lifetimes count from when we SENT the token request, so slow answers only make us renew sooner.
 * After a failed request the next one waits `tokenFailureHoldOffMs`; callers get the failure.
 */

export class BolAuthError extends Error {
  constructor(
    message: string,
    /** false for refused credentials (400/401/403): retrying will not help. */
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'BolAuthError';
  }
}

export interface BolAuthConfig {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  now: () => number;
  /** @default bolLimits.requestTimeoutMs */
  requestTimeoutMs?: number;
  /** @default bolLimits.tokenFailureHoldOffMs */
  failureHoldOffMs?: number;
}

export class BolAuth {
  private readonly tokens: AccessTokenCache<BolAuthError>;

  constructor(private readonly config: BolAuthConfig) {
    this.tokens = new AccessTokenCache({
      now: config.now,
      fetch: () => this.fetchToken(),
      holdOffMs: config.failureHoldOffMs ?? bolLimits.tokenFailureHoldOffMs,
      toError: (error) =>
        error instanceof BolAuthError ? error : new BolAuthError(`bol token request failed: ${String(error)}`, true),
      withRetryAfter: (error, retryAfterMs) => new BolAuthError(error.message, error.retryable, retryAfterMs),
    });
  }

  /** Token requests sent so far (tests: concurrent pushes share one). */
  get tokenRequestCount(): number {
    return this.tokens.requestCount;
  }

  /** A bearer token valid for now; throws BolAuthError. */
  accessToken(): Promise<string> {
    return this.tokens.accessToken();
  }

  /** The platform refused this token: forget it so the next caller fetches a new one. */
  invalidate(token: string): void {
    this.tokens.invalidate(token);
  }

  private async fetchToken(): Promise<CachedAccessToken> {
    const sentAt = this.config.now();
    const url = new URL(this.config.tokenUrl);
    url.searchParams.set('grant_type', 'client_credentials');
    const basic = Buffer.from(`${this.config.clientId}:${this.config.clientSecret}`).toString('base64');
    const timeoutMs = this.config.requestTimeoutMs ?? bolLimits.requestTimeoutMs;
    const body = await requestAccessToken({
      url,
      init: { headers: { authorization: `Basic ${basic}`, accept: 'application/json' } },
      timeoutMs,
      label: 'bol',
      refusedStatuses: [400, 401, 403],
      refused: (status, code) => `bol refused the client credentials (token endpoint ${status} ${code})`,
      error: (message, retryable, retryAfterMs) => new BolAuthError(message, retryable, retryAfterMs),
      networkDetail: describeNetworkError,
      retryAfterMs: (response) => parseRetryAfterMs(response.headers.get('retry-after'), this.config.now()),
    });
    const lifetimeMs = body.expiresInS * 1000;
    return {
      token: body.accessToken,
      renewAt: sentAt + lifetimeMs * bolLimits.tokenRefreshRatio,
      useUntil: sentAt + lifetimeMs * bolLimits.tokenUseRatioMax,
    };
  }
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or bad. */
export function parseRetryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** fetch() hides the socket error in `cause` ("fetch failed" -> "other side closed", ECONNRESET...). */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message}: ${cause.message}${typeof code === 'string' ? ` (${code})` : ''}`;
  }
  return error.message;
}
