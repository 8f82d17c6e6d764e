import type { FastifyInstance } from 'fastify';
import { connectorSettingsFaults } from '../../connectors/connector-settings.js';
import { orderSettingsFaults } from '../../ingest/channel-order-settings.js';
import { reconcileSettingsFaults } from '../../reconcile/reconcile-settings.js';
import type { Clock } from '../../core/clock.js';
import { limits } from '../../core/limits.js';
import type { LedgerStore } from '../../store/ledger-store.js';
import { actorOf, guardWithBearerAuth } from '../auth.js';
import {
  channelInput,
  channelView,
  dryRunReportView,
  explanationView,
  listingInput,
  listingQuantityView,
  listingView,
  mappingInput,
  recomputeReportView,
  ruleSetEventView,
  ruleSetSummary,
  ruleSetView,
  unmappedEntryView,
  unmappedView,
} from '../../api/availability-mapping.js';
import {
  ActivateBody,
  AvailabilityView,
  ChannelList,
  ChannelParams,
  ChannelsBody,
  ChannelView,
  DryRunBody,
  DryRunReportView,
  ExplanationView,
  ListingListQuery,
  ListingPage,
  ListingsBody,
  ListingUpsertResult,
  ListingView,
  MappingsBody,
  RecomputeReportView,
  RuleSetCreateBody,
  RuleSetEventList,
  RuleSetList,
  RuleSetView,
  UnmappedList,
  UnmappedQuery,
  VersionParams,
} from '../../api/availability-schemas.js';
import { ProblemError, type ProblemDetail } from '../errors.js';
import { rollbackRefusal } from '../../api/rule-set-rollback.js';
import { refuseOversizedDocuments } from '../request-guards.js';
import { IdParams, SkuParams, UpsertReport } from '../schemas.js';
import { ActiveOnlyQuery } from '../../api/list-schemas.js';
import { emptyBodyIsObject, route } from './api.js';

export interface AvailabilityDeps {
  store: Pick<LedgerStore, 'availability' | 'tokens'>;
  clock: Clock;
  /**
   * Called after listings or mappings of these channels changed, before the answer: order lines
   * kept in the intake inbox for want of a listing are applied now.
   */
  onListingsChanged?: (channels: readonly string[]) => Promise<void>;
}

/**
 * The store refuses rules that mean something impossible with a CatalogueError (recognised by
 * its code, never by instanceof: see src/http/errors.ts). On the rule-set routes that is
 * ONH_ERR_INVALID_RULES, its paths made JSON pointers into the request body
 * (`/channels/bol/cap` -> `/rules/channels/bol/cap`).
 */
async function refusingBadRules<T>(pathPrefix: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const refusal = error as { code?: unknown; message?: string; errors?: ProblemDetail[] };
    if (refusal?.code !== 'ONH_ERR_CATALOGUE') throw error;
    throw new ProblemError('ONH_ERR_INVALID_RULES', refusal.message ?? 'the rule set was rejected', {
      errors: (refusal.errors ?? []).map((problem) => ({
        path: `${pathPrefix}${problem.path}`,
        message: problem.message,
      })),
    });
  }
}

/** A channel's connector, order and reconcile settings are checked when stored (a 400 naming each field), not at start. */
function refuseInvalidConnectors(
  channels: readonly { platform: string; settings?: Record<string, unknown> | undefined }[],
): void {
  const errors = channels.flatMap((channel, index) => [
    ...(channel.settings?.connector === undefined
      ? []
      : connectorSettingsFaults(channel.platform, channel.settings.connector).map((fault) => ({
          path: `/channels/${index}/settings/connector${fault.path}`,
          message: fault.message,
        }))),
    ...orderSettingsFaults(channel.settings?.orders).map((fault) => ({
      path: `/channels/${index}/settings/orders${fault.path}`,
      message: fault.message,
    })),
    ...reconcileSettingsFaults(channel.settings?.reconcile).map((fault) => ({
      path: `/channels/${index}/settings/reconcile${fault.path}`,
      message: fault.message,
    })),
  ]);
  if (errors.length > 0)
    throw new ProblemError('ONH_ERR_VALIDATION', 'the connector settings would not start', { errors });
}

