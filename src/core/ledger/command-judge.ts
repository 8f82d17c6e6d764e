import type { EpochMs } from '../clock.js';
import { limits } from '../limits.js';
import type { BatchWorkingSet } from './batch-working-set.js';
import { otherLocationCode, type LedgerCommand, type LevelCommand } from './command.js';
import { judgeCount } from './count-judge.js';
import {
  isBundleFact,
  judgeAdjustment,
  judgeBundleFact,
  judgeCancellation,
  judgeOrder,
  judgeReturn,
  resolvePool,
  judgeSale,
  judgeShipment,
  judgeStatus,
} from './fact-judges.js';
import { futureRefusal, refuse, type Judgement } from './judgement.js';
import { judgeReceipt } from './receipt-judge.js';
import { judgeReserve, judgeResolution } from './reservation-judges.js';
import { judgeTransferIn, judgeTransferOut } from './transfer-judges.js';

/**
 * The judge of one command against the batch as earlier commands left it. The checks shared by
 * every command on a level run here, in the precedence of src/core/verdicts.ts: the variant,
 * the location (both ends of a transfer), a bundle taking only sales facts, a source time not
 * in the future; then the judge of the command's family.
 */
export function judgeCommand(batch: BatchWorkingSet, command: LedgerCommand, occurredAt: EpochMs): Judgement {
  if (command.type === 'commit' || command.type === 'release') return judgeResolution(batch, command, occurredAt);
  return judgeLevelCommand(batch, command, occurredAt);
}

function judgeLevelCommand(batch: BatchWorkingSet, command: LevelCommand, occurredAt: EpochMs): Judgement {
  const snapshot = batch.snapshot;
  const variant = snapshot.variants.get(command.sku);
  if (!variant) return refuse('unknown_variant', `no variant with sku ${JSON.stringify(command.sku)}`);
  const location = snapshot.locations.get(command.location);
  if (!location) return refuse('unknown_location', `no location with code ${JSON.stringify(command.location)}`);
  const otherCode = otherLocationCode(command);
  const other = otherCode === undefined ? undefined : snapshot.locations.get(otherCode);
  if (otherCode !== undefined && !other) {
    return refuse('unknown_location', `no location with code ${JSON.stringify(otherCode)}`);
  }
  const pool =
    command.type === 'order' || command.type === 'sale'
      ? resolvePool(command.pool, location, snapshot.locations)
      : null;
  if (pool && 'status' in pool) return pool;
  if (variant.isBundle) {
    if (!isBundleFact(command)) {
      return refuse(
        'invalid',
        `${command.sku} is a bundle: it holds no stock of its own; record ${command.type} movements on its components`,
      );
    }
    if (occurredAt > batch.now + limits.sourceClockSkewMsMax) return futureRefusal(occurredAt);
    return judgeBundleFact(command, variant, location, batch, pool);
  }
  if (occurredAt > batch.now + limits.sourceClockSkewMsMax) return futureRefusal(occurredAt);
  const level = batch.touch(variant.id, location.id);
  switch (command.type) {
    case 'receipt':
      return judgeReceipt(batch, command, variant, location);
    case 'adjustment':
      return judgeAdjustment(command, variant, location, level);
    case 'count':
      return judgeCount(batch, command, variant, location, level, occurredAt);
    case 'transfer_out':
      return judgeTransferOut(command, variant, location, other, level);
    case 'transfer_in':
      return judgeTransferIn(command, variant, location, other, level);
    case 'status':
      return judgeStatus(command, variant, location, level);
    case 'order':
      return judgeOrder(command, variant, location, pool, batch);
    case 'cancellation':
      return judgeCancellation(command, variant, location, level);
    case 'shipment':
      return judgeShipment(command, variant, location, level);
    case 'sale':
      return judgeSale(command, variant, location, pool, batch);
    case 'return':
      return judgeReturn(command, variant, location);
    case 'reserve':
      return judgeReserve(batch, command, variant, location, level);
  }
}
