/**
 * What a connector's HTTP client answers for one platform call: the body of a success, or a
 * failure the connector acts on (retry it, after `retryAfterMs` when the platform or our own
 * limiter says when, or not). Each client adds what its platform tells besides (`Ok`, `Failed`).
 */
export type PlatformCallResult<T, Failed extends object = object, Ok extends object = object> =
  | ({ kind: 'ok'; status: number; body: T } & Ok)
  | ({
      kind: 'failed';
      retryable: boolean;
      /** HTTP status; null when nothing came back (network, timeout, our own limiter, the token). */
      status: number | null;
      reason: string;
      retryAfterMs?: number;
    } & Failed);

/** The failure a call answers when no token can be had: the token endpoint's own verdict. */
export function tokenFailure(error: {
  retryable: boolean;
  message: string;
  retryAfterMs?: number | undefined;
}): PlatformCallResult<never> {
  return {
    kind: 'failed',
    retryable: error.retryable,
    status: null,
    reason: error.message,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  };
}
