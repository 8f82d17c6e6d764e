import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * One HTTP exchange with a platform over node:http(s) and a keep-alive agent, instead of global
 * fetch (bol.com and WooCommerce use it).
 *
 * Why not fetch (undici's WHATWG layer): it builds a Request, clones it, tees a ReadableStream
 * per body and an AbortSignal per deadline for every call. Measured with `node --cpu-prof` on
 * bench:propagation (2,000 movements/s, ~1,700 PATCHes/s, one process on a 2-core VM): fetch took
 * 17-19% of the onhand process's CPU, more than the dispatch bookkeeping, and the process was
 * CPU-bound. The same exchange through node:http with a keep-alive agent costs about a third
 * (figures in bench/README.md, Propagation). The behaviour is the same: one deadline for
 * sending AND reading the body, the caller's signal, every failure a `network` answer (the write
 * may have been applied: the caller retries with the same absolute quantity).
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
}

export class HttpTransport {
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;

  constructor(options: HttpTransportOptions = {}) {
    // Free sockets are unref'd by the agent (they never keep the process alive); lifo reuses the
    // warmest socket. The agent honours the server's Keep-Alive timeout hint.
    const agentOptions = { keepAlive: true, maxSockets: options.socketsMax ?? 64, scheduling: 'lifo' as const };
    this.httpAgent = new HttpAgent(agentOptions);
    this.httpsAgent = new HttpsAgent({ ...agentOptions, ...(options.ca === undefined ? {} : { ca: options.ca }) });
  }

  send(request: TransportRequest): Promise<TransportAnswer> {
    return new Promise((resolve) => {
      let settled = false;
      let timedOut = false;
      const url = new URL(request.url);
      const secure = url.protocol === 'https:';
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== null) headers['content-length'] = Buffer.byteLength(request.body);
      const finish = (answer: TransportAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        resolve(answer);
      };
      const fail = (error: unknown) =>
        finish({
          kind: 'network',
          reason: describe(error),
          timedOut,
          aborted: request.signal?.aborted === true && !timedOut,
        });
      const outgoing = (secure ? httpsRequest : httpRequest)(
        url,
        { method: request.method, headers, agent: secure ? this.httpsAgent : this.httpAgent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            finish({
              kind: 'answer',
              status: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', fail);
          response.on('aborted', () => fail(new Error('the connection closed before the whole answer arrived')));
        },
      );
      // 1. one deadline for the whole exchange, body included (a stalled body is a network fault)
      const timer = setTimeout(() => {
        timedOut = true;
        outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
      }, request.timeoutMs);
      // 2. the caller's signal
      const onAbort = () => outgoing.destroy(new Error('aborted by the caller'));
      if (request.signal?.aborted) onAbort();
      else request.signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.on('error', fail);
      outgoing.end(request.body ?? undefined);
    });
  }

  /** Close idle sockets (tests, shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
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
