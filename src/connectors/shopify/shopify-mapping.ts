import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Between onhand's port and Shopify's Admin GraphQL API: ids, the per-version shape of
 * `inventorySetQuantities`, the operations the connector sends, and validation of what comes back
 * (a channel's answer is untrusted input too - OWASP API10: a malformed answer is a failed call,
 * never a crash).
 *
 * Sources, listed with their URLs in docs/channels/shopify.md: [spec] Shopify's Admin GraphQL
 * schema extract for 2025-01 (Data model), [doc] Shopify's documentation and the changelog entries
 * on compare-and-set and idempotency (Push: inventorySetQuantities).
 */

// ---------------------------------------------------------------------------------------------
// Global ids

const gidPattern = /^gid:\/\/shopify\/([A-Za-z]+)\/([1-9][0-9]{0,19})(?:\?.*)?$/;

/** `gid://shopify/<type>/<id>`; a bare numeric id (REST style) is accepted and converted. */
export function toShopifyGid(type: string, id: string | number): string | null {
  if (typeof id === 'number') return Number.isSafeInteger(id) && id > 0 ? `gid://shopify/${type}/${id}` : null;
  if (/^[1-9][0-9]{0,19}$/.test(id)) return `gid://shopify/${type}/${id}`;
  const parsed = parseShopifyGid(id);
  return parsed && parsed.type === type ? `gid://shopify/${type}/${parsed.id}` : null;
}

export function parseShopifyGid(gid: string): { type: string; id: string } | null {
  const match = gidPattern.exec(gid);
  return match ? { type: match[1]!, id: match[2]! } : null;
}

// ---------------------------------------------------------------------------------------------
// API versions

/**
 * What changes between versions for `inventorySetQuantities` (docs/channels/shopify.md,
 * Push: inventorySetQuantities):
 * - up to 2025-10: `compareQuantity` per quantity + `ignoreCompareQuantity` on the input [spec
 *   2025-01]; stale -> COMPARE_QUANTITY_STALE; the `@idempotent` directive does not exist (the
 *   2025-01 schema's directive list is accessRestricted, deprecated, include, oneOf, skip,
 *   specifiedBy [spec]).
 * - 2026-01: `changeFromQuantity` added (per quantity, null = no check), `@idempotent(key:)`
 *   optional; stale -> CHANGE_FROM_QUANTITY_STALE [doc changelog].
 * - 2026-04 and later: `changeFromQuantity` key mandatory on every quantity (null opts out),
 *   compareQuantity/ignoreCompareQuantity removed, `@idempotent` mandatory [doc changelog].
 */
export interface ShopifyVersionFeatures {
  version: string;
  compareField: 'compareQuantity' | 'changeFromQuantity';
  idempotentDirective: 'unsupported' | 'optional' | 'required';
}

export function shopifyVersionFeatures(version: string): ShopifyVersionFeatures | null {
  if (version === 'unstable') return { version, compareField: 'changeFromQuantity', idempotentDirective: 'required' };
  const match = /^(20[0-9]{2})-(01|04|07|10)$/.exec(version);
  if (!match) return null;
  const ordinal = Number(match[1]) * 100 + Number(match[2]);
  if (ordinal < 202601) return { version, compareField: 'compareQuantity', idempotentDirective: 'unsupported' };
  if (ordinal < 202604) return { version, compareField: 'changeFromQuantity', idempotentDirective: 'optional' };
  return { version, compareField: 'changeFromQuantity', idempotentDirective: 'required' };
}

// ---------------------------------------------------------------------------------------------
// Operations

/**
 * The mutation. The idempotency key is a literal in the directive, as in every example Shopify
 * publishes (docs/channels/shopify.md, Push: inventorySetQuantities); it is a UUID we derive
 * ourselves (hex and dashes), so no escaping.
 */
export function setQuantitiesMutation(idempotencyKey: string | null): string {
  if (idempotencyKey !== null && !/^[0-9a-f-]{36}$/.test(idempotencyKey))
    throw new Error(`bad idempotency key ${idempotencyKey}`);
  const directive = idempotencyKey === null ? '' : ` @idempotent(key: "${idempotencyKey}")`;
  return `mutation OnhandSetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input)${directive} {
    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange item { id } location { id } } }
    userErrors { code field message }
  }
}`;
}

