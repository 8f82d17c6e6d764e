import assert from 'node:assert';

/**
 * Every bound in one place (CONVENTIONS 12, TIGER_STYLE "put a limit on everything").
 * Names carry their unit last. Relations between limits are asserted at module load, so a
 * bad edit fails the first test that imports this file.
 */
export const limits = Object.freeze({
  /** Largest quantity in one movement or reservation. */
  quantityMax: 1_000_000_000,
  /** Largest absolute level a count may set. */
  countOnHandMax: 1_000_000_000,
  /** Longest idempotency key (Stripe allows 255). */
  idempotencyKeyLengthMax: 255,
  /** Longest free-text field (names, reasons, references). */
  textLengthMax: 500,
  /** Longest sku / location code / barcode. */
  codeLengthMax: 100,
  /** Most commands in one POST /v1/movements request. */
  movementsPerRequestMax: 1_000,
  /** Most items in one bulk upsert (variants, locations). */
  upsertBatchSizeMax: 1_000,
  /** Most commands applied in one group-commit transaction (default; `--group-commit-max` sets it). */
  groupCommitBatchSizeMax: 2_000,
  /** Ceiling of `--group-commit-max`. */
  groupCommitBatchSizeCeiling: 10_000,
  /** Most group-commit transactions in flight at once per process (PostgreSQL; SQLite uses 1). */
  groupCommitInFlightMax: 4,
  /** Most commands waiting for a group commit before new ones are refused (backpressure). */
  groupCommitQueueDepthMax: 100_000,
  /** Attempts of one batch when the database reports a retryable conflict (40001, 40P01, 23505). */
  batchAttemptsMax: 8,
  /** Longest reservation hold. */
  reservationExpirySecondsMax: 30 * 24 * 3600,
  /** How far in the future a source time (occurred_at, counted_at) may lie. */
  sourceClockSkewMsMax: 5 * 60 * 1000,
  /** Most lines in one purchase order. */
  purchaseOrderLinesMax: 1_000,
  /** Most components in one bundle. */
  bundleComponentsMax: 50,
  /** Most attributes on a variant. */
  variantAttributesMax: 30,
  /** Page size for history and lists. */
  pageSizeMax: 500,
  pageSizeDefault: 100,
  /** Request body bytes (Fastify default is 1 MiB; a 1,000-movement batch needs ~300 KiB). */
  requestBodyBytesMax: 2 * 1024 * 1024,
  /**
   * How long a channel showing LESS than desired is left alone before it is corrected: long
   * enough for the order webhook of a sale the channel took to arrive (RELIABILITY R1).
   */
  driftGraceMs: 60_000,
  /** Push-latency samples kept (sync status reads the last 15 minutes of them). */
  pushSampleRetentionMs: 60 * 60 * 1000,
  /**
   * Listings read back from a channel per readLevels call: Shopify's 250 ids per `nodes` query;
   * the connectors split further where their platform takes less (Bol.com: one GET per offer).
   */
  readBackChunkMax: 250,
  /** Channel connectors kept for webhook intake (one per channel; beyond this the oldest is rebuilt on use). */
  webhookConnectorsCachedMax: 1_000,
  /** Largest webhook body accepted (Shopify orders with many lines stay far below). */
  webhookBodyBytesMax: 1024 * 1024,
  /** Whole-request deadline; Fastify's default is 0 = unbounded (RELIABILITY S5). */
  requestTimeoutMs: 30_000,
  /** Reservations expired per sweep transaction. */
  sweepBatchSizeMax: 1_000,
  /** Idempotency keys pruned per sweep transaction. */
  pruneBatchSizeMax: 5_000,
  /** Default and minimum idempotency-key retention. */
  idempotencyRetentionDaysDefault: 7,
  idempotencyRetentionDaysMin: 1,
});

assert(limits.movementsPerRequestMax <= limits.groupCommitBatchSizeMax);
assert(limits.groupCommitBatchSizeMax <= limits.groupCommitBatchSizeCeiling);
assert(limits.groupCommitBatchSizeCeiling <= limits.groupCommitQueueDepthMax);
assert(limits.pageSizeDefault <= limits.pageSizeMax);
assert(limits.readBackChunkMax <= limits.pageSizeMax);
assert(limits.quantityMax < Number.MAX_SAFE_INTEGER / 1_000_000);
assert(limits.idempotencyRetentionDaysMin <= limits.idempotencyRetentionDaysDefault);