/**
 * Channels, listings and the normalizer's mapping table, versioned rule sets, and what each
 * listing may show (with its explanation). Like the api plugin, each handler maps the request
 * to the port and the answer back; the store and the core decide everything else.
 */
export async function availabilityPlugin(
  app: FastifyInstance,
  { store, clock, onListingsChanged }: AvailabilityDeps,
): Promise<void> {
  guardWithBearerAuth(app, store.tokens);

  async function ruleSetOrNotFound(version: number) {
    const ruleSet = await store.availability.getRuleSet(version);
    if (!ruleSet) throw new ProblemError('ONH_ERR_RULE_SET_NOT_FOUND', `no rule set version ${version}`);
    return ruleSet;
  }

  // --- channels --------------------------------------------------------------------------------

  app.put<{ Body: ChannelsBody }>(
    '/channels',
    route(
      'admin',
      'channels',
      'Create or update channels by code (all or nothing)',
      {
        description:
          'Locations are listed in priority order. A channel fed by an unknown location is refused (422 ONH_ERR_CATALOGUE).',
        body: ChannelsBody,
        response: { 200: UpsertReport },
      },
      [413, 422],
    ),
    async (request) => {
      refuseOversizedDocuments(
        request.body.channels.map((channel, index) => ({
          path: `/channels/${index}/settings`,
          value: channel.settings,
          depthMax: limits.channelSettingsDepthMax,
          bytesMax: limits.channelSettingsBytesMax,
        })),
      );
      refuseInvalidConnectors(request.body.channels);
      return store.availability.upsertChannels(request.body.channels.map(channelInput), clock.now());
    },
  );

  app.get<{ Querystring: ActiveOnlyQuery }>(
    '/channels',
    route('read', 'channels', 'All channels', { querystring: ActiveOnlyQuery, response: { 200: ChannelList } }),
    async (request) => ({
      items: (await store.availability.listChannels({ active: request.query.active })).map(channelView),
    }),
  );

  app.get<{ Params: ChannelParams }>(
    '/channels/:code',
    route('read', 'channels', 'One channel', { params: ChannelParams, response: { 200: ChannelView } }, [404]),
    async (request) => {
      const channel = await store.availability.getChannel(request.params.code);
      if (!channel) throw new ProblemError('ONH_ERR_CHANNEL_NOT_FOUND', `no channel ${request.params.code}`);
      return channelView(channel);
    },
  );

  // --- listings --------------------------------------------------------------------------------

  app.put<{ Body: ListingsBody }>(
    '/listings',
    route(
      'write',
      'listings',
      'Create or update listings by (channel, external_id); report the items that match no variant',
      {
        description:
          'Each item is matched to a variant by explicit mapping (PUT /v1/listing-mappings), else by sku, else by barcode. ' +
          'Items that match none are answered in `unmapped` and kept for GET /v1/unmapped: never silently dropped. ' +
          'An existing listing matched to another variant is re-pointed: same id and sync history, its desired quantity ' +
          'recomputed for the new variant and pushed.',
        body: ListingsBody,
        response: { 200: ListingUpsertResult },
      },
      [413, 422],
    ),
    async (request) => {
      const report = await store.availability.upsertListings(request.body.listings.map(listingInput), clock.now());
      await onListingsChanged?.([...new Set(request.body.listings.map((listing) => listing.channel))]);
      return { created: report.created, updated: report.updated, unmapped: report.unmapped.map(unmappedView) };
    },
  );

  app.get<{ Querystring: ListingListQuery }>(
    '/listings',
    route('read', 'listings', 'Listings ordered by id, optionally of one channel or one sku', {
      querystring: ListingListQuery,
      response: { 200: ListingPage },
    }),
    async (request) => {
      const { channel, sku, after, limit, active } = request.query;
      // One more than asked tells whether another page exists.
      const rows = await store.availability.listListings({ channel, sku, afterId: after, limit: limit + 1, active });
      const items = rows.slice(0, limit).map(listingView);
      return { items, next_after: rows.length > limit ? items[items.length - 1]!.id : null };
    },
  );

  app.get<{ Params: IdParams }>(
    '/listings/:id',
    route('read', 'listings', 'One listing', { params: IdParams, response: { 200: ListingView } }, [404]),
    async (request) => {
      const listing = await store.availability.getListing(request.params.id);
      if (!listing) throw new ProblemError('ONH_ERR_LISTING_NOT_FOUND', `no listing ${request.params.id}`);
      return listingView(listing);
    },
  );

  app.put<{ Body: MappingsBody }>(
    '/listing-mappings',
    route(
      'write',
      'listings',
      'Map channel items to variants explicitly (wins over sku and barcode matching)',
      {
        description:
          'A mapping wins over sku and barcode matching, for listings and for order lines. An existing listing with that ' +
          'external id is re-pointed at once (its desired quantity recomputed for the new variant); an item not listed yet ' +
          'is created from the mapping when it is sent with PUT /v1/listings.',
        body: MappingsBody,
        response: { 200: UpsertReport },
      },
      [413, 422],
    ),
    async (request) => {
      const report = await store.availability.upsertMappings(request.body.mappings.map(mappingInput), clock.now());
      await onListingsChanged?.([...new Set(request.body.mappings.map((mapping) => mapping.channel))]);
      return report;
    },
  );

  app.get<{ Querystring: UnmappedQuery }>(
    '/unmapped',
    route('read', 'listings', 'Channel items reported unmapped and not mapped since, newest first', {
      querystring: UnmappedQuery,
      response: { 200: UnmappedList },
    }),
    async (request) => {
      const items = await store.availability.listUnmapped({
        channel: request.query.channel,
        limit: request.query.limit,
      });
      return { items: items.map(unmappedEntryView) };
    },
  );

  // --- rule sets -------------------------------------------------------------------------------

  app.post<{ Body: RuleSetCreateBody }>(
    '/rule-sets',
    route(
      'admin',
      'rule sets',
      'Create a rule-set version (not activated); its author is the token name',
      {
        description:
          'Rules that mean something impossible are refused as one 422 ONH_ERR_INVALID_RULES listing every problem; no version is created.',
        body: RuleSetCreateBody,
        response: { 201: RuleSetView },
      },
      [413, 422],
    ),
    async (request, reply) => {
      const { rules, note } = request.body;
      refuseOversizedDocuments([
        { path: '/rules', value: rules, depthMax: limits.requestJsonDepthMax, bytesMax: limits.ruleSetBytesMax },
      ]);
      const created = await refusingBadRules('/rules', () =>
        store.availability.createRuleSet({ rules, author: actorOf(request), note }, clock.now()),
      );
      reply.code(201).header('location', `${app.prefix}/rule-sets/${created.version}`);
      return ruleSetView(created);
    },
  );

  app.get(
    '/rule-sets',
    route('read', 'rule sets', 'Every rule-set version, with who created it and which is active', {
      response: { 200: RuleSetList },
    }),
    async () => ({ items: (await store.availability.listRuleSets()).map(ruleSetSummary) }),
  );

  app.get(
    '/rule-sets/events',
    route('read', 'rule sets', 'The audit: every creation and activation, with who and when', {
      response: { 200: RuleSetEventList },
    }),
    async () => ({ items: (await store.availability.ruleSetEvents()).map(ruleSetEventView) }),
  );

  app.get<{ Params: VersionParams }>(
    '/rule-sets/:version',
    route(
      'read',
      'rule sets',
      'One rule-set version, with its rules',
      { params: VersionParams, response: { 200: RuleSetView } },
      [404],
    ),
    async (request) => ruleSetView(await ruleSetOrNotFound(request.params.version)),
  );

  app.post<{ Body: DryRunBody }>(
    '/rule-sets/dry-run',
    route(
      'admin',
      'rule sets',
      'What every listing would show under these rules, against what it shows now (nothing is stored)',
      { body: DryRunBody, response: { 200: DryRunReportView } },
      [413, 422],
    ),
    async (request) => {
      const { rules, limit = limits.pageSizeDefault } = request.body;
      refuseOversizedDocuments([
        { path: '/rules', value: rules, depthMax: limits.requestJsonDepthMax, bytesMax: limits.ruleSetBytesMax },
      ]);
      return dryRunReportView(
        await refusingBadRules('/rules', () => store.availability.dryRunRuleSet(rules, clock.now(), limit)),
      );
    },
  );

  app.post<{ Params: VersionParams; Body: ActivateBody }>(
    '/rule-sets/:version/activate',
    {
      ...route(
        'admin',
        'rule sets',
        'Make this version active and recompute every listing',
        {
          description: 'Recorded in the audit under the token name.',
          params: VersionParams,
          body: ActivateBody,
          response: { 200: RecomputeReportView },
        },
        [404, 413, 422],
      ),
      preValidation: emptyBodyIsObject,
    },
    // An unknown version: the store's UnknownRuleSetError carries ONH_ERR_RULE_SET_NOT_FOUND.
    async (request) => {
      const by = { author: actorOf(request), note: request.body.note };
      return recomputeReportView(
        await refusingBadRules('', () => store.availability.activateRuleSet(request.params.version, by, clock.now())),
      );
    },
  );

  app.post<{ Params: VersionParams; Body: ActivateBody }>(
    '/rule-sets/:version/rollback',
    {
      ...route(
        'admin',
        'rule sets',
        'Activate an earlier version and recompute every listing',
        {
          description:
            'The version must be below the active one (409 ONH_ERR_NOT_EARLIER otherwise). Recorded in the audit under the token name.',
          params: VersionParams,
          body: ActivateBody,
          response: { 200: RecomputeReportView },
        },
        [404, 409, 413, 422],
      ),
      preValidation: emptyBodyIsObject,
    },
    async (request) => {
      const { version } = await ruleSetOrNotFound(request.params.version);
      const refusal = await rollbackRefusal(store.availability, version);
      if (refusal)
        throw new ProblemError('ONH_ERR_NOT_EARLIER', refusal.reason, {
          members: { active_version: refusal.activeVersion },
        });
      const by = { author: actorOf(request), note: request.body.note };
      return recomputeReportView(
        await refusingBadRules('', () => store.availability.activateRuleSet(version, by, clock.now())),
      );
    },
  );

  // --- availability ----------------------------------------------------------------------------

  app.get<{ Params: SkuParams }>(
    '/availability/:sku',
    route(
      'read',
      'availability',
      'What every listing of a variant shows on its channel, as stored (recomputed in each ledger transaction)',
      { params: SkuParams, response: { 200: AvailabilityView } },
      [404],
    ),
    async (request) => {
      const listings = await store.availability.getAvailability(request.params.sku);
      if (!listings) throw new ProblemError('ONH_ERR_VARIANT_NOT_FOUND', `no variant with sku ${request.params.sku}`);
      return { sku: request.params.sku, listings: listings.map(listingQuantityView) };
    },
  );

  app.get<{ Params: IdParams }>(
    '/listings/:id/explain',
    route(
      'read',
      'availability',
      'Why a listing shows what it shows: each location, each rule and the units it took, the limiting bundle component, the rule-set version',
      { params: IdParams, response: { 200: ExplanationView } },
      [404],
    ),
    async (request) => {
      const explained = await store.availability.explainListing(request.params.id, clock.now());
      if (!explained) throw new ProblemError('ONH_ERR_LISTING_NOT_FOUND', `no listing ${request.params.id}`);
      return explanationView(explained);
    },
  );
}
