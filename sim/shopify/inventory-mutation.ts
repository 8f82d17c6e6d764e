import { createHash } from 'node:crypto';
import { cost } from './cost-bucket.js';
import { arrayInputMax, maxInputSize, type OperationPlan } from './graphql-error.js';
import { argumentValue, type OperationField } from './graphql-operation.js';
import type { ShopStats } from './shop-options.js';
import { gid, numericId, type ShopState } from './shop-state.js';

/**
 * Documented reasons for inventory changes (docs/channels/shopify.md, Push: inventorySetQuantities)
 * [2nd]; others -> INVALID_REASON.
 */
const reasons = new Set([
  'correction',
  'cycle_count_available',
  'damaged',
  'movement_created',
  'movement_updated',
  'movement_received',
  'movement_canceled',
  'other',
  'promotion',
  'quality_control',
  'received',
  'reservation_created',
  'reservation_deleted',
  'reservation_updated',
  'restock',
  'safety_stock',
  'shrinkage',
]);

const graphqlIntMax = 2_147_483_647;

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface SetQuantitiesInput {
  reason: string;
  name: string;
  referenceDocumentUri?: string | null;
  ignoreCompareQuantity?: boolean | null;
  quantities: {
    inventoryItemId: string;
    locationId: string;
    quantity: number;
    compareQuantity?: number | null;
    changeFromQuantity?: number | null;
  }[];
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= graphqlIntMax;
}

/** Coerce the variable like GraphQL would; null = fine, else the first problem. */
function coerceSetQuantitiesInput(
  value: unknown,
  allowed: { changeFromQuantity: boolean; legacy: boolean },
): { path: (string | number)[]; explanation: string } | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { path: [], explanation: 'Expected value to not be null' };
  const input = value as Record<string, unknown>;
  const inputFields = new Set([
    'reason',
    'name',
    'referenceDocumentUri',
    'quantities',
    ...(allowed.legacy ? ['ignoreCompareQuantity'] : []),
  ]);
  for (const key of Object.keys(input))
    if (!inputFields.has(key))
      return { path: [key], explanation: 'Field is not defined on InventorySetQuantitiesInput' };
  if (typeof input.reason !== 'string') return { path: ['reason'], explanation: 'Expected value to not be null' };
  if (typeof input.name !== 'string') return { path: ['name'], explanation: 'Expected value to not be null' };
  if (
    input.referenceDocumentUri !== undefined &&
    input.referenceDocumentUri !== null &&
    typeof input.referenceDocumentUri !== 'string'
  )
    return { path: ['referenceDocumentUri'], explanation: 'Could not coerce value to String' };
  if (
    input.ignoreCompareQuantity !== undefined &&
    input.ignoreCompareQuantity !== null &&
    typeof input.ignoreCompareQuantity !== 'boolean'
  )
    return { path: ['ignoreCompareQuantity'], explanation: 'Could not coerce value to Boolean' };
  if (!Array.isArray(input.quantities)) return { path: ['quantities'], explanation: 'Expected value to not be null' };
  const quantityFields = new Set([
    'inventoryItemId',
    'locationId',
    'quantity',
    ...(allowed.legacy ? ['compareQuantity'] : []),
    ...(allowed.changeFromQuantity ? ['changeFromQuantity'] : []),
  ]);
  for (const [index, entry] of input.quantities.entries()) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      return { path: ['quantities', index], explanation: 'Expected value to not be null' };
    const quantity = entry as Record<string, unknown>;
    for (const key of Object.keys(quantity))
      if (!quantityFields.has(key))
        return { path: ['quantities', index, key], explanation: 'Field is not defined on InventoryQuantityInput' };
    if (typeof quantity.inventoryItemId !== 'string')
      return { path: ['quantities', index, 'inventoryItemId'], explanation: 'Expected value to not be null' };
    if (typeof quantity.locationId !== 'string')
      return { path: ['quantities', index, 'locationId'], explanation: 'Expected value to not be null' };
    if (!isInt(quantity.quantity))
      return { path: ['quantities', index, 'quantity'], explanation: 'Could not coerce value to Int' };
    for (const key of ['compareQuantity', 'changeFromQuantity']) {
      if (quantity[key] !== undefined && quantity[key] !== null && !isInt(quantity[key]))
        return { path: ['quantities', index, key], explanation: 'Could not coerce value to Int' };
    }
  }
  return null;
}

