import { limits } from '../core/limits.js';

/** The KPI window when none is named. */
export const defaultKpiWindow = '24h';

/**
 * A KPI window as `GET /v1/kpis?window=` and `onhand kpis --window` take it: `<n>h` hours or
 * `<n>d` days (`1h`, `24h`, `7d`), at least one hour and at most `limits.kpiWindowHoursMax`.
 * Returns its length in milliseconds, or why it is refused.
 */
export function parseKpiWindow(text: string): { ms: number } | { error: string } {
  const match = /^([1-9][0-9]{0,5})([hd])$/.exec(text);
  const refusal = {
    error: `must be a number of hours or days, like 1h, 24h or 7d, at most ${limits.kpiWindowHoursMax}h`,
  };
  if (!match) return refusal;
  const hours = Number(match[1]) * (match[2] === 'd' ? 24 : 1);
  if (hours > limits.kpiWindowHoursMax) return refusal;
  return { ms: hours * 60 * 60 * 1000 };
}
