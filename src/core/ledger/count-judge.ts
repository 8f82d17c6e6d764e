import type { EpochMs } from '../clock.js';
import type { BatchWorkingSet } from './batch-working-set.js';
import type { CountCommand } from './command.js';
import { applied, deltas, leg, refuse, type Judgement } from './judgement.js';
import type { LocationRef, VariantRef } from './ledger-snapshot.js';
import type { LevelState } from './level.js';

/**
 * A count sets on_hand to what was counted at its source time. It is absolute, so an older
 * count than the newest applied one (by time, or by the source's own version) is stale. A late
 * count lands under the movements that occurred after it: on_hand = counted + their deltas.
 */
export function judgeCount(
  batch: BatchWorkingSet,
  command: CountCommand,
  variant: VariantRef,
  location: LocationRef,
  level: LevelState,
  countedAt: EpochMs,
): Judgement {
  const sourceVersion = command.sourceVersion ?? null;
  if (level.lastCountAt !== null && countedAt <= level.lastCountAt) {
    return refuse('stale', `a count at ${new Date(level.lastCountAt).toISOString()} is already applied`);
  }
  if (
    sourceVersion !== null &&
    level.lastCountSourceVersion !== null &&
    sourceVersion <= level.lastCountSourceVersion
  ) {
    return refuse('stale', `a count with source version ${level.lastCountSourceVersion} is already applied`);
  }
  const target = command.onHand + batch.countBaseline(command.key, variant.id, location.id, countedAt);
  const counted = applied(
    'count',
    [leg(variant.id, location.id, deltas({ onHand: target - level.onHand }))],
    command.sku,
    command.location,
  );
  counted.count = { at: countedAt, sourceVersion };
  return counted;
}
