import type { ChannelReserve } from '../core/ledger/command.js';
import { channelRules } from '../core/availability/rule-set.js';
import { limits } from '../core/limits.js';
import { orderLineAccount } from '../connectors/connector-registry.js';
import { orderLineKey } from '../connectors/channel-intake.js';
import type { ReservationView } from '../core/ledger/command-answer.js';
import type { CheckoutLine } from '../ingest/order-line-intake.js';
import type { AvailabilityPort, ChannelRecord } from '../store/availability-store.js';

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
  availability: Pick<AvailabilityPort, 'channelConfig' | 'listListings'>,
  channelCode: string,
  sku: string,
): Promise<ChannelReserve | null> {
  // The availability computation's cached configuration: the channel's active locations (a
  // deactivated location holds nothing for any channel, docs/LISTS.md) and the active rules.
  const config = await availability.channelConfig(channelCode);
  if (!config) return null;
  const rules = channelRules(config.ruleSet, channelCode);
  const excluded = new Set(rules.exclude_locations ?? []);
  const pickup = rules.pickup;
  const locations = config.channel.locations
    .filter((location) => !excluded.has(location.code))
    .map(({ code, kind }) =>
      pickup && kind === 'store' ? { code, countMaxAgeMs: pickup.count_max_age_hours * hourMs } : { code },
    );
  let units = 0;
  let percent = 0;
  // Only a channel's own rules can ring-fence (the rule set refuses a default allocation), so
  // without another channel that does, nothing is fenced and the variant's listings are not read.
  const othersFence = Object.entries(config.ruleSet.channels ?? {}).some(
    ([code, own]) => code !== channelCode && ((own.allocation?.units ?? 0) > 0 || (own.allocation?.percent ?? 0) > 0),
  );
  if (!othersFence) return { code: channelCode, locations, fence: { units, percent } };
  const listedBy = new Set(
    (await availability.listListings({ sku, limit: limits.pageSizeMax, active: 'true' }))
      .map((listing) => listing.channel)
      .filter((code) => code !== channelCode),
  );
  for (const other of listedBy) {
    const allocation = channelRules(config.ruleSet, other).allocation;
    units += allocation?.units ?? 0;
    percent += allocation?.percent ?? 0;
  }
  return { code: channelCode, locations, fence: { units, percent } };
}

/** What a commit's `order` becomes: the channel order line, or why it cannot name one. */
export type CheckoutLineResolution =
  | { kind: 'line'; channel: ChannelRecord; line: CheckoutLine }
  /** The request cannot name a line (a 400 on `/order`). */
  | { kind: 'invalid'; message: string }
  | { kind: 'no_channel'; code: string };

/**
 * The channel order line a commit of `reservation` names with `order`: keyed from the
 * reservation's channel, its platform and the account its connector puts in line keys, so the
 * key is the one the channel's own events for that line will carry.
 */
export async function resolveCheckoutLine(
  availability: Pick<AvailabilityPort, 'getChannel'>,
  reservation: ReservationView,
  order: { order_id: string; line_id: string },
): Promise<CheckoutLineResolution> {
  if (reservation.channel === undefined)
    return { kind: 'invalid', message: 'only a reservation made by channel becomes a channel order line' };
  const channel = await availability.getChannel(reservation.channel);
  if (!channel) return { kind: 'no_channel', code: reservation.channel };
  let account: string | null;
  try {
    account = orderLineAccount(channel);
  } catch (error) {
    return { kind: 'invalid', message: (error as Error).message };
  }
  if (account === null)
    return {
      kind: 'invalid',
      message: `channel ${channel.code} has no connector that reports order lines, so its lines have no key`,
    };
  const lineKey = orderLineKey(channel.platform, account, order.order_id, order.line_id);
  // The intake's own bound on a line key (its moves are keyed `<line key>:<step>:<index>`).
  if (lineKey.length > limits.idempotencyKeyLengthMax - 24)
    return { kind: 'invalid', message: `the line key ${lineKey.slice(0, 60)}... is too long` };
  return {
    kind: 'line',
    channel,
    line: { lineKey, orderId: order.order_id, lineId: order.line_id, sku: reservation.sku },
  };
}
