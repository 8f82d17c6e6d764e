import { randomBytes } from 'node:crypto';

/**
 * Google's HTTP batch format as the Merchant API takes it (docs/channels/google-merchant-center.md,
 * Calls): one `multipart/mixed` request to `/batch/{sub-api}/v1` whose parts are each a whole
 * HTTP request (`Content-Type: application/http`, a `Content-ID` of our own), answered by one
 * `multipart/mixed` response whose parts are each a whole HTTP response, labelled
 * `response-<Content-ID>` and not necessarily in the order sent. Each nested call is one call of
 * its method for the quotas, so batching saves connections, round trips and CPU, never quota.
 */

export interface BatchPart {
  /** Our label for the part; the answer's part carries `response-<id>`. */
  id: string;
  method: 'GET' | 'POST';
  /** Path and query from the API's origin (`/products/v1/...`), never the origin itself. */
  path: string;
  /** JSON text, or null for a call without a body. */
  body: string | null;
}

export interface BatchAnswerPart {
  status: number;
  text: string;
}

/** A boundary that no JSON body of ours can contain (no `--` followed by it). */
export function batchBoundary(): string {
  return `onhand_batch_${randomBytes(12).toString('hex')}`;
}

export function batchBody(boundary: string, parts: readonly BatchPart[]): string {
  let text = '';
  for (const part of parts) {
    text += `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${part.id}>\r\n\r\n`;
    text += `${part.method} ${part.path} HTTP/1.1\r\naccept: application/json\r\n`;
    text += part.body === null ? '\r\n' : `content-type: application/json\r\n\r\n${part.body}`;
    text += '\r\n';
  }
  return `${text}--${boundary}--\r\n`;
}

/** The boundary of a `multipart/mixed` content type, or null when it is not one. */
export function multipartBoundary(contentType: string | string[] | undefined): string | null {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  if (value === undefined || !/^\s*multipart\/mixed\s*[;,]/i.test(value)) return null;
  const match = /boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;,"]{1,200}))/i.exec(value);
  return match === null ? null : (match[1] ?? match[2]!);
}

/** Headers and the rest of one message, split at the first empty line (CRLF or LF). */
function splitHead(text: string): { head: string[]; rest: string } | null {
  const match = /\r?\n\r?\n/.exec(text);
  if (match === null) return null;
  return { head: text.slice(0, match.index).split(/\r?\n/), rest: text.slice(match.index + match[0].length) };
}

/**
 * The nested answers of a batch response by the id their request part was sent with. Parts that
 * cannot be read, or that name no id, are left out: the caller treats a request part without an
 * answer as not known to have been applied. Null when the body is not a multipart body at all.
 */
export function parseBatchAnswer(boundary: string, text: string): Map<string, BatchAnswerPart> | null {
  const delimiter = `--${boundary}`;
  const segments = text.split(delimiter);
  if (segments.length < 2) return null;
  const answers = new Map<string, BatchAnswerPart>();
  // segments[0] is the preamble; a segment starting with `--` follows the close delimiter.
  for (const segment of segments.slice(1)) {
    if (segment.startsWith('--')) break;
    const part = splitHead(segment.replace(/^[ \t]*\r?\n/, ''));
    if (part === null) continue;
    const idHeader = part.head.find((line) => /^content-id\s*:/i.test(line));
    const id = idHeader
      ?.slice(idHeader.indexOf(':') + 1)
      .trim()
      .replace(/^<(.*)>$/, '$1')
      .replace(/^response-/, '');
    if (id === undefined || id === '') continue;
    const nested = splitHead(part.rest);
    const statusLine = (nested?.head[0] ?? part.rest.split(/\r?\n/, 1)[0] ?? '').trim();
    const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})(?:\s|$)/.exec(statusLine);
    if (status === null) continue;
    answers.set(id, { status: Number(status[1]), text: (nested?.rest ?? '').replace(/\r?\n$/, '') });
  }
  return answers;
}
