import type {
  AdjustmentCommand,
  CancellationCommand,
  OrderCommand,
  ReturnCommand,
  SaleCommand,
  ShipmentCommand,
  StatusCommand,
} from './command.js';
import { applied, bucketField, deltas, leg, refuse, type Judgement, type Leg, type Refusal } from './judgement.js';
import type { LocationRef, VariantRef } from './ledger-snapshot.js';
import { available, type LevelState } from './level.js';

/**
 * Judges of the facts on one plain variant's level: they record what already happened, so most
 * are applied whatever the level holds. Refused only when the level cannot hold the result
 * (a bucket below zero) or the fact names stock that is not there (cancel or ship more than
 * orders reserve). An order or sale driving available below zero is recorded as an oversell.
 */

/** Levels as the batch sees them (the working set). */
interface LevelSource {
  touch(variantId: number, locationId: number): LevelState;
}

/** An order's or sale's pool, resolved: its codes as named (the own location added last when missing), and their ids. */
export interface ResolvedPool {
  codes: string[];
  ids: number[];
}

/** The pool a command names, resolved against the snapshot's locations; a code it does not know refuses the command. */
export function resolvePool(
  pool: readonly string[] | undefined,
  own: LocationRef,
  locations: ReadonlyMap<string, LocationRef>,
): ResolvedPool | Refusal | null {
  if (pool === undefined) return null;
  const codes: string[] = [];
  const ids: number[] = [];
  for (const code of [...pool, own.code]) {
    if (codes.includes(code)) continue;
    const location = locations.get(code);
    if (!location) return refuse('unknown_location', `no location with code ${JSON.stringify(code)} in the pool`);
    codes.push(code);
    ids.push(location.id);
  }
  return { codes, ids };
}

/**
 * Units by which `units` more sold drive the sum of available over the pool's levels (of one
 * variant) further below zero: 0 while the pool as a whole still has them, whatever the one
 * location booked holds.
 */
export function poolOversold(levels: LevelSource, variantId: number, pool: ResolvedPool, units: number): number {
  let before = 0;
  for (const locationId of pool.ids) before += available(levels.touch(variantId, locationId));
  return Math.max(0, units - before) - Math.max(0, -before);
}

/** Sales facts a bundle takes: each becomes one movement per component (kit quantity x per-kit quantity). */
export type BundleFactCommand = OrderCommand | CancellationCommand | ShipmentCommand | SaleCommand | ReturnCommand;

export function isBundleFact(command: { type: string }): command is BundleFactCommand {
  const type = command.type;
  return type === 'order' || type === 'cancellation' || type === 'shipment' || type === 'sale' || type === 'return';
}

export function judgeAdjustment(
  command: AdjustmentCommand,
  variant: VariantRef,
  location: LocationRef,
  level: LevelState,
): Judgement {
  // Only a decrease can be refused: raising an on_hand that facts drove negative is always right.
  if (command.quantity < 0 && level.onHand + command.quantity < 0) {
    return refuse(
      'insufficient',
      `adjustment of ${command.quantity} would leave on_hand at ${level.onHand + command.quantity}`,
    );
  }
  return applied(
    'adjustment',
    [leg(variant.id, location.id, deltas({ onHand: command.quantity }))],
    command.sku,
    command.location,
  );
}

export function judgeStatus(
  command: StatusCommand,
  variant: VariantRef,
  location: LocationRef,
  level: LevelState,
): Judgement {
  if (command.from === command.to) return refuse('invalid', 'a status change needs two different buckets');
  const from = bucketField[command.from];
  if (level[from] < command.quantity) {
    return refuse(
      'insufficient',
      `${command.from} is ${level[from]}, cannot move ${command.quantity} to ${command.to}`,
    );
  }
  const moved = deltas({ [from]: -command.quantity, [bucketField[command.to]]: command.quantity });
  return applied('status', [leg(variant.id, location.id, moved)], command.sku, command.location);
}

export function judgeOrder(
  command: OrderCommand,
  variant: VariantRef,
  location: LocationRef,
  pool: ResolvedPool | null,
  levels: LevelSource,
): Judgement {
  const ordered = leg(variant.id, location.id, deltas({ reserved: command.quantity }));
  if (command.moved === true) ordered.oversold = 0;
  else {
    ordered.sold = command.quantity;
    if (pool) ordered.oversold = poolOversold(levels, variant.id, pool, command.quantity);
  }
  const judged = applied('order', [ordered], command.sku, command.location);
  judged.pool = pool ? pool.codes : null;
  return judged;
}

