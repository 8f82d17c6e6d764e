import { HttpTransport } from '../http-transport.js';
import type { GmcAuth } from './gmc-auth.js';
import { GmcAuthError } from './gmc-auth.js';
import type { GmcAvailability } from './gmc-availability.js';
import { batchBody, batchBoundary, multipartBoundary, parseBatchAnswer } from './gmc-batch.js';
import { type GmcMethod, type GmcQuota, gmcFacts, gmcLimits } from './gmc-limits.js';
import { type PlatformCallResult, tokenFailure } from '../call-result.js';

/**
 * The HTTP layer of the Google Merchant Center connector, Merchant API Products v1
 * (docs/channels/google-merchant-center.md, Calls). Each call takes a token, takes a slot of its
 * method's minute budget (or answers "wait" without sending), sends with a deadline, renews the
 * token once on 401, and classifies Google's answer (`{error: {code, message, status}}`):
 * retryable 429 RESOURCE_EXHAUSTED, 5xx, 408, network and timeouts; permanent 400
 * INVALID_ARGUMENT, 403 PERMISSION_DENIED, 404 NOT_FOUND and the rest. It never throws for an answer.
 *
 * Several inserts go as the nested calls of one HTTP batch request (insertProductInputs), each
 * still counted, budgeted and classified as a call of its own.
 *
 * Calls go over the connectors' shared HTTP transport (../http-transport.ts, keep-alive sockets),
 * not global fetch: in a CPU profile of bench:order-latency (200 orders/s), when every insert was
 * a request of its own, fetch was 10% of the server's CPU for Google alone.
 */

export interface GmcCustomAttribute {
  name?: string;
  value?: string;
}

export interface GmcProductInput {
  offerId: string;
  contentLanguage: string;
  feedLabel: string;
  productAttributes: { availability: GmcAvailability; availabilityDate?: string };
  customAttributes: GmcCustomAttribute[];
}

/** The processed product, as far as the connector reads it. */
export interface GmcProduct {
  name?: string;
  offerId?: string;
  contentLanguage?: string;
  feedLabel?: string;
  productAttributes?: { availability?: string; availabilityDate?: string };
  customAttributes?: GmcCustomAttribute[];
}

export type GmcCallResult<T> = PlatformCallResult<
  T,
  {
    /** The batch request itself was refused as a request (400, 404, 405, 413, 415): none of its calls ran. */
    batchRefused?: true;
  }
>;

export interface GmcClientConfig {
  /** Origin, e.g. https://merchantapi.googleapis.com. */
  baseUrl: string;
  /** The Merchant Center account id. */
  account: string;
  /** The data source id the inputs go to (a supplemental API source: only availability comes from onhand). */
  dataSource: string;
  auth: GmcAuth;
  quota: GmcQuota;
  requestTimeoutMs?: number;
  limiterWaitMsMax?: number;
}

export class GmcClient {
  private readonly baseUrl: string;
  private readonly transport: HttpTransport;

  constructor(private readonly config: GmcClientConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    // The transport's default of 64 sockets per origin is above every claim loop's pushes in flight plus a read-back.
    this.transport = new HttpTransport();
  }

  /** The path of `productInputs.insert` into the channel's data source. */
  private insertPath(): string {
    const account = encodeURIComponent(this.config.account);
    const dataSource = `accounts/${this.config.account}/dataSources/${this.config.dataSource}`;
    return `/products/v1/accounts/${account}/productInputs:insert?dataSource=${encodeURIComponent(dataSource)}`;
  }

  /** `productInputs.insert`: replaces the input of this offer in the data source (absolute, idempotent). */
  insertProductInput(input: GmcProductInput, signal?: AbortSignal): Promise<GmcCallResult<unknown>> {
    return this.call('insert', 'POST', this.insertPath(), input, signal);
  }

