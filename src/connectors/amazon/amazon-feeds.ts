/**
 * The JSON_LISTINGS_FEED document we send and the processing report we read
 * (schemas/feeds/listings-feed-schema-v2.json, listings-feed-processing-report-schema-v2.json;
 * docs/channels/amazon.md, Push: the listings feed). One message per SKU, `operationType: PATCH`
 * replacing `/attributes/fulfillment_availability`: the same change the single PATCH makes.
 */

export const listingsFeedType = 'JSON_LISTINGS_FEED';
export const feedContentType = 'application/json; charset=UTF-8';

export interface FeedLine {
  sku: string;
  quantity: number;
}

/** The fulfillment_availability patch for merchant-fulfilled stock (channel code DEFAULT). */
export function quantityPatch(quantity: number) {
  return {
    op: 'replace' as const,
    path: '/attributes/fulfillment_availability',
    value: [{ fulfillment_channel_code: 'DEFAULT', quantity }],
  };
}

export function listingsFeedDocument(sellerId: string, productType: string, lines: readonly FeedLine[]): string {
  return JSON.stringify({
    header: { sellerId, version: '2.0', issueLocale: 'en_US' },
    messages: lines.map((line, index) => ({
      messageId: index + 1,
      sku: line.sku,
      operationType: 'PATCH',
      productType,
      patches: [quantityPatch(line.quantity)],
    })),
  });
}

export interface ReportIssue {
  messageId: number;
  sku?: string;
  code: string;
  severity: 'ERROR' | 'WARNING' | 'INFO';
  message: string;
}

/**
 * Per message id (1-based, as sent): `null` when accepted, else Amazon's reason (every ERROR issue
 * of the message). Throws when the report has no summary (not a processing report).
 */
export function readProcessingReport(text: string, messages: number): (string | null)[] {
  const report = JSON.parse(text) as { summary?: unknown; issues?: ReportIssue[] };
  if (report.summary === undefined || report.summary === null) throw new Error('processing report without summary');
  const reasons: (string | null)[] = new Array(messages).fill(null);
  for (const issue of report.issues ?? []) {
    if (issue.severity !== 'ERROR') continue;
    const index = issue.messageId - 1;
    if (!(index >= 0 && index < messages)) continue;
    const text = `${issue.code}: ${issue.message}`;
    reasons[index] = reasons[index] === null ? text : `${reasons[index]}; ${text}`;
  }
  return reasons;
}
