import assert from 'node:assert';
import { limits } from '../core/limits.js';

/**
 * Retry policy as a validated value, after Temporal's compileRetryPolicy (the promise it serves:
 * docs/RELIABILITY.md, section 13):
 * delay = min(initial x coefficient^(attempt-1), max) x (0.5 + random/2), i.e. capped
 * exponential backoff with jitter; a platform's Retry-After overrides it (it is never shorter
 * than what the platform asked). After `attemptsMax` failed attempts the listing goes to the
 * dead-letter list, keeping its newest desired value.
 */
export interface RetryPolicy {
  /** @default limits.retryInitialDelayMs */
  initialDelayMs: number;
  /** @default limits.retryBackoffCoefficient */
  backoffCoefficient: number;
  /** @default limits.retryDelayMsMax */
  delayMsMax: number;
  /** @default limits.retryAttemptsMax */
  attemptsMax: number;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  initialDelayMs: limits.retryInitialDelayMs,
  backoffCoefficient: limits.retryBackoffCoefficient,
  delayMsMax: limits.retryDelayMsMax,
  attemptsMax: limits.retryAttemptsMax,
});

export class RetryPolicyError extends Error {
  readonly code = 'ONH_ERR_CONFIG';
}

export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const problems: string[] = [];
  if (!(Number.isInteger(policy.initialDelayMs) && policy.initialDelayMs >= 1))
    problems.push('initialDelayMs must be a whole number >= 1');
  if (!(policy.backoffCoefficient >= 1 && policy.backoffCoefficient <= limits.retryBackoffCoefficientCeiling))
    problems.push(`backoffCoefficient must be between 1 and ${limits.retryBackoffCoefficientCeiling}`);
  if (!(Number.isInteger(policy.delayMsMax) && policy.delayMsMax >= policy.initialDelayMs))
    problems.push('delayMsMax must be >= initialDelayMs');
  if (
    !(
      Number.isInteger(policy.attemptsMax) &&
      policy.attemptsMax >= 1 &&
      policy.attemptsMax <= limits.retryAttemptsCeiling
    )
  )
    problems.push(`attemptsMax must be between 1 and ${limits.retryAttemptsCeiling}`);
  if (problems.length > 0) throw new RetryPolicyError(`invalid retry policy: ${problems.join('; ')}`);
  return Object.freeze({ ...policy });
}

/**
 * Delay before attempt `attempt + 1`, after `attempt` failures (attempt >= 1).
 * @param random a number in [0, 1) (injected: tests pin it)
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: number, retryAfterMs?: number): number {
  assert(attempt >= 1);
  const exponential = Math.min(policy.initialDelayMs * policy.backoffCoefficient ** (attempt - 1), policy.delayMsMax);
  const jittered = Math.round(exponential * (0.5 + random / 2));
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.ceil(retryAfterMs));
}
