import { AccessTokenCache, type CachedAccessToken, requestAccessToken } from '../access-token-cache.js';
import { amazonLimits } from './amazon-limits.js';

/**
 * Login with Amazon (docs/channels/amazon.md, Authentication): the seller's long-lived refresh
 * token is exchanged for an access token,
 * `POST https://api.amazon.com/auth/o2/token` (form) `grant_type=refresh_token&refresh_token&client_id&client_secret`
 * -> `{access_token, token_type: "bearer", expires_in: 3600, refresh_token}`;
 * every Selling Partner API call then carries it in `x-amz-access-token`.
 *
 * Renewed early and in one flight: from `tokenRenewBeforeMs` before expiry one background request
 * renews it while callers keep using the old one; closer than `tokenUseMarginMs` they wait for
 * that same request. Lifetimes count from when we SENT the request. After a failure the next
 * request waits `tokenFailureHoldOffMs`. A refused grant (`invalid_grant`, `invalid_client`,
 * 400/401) is permanent: the seller must authorise the application again.
 * Neither the refresh token nor the client secret ever appears in an error message.
 */

export class AmazonAuthError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AmazonAuthError';
  }
}

export interface AmazonAuthConfig {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  now: () => number;
  requestTimeoutMs?: number;
}

export class AmazonAuth {
  private readonly tokens: AccessTokenCache<AmazonAuthError>;

  constructor(private readonly config: AmazonAuthConfig) {
    this.tokens = new AccessTokenCache({
      now: config.now,
      fetch: () => this.fetchToken(),
      holdOffMs: amazonLimits.tokenFailureHoldOffMs,
      toError: (error) =>
        error instanceof AmazonAuthError
          ? error
          : new AmazonAuthError(`LWA token request failed: ${String(error)}`, true),
      withRetryAfter: (error, retryAfterMs) => new AmazonAuthError(error.message, error.retryable, retryAfterMs),
    });
  }

  /** Token requests sent so far (tests: renewal happens, concurrent calls share one). */
  get tokenRequestCount(): number {
    return this.tokens.requestCount;
  }

  /** A bearer token valid for now; throws AmazonAuthError. */
  accessToken(): Promise<string> {
    return this.tokens.accessToken();
  }

  /** The platform refused this token: forget it so the next caller fetches a new one. */
  invalidate(token: string): void {
    this.tokens.invalidate(token);
  }

  private async fetchToken(): Promise<CachedAccessToken> {
    const sentAt = this.config.now();
    const timeoutMs = this.config.requestTimeoutMs ?? amazonLimits.requestTimeoutMs;
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: this.config.refreshToken,
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
    });
    const body = await requestAccessToken({
      url: this.config.tokenUrl,
      init: {
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
        body: form.toString(),
      },
      timeoutMs,
      label: 'LWA',
      refusedStatuses: [400, 401],
      refused: (status, code) =>
        `Login with Amazon refused the refresh token or client credentials (${status} ${code})`,
      error: (message, retryable, retryAfterMs) => new AmazonAuthError(message, retryable, retryAfterMs),
    });
    const expiresAt = sentAt + body.expiresInS * 1000;
    const lifetime = body.expiresInS * 1000;
    // A short-lived token (a test) renews at half its life rather than never.
    const renewBefore = Math.min(amazonLimits.tokenRenewBeforeMs, lifetime / 2);
    const useMargin = Math.min(amazonLimits.tokenUseMarginMs, lifetime / 10);
    return { token: body.accessToken, renewAt: expiresAt - renewBefore, useUntil: expiresAt - useMargin };
  }
}
