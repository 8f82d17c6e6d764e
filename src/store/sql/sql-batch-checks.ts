import type { BatchCheckFailures, BatchChecks } from '../ledger-store.js';
import type { SqlDialect } from './sql-executor.js';

/**
 * What a ledger batch's transaction checks before it applies anything (GroupCommitter's
 * preconditions): the tokens its requests authenticated with are still live, and the variants
 * and locations they name are active. One statement for the whole batch, so a request pays
 * no round trip of its own for either: the answer is sent after the commit that checked them,
 * which is what makes a revocation or a deactivation take effect on the next request.
 *
 * Tokens are selected when live (a missing id is revoked or gone); variants and locations when
 * deactivated.
 */
export function batchCheckQuery(dialect: SqlDialect): string {
  return `SELECT 'token' AS kind, id AS ref FROM tokens WHERE id ${dialect.anyOf(1, 'text')} AND revoked_at IS NULL
    UNION ALL SELECT 'sku' AS kind, sku AS ref FROM variants WHERE sku ${dialect.anyOf(2, 'text')} AND deactivated_at IS NOT NULL
    UNION ALL SELECT 'location' AS kind, code AS ref FROM locations WHERE code ${dialect.anyOf(3, 'text')} AND deactivated_at IS NOT NULL
    UNION ALL SELECT 'channel' AS kind, code AS ref FROM channels WHERE code ${dialect.anyOf(4, 'text')} AND deactivated_at IS NOT NULL`;
}

export function batchCheckParams(checks: BatchChecks): unknown[] {
  return [checks.tokenIds, checks.skus, checks.locations, checks.channels];
}

/** The failures the check's rows show, or null when every check holds. */
export function batchCheckFailures(
  checks: BatchChecks,
  rows: readonly { kind: string; ref: string }[],
): BatchCheckFailures | null {
  const live = new Set<string>();
  const inactiveSkus: string[] = [];
  const inactiveLocations: string[] = [];
  const inactiveChannels: string[] = [];
  for (const row of rows) {
    if (row.kind === 'token') live.add(row.ref);
    else if (row.kind === 'sku') inactiveSkus.push(row.ref);
    else if (row.kind === 'location') inactiveLocations.push(row.ref);
    else inactiveChannels.push(row.ref);
  }
  const revokedTokens = checks.tokenIds.filter((id) => !live.has(id));
  const failed = revokedTokens.length + inactiveSkus.length + inactiveLocations.length + inactiveChannels.length;
  return failed === 0 ? null : { revokedTokens, inactiveSkus, inactiveLocations, inactiveChannels };
}

/** True when there is nothing to check. */
export function noBatchChecks(checks: BatchChecks | undefined): boolean {
  return (
    checks === undefined ||
    checks.tokenIds.length + checks.skus.length + checks.locations.length + checks.channels.length === 0
  );
}
