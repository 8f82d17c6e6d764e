import { createHmac, randomBytes } from 'node:crypto';

/**
 * OAuth 1.0a one-legged signatures, as WooCommerce takes them on a shop served over plain HTTP
 * (docs/channels/woocommerce.md, Authentication): the consumer key and secret never travel; each
 * request carries `oauth_consumer_key`, `oauth_timestamp`, `oauth_nonce`,
 * `oauth_signature_method=HMAC-SHA256` and `oauth_signature` in its query string.
 *
 * signature = base64(HMAC-SHA256(key = consumer_secret + "&", base string)), the base string
 * being `METHOD&enc(url without query)&enc(sorted "k=v" pairs joined by "&")` with RFC 3986
 * percent-encoding of every key and value (RFC 5849, section 3.4). WooCommerce refuses a
 * timestamp older than 15 minutes and a nonce it has seen within that time.
 */

/** RFC 3986 unreserved characters stay; everything else is %XX (uppercase). */
export function oauthEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The signature base string of a request: method, the URL without its query, every parameter. */
export function oauthBaseString(method: string, url: URL, params: readonly (readonly [string, string])[]): string {
  const pairs = params
    .map(([key, value]) => [oauthEncode(key), oauthEncode(value)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const base = `${url.protocol}//${url.host}${url.pathname}`;
  return `${method.toUpperCase()}&${oauthEncode(base)}&${oauthEncode(pairs)}`;
}

export function oauthSignature(baseString: string, consumerSecret: string): string {
  return createHmac('sha256', `${consumerSecret}&`).update(baseString).digest('base64');
}

/** `url` with its query extended by the OAuth parameters and the signature over all of them. */
export function signOAuthUrl(
  method: string,
  url: URL,
  credentials: { consumerKey: string; consumerSecret: string },
  nowMs: number,
): URL {
  const signed = new URL(url.toString());
  signed.searchParams.set('oauth_consumer_key', credentials.consumerKey);
  signed.searchParams.set('oauth_nonce', randomBytes(16).toString('hex'));
  signed.searchParams.set('oauth_signature_method', 'HMAC-SHA256');
  signed.searchParams.set('oauth_timestamp', String(Math.floor(nowMs / 1000)));
  const params = [...signed.searchParams.entries()];
  signed.searchParams.set(
    'oauth_signature',
    oauthSignature(oauthBaseString(method, signed, params), credentials.consumerSecret),
  );
  return signed;
}