/**
 * Read-back of `available` for many items at one location: `nodes(ids:)` (Relay's Node root
 * field; not in the inventory extract, which keeps only inventory fields of QueryRoot) with
 * `InventoryItem.inventoryLevel(locationId:)` and `InventoryLevel.quantities(names:)` [spec].
 * One round trip for up to 250 items instead of one `inventoryItem(id:)` each.
 */
export const readLevelsQuery = `query OnhandReadLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem { id inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } } }
  }
}`;

export interface QuantityEntry {
  inventoryItemId: string;
  locationId: string;
  quantity: number;
  /** What we expect Shopify to hold now; null = set without a check. */
  compareTo: number | null;
  /** The port item's idempotency key (listing + desired version). */
  itemKey: string;
}

/**
 * The `input` variable. 2025-01 style cannot mix checked and unchecked quantities in one call
 * (`ignoreCompareQuantity` is per input), so the caller groups them; `changeFromQuantity` is per
 * quantity and always sent, null included, as 2026-04 requires the key.
 */
export function setQuantitiesInput(
  features: ShopifyVersionFeatures,
  entries: readonly QuantityEntry[],
  reason: string,
): Record<string, unknown> {
  if (features.compareField === 'compareQuantity') {
    const unchecked = entries.every((entry) => entry.compareTo === null);
    if (!unchecked && entries.some((entry) => entry.compareTo === null))
      throw new Error('compareQuantity batches must not mix checked and unchecked quantities');
    return {
      reason,
      name: 'available',
      ...(unchecked ? { ignoreCompareQuantity: true } : {}),
      quantities: entries.map((entry) => ({
        inventoryItemId: entry.inventoryItemId,
        locationId: entry.locationId,
        quantity: entry.quantity,
        ...(unchecked ? {} : { compareQuantity: entry.compareTo }),
      })),
    };
  }
  return {
    reason,
    name: 'available',
    quantities: entries.map((entry) => ({
      inventoryItemId: entry.inventoryItemId,
      locationId: entry.locationId,
      quantity: entry.quantity,
      changeFromQuantity: entry.compareTo,
    })),
  };
}

/**
 * The `@idempotent` key for one mutation: a UUID (version 8, RFC 9562 "custom") from SHA-256 of
 * the items' own keys AND the exact variables. Why both:
 * - the items' keys (listing + desired version) make a later push of the same numbers for a newer
 *   version a new operation - otherwise Shopify would replay the old answer and skip a write
 *   that is needed again (e.g. after an out-of-band edit restored the old value);
 * - the variables make "same key, different variables" (IDEMPOTENCY_KEY_PARAMETER_MISMATCH) impossible
 *   when a retry carries a new compare value or a different batch composition.
 * A retry of the same push - same items, same versions, same values - gets the same key, so a
 * write whose answer was lost is replayed, not applied twice ("Duplicate requests must reuse the
 * same idempotency key", shopify.dev implementing-idempotency). `salt` is only bumped when Shopify
 * asks for a new key (IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED).
 */
export function batchIdempotencyKey(
  version: string,
  entries: readonly QuantityEntry[],
  input: Record<string, unknown>,
  salt = 0,
): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([version, salt, entries.map((entry) => entry.itemKey), input]))
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// Answers

const finiteNumber = z.number().finite();

export const throttleStatusSchema = z.object({
  maximumAvailable: finiteNumber.positive(),
  currentlyAvailable: finiteNumber,
  restoreRate: finiteNumber.positive(),
});

export const costExtensionSchema = z.object({
  requestedQueryCost: finiteNumber.nullable().optional(),
  actualQueryCost: finiteNumber.nullable().optional(),
  throttleStatus: throttleStatusSchema,
});
export type CostExtension = z.infer<typeof costExtensionSchema>;

export const userErrorSchema = z.object({
  code: z.string().max(100).nullable().optional(),
  field: z.array(z.string().max(200)).max(10).nullable().optional(),
  message: z.string().max(10_000),
});
export type ShopifyUserError = z.infer<typeof userErrorSchema>;

