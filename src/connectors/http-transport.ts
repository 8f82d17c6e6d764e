import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { limits } from '../core/limits.js';

/**
 * One HTTP exchange with a platform over undici's connection pool (`Agent.request`, keep-alive
 * sockets per origin); every connector sends through it.
 *
 * Why this layer and not fetch or node:http: the exchange is the server's busiest outbound path
 * (a push per listing per channel: several exchanges per order on five channels).
 * `npm run bench:transport` (client CPU per exchange against a local server, on this project's
 * 2-core VM): 37-39 us here, 76-77 us through node:http with a keep-alive agent (this transport
 * until then), 353-369 us through the global fetch (it builds a Request, clones it,
 * tees a body stream per call). The behaviour is the same whichever layer: one deadline for
 * sending AND reading the body, the caller's signal, an answer body of at most
 * `limits.outboundAnswerBytesMax`, every failure a `network` answer (the write may have been
 * applied: the caller retries with the same absolute quantity).
 */

export interface TransportRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export type TransportAnswer =
  | { kind: 'answer'; status: number; headers: IncomingHttpHeaders; text: string }
  | { kind: 'network'; reason: string; timedOut: boolean; aborted: boolean };

export interface HttpTransportOptions {
  /** Sockets kept per origin; above pushConcurrencyMax + reads + polls. @default 64 */
  socketsMax?: number;
  /** Certificates trusted for https besides the system's (a shop's own CA; the simulators' in tests). */
  ca?: string | undefined;
  /** Longest answer body read; a longer one is a `network` answer. @default limits.outboundAnswerBytesMax */
  answerBytesMax?: number;
}

/**
 * The abort signal undici watches for one exchange: an EventEmitter (undici takes one in place
 * of an AbortSignal), much cheaper to make per request than an AbortController.
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: Error | undefined;

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

export class HttpTransport {
  private readonly agent: Agent;
  private readonly answerBytesMax: number;

  constructor(options: HttpTransportOptions = {}) {
    this.answerBytesMax = options.answerBytesMax ?? limits.outboundAnswerBytesMax;
    // Idle sockets never keep the process alive (undici unrefs them); the server's Keep-Alive
    // timeout hint is honoured.
    this.agent = new Agent({
      connections: options.socketsMax ?? 64,
      ...(options.ca === undefined ? {} : { connect: { ca: options.ca } }),
    });
  }

  async send(request: TransportRequest): Promise<TransportAnswer> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch (error) {
      return { kind: 'network', reason: describe(error), timedOut: false, aborted: false };
    }
    const deadline = new Deadline();
    let timedOut = false;
    // 1. one deadline for the whole exchange, body included (a stalled body is a network fault)
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort(new Error(`no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    // 2. the caller's signal
    const callerSignal = request.signal;
    const onAbort = () => deadline.abort(new Error('aborted by the caller'));
    if (callerSignal?.aborted) onAbort();
    else callerSignal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body,
        signal: deadline,
        // The deadline above bounds the exchange; undici's own phase timeouts stay out of its way.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      // 3. a bounded body: what the platform sends past the bound is never buffered. An answer
      // that states its length is read whole when it fits (HTTP framing holds it to that length);
      // one sent in chunks is counted as it comes.
      const tooLong = {
        kind: 'network',
        reason: `the answer is longer than ${this.answerBytesMax} bytes: not read`,
        timedOut: false,
        aborted: false,
      } as const;
      const stated = Number(headerValue(response.headers as IncomingHttpHeaders, 'content-length') ?? Number.NaN);
      let text: string;
      if (Number.isSafeInteger(stated)) {
        if (stated > this.answerBytesMax) {
          discard(response.body);
          return tooLong;
        }
        text = await response.body.text();
      } else {
        const chunks: Buffer[] = [];
        let bytes = 0;
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > this.answerBytesMax) {
            discard(response.body);
            return tooLong;
          }
          chunks.push(chunk);
        }
        text = Buffer.concat(chunks, bytes).toString('utf8');
      }
      return { kind: 'answer', status: response.statusCode, headers: response.headers as IncomingHttpHeaders, text };
    } catch (error) {
      const reason = deadline.aborted ? (deadline.reason as Error) : error;
      return {
        kind: 'network',
        reason: describe(reason),
        timedOut,
        aborted: callerSignal?.aborted === true && !timedOut,
      };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onAbort);
    }
  }

  /** Close idle sockets (tests, shutdown). */
  close(): void {
    void this.agent.destroy().catch(() => undefined);
  }
}

/** Drop an answer's body unread: the socket closes; the abort it raises is nobody's error. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as Error & { code?: unknown }).code;
  return `${error.message}${typeof code === 'string' ? ` (${code})` : ''}`;
}

/** A header as one string (the first, if repeated), or null. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