export function judgeCancellation(
  command: CancellationCommand,
  variant: VariantRef,
  location: LocationRef,
  level: LevelState,
): Judgement {
  if (level.reserved - level.held < command.quantity) {
    return refuse(
      'invalid',
      `reserved for orders is ${level.reserved - level.held}, cannot cancel ${command.quantity}`,
    );
  }
  return applied(
    'cancellation',
    [leg(variant.id, location.id, deltas({ reserved: -command.quantity }))],
    command.sku,
    command.location,
  );
}

export function judgeShipment(
  command: ShipmentCommand,
  variant: VariantRef,
  location: LocationRef,
  level: LevelState,
): Judgement {
  if (level.reserved - level.held < command.quantity) {
    return refuse(
      'invalid',
      `reserved for orders is ${level.reserved - level.held}, cannot ship ${command.quantity}: record the order (or commit the reservation) first, or a sale`,
    );
  }
  const shipped = deltas({ reserved: -command.quantity, onHand: -command.quantity });
  return applied('shipment', [leg(variant.id, location.id, shipped)], command.sku, command.location);
}

export function judgeSale(
  command: SaleCommand,
  variant: VariantRef,
  location: LocationRef,
  pool: ResolvedPool | null,
  levels: LevelSource,
): Judgement {
  const sale = leg(variant.id, location.id, deltas({ onHand: -command.quantity }));
  sale.sold = command.quantity;
  if (pool) sale.oversold = poolOversold(levels, variant.id, pool, command.quantity);
  const judged = applied('sale', [sale], command.sku, command.location);
  judged.pool = pool ? pool.codes : null;
  return judged;
}

export function judgeReturn(command: ReturnCommand, variant: VariantRef, location: LocationRef): Judgement {
  const returned = deltas({ [bucketField[command.to ?? 'quarantine']]: command.quantity });
  return applied('return', [leg(variant.id, location.id, returned)], command.sku, command.location);
}

/**
 * A kit sold (or cancelled, shipped, returned) on a channel moves its components: one leg per
 * component, quantity x per-kit quantity, each judged like the same fact on a plain variant.
 * Selling a kit thereby lowers every other kit that shares a component. `levelOf` gives a
 * component's level as the batch sees it. With a pool, an order's or sale's oversold units are
 * measured per component over the pool's levels of that component.
 */
export function judgeBundleFact(
  command: BundleFactCommand,
  bundle: VariantRef,
  location: LocationRef,
  levelOf: LevelSource,
  pool: ResolvedPool | null,
): Judgement {
  const components = bundle.components ?? [];
  const first = components[0];
  if (first === undefined) return refuse('invalid', `bundle ${bundle.sku} has no components`);
  const legs: Leg[] = [];
  for (const component of components) {
    const units = command.quantity * component.quantity;
    const level = levelOf.touch(component.variantId, location.id);
    switch (command.type) {
      case 'order':
      case 'sale': {
        const sold = leg(
          component.variantId,
          location.id,
          deltas(command.type === 'order' ? { reserved: units } : { onHand: -units }),
        );
        if (command.type === 'order' && command.moved === true) sold.oversold = 0;
        else {
          sold.sold = units;
          if (pool) sold.oversold = poolOversold(levelOf, component.variantId, pool, units);
        }
        legs.push(sold);
        break;
      }
      case 'cancellation':
      case 'shipment':
        if (level.reserved - level.held < units) {
          return refuse(
            'invalid',
            `reserved for orders of component ${component.sku} is ${level.reserved - level.held}, cannot ${command.type === 'shipment' ? 'ship' : 'cancel'} ${units}`,
          );
        }
        legs.push(
          leg(
            component.variantId,
            location.id,
            deltas(command.type === 'shipment' ? { reserved: -units, onHand: -units } : { reserved: -units }),
          ),
        );
        break;
      case 'return':
        legs.push(leg(component.variantId, location.id, deltas({ [bucketField[command.to ?? 'quarantine']]: units })));
        break;
    }
  }
  // For a bundle fact the level shown is its first component's (leg 0).
  const judged = applied(command.type, legs, first.sku, command.location);
  judged.bundleSku = bundle.sku;
  if (pool && (command.type === 'order' || command.type === 'sale')) judged.pool = pool.codes;
  return judged;
}
