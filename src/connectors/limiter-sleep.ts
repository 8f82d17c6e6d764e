/**
 * The waits of the connectors' rate limiters (bol.com, WooCommerce, Amazon, Google Merchant
 * Center): a sleep that the caller's signal cuts short, and one that a limiter can also end
 * early when something it waits on changed (an answer came back, a slot was freed).
 */

/** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleepOrWake(ms, null, signal);
}

/**
 * As `sleep`, and also resolves once woken: the wake function sits in `waiters` while it waits,
 * and the limiter calls every waiter when a waiting acquire should look again.
 */
export function sleepOrWake(ms: number, waiters: Set<() => void> | null, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      waiters?.delete(wake);
    };
    const wake = () => {
      done();
      resolve();
    };
    const onAbort = () => {
      done();
      reject(signal?.reason);
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    waiters?.add(wake);
  });
}
