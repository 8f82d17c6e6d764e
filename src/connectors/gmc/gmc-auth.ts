import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { AccessTokenCache, type CachedAccessToken, requestAccessToken } from '../access-token-cache.js';
import { gmcFacts, gmcLimits } from './gmc-limits.js';

/**
 * OAuth 2.0 for a Google service account (docs/channels/google-merchant-center.md, Authentication):
 * a JWT `{alg: RS256, typ: JWT, kid}` . `{iss: client_email, scope, aud: token endpoint, iat, exp
 * <= iat + 3600}` signed with the account's RSA private key (node:crypto), posted as
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>` (form encoded) ->
 * `{access_token, expires_in, token_type: "Bearer"}`.
 *
 * Renewal as for bol: the cached token is used until 80 % of its lifetime, then renewed by ONE
 * request in the background while it is still used, and never sent past 95 % (callers then wait for
 * that same request). Lifetimes count from when the request was sent. After a failure the next
 * request waits a hold-off. The private key never leaves this object: no message carries it.
 */

export class GmcAuthError extends Error {
  constructor(
    message: string,
    /** false when Google refused the assertion (400 invalid_grant, 401): retrying will not help. */
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'GmcAuthError';
  }
}

export interface GmcAuthConfig {
  tokenUrl: string;
  clientEmail: string;
  /** PEM of the RSA private key (PKCS#8, as in the service account's JSON key file). */
  privateKey: string;
  /** The key's id (`private_key_id`), sent as the JWT's `kid` when given. */
  privateKeyId?: string | undefined;
  now: () => number;
  requestTimeoutMs?: number;
  /** Seconds the assertion asks for: at most 3600. @default 3600 */
  assertionLifetimeSeconds?: number;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** The key object from a PEM; throws an error that names the problem, never the key. */
export function readPrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    // Keys pasted through an environment variable often carry literal "\n".
    key = createPrivateKey({ key: pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem, format: 'pem' });
  } catch {
    throw new Error('private_key is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error('private_key is not an RSA key (RS256 needs one)');
  return key;
}

export class GmcAuth {
  private readonly key: KeyObject;
  private readonly tokens: AccessTokenCache<GmcAuthError>;

  constructor(private readonly config: GmcAuthConfig) {
    this.key = readPrivateKey(config.privateKey);
    this.tokens = new AccessTokenCache({
      now: config.now,
      fetch: () => this.fetchToken(),
      holdOffMs: gmcLimits.tokenFailureHoldOffMs,
      toError: (error) =>
        error instanceof GmcAuthError ? error : new GmcAuthError('google token request failed', true),
      withRetryAfter: (error, retryAfterMs) => new GmcAuthError(error.message, error.retryable, retryAfterMs),
    });
  }

  get tokenRequestCount(): number {
    return this.tokens.requestCount;
  }

  /** The signed assertion for `now` (exported for the simulator's tests). */
  assertion(now: number): string {
    const iat = Math.floor(now / 1000);
    const lifetime = Math.min(
      this.config.assertionLifetimeSeconds ?? gmcFacts.assertionLifetimeSecondsMax,
      gmcFacts.assertionLifetimeSecondsMax,
    );
    const header = { alg: 'RS256', typ: 'JWT', ...(this.config.privateKeyId ? { kid: this.config.privateKeyId } : {}) };
    const claims = {
      iss: this.config.clientEmail,
      scope: gmcFacts.scope,
      aud: this.config.tokenUrl,
      iat,
      exp: iat + lifetime,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('RSA-SHA256', Buffer.from(signingInput), this.key);
    return `${signingInput}.${base64url(signature)}`;
  }

  /** A bearer token valid for now; throws GmcAuthError. */
  accessToken(): Promise<string> {
    return this.tokens.accessToken();
  }

  /** The platform refused this token: forget it so the next caller fetches a new one. */
  invalidate(token: string): void {
    this.tokens.invalidate(token);
  }

  private async fetchToken(): Promise<CachedAccessToken> {
    const sentAt = this.config.now();
    const body = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: this.assertion(sentAt),
    });
    const timeoutMs = this.config.requestTimeoutMs ?? gmcLimits.requestTimeoutMs;
    const parsed = await requestAccessToken({
      url: this.config.tokenUrl,
      init: {
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString(),
      },
      timeoutMs,
      label: 'google',
      refusedStatuses: [400, 401, 403],
      refused: (status, code) => `google refused the service account assertion (token endpoint ${status} ${code})`,
      error: (message, retryable, retryAfterMs) => new GmcAuthError(message, retryable, retryAfterMs),
    });
    const lifetimeMs = parsed.expiresInS * 1000;
    return {
      token: parsed.accessToken,
      renewAt: sentAt + lifetimeMs * gmcLimits.tokenRefreshRatio,
      useUntil: sentAt + lifetimeMs * gmcLimits.tokenUseRatioMax,
    };
  }
}