  /**
   * Several `productInputs.insert` calls as the nested calls of HTTP batch requests
   * (`/batch/products/v1`, gmc-batch.ts), one result per input in the same order. Each nested
   * insert takes its own slot of the insert budget first (Google counts each) and leaves as soon
   * as it has one, as a lone insert would: the inputs whose slots come in the same turn of the
   * event loop go together in one batch, and one whose slot comes later (after a wait of at most
   * `limiterWaitMsMax`) goes in a later one, so the sliding log never records a call earlier than
   * it was sent. An input whose slot would wait longer is not sent and answers retry. A lost or
   * unreadable answer leaves every input of its batch retryable ("it may have been applied": an
   * insert is absolute, so sending it again is harmless).
   */
  async insertProductInputs(
    inputs: readonly GmcProductInput[],
    signal?: AbortSignal,
  ): Promise<GmcCallResult<unknown>[]> {
    if (inputs.length === 1) return [await this.insertProductInput(inputs[0]!, signal)];
    const what = 'google productInputs.insert';
    const token = await this.token();
    if (typeof token !== 'string') return inputs.map(() => token);
    const results = new Array<GmcCallResult<unknown>>(inputs.length);
    const batches: Promise<void>[] = [];
    let gathering: number[] | null = null;
    await Promise.all(
      inputs.map(async (_, index) => {
        const refused = await this.slot('insert', what, signal);
        if (refused !== null) {
          results[index] = refused;
          return;
        }
        if (gathering === null) {
          const batch: number[] = [];
          gathering = batch;
          batches.push(
            new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
              gathering = null;
              return this.sendBatch(inputs, batch, token, results, signal);
            }),
          );
        }
        gathering.push(index);
      }),
    );
    await Promise.all(batches);
    return results;
  }

  /** One batch request of the inputs at `indexes`, their slots taken; writes each one's result. */
  private async sendBatch(
    inputs: readonly GmcProductInput[],
    indexes: readonly number[],
    firstToken: string,
    results: GmcCallResult<unknown>[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const what = 'google productInputs.insert';
    let sending = indexes;
    const all = (result: GmcCallResult<unknown>) => {
      for (const index of sending) results[index] = result;
    };
    let token = firstToken;
    for (let attempt = 1; ; attempt++) {
      const boundary = batchBoundary();
      const path = this.insertPath();
      const timeoutMs = this.config.requestTimeoutMs ?? gmcLimits.requestTimeoutMs;
      const answer = await this.transport.send({
        method: 'POST',
        url: `${this.baseUrl}${gmcFacts.productsBatchPath}`,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'multipart/mixed',
          'content-type': `multipart/mixed; boundary=${boundary}`,
        },
        body: batchBody(
          boundary,
          sending.map((index) => ({
            id: `insert-${index}`,
            method: 'POST',
            path,
            body: JSON.stringify(inputs[index]),
          })),
        ),
        timeoutMs,
        signal,
      });
      if (answer.kind === 'network') {
        return all(networkFailure(`${what} (batch)`, answer, timeoutMs));
      }
      if (answer.status === 401 && attempt === 1) {
        // The batch's own credentials were refused: no nested call ran. Renew once and send again,
        // each call with a new slot taken now (the refused batch's slots stay spent: the log may
        // count more than Google did, never less), those without one answering retry.
        this.config.auth.invalidate(token);
        const renewed = await this.token();
        if (typeof renewed !== 'string') return all(renewed);
        token = renewed;
        const again: number[] = [];
        for (const index of sending) {
          const slot = await this.config.quota.acquire('insert', 0, signal).catch(() => null);
          if (slot?.ok === true) again.push(index);
          else
            results[index] = {
              kind: 'failed',
              retryable: true,
              status: 401,
              reason: `${what}: the batch's token was refused and no slot is left to send it again`,
              ...(slot?.ok === false ? { retryAfterMs: slot.waitMs } : {}),
            };
        }
        if (again.length === 0) return;
        sending = again;
        continue;
      }
      if (answer.status < 200 || answer.status >= 300) {
        const blockMs = this.config.quota.observe('insert', answer.status);
        const failed = classify<unknown>(`${what} (batch)`, answer.status, answer.text, blockMs);
        return all(
          failed.kind === 'failed' && batchRefusals.has(answer.status) ? { ...failed, batchRefused: true } : failed,
        );
      }
      const answerBoundary = multipartBoundary(answer.headers['content-type']);
      const parts = answerBoundary === null ? null : parseBatchAnswer(answerBoundary, answer.text);
      for (const index of sending) {
        const part = parts?.get(`insert-${index}`);
        if (part === undefined) {
          results[index] = {
            kind: 'failed',
            retryable: true,
            status: answer.status,
            reason: `${what}: the batch answer has no part for this input (it may have been applied)`,
          };
          continue;
        }
        const blockMs = this.config.quota.observe('insert', part.status);
        // A nested 401: the token ended between the batch and this call; the next push renews it.
        if (part.status === 401) this.config.auth.invalidate(token);
        results[index] =
          part.status === 401
            ? { kind: 'failed', retryable: true, status: 401, reason: `${what} answered 401 inside the batch` }
            : classify(what, part.status, part.text, blockMs);
      }
      return;
    }
  }

  /**
   * A slot of `method`'s minute budget, waiting at most `limiterWaitMsMax`: null once taken, else
   * the retryable failure that answers the call without sending it.
   */
  private async slot(
    method: GmcMethod,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<GmcCallResult<never> | null> {
    const waitMax = this.config.limiterWaitMsMax ?? gmcLimits.limiterWaitMsMax;
    const slot = await this.config.quota.acquire(method, waitMax, signal).catch(() => null);
    if (slot === null)
      return { kind: 'failed', retryable: true, status: null, reason: `${what}: aborted waiting for the quota` };
    if (slot.ok) return null;
    return {
      kind: 'failed',
      retryable: true,
      status: null,
      reason: `${what}: per-minute quota spent: not sent`,
      retryAfterMs: slot.waitMs,
    };
  }

  /** A bearer token, or the failure to answer every call with when none can be had. */
  private async token(): Promise<string | GmcCallResult<never>> {
    try {
      return await this.config.auth.accessToken();
    } catch (error) {
      return tokenFailure(error instanceof GmcAuthError ? error : new GmcAuthError('google token failed', true));
    }
  }

  /** `products.get` of `contentLanguage~feedLabel~offerId`: the processed product, 404 when Google has none. */
  getProduct(productId: string, signal?: AbortSignal): Promise<GmcCallResult<GmcProduct>> {
    return this.call(
      'get',
      'GET',
      `/products/v1/accounts/${encodeURIComponent(this.config.account)}/products/${encodeURIComponent(productId)}`,
      undefined,
      signal,
    );
  }

  /** `products.list`, a page of processed products. */
  listProducts(
    pageSize: number,
    pageToken: string | null,
    signal?: AbortSignal,
  ): Promise<GmcCallResult<{ products?: GmcProduct[]; nextPageToken?: string }>> {
    const query = new URLSearchParams({ pageSize: String(pageSize) });
    if (pageToken !== null) query.set('pageToken', pageToken);
    return this.call(
      'list',
      'GET',
      `/products/v1/accounts/${encodeURIComponent(this.config.account)}/products?${query.toString()}`,
      undefined,
      signal,
    );
  }

  private async call<T>(
    method: GmcMethod,
    verb: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<GmcCallResult<T>> {
    const what = `google ${method === 'insert' ? 'productInputs.insert' : `products.${method}`}`;
    for (let attempt = 1; ; attempt++) {
      const token = await this.token();
      if (typeof token !== 'string') return token;
      const slot = await this.slot(method, what, signal);
      if (slot !== null) return slot;
      const timeoutMs = this.config.requestTimeoutMs ?? gmcLimits.requestTimeoutMs;
      const answer = await this.transport.send({
        method: verb,
        url: `${this.baseUrl}${path}`,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        timeoutMs,
        signal,
      });
      if (answer.kind === 'network') {
        return networkFailure(what, answer, timeoutMs);
      }
      const { status, text } = answer;
      const blockMs = this.config.quota.observe(method, status);
      if (status === 401 && attempt === 1) {
        this.config.auth.invalidate(token);
        continue;
      }
      return classify<T>(what, status, text, blockMs);
    }
  }
}

/** An exchange that got no answer: retryable, and the call may have been applied. */
function networkFailure(
  what: string,
  answer: { timedOut: boolean; aborted: boolean },
  timeoutMs: number,
): GmcCallResult<never> {
  const why = answer.timedOut ? `no answer within ${timeoutMs} ms` : answer.aborted ? 'aborted' : 'network error';
  return { kind: 'failed', retryable: true, status: null, reason: `${what}: ${why} (it may have been applied)` };
}

/** Answers to a batch request that refuse the request as such, not the calls inside it. */
const batchRefusals = new Set([400, 404, 405, 413, 415]);

/** Google's answer to one call (or one nested call of a batch), as the connector acts on it. */
function classify<T>(what: string, status: number, text: string, blockMs: number | undefined): GmcCallResult<T> {
  if (status >= 200 && status < 300) {
    try {
      return { kind: 'ok', status, body: (text === '' ? {} : JSON.parse(text)) as T };
    } catch {
      return { kind: 'failed', retryable: true, status, reason: `${what} answered ${status} with a malformed body` };
    }
  }
  const detail = googleError(text);
  const reason = `${what} answered ${status}${detail === '' ? '' : ` ${detail}`}`;
  if (status === 429) return { kind: 'failed', retryable: true, status, reason, retryAfterMs: blockMs ?? 10_000 };
  if (status >= 500 || status === 408) return { kind: 'failed', retryable: true, status, reason };
  return { kind: 'failed', retryable: false, status, reason };
}

/** `STATUS: message` from Google's error body, shortened; '' when it has none. */
function googleError(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { status?: unknown; message?: unknown } };
    const status = typeof parsed.error?.status === 'string' ? parsed.error.status : '';
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message.slice(0, 300) : '';
    return [status, message].filter((part) => part !== '').join(': ');
  } catch {
    return '';
  }
}
