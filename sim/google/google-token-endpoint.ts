import { createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';
import { GoogleAnswer } from './google-answers.js';

/**
 * The OAuth 2.0 token endpoint for service accounts (docs/channels/google-merchant-center.md,
 * Authentication): `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`; the
 * JWT must be RS256 over `header.claims`, verify against the PUBLIC key registered for its `iss`,
 * name this endpoint as `aud`, ask for the content scope, and live at most one hour (`exp - iat
 * <= 3600`, not expired, not issued in the future beyond a minute of skew). Errors are RFC 6749
 * `{error, error_description}` with 400 (`invalid_grant`, `invalid_scope`, `unsupported_grant_type`).
 */

export interface ServiceAccountKey {
  clientEmail: string;
  /** PEM of the public key (what Google keeps of a service account key). */
  publicKey: string;
}

const skewSeconds = 60;

export class TokenEndpoint {
  private readonly keys = new Map<string, KeyObject>();
  private readonly tokens = new Map<string, { clientEmail: string; expiresAt: number }>();
  issued = 0;
  rejected = 0;
  lastRejection = '';

  constructor(
    accounts: readonly ServiceAccountKey[],
    private readonly audience: () => string,
    private readonly scope: string,
    public tokenLifetimeSeconds: number,
    private readonly now: () => number,
  ) {
    for (const account of accounts) this.keys.set(account.clientEmail, createPublicKey(account.publicKey));
  }

  /** Every token issued so far stops working (Google may end a token early). */
  expireAll(): void {
    for (const token of this.tokens.values()) token.expiresAt = Math.min(token.expiresAt, this.now());
  }

  /** The service account whose bearer token this is, or null (401). */
  holder(authorization: string | undefined): string | null {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    const entry = match ? this.tokens.get(match[1]!) : undefined;
    if (entry === undefined || entry.expiresAt <= this.now()) return null;
    return entry.clientEmail;
  }

  exchange(form: URLSearchParams): GoogleAnswer {
    const refuse = (error: string, description: string) => {
      this.rejected++;
      this.lastRejection = description;
      return new GoogleAnswer(400, { error, error_description: description });
    };
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return refuse('unsupported_grant_type', 'Invalid grant_type');
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse('invalid_grant', 'Invalid JWT: not three segments');
    let header: { alg?: unknown };
    let claims: { iss?: unknown; scope?: unknown; aud?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return refuse('invalid_grant', 'Invalid JWT: segments are not JSON');
    }
    if (header.alg !== 'RS256') return refuse('invalid_grant', 'Invalid JWT: alg must be RS256');
    const key = typeof claims.iss === 'string' ? this.keys.get(claims.iss) : undefined;
    if (key === undefined) return refuse('invalid_grant', 'Invalid JWT: unknown service account');
    const signed = verify(
      'RSA-SHA256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      key,
      Buffer.from(parts[2]!, 'base64url'),
    );
    if (!signed) return refuse('invalid_grant', 'Invalid JWT Signature.');
    if (claims.aud !== this.audience()) return refuse('invalid_grant', 'Invalid JWT: aud is not the token endpoint');
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(this.scope))
      return refuse('invalid_scope', 'The content scope was not requested');
    const nowSeconds = Math.floor(this.now() / 1000);
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number')
      return refuse('invalid_grant', 'Invalid JWT: iat and exp are required');
    if (claims.exp - claims.iat > 3_600 || claims.exp <= claims.iat)
      return refuse('invalid_grant', 'Invalid JWT: exp must be within one hour of iat');
    if (claims.exp <= nowSeconds - skewSeconds || claims.iat > nowSeconds + skewSeconds)
      return refuse('invalid_grant', 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe');
    const token = `ya29.sim-${randomBytes(18).toString('base64url')}`;
    this.tokens.set(token, {
      clientEmail: claims.iss as string,
      expiresAt: this.now() + this.tokenLifetimeSeconds * 1000,
    });
    this.issued++;
    return new GoogleAnswer(200, { access_token: token, expires_in: this.tokenLifetimeSeconds, token_type: 'Bearer' });
  }
}
