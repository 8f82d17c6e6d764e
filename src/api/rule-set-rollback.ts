import type { AvailabilityPort } from '../store/availability-store.js';

/**
 * A rollback is an activation of an EARLIER version, checked before anything changes; the API
 * (409 ONH_ERR_NOT_EARLIER) and the CLI (`onhand rules rollback`) share this check. Rolling
 * "back" to the active or a later version would be an activation under a misleading name in
 * the audit, so it is refused; `activate` moves forward.
 *
 * @returns null when `version` may be rolled back to; else why not, with the active version.
 * @example const refusal = await rollbackRefusal(store, 2); // { activeVersion: 2, reason: 'version 2 is not earlier than the active version 2' }
 */
export async function rollbackRefusal(
  store: Pick<AvailabilityPort, 'listRuleSets'>,
  version: number,
): Promise<{ activeVersion: number | null; reason: string } | null> {
  const activeVersion = (await store.listRuleSets()).find((each) => each.active)?.version ?? null;
  if (activeVersion === null)
    return { activeVersion, reason: 'no rule set is active, so there is nothing to roll back from' };
  if (version >= activeVersion)
    return { activeVersion, reason: `version ${version} is not earlier than the active version ${activeVersion}` };
  return null;
}
