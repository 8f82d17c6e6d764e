import { AccessTokenCache, type CachedAccessToken } from '../access-token-cache.js';
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
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.config.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new AmazonAuthError(
        timedOut ? `LWA token request timed out after ${timeoutMs} ms` : 'LWA token request failed (network)',
        true,
      );
    }
    if (response.status === 400 || response.status === 401) {
      throw new AmazonAuthError(
        `Login with Amazon refused the refresh token or client credentials (${response.status} ${oauthError(text)})`,
        false,
      );
    }
    if (!response.ok) throw new AmazonAuthError(`LWA token endpoint answered ${response.status}`, true);
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new AmazonAuthError('LWA token endpoint answered malformed JSON', true);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '' || typeof body.expires_in !== 'number')
      throw new AmazonAuthError('LWA token endpoint answered without access_token/expires_in', true);
    const expiresAt = sentAt + body.expires_in * 1000;
    const lifetime = body.expires_in * 1000;
    // A short-lived token (a test) renews at half its life rather than never.
    const renewBefore = Math.min(amazonLimits.tokenRenewBeforeMs, lifetime / 2);
    const useMargin = Math.min(amazonLimits.tokenUseMarginMs, lifetime / 10);
    return { token: body.access_token, renewAt: expiresAt - renewBefore, useUntil: expiresAt - useMargin };
  }
}

/** The RFC 6749 `error` code only: `error_description` may echo what was sent. */
function oauthError(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : '';
  } catch {
    return '';
  }
}