/**
 * inventorySetQuantities(input: $input) [@idempotent(key: ...)].
 * 1. The input comes from the variables (the connector sends variables; inline objects are a
 *    simulator limit and answered with a GraphQL error).
 * 2. Variable coercion per version: unknown input fields (compareQuantity on 2026-04,
 *    changeFromQuantity on 2025-01), wrong types, Int beyond 32 bits -> GraphQL error, like
 *    graphql-ruby's "Variable $input ... was provided invalid value".
 * 3. More than 250 quantities -> MAX_INPUT_SIZE_EXCEEDED [doc: the limit; code unverified].
 * 4. The directive: the field's directive list is read by the operation splitter; `key:` is a
 *    string literal or a `$variable`. 2025-01 knows no such directive; 2026-04+ requires it.
 * 5. Execution (run): validate every quantity, collect userErrors; any -> nothing applied; else
 *    apply all and record one adjustment group.
 */
export function planSetQuantities(
  shop: ShopState,
  stats: ShopStats,
  field: OperationField,
  variables: Record<string, unknown>,
  version: string,
): OperationPlan {
  const input = /^\s*input\s*:\s*\$([_A-Za-z]\w*)\s*$/.exec(field.args);
  if (!input)
    return {
      errors: [
        {
          message: 'simulator: inventorySetQuantities reads its input from a variable ($input) only',
          extensions: { code: 'simulatorLimit' },
        },
      ],
    };
  const variableName = input[1]!;
  const value = variables[variableName];
  const ordinal = version === 'unstable' ? 999_999 : Number(version.replace('-', ''));
  const legacyAllowed = ordinal < 202604;
  const problem = coerceSetQuantitiesInput(value, { changeFromQuantity: ordinal >= 202601, legacy: legacyAllowed });
  if (problem) {
    return {
      errors: [
        {
          message: `Variable $${variableName} of type InventorySetQuantitiesInput! was provided invalid value for ${problem.path.join('.')} (${problem.explanation})`,
          extensions: { value, problems: [problem] },
        },
      ],
    };
  }
  const typed = value as SetQuantitiesInput;
  if (typed.quantities.length > arrayInputMax) return { errors: [maxInputSize(typed.quantities.length)] };
  if (typed.name === 'on_hand')
    return {
      errors: [
        { message: "simulator: only the 'available' quantity is modelled", extensions: { code: 'simulatorLimit' } },
      ],
    };

  let key: string | null = null;
  for (const directive of field.directives) {
    if (directive.name !== 'idempotent' || ordinal < 202601) {
      return {
        errors: [
          {
            message: `Directive '${directive.name}' is not defined`,
            extensions: { code: 'undefinedDirective', directiveName: directive.name },
          },
        ],
      };
    }
    const keyArgument = argumentValue(directive.args, 'key', variables);
    if (
      !keyArgument.found ||
      'unsupported' in keyArgument ||
      typeof keyArgument.value !== 'string' ||
      keyArgument.value.length === 0 ||
      keyArgument.value.length > 255
    ) {
      return {
        errors: [
          {
            message: "Argument 'key' on Directive 'idempotent' has an invalid value. Expected type 'String!'.",
            extensions: { code: 'argumentLiteralsIncompatible' },
          },
        ],
      };
    }
    key = keyArgument.value;
  }
  if (key === null && ordinal >= 202604) {
    // "calling these mutations without an idempotency directive will result in an error at
    // runtime" [doc changelog]; the exact answer is unverified.
    return {
      errors: [
        { message: 'The @idempotent directive is required for this mutation.', extensions: { code: 'BAD_REQUEST' } },
      ],
    };
  }
  const responseKey = field.alias ?? field.name;
  return {
    requestedCost: cost.mutation,
    mutation: true,
    idempotency:
      key === null
        ? null
        : { key, variablesHash: createHash('sha256').update(canonicalJson(variables)).digest('hex'), responseKey },
    run: () => ({
      data: { [responseKey]: setQuantities(shop, stats, typed, ordinal, key) },
      actualCost: cost.mutation,
    }),
  };
}

