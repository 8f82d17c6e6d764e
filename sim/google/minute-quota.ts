import { googleError, type GoogleAnswer } from './google-answers.js';

/**
 * The Merchant API's per-method, per-minute quotas (docs/channels/google-merchant-center.md,
 * Quotas): each method has its own count per minute, each call counts once. Windows are fixed
 * and aligned to whole minutes (Google does not say where its minutes start; any client that
 * keeps every 60 s interval under the figure passes). Over it: 429 RESOURCE_EXHAUSTED, counted as
 * a violation, which a test can require to stay 0.
 */
export class MinuteQuota {
  private readonly windows = new Map<string, { start: number; count: number }>();
  violations = 0;

  constructor(
    public perMinute: Record<string, number>,
    private readonly now: () => number,
  ) {}

  admit(method: string): GoogleAnswer | null {
    const limit = this.perMinute[method];
    if (limit === undefined) return null;
    const now = this.now();
    const start = now - (now % 60_000);
    const window = this.windows.get(method);
    if (window === undefined || window.start !== start) {
      this.windows.set(method, { start, count: 1 });
      return null;
    }
    if (window.count >= limit) {
      this.violations++;
      return googleError(
        429,
        `Quota exceeded for quota metric '${method} requests' and limit '${method} requests per minute' of service 'merchantapi.googleapis.com'.`,
      );
    }
    window.count++;
    return null;
  }
}
