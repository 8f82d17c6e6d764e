import type { ChannelReserve } from '../core/ledger/command.js';
import { channelRules } from '../core/availability/rule-set.js';
import { limits } from '../core/limits.js';
import type { AvailabilityPort } from '../store/availability-store.js';
import type { CataloguePort } from '../store/ledger-store.js';

const hourMs = 3_600_000;

/**
 * What a reservation by channel is judged against, resolved from the channel and the active rule
 * set: the channel's locations in priority order (those its rules exclude left out; a store under
 * the pickup rule marked with the count age it needs), and the stock other channels hold
 * ring-fenced (the `allocation` of every other channel that lists the variant, as the listing
 * computation holds it back). Null for an unknown channel.
 *
 * The ledger then judges the stock itself inside its transaction. The channel and the rules are
 * configuration, read here before the command is submitted: a rule set activated while the
 * request is in flight applies from the next request on.
 */
export async function resolveChannelReserve(
  availability: AvailabilityPort,
  catalogue: Pick<CataloguePort, 'listLocations'>,
  channelCode: string,
  sku: string,
): Promise<ChannelReserve | null> {
  const channel = await availability.getChannel(channelCode);
  if (!channel) return null;
  const ruleSet = (await availability.listRuleSets()).find((version) => version.active)?.rules ?? {};
  const rules = channelRules(ruleSet, channelCode);
  const excluded = new Set(rules.exclude_locations ?? []);
  const pickup = rules.pickup;
  const kinds = pickup
    ? new Map((await catalogue.listLocations()).map((location) => [location.code, location.kind]))
    : undefined;
  const locations = channel.locations
    .filter((code) => !excluded.has(code))
    .map((code) =>
      pickup && kinds?.get(code) === 'store' ? { code, countMaxAgeMs: pickup.count_max_age_hours * hourMs } : { code },
    );
  const listedBy = new Set(
    (await availability.listListings({ sku, limit: limits.pageSizeMax }))
      .map((listing) => listing.channel)
      .filter((code) => code !== channelCode),
  );
  let units = 0;
  let percent = 0;
  for (const other of listedBy) {
    const allocation = channelRules(ruleSet, other).allocation;
    units += allocation?.units ?? 0;
    percent += allocation?.percent ?? 0;
  }
  return { code: channelCode, locations, fence: { units, percent } };
}
