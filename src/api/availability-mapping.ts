import { redactChannelSettings } from '../connectors/connector-settings.js';
import type { EpochMs } from '../core/clock.js';
import { explainText, type ListingAvailability } from '../core/availability/compute-available.js';
import type {
  AvailabilityPort,
  ChannelInput,
  ChannelRecord,
  DryRunReport,
  ListingExplanation,
  ListingInput,
  ListingQuantity,
  ListingRecord,
  RecomputeReport,
  RuleSetEvent,
  RuleSetVersion,
  UnmappedItem,
} from '../store/availability-store.js';
import { iso } from './iso-time.js';
import type {
  ChannelItem,
  ChannelView,
  DryRunReportView,
  ExplanationView,
  ListingItem,
  ListingQuantityView,
  ListingView,
  MappingItem,
  RecomputeReportView,
  RuleSetEventView,
  RuleSetSummary,
  RuleSetView,
  UnmappedView,
} from './availability-schemas.js';

/**
 * The availability part of the API's mapping (see src/http/api-mapping.ts): snake_case JSON with
 * RFC 3339 times at the edge, camelCase with epoch milliseconds in the store port. One
 * function per concept and direction. Rule sets and explanation steps are snake_case in the
 * core already and pass through unchanged.
 */

/** The port names no type for a mapping; this is its parameter's item. */
type MappingInput = Parameters<AvailabilityPort['upsertMappings']>[0][number];

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

export function channelInput(item: ChannelItem): ChannelInput {
  return {
    code: item.code,
    name: item.name,
    platform: item.platform,
    settings: item.settings,
    locations: item.locations,
    pushLatencyP95Ms: item.push_latency_p95_ms,
  };
}

export function channelView(record: ChannelRecord): ChannelView {
  return {
    code: record.code,
    name: record.name,
    platform: record.platform,
    settings: redactChannelSettings(record.platform, record.settings),
    locations: record.locations,
    push_latency_p95_ms: record.pushLatencyP95Ms,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    // Only once deactivated: the views of active records are unchanged.
    ...((record.deactivatedAt ?? null) === null ? {} : { active: false }),
  };
}

export function listingInput(item: ListingItem): ListingInput {
  return {
    channel: item.channel,
    externalId: item.external_id,
    sku: item.sku,
    barcode: item.barcode,
    externalLocationId: item.external_location_id,
    externalRefs: item.external_refs,
    rank: item.rank,
  };
}

export function listingView(record: ListingRecord): ListingView {
  return {
    id: record.id,
    channel: record.channel,
    sku: record.sku,
    external_id: record.externalId,
    external_location_id: record.externalLocationId,
    external_refs: record.externalRefs,
    rank: record.rank,
    matched_by: record.matchedBy,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    // Only once deactivated: the views of active records are unchanged.
    ...((record.deactivatedAt ?? null) === null ? {} : { active: false }),
  };
}

export function unmappedView(item: UnmappedItem): UnmappedView {
  return {
    index: item.index,
    channel: item.channel,
    external_id: item.externalId,
    sku: item.sku,
    barcode: item.barcode,
    reason: item.reason,
  };
}

/** An item still unmapped, as GET /v1/unmapped lists it: when it was last reported. */
export function unmappedEntryView(item: UnmappedItem & { at: EpochMs }): UnmappedView & { at: string } {
  return { ...unmappedView(item), at: iso(item.at) };
}

export function mappingInput(item: MappingItem): MappingInput {
  return { channel: item.channel, externalId: item.external_id, sku: item.sku };
}

export function ruleSetSummary(record: RuleSetVersion): RuleSetSummary {
  return {
    version: record.version,
    author: record.author,
    note: record.note,
    created_at: iso(record.createdAt),
    active: record.active,
    activated_at: isoOrNull(record.activatedAt),
  };
}

export function ruleSetView(record: RuleSetVersion): RuleSetView {
  // Same shape but for optional members set to undefined, which the JSON reply drops
  // (ruleSetMirrorsCore in availability-schemas.ts checks the rest).
  return { ...ruleSetSummary(record), rules: record.rules as RuleSetView['rules'] };
}

export function ruleSetEventView(event: RuleSetEvent): RuleSetEventView {
  return { version: event.version, action: event.action, author: event.author, note: event.note, at: iso(event.at) };
}

export function dryRunReportView(report: DryRunReport): DryRunReportView {
  return {
    base_version: report.baseVersion,
    listings: report.listings,
    changed: report.changed,
    changes: report.changes.map((change) => ({
      listing_id: change.listingId,
      channel: change.channel,
      sku: change.sku,
      current: change.current,
      proposed: change.proposed,
    })),
  };
}

export function recomputeReportView(report: RecomputeReport): RecomputeReportView {
  return {
    variants: report.variants,
    listings: report.listings,
    changed: report.changed,
    rule_version: report.ruleVersion,
  };
}

export function listingQuantityView(quantity: ListingQuantity): ListingQuantityView {
  return {
    listing_id: quantity.listingId,
    channel: quantity.channel,
    external_id: quantity.externalId,
    quantity: quantity.quantity,
    preorder: quantity.preorder,
    rule_version: quantity.ruleVersion,
    computed_at: iso(quantity.computedAt),
  };
}

/** The store's explanation as the core's result, which `explainText` reads (HTTP and CLI). */
export function listingAvailability(explained: ListingExplanation): ListingAvailability {
  return {
    listingId: explained.listingId,
    channelCode: explained.channel,
    quantity: explained.quantity,
    pool: explained.pool,
    preorder: explained.preorder,
    ruleVersion: explained.ruleVersion,
    explanation: explained.explanation,
  };
}

export function explanationView(explained: ListingExplanation): ExplanationView {
  return {
    listing_id: explained.listingId,
    channel: explained.channel,
    sku: explained.sku,
    quantity: explained.quantity,
    stored_quantity: explained.storedQuantity,
    pool: explained.pool,
    preorder: explained.preorder,
    rule_version: explained.ruleVersion,
    explanation: explained.explanation,
    text: explainText(explained.sku, listingAvailability(explained)),
  };
}
