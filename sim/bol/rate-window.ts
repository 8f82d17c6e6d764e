import type { BolSimulatorFaults, BolSimulatorRateRule, BolSimulatorStats } from './bol-options.js';
import { type HttpAnswer, problem } from './problem-answer.js';

interface Window {
  start: number;
  count: number;
}

/**
 * bol's rate limits (docs/channels/bol.md, Rate limits): fixed windows per (client, rule), aligned to
 * multiples of their length; storms first (bol's own), then the window of the matching rule. It
 * counts 429s the client caused and requests that arrive before a Retry-After it gave has elapsed.
 */
export class RateWindows {
  private readonly windows = new Map<string, Window>();
  private readonly retryAfterUntil = new Map<string, { from: number; until: number }>();

  constructor(
    private readonly rules: readonly BolSimulatorRateRule[],
    private readonly retryAfterGraceMs: number,
    private readonly now: () => number,
    private readonly faults: () => BolSimulatorFaults,
    private readonly counters: () => BolSimulatorStats,
  ) {}

  /** The x-ratelimit headers of an admitted request, or the 429 Problem. */
  admit(
    clientId: string,
    method: string,
    path: string,
    media: string,
    now: number,
  ): { headers: Record<string, string> } | HttpAnswer {
    const rule = this.rules.find((candidate) => candidate.methods.includes(method) && candidate.path.test(path));
    let rateHeaders: Record<string, string> = {};
    if (rule !== undefined) {
      const key = `${clientId}\u0000${rule.name}`;
      const previous = this.retryAfterUntil.get(key);
      if (previous !== undefined && now >= previous.from + this.retryAfterGraceMs && now < previous.until) {
        this.counters().retryAfterViolations++;
      }
      const windowStart = Math.floor(now / rule.windowMs) * rule.windowMs;
      let window = this.windows.get(key);
      if (window === undefined || window.start !== windowStart) {
        window = { start: windowStart, count: 0 };
        this.windows.set(key, window);
      }
      const resetSeconds = Math.max(1, Math.ceil((windowStart + rule.windowMs - now) / 1000));
      if (this.faults().throttleStormNext > 0) {
        this.faults().throttleStormNext--;
        this.counters().injectedThrottles++;
        return this.throttle(key, rule, this.faults().throttleStormRetryAfterSeconds, path, media);
      }
      if (window.count >= rule.capacity) {
        this.counters().rateLimitViolations++;
        return this.throttle(key, rule, resetSeconds, path, media);
      }
      window.count++;
      this.counters().requestsByRule[rule.name] = (this.counters().requestsByRule[rule.name] ?? 0) + 1;
      rateHeaders = {
        'x-ratelimit-limit': String(rule.capacity),
        'x-ratelimit-remaining': String(rule.capacity - window.count),
        'x-ratelimit-reset': String(resetSeconds),
      };
    }

    return { headers: rateHeaders };
  }

  private throttle(
    key: string,
    rule: BolSimulatorRateRule,
    retryAfterSeconds: number,
    path: string,
    media: string,
  ): HttpAnswer {
    const now = this.now();
    this.retryAfterUntil.set(key, { from: now, until: now + retryAfterSeconds * 1000 });
    return problem(
      429,
      'Too Many Requests',
      `Rate limit of ${rule.capacity} requests per ${rule.windowMs / 1000} s exceeded.`,
      path,
      media,
      [],
      {
        'retry-after': String(retryAfterSeconds),
        'x-ratelimit-limit': String(rule.capacity),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(retryAfterSeconds),
      },
    );
  }
}