const idObject = z
  .object({ id: z.string().max(200) })
  .nullable()
  .optional();

export const setQuantitiesPayloadSchema = z.object({
  inventorySetQuantities: z
    .object({
      inventoryAdjustmentGroup: z
        .object({
          id: z.string().max(200),
          changes: z
            .array(
              z.object({
                name: z.string(),
                delta: z.number().int(),
                quantityAfterChange: z.number().int().nullable().optional(),
                item: idObject,
                location: idObject,
              }),
            )
            .max(2_000)
            .optional(),
        })
        .nullable()
        .optional(),
      userErrors: z.array(userErrorSchema).max(1_000),
    })
    .nullable(),
});
export type SetQuantitiesPayload = NonNullable<z.infer<typeof setQuantitiesPayloadSchema>['inventorySetQuantities']>;

export const readLevelsPayloadSchema = z.object({
  nodes: z
    .array(
      z
        .object({
          id: z.string().max(200).optional(),
          inventoryLevel: z
            .object({ quantities: z.array(z.object({ name: z.string(), quantity: z.number().int() })).max(20) })
            .nullable()
            .optional(),
        })
        .nullable(),
    )
    .max(250),
});

// ---------------------------------------------------------------------------------------------
// userErrors

/**
 * What a userError code means for the items (InventorySetQuantitiesUserErrorCode [spec 2025-01],
 * plus CHANGE_FROM_QUANTITY_STALE and the IDEMPOTENCY_* codes of 2026-01+ [doc enum pages]).
 * A userError fails the whole call: nothing was applied (docs/channels/shopify.md, Push: inventorySetQuantities).
 */
export type UserErrorEffect =
  /** The item's compare value did not match: `stale`. */
  | 'stale'
  /** The item can never be set as sent (unknown item/location, not stocked, bad quantity). */
  | 'item-permanent'
  /** Our request is wrong for every item (reason, name): a bug or a version mismatch. */
  | 'request-permanent'
  /** Try again later (a same-key request in progress, unknown codes). */
  | 'retry'
  /** Send again at once with a fresh idempotency key (2026-10: "a previous request with this key failed"). */
  | 'new-key';

export function userErrorEffect(code: string | null | undefined): UserErrorEffect {
  switch (code) {
    case 'COMPARE_QUANTITY_STALE':
    case 'CHANGE_FROM_QUANTITY_STALE':
      return 'stale';
    case 'INVALID_INVENTORY_ITEM':
    case 'INVALID_LOCATION':
    case 'ITEM_NOT_STOCKED_AT_LOCATION':
    case 'NON_MUTABLE_INVENTORY_ITEM':
    case 'INVALID_QUANTITY_NEGATIVE':
    case 'INVALID_QUANTITY_TOO_HIGH':
    case 'INVALID_QUANTITY_TOO_LOW':
    case 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR':
      return 'item-permanent';
    case 'INVALID_REASON':
    case 'INVALID_NAME':
    case 'INVALID_REFERENCE_DOCUMENT':
    case 'COMPARE_QUANTITY_REQUIRED':
      return 'request-permanent';
    // Our keys cover the variables, so a mismatch means Shopify compares something we do not
    // (or a hash collision); a fresh key is safe because every write is absolute and checked.
    case 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH':
    case 'IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED':
      return 'new-key';
    default:
      // IDEMPOTENCY_CONCURRENT_REQUEST ("currently in progress, please try again") and any code
      // this version of the connector does not know: bounded retries, then dead letter.
      return 'retry';
  }
}

/** The quantity a userError points at: `field` is `["input", "quantities", "<index>", ...]` [spec: "The path to the input field"]. */
export function userErrorQuantityIndex(field: readonly string[] | null | undefined, count: number): number | null {
  if (!field || field.length < 3 || field[0] !== 'input' || field[1] !== 'quantities') return null;
  const index = /^(0|[1-9][0-9]{0,3})$/.test(field[2]!) ? Number(field[2]) : -1;
  return index >= 0 && index < count ? index : null;
}
