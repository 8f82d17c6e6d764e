import assert from 'node:assert';
import type { TransferInCommand, TransferOutCommand } from './command.js';
import { applied, deltas, leg, refuse, type Judgement } from './judgement.js';
import type { LocationRef, VariantRef } from './ledger-snapshot.js';
import { available, type LevelState } from './level.js';

/**
 * A transfer in two steps: transfer_out is a REQUEST (judged against available at the source,
 * refused when short) that moves the units from on_hand at the source to in_transit at the
 * destination; transfer_in is a fact (the units arrived) that moves them from in_transit to
 * on_hand where they arrive. `other` is the other end, resolved (and refused when its code is
 * unknown) before the judge runs.
 */

export function judgeTransferOut(
  command: TransferOutCommand,
  variant: VariantRef,
  location: LocationRef,
  other: LocationRef | undefined,
  level: LevelState,
): Judgement {
  assert(other !== undefined, 'the destination of a transfer_out is resolved before it is judged');
  if (other.id === location.id) return refuse('invalid', 'a transfer needs two different locations');
  if (available(level) < command.quantity) {
    return refuse(
      'insufficient',
      `available ${available(level)} at ${command.location}, transfer of ${command.quantity} refused`,
    );
  }
  return applied(
    'transfer_out',
    [
      leg(variant.id, location.id, deltas({ onHand: -command.quantity }), true, other.id),
      leg(variant.id, other.id, deltas({ inTransit: command.quantity }), false, location.id),
    ],
    command.sku,
    command.location,
  );
}

export function judgeTransferIn(
  command: TransferInCommand,
  variant: VariantRef,
  location: LocationRef,
  other: LocationRef | undefined,
  level: LevelState,
): Judgement {
  if (other && other.id === location.id) return refuse('invalid', 'a transfer needs two different locations');
  if (level.inTransit < command.quantity) {
    return refuse(
      'invalid',
      `in_transit is ${level.inTransit} at ${command.location}, cannot receive ${command.quantity} from a transfer`,
    );
  }
  const arrived = deltas({ inTransit: -command.quantity, onHand: command.quantity });
  return applied(
    'transfer_in',
    [leg(variant.id, location.id, arrived, false, other?.id ?? null)],
    command.sku,
    command.location,
  );
}
