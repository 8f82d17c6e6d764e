import { systemKeyPrefix } from '../core/ledger/apply-commands.js';

/**
 * The platforms whose channel intake keys its ledger moves `<platform>:<account>:<order>:<line>:<step>:<index>`
 * (orderLineKey in channel-intake.ts): every platform a channel may have, so a platform whose
 * intake lands later is reserved already. The list mirrors the store's `platforms`
 * (test/integration/http-hardening.test.ts checks both).
 */
export const intakePlatforms = Object.freeze(['shopify', 'woocommerce', 'bol', 'amazon', 'gmc', 'custom']);

/**
 * Who a key is reserved for (onhand itself, or a platform's intake), or undefined for a client
 * key. A client of the API must not take such a key first: the channel's real order line would
 * then be refused as a conflict.
 */
export function reservedKeyOwner(key: string): string | undefined {
  if (key.startsWith(systemKeyPrefix)) return `onhand's own movements (${systemKeyPrefix})`;
  const platform = intakePlatforms.find((name) => key.startsWith(`${name}:`));
  return platform === undefined ? undefined : `the ${platform} channel intake (${platform}:)`;
}