function setQuantities(
  shop: ShopState,
  stats: ShopStats,
  input: SetQuantitiesInput,
  ordinal: number,
  key: string | null,
): unknown {
  const userErrors: { code: string; field: string[] | null; message: string }[] = [];
  if (input.name !== 'available' && input.name !== 'on_hand')
    userErrors.push({
      code: 'INVALID_NAME',
      field: ['input', 'name'],
      message: "The quantity name must be either 'available' or 'on_hand'.",
    });
  if (!reasons.has(input.reason))
    userErrors.push({
      code: 'INVALID_REASON',
      field: ['input', 'reason'],
      message: 'The specified reason is invalid.',
    });
  const seen = new Set<string>();
  const targets: { itemId: number; locationId: number; quantity: number }[] = [];
  for (const [index, quantity] of input.quantities.entries()) {
    const path = (name: string) => ['input', 'quantities', String(index), name];
    const itemId = numericId(quantity.inventoryItemId, 'InventoryItem');
    const locationId = numericId(quantity.locationId, 'Location');
    const item = itemId === null ? undefined : shop.items.get(itemId);
    if (!item) {
      userErrors.push({
        code: 'INVALID_INVENTORY_ITEM',
        field: path('inventoryItemId'),
        message: 'The specified inventory item could not be found.',
      });
      continue;
    }
    if (locationId === null || !shop.locations.has(locationId)) {
      userErrors.push({
        code: 'INVALID_LOCATION',
        field: path('locationId'),
        message: 'The specified location could not be found.',
      });
      continue;
    }
    const pair = `${itemId}|${locationId}`;
    if (seen.has(pair)) {
      userErrors.push({
        code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR',
        field: path('inventoryItemId'),
        message: 'The combination of inventoryItemId and locationId must be unique.',
      });
      continue;
    }
    seen.add(pair);
    const level = item.levels.get(locationId);
    if (!level) {
      userErrors.push({
        code: 'ITEM_NOT_STOCKED_AT_LOCATION',
        field: path('inventoryItemId'),
        message: 'The specified inventory item is not stocked at the location.',
      });
      continue;
    }
    if (quantity.quantity < 0) {
      userErrors.push({
        code: 'INVALID_QUANTITY_NEGATIVE',
        field: path('quantity'),
        message: "The quantity can't be negative.",
      });
      continue;
    }
    if (quantity.quantity > 1_000_000_000) {
      userErrors.push({
        code: 'INVALID_QUANTITY_TOO_HIGH',
        field: path('quantity'),
        message: "The total quantity can't be higher than 1,000,000,000.",
      });
      continue;
    }
    // The compare-and-set check, per version (docs/channels/shopify.md, Push: inventorySetQuantities).
    if (ordinal >= 202601 && 'changeFromQuantity' in quantity) {
      if (quantity.changeFromQuantity !== null && quantity.changeFromQuantity !== level.available) {
        userErrors.push({
          code: 'CHANGE_FROM_QUANTITY_STALE',
          field: path('changeFromQuantity'),
          message: 'The changeFromQuantity value does not match persisted value.',
        });
        continue;
      }
    } else if (ordinal >= 202604) {
      // "Omitting changeFromQuantity returns an error" [doc]; which code is unverified.
      userErrors.push({
        code: 'CHANGE_FROM_QUANTITY_STALE',
        field: path('changeFromQuantity'),
        message: 'changeFromQuantity must be provided for each quantity; pass null to opt out of the check.',
      });
      continue;
    } else if (input.ignoreCompareQuantity !== true) {
      if (quantity.compareQuantity === undefined || quantity.compareQuantity === null) {
        userErrors.push({
          code: 'COMPARE_QUANTITY_REQUIRED',
          field: path('compareQuantity'),
          message:
            'The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.',
        });
        continue;
      }
      if (quantity.compareQuantity !== level.available) {
        userErrors.push({
          code: 'COMPARE_QUANTITY_STALE',
          field: path('compareQuantity'),
          message: 'The compareQuantity value does not match persisted value.',
        });
        continue;
      }
    }
    targets.push({ itemId: item.id, locationId, quantity: quantity.quantity });
  }
  if (userErrors.length > 0) {
    stats.userErrorAnswers += 1;
    return { inventoryAdjustmentGroup: null, userErrors };
  }
  const changes: unknown[] = [];
  for (const target of targets) {
    const level = shop.items.get(target.itemId)!.levels.get(target.locationId)!;
    const delta = target.quantity - level.available;
    shop.setLevel(target.itemId, target.locationId, target.quantity, 'api', key);
    if (delta !== 0) {
      for (const name of ['available', 'on_hand']) {
        changes.push({
          name,
          delta,
          quantityAfterChange: target.quantity,
          item: { id: gid('InventoryItem', target.itemId) },
          location: { id: gid('Location', target.locationId) },
          ledgerDocumentUri: null,
        });
      }
    }
  }
  stats.mutationsApplied += 1;
  return {
    inventoryAdjustmentGroup: {
      id: gid('InventoryAdjustmentGroup', 90_000_000_000 + shop.nextId()),
      createdAt: new Date(shop.wallNow()).toISOString(),
      reason: input.reason,
      referenceDocumentUri: input.referenceDocumentUri ?? null,
      changes,
    },
    userErrors: [],
  };
}
