import type { FastifyRequest } from 'fastify';
import type { CommandAnswer } from '../core/ledger/apply-commands.js';
import { type LedgerCommand, otherLocationCode } from '../core/ledger/command.js';
import { type GroupCommitter, PreconditionFailed } from '../store/group-commit.js';
import { revokedTokenProblem } from './auth.js';
import { ProblemError, type ProblemDetail } from './errors.js';

type NamedRefs = { path: string; sku: string; locations: string[] }[];

/** The variants and locations stock-changing commands name, each with its request path. */
function namedRefs(items: readonly { path: string; command: LedgerCommand }[]): NamedRefs {
  return items.flatMap(({ path, command }) =>
    'sku' in command && 'location' in command
      ? [{ path, sku: command.sku, locations: [command.location, otherLocationCode(command)].filter(isCode) }]
      : [],
  );
}

/** The problem naming every deactivated variant (else location) among `named`, or none. */
function inactiveProblem(
  named: NamedRefs,
  inactive: { skus: readonly string[]; locations: readonly string[] },
): ProblemError | undefined {
  const skus = new Set(inactive.skus);
  const locations = new Set(inactive.locations);
  const variantErrors: ProblemDetail[] = [];
  const locationErrors: ProblemDetail[] = [];
  for (const item of named) {
    if (skus.has(item.sku))
      variantErrors.push({ path: `${item.path}/sku`, message: `variant ${item.sku} is deactivated` });
    for (const code of item.locations)
      if (locations.has(code))
        locationErrors.push({ path: `${item.path}/location`, message: `location ${code} is deactivated` });
  }
  if (variantErrors.length > 0)
    return new ProblemError(
      'ONH_ERR_VARIANT_INACTIVE',
      'the request names a deactivated variant; nothing was applied',
      {
        errors: variantErrors,
      },
    );
  if (locationErrors.length > 0)
    return new ProblemError(
      'ONH_ERR_LOCATION_INACTIVE',
      'the request names a deactivated location; nothing was applied',
      { errors: locationErrors },
    );
  return undefined;
}

/**
 * A stock-changing request naming a deactivated variant, location or channel is refused whole
 * (409, `errors` naming each item), like a request failing its schema; commits and releases are
 * not checked: they let go of, or sell, what was held before the deactivation.
 *
 * Submit a request's commands with its preconditions checked inside the ledger batch's
 * transaction: the request's token is live and every variant, location and channel it names is
 * active.
 * A failed check writes nothing and answers as the read before submitting would have: 401 for
 * a revoked token, 409 naming each deactivated variant or location. The check rides on the
 * batch (one statement for all its requests) instead of two reads per request, and it is exact:
 * a deactivation committed before the batch refuses it, one after it does not.
 */
export async function submitChecked(
  ledger: GroupCommitter,
  request: FastifyRequest,
  commands: readonly LedgerCommand[],
  items: readonly { path: string; command: LedgerCommand }[],
): Promise<CommandAnswer[]> {
  const named = namedRefs(items);
  const channels = commands.flatMap((command) =>
    command.type === 'reserve' && command.channel !== undefined ? [command.channel.code] : [],
  );
  try {
    return await ledger.submit(commands, {
      preconditions: {
        tokenId: request.token?.id,
        skus: named.map((item) => item.sku),
        locations: named.flatMap((item) => item.locations),
        channels,
      },
    });
  } catch (error) {
    if (!(error instanceof PreconditionFailed)) throw error;
    const revoked = error.failures.revokedTokens[0];
    if (revoked !== undefined) throw revokedTokenProblem(revoked);
    const channel = error.failures.inactiveChannels[0];
    if (channel !== undefined)
      throw new ProblemError('ONH_ERR_CHANNEL_INACTIVE', `channel ${channel} is deactivated`, {
        errors: [{ path: '/channel', message: `channel ${channel} is deactivated` }],
      });
    throw (
      inactiveProblem(named, { skus: error.failures.inactiveSkus, locations: error.failures.inactiveLocations }) ??
      error
    );
  }
}

function isCode(code: string | undefined): code is string {
  return code !== undefined;
}
