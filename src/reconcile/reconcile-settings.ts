import { limits } from '../core/limits.js';
import type { ChannelRecord } from '../store/availability-store.js';

/**
 * A channel's own reconcile schedule, `settings.reconcile` of the channel:
 * `{ "targetedIntervalMs": 120000, "fullIntervalMs": 43200000 }`, each optional (the default of
 * src/core/limits.ts otherwise) and bounded there. Checked when the channel is stored (a 400
 * naming the field), so the schedule never meets a value it cannot keep.
 */
export interface ChannelReconcileSettings {
  targetedIntervalMs: number;
  fullIntervalMs: number;
}

const fields = {
  targetedIntervalMs: [limits.reconcileTargetedIntervalMsMin, limits.reconcileTargetedIntervalMsMax],
  fullIntervalMs: [limits.reconcileFullIntervalMsMin, limits.reconcileFullIntervalMsMax],
} as const;

/** Why `settings.reconcile` would be refused, field by field (paths relative to `reconcile`). */
export function reconcileSettingsFaults(reconcile: unknown): { path: string; message: string }[] {
  if (reconcile === undefined) return [];
  if (reconcile === null || typeof reconcile !== 'object' || Array.isArray(reconcile))
    return [{ path: '', message: 'must be an object with targetedIntervalMs and/or fullIntervalMs' }];
  const faults: { path: string; message: string }[] = [];
  for (const [key, value] of Object.entries(reconcile)) {
    const bounds = fields[key as keyof typeof fields];
    if (bounds === undefined) {
      faults.push({
        path: `/${key}`,
        message: 'is not a setting of channel reconciliation (targetedIntervalMs, fullIntervalMs)',
      });
      continue;
    }
    const [min, max] = bounds;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      faults.push({ path: `/${key}`, message: `must be a whole number of milliseconds from ${min} to ${max}` });
  }
  return faults;
}

/** The channel's schedule: its own settings where valid, the defaults otherwise. */
export function channelReconcileSettings(channel: Pick<ChannelRecord, 'settings'>): ChannelReconcileSettings {
  const raw = channel.settings.reconcile;
  const valid = reconcileSettingsFaults(raw).length === 0 && raw !== undefined;
  const reconcile = valid ? (raw as Partial<ChannelReconcileSettings>) : {};
  return {
    targetedIntervalMs: reconcile.targetedIntervalMs ?? limits.reconcileTargetedIntervalMs,
    fullIntervalMs: reconcile.fullIntervalMs ?? limits.reconcileFullIntervalMs,
  };
}
