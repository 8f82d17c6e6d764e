import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BolSimulatorFaults, BolSimulatorStats } from './bol-options.js';
import { HttpAnswer, problem } from './problem-answer.js';

export interface TokenIssuerOptions {
  clients: readonly { clientId: string; clientSecret: string }[];
  tokenLifetimeSeconds: number;
  now: () => number;
  faults: () => BolSimulatorFaults;
  counters: () => BolSimulatorStats;
}

/**
 * OAuth2 client credentials (docs/channels/bol.md, Authentication): the token endpoint, the bearer
 * check of every API call, and the clients a test revokes or denies.
 */
export class TokenIssuer {
  private readonly clients = new Map<string, string>();
  private readonly revokedClients = new Set<string>();
  private readonly deniedClients = new Set<string>();
  private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();
  private readonly now: () => number;
  private readonly faults: () => BolSimulatorFaults;
  private readonly counters: () => BolSimulatorStats;
  tokenLifetimeSeconds: number;

  constructor(options: TokenIssuerOptions) {
    for (const client of options.clients) this.clients.set(client.clientId, client.clientSecret);
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds;
    this.now = options.now;
    this.faults = options.faults;
    this.counters = options.counters;
  }

  /** Credentials withdrawn: token requests get 401 and issued tokens stop working. */
  revokeClient(clientId: string): void {
    this.revokedClients.add(clientId);
  }

  /** Every token issued so far stops working (bol may end a token before expires_in). */
  expireAllTokens(): void {
    for (const entry of this.tokens.values()) entry.expiresAt = Math.min(entry.expiresAt, this.now());
  }

  /** The client's tokens are valid but it may not use the API (403 on every call). */
  denyClient(clientId: string): void {
    this.deniedClients.add(clientId);
  }

  /** The OAuth2 token endpoint (docs/channels/bol.md). Error bodies follow RFC 6749 5.2 [unverified for bol]. */
  token(method: string, url: URL, authorization: string | undefined): HttpAnswer | 'drop' {
    if (this.faults().tokenFailuresNext > 0) {
      this.faults().tokenFailuresNext--;
      if (this.faults().tokenFailureStatus === 0) return 'drop';
      return new HttpAnswer(this.faults().tokenFailureStatus, { error: 'temporarily_unavailable' }, 'application/json');
    }
    if (method !== 'POST') return new HttpAnswer(405, { error: 'invalid_request' }, 'application/json');
    if (url.searchParams.get('grant_type') !== 'client_credentials') {
      return new HttpAnswer(400, { error: 'unsupported_grant_type' }, 'application/json');
    }
    const match = /^Basic\s+(.+)$/i.exec(authorization ?? '');
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const clientId = separator < 0 ? '' : decoded.slice(0, separator);
    const secret = separator < 0 ? '' : decoded.slice(separator + 1);
    if (this.clients.get(clientId) !== secret || this.revokedClients.has(clientId) || clientId === '') {
      return new HttpAnswer(
        401,
        { error: 'invalid_client', error_description: 'Bad client credentials' },
        'application/json',
      );
    }
    const now = this.now();
    const lifetime = this.tokenLifetimeSeconds;
    // JWT-shaped like bol's but opaque to the client; the simulator keeps the truth.
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const accessToken = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: clientId, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + lifetime })}.${randomBytes(16).toString('base64url')}`;
    for (const [token, entry] of this.tokens) if (entry.expiresAt < now) this.tokens.delete(token);
    this.tokens.set(accessToken, { clientId, expiresAt: now + lifetime * 1000 });
    this.counters().tokensIssued++;
    return new HttpAnswer(
      200,
      { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: 'RETAILER' },
      'application/json',
    );
  }

  /** null for a valid bearer token of an allowed client (named to `identify` first), else the 401/403 Problem. */
  authenticate(
    request: IncomingMessage,
    path: string,
    media: string,
    now: number,
    identify: (clientId: string) => void,
  ): HttpAnswer | null {
    // 1. Authentication: bearer token, known, not expired, client not revoked.
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer === undefined ? undefined : this.tokens.get(bearer);
    if (token === undefined || token.expiresAt <= now || this.revokedClients.has(token.clientId)) {
      this.counters().unauthorized++;
      return problem(
        401,
        'Unauthorized',
        token === undefined ? 'Missing or unknown access token.' : 'Access token expired.',
        path,
        media,
        [],
        { 'www-authenticate': 'Bearer' },
      );
    }
    identify(token.clientId);
    if (this.deniedClients.has(token.clientId)) {
      this.counters().forbidden++;
      return problem(403, 'Forbidden', 'The client is not allowed to use this resource.', path, media);
    }
    return null;
  }
}
