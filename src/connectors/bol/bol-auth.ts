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

interface CachedToken {
  token: string;
  refreshAt: number;
  useUntil: number;
}

export class BolAuth {
  private current: CachedToken | null = null;
  private inflight: Promise<CachedToken> | null = null;
  private failure: { error: BolAuthError; until: number } | null = null;
  private tokenRequests = 0;

  constructor(private readonly config: BolAuthConfig) {}

  /** Token requests sent so far (tests: concurrent pushes share one). */
  get tokenRequestCount(): number {
    return this.tokenRequests;
  }

  /** A bearer token valid for at least the rest of the 95 % window; throws BolAuthError. */
  async accessToken(): Promise<string> {
    const now = this.config.now();
    const cached = this.current;
    if (cached !== null && now < cached.refreshAt) return cached.token;
    if (cached !== null && now < cached.useUntil) {
      this.renew().catch(() => undefined); // background; a failure shows at 95 % at the latest
      return cached.token;
    }
    return (await this.renew()).token;
  }

  /** bol said 401 to this token: forget it so the next caller fetches a new one. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = null;
  }

  private renew(): Promise<CachedToken> {
    if (this.inflight !== null) return this.inflight;
    const now = this.config.now();
    if (this.failure !== null && now < this.failure.until) {
      const { error, until } = this.failure;
      return Promise.reject(new BolAuthError(error.message, error.retryable, until - now));
    }
    this.inflight = this.fetchToken()
      .then((token) => {
        this.current = token;
        this.failure = null;
        return token;
      })
      .catch((error: unknown) => {
        const authError =
          error instanceof BolAuthError ? error : new BolAuthError(`bol token request failed: ${String(error)}`, true);
        const holdOffMs = Math.max(
          authError.retryAfterMs ?? 0,
          this.config.failureHoldOffMs ?? bolLimits.tokenFailureHoldOffMs,
        );
        this.failure = { error: authError, until: this.config.now() + holdOffMs };
        throw new BolAuthError(authError.message, authError.retryable, holdOffMs);
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  private async fetchToken(): Promise<CachedToken> {
    this.tokenRequests++;
    const sentAt = this.config.now();
    const url = new URL(this.config.tokenUrl);
    url.searchParams.set('grant_type', 'client_credentials');
    const basic = Buffer.from(`${this.config.clientId}:${this.config.clientSecret}`).toString('base64');
    const timeoutMs = this.config.requestTimeoutMs ?? bolLimits.requestTimeoutMs;
    let response: Response;
    let text: string;
    try {
      // Not tied to one caller's signal: other callers share this request (single flight).
      response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new BolAuthError(
        timedOut
          ? `bol token request timed out after ${timeoutMs} ms`
          : `bol token request failed: ${describeNetworkError(error)}`,
        true,
      );
    }
    if (response.status === 400 || response.status === 401 || response.status === 403) {
      throw new BolAuthError(
        `bol refused the client credentials (token endpoint ${response.status} ${errorCode(text)})`,
        false,
      );
    }
    if (!response.ok) {
      const retryAfter = parseRetryAfterMs(response.headers.get('retry-after'), this.config.now());
      throw new BolAuthError(`bol token endpoint answered ${response.status}`, true, retryAfter);
    }
    let body: { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new BolAuthError('bol token endpoint answered malformed JSON', true);
    }
    if (
      typeof body.access_token !== 'string' ||
      body.access_token === '' ||
      typeof body.expires_in !== 'number' ||
      !(body.expires_in > 0)
    ) {
      throw new BolAuthError('bol token endpoint answered without access_token/expires_in', true);
    }
    const lifetimeMs = body.expires_in * 1000;
    return {
      token: body.access_token,
      refreshAt: sentAt + lifetimeMs * bolLimits.tokenRefreshRatio,
      useUntil: sentAt + lifetimeMs * bolLimits.tokenUseRatioMax,
    };
  }
}

function errorCode(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : '';
  } catch {
    return '';
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
