import { systemKeyPrefix } from '../core/ledger/apply-commands.js';

/**
 * The idempotency-key prefix of each platform's intake: order lines from its webhooks or its
 * order poll are keyed `<prefix><account>:<order>:<line>:<kind>` (shopify-webhooks.ts,
 * bol-orders.ts). A client of the API must not take such a key first: the channel's real order
 * line would then be refused as a conflict. A new platform with an intake adds its prefix here.
 */
export const intakeKeyPrefixes = Object.freeze({ shopify: 'shopify:', bol: 'bol:' });

/** Who a key is reserved for (onhand itself, or a platform's intake), or undefined for a client key. */
export function reservedKeyOwner(key: string): string | undefined {
  if (key.startsWith(systemKeyPrefix)) return `onhand's own movements (${systemKeyPrefix})`;
  for (const [platform, prefix] of Object.entries(intakeKeyPrefixes)) {
    if (key.startsWith(prefix)) return `the ${platform} intake (${prefix})`;
  }
  return undefined;
}
