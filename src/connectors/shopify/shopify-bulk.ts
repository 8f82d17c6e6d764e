import { z } from 'zod';

/**
 * The full audit on Shopify's bulk path (docs/channels/shopify.md, Full audit: a bulk
 * operation): one `bulkOperationRunQuery` over every inventory item's level at the connection's
 * location, its status polled by `node(id:)` until COMPLETED, then the JSONL result read as a
 * stream, one line per item. The whole audit costs one mutation and one point per poll of the
 * shop's bucket; the result file is fetched outside the bucket.
 */

export const bulkRunMutation = `mutation OnhandAuditRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}`;

export const bulkStatusQuery = `query OnhandAuditStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url } }
}`;

/** The shop's bulk query now running or last run, with its query text (to adopt our own). */
export const currentBulkQuery = `query OnhandAuditCurrent {
  currentBulkOperation(type: QUERY) { id status query }
}`;

export const currentBulkPayloadSchema = z.object({
  currentBulkOperation: z
    .object({ id: z.string(), status: z.string(), query: z.string().nullable().optional() })
    .nullable(),
});

/** The bulk query: each inventory item with its `available` quantity at the location. */
export function auditQuery(locationGid: string): string {
  return `{ inventoryItems { edges { node { id inventoryLevel(locationId: ${JSON.stringify(locationGid)}) { quantities(names: ["available"]) { name quantity } } } } } }`;
}

export const bulkRunPayloadSchema = z.object({
  bulkOperationRunQuery: z.object({
    bulkOperation: z.object({ id: z.string(), status: z.string() }).nullable(),
    userErrors: z.array(z.object({ message: z.string() })),
  }),
});

export const bulkStatusPayloadSchema = z.object({
  node: z
    .object({
      id: z.string(),
      status: z.string(),
      errorCode: z.string().nullable().optional(),
      objectCount: z.union([z.string(), z.number()]).optional(),
      url: z.string().nullable().optional(),
    })
    .nullable(),
});

export const bulkLineSchema = z.object({
  id: z.string(),
  inventoryLevel: z
    .object({ quantities: z.array(z.object({ name: z.string(), quantity: z.number().int() })) })
    .nullable()
    .optional(),
});

/** Statuses after which the operation will not change any more. */
export const bulkFinalStatuses: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED']);

/**
 * The lines of a JSONL body, read as it arrives: at most `lineLengthMax` characters each (a
 * longer line is an error, never buffered whole), the trailing line without a newline included.
 */
export async function* jsonlLines(body: ReadableStream<Uint8Array>, lineLengthMax: number): AsyncGenerator<string> {
  let pending = '';
  for await (const text of body.pipeThrough(new TextDecoderStream()) as unknown as AsyncIterable<string>) {
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line.length > 0) yield line;
      newline = pending.indexOf('\n');
    }
    if (pending.length > lineLengthMax) throw new Error(`bulk result line longer than ${lineLengthMax} characters`);
  }
  const last = pending.trim();
  if (last.length > 0) yield last;
}
