import assert from 'node:assert';

/**
 * Every bound onhand keeps, in one place: sizes, counts, durations and defaults, each with the
 * reason for its value. Names carry their unit last (`leaseTtlMs`, `requestBodyBytesMax`). The
 * relations other code relies on between them are listed in {@link limitRelations} and checked
 * at module load, so a bad edit fails the first test (and the first process) that imports this
 * file. The platforms' own published limits (rate limits, array sizes) are facts about them, not
 * bounds of ours: they stay with each connector (bol-limits.ts, shopify-limits.ts).
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
  /**
   * Turns of the event loop a single-writer store's group commit waits while its queue keeps
   * growing (src/store/group-commit.ts says why). Measured on SQLite, alternating 0 and 3
   * (bench/README.md, Ninth session): bench:webhooks 641 and 540 -> 706 and 685 webhooks/s,
   * server CPU per webhook 1.70-1.91 -> 1.58-1.65 ms (fewer, larger commits); bench:reservations
   * by location 0.42-0.43x -> 0.47x of GET /healthz, by channel 0.33-0.36x -> 0.38-0.40x.
   */
  groupCommitGatherTurnsMax: 3,
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
  /**
   * Prepared statements one SQLite connection keeps (src/store/sqlite/statement-cache.ts): the
   * store's own SQL is a few hundred texts; a LIMIT is written into the text, so a list read
   * with every page size makes one text per size. Past it the cache starts over.
   */
  sqliteStatementsMax: 2_000,
  /**
   * Variants the SQLite ledger keeps in its variant cache (listings, bundle rows, levels and
   * stored quantities: 1-2 KB each with four listings). Past it, at the start of a batch, the
   * first loaded are dropped down to three quarters. A ledger batch reads what it misses in one
   * query per table, so the bound trades reads for memory: since the dispatch writes no longer
   * empty the cache, a server with 250,000 variants would otherwise grow toward all of them.
   */
  variantCacheMax: 50_000,
  /**
   * Longest list cursor a request may carry (base64url). The longest we issue is a reservation
   * cursor: its created_at, an id of at most idempotencyKeyLengthMax characters and the check.
   */
  listCursorLengthMax: 1024,
  /** `onhand movements --follow`: the wait between polls once caught up (a tail of a busy ledger never waits). */
  movementFeedPollMsDefault: 2_000,
  /** Request body bytes (Fastify default is 1 MiB; a 1,000-movement batch needs ~300 KiB). */
  requestBodyBytesMax: 2 * 1024 * 1024,
  /**
   * How long a channel showing LESS than desired is left alone before it is corrected: long
   * enough for the order webhook of a sale the channel took to arrive (docs/RELIABILITY.md, section 11).
   */
  driftGraceMs: 60_000,
  /**
   * Order-line saves written in one transaction (they arrive while the previous write is in
   * flight): one fsync for many lines, each line still checked against its own row version.
   */
  orderLineWriteBatchMax: 500,
  /**
   * Reads of the order-line intake gathered into one query (the lines, or the variants' levels,
   * of the deliveries that arrive together): bounded so one query's parameter list stays small.
   */
  intakeReadBatchMax: 500,
  /**
   * Side writes of a ledger batch (order lines) sent as one PostgreSQL statement of CTEs: bounded
   * so a statement stays far below PostgreSQL's 65,535 parameters (an order line's write has 13).
   */
  sideWritesPerStatementMax: 200,
  /**
   * A PostgreSQL ledger batch appending at most this many rows (movements, stored answers and new
   * reservations together) writes them in one statement of unnest inserts: one round trip while
   * it holds its levels' locks, where three COPYs take two each. Larger batches use COPY, which
   * costs both sides less per row: with 300 here bench:webhooks on PostgreSQL lost about 7% (its
   * batches append more rows); at 60 it is unchanged, and checkout batches (about 10 reservations,
   * 30 rows) keep the gain (bench/README.md, "Twelfth session").
   */
  pgAppendedRowsPerStatementMax: 60,
  /**
   * A polled channel's orders with lines still open and unchanged this long are read again in
   * full, so a change the change-based poll missed (a cursor lost in a crash, a pause longer
   * than the platform's change window) is still applied; at most this many orders per interval.
   */
  openOrderRefreshAgeMs: 60 * 60 * 1000,
  openOrderRefreshIntervalMs: 10 * 60 * 1000,
  openOrderRefreshBatchMax: 20,
  /** Order lines taken up per retry sweep (the inbox retry and the pending steps). */
  orderLineRetryBatchMax: 500,
  /** Pause between two retry sweeps of blocked and stale order lines. */
  orderLineRetryIntervalMs: 30_000,
  /** Push-latency samples kept (sync status reads the last 15 minutes of them). */
  pushSampleRetentionMs: 60 * 60 * 1000,
  /**
   * Listings read back from a channel per readLevels call: Shopify's 250 ids per `nodes` query;
   * the connectors split further where their platform takes less (Bol.com: one GET per offer).
   */
  readBackChunkMax: 250,
  /**
   * Reconciliation (src/reconcile): a targeted pass reads back the listings pushed or changed in
   * the last `reconcileTargetedWindowMs` (and those in drift) every `reconcileTargetedIntervalMs`;
   * a full pass reads every listing every `reconcileFullIntervalMs`. A window longer than the
   * interval lets one missed pass be caught up by the next.
   */
  reconcileTargetedIntervalMs: 5 * 60 * 1000,
  reconcileTargetedWindowMs: 15 * 60 * 1000,
  reconcileFullIntervalMs: 24 * 60 * 60 * 1000,
  /**
   * Bounds of a channel's own schedule (`settings.reconcile`). A targeted pass more often than
   * once a minute mostly re-reads what was just pushed, spending the budget pushes need; less
   * often than the targeted window would leave changes no pass reads. A full audit reads every
   * listing (minutes on a large channel), so not more than hourly, and at least weekly.
   */
  reconcileTargetedIntervalMsMin: 60 * 1000,
  reconcileTargetedIntervalMsMax: 15 * 60 * 1000,
  reconcileFullIntervalMsMin: 60 * 60 * 1000,
  reconcileFullIntervalMsMax: 7 * 24 * 60 * 60 * 1000,
  /** How often the schedule looks for a channel whose pass is due (a pass starts at most this late). */
  reconcileScheduleTickMs: 30 * 1000,
  /**
   * Pushes keep priority over reads in a channel's shared rate budget: a read-back chunk waits
   * while less than this share of the budget (in percent of its capacity) is available.
   */
  reconcileBudgetReservePercent: 50,
  /** Longest wait for the budget before one read-back chunk goes ahead anyway (reads never starve). */
  reconcileBudgetWaitMsMax: 30_000,
  /** Drifted listings listed (and repaired) per page of a reconcile pass. */
  reconcileDriftPageMax: 500,
  /** Channel connectors kept for webhook intake (one per channel; beyond this the oldest is rebuilt on use). */
  webhookConnectorsCachedMax: 1_000,
  /** Largest webhook body accepted (Shopify orders with many lines stay far below). */
  webhookBodyBytesMax: 1024 * 1024,
  /** Whole-request deadline; Fastify's default is 0 = unbounded (docs/RELIABILITY.md, section 13). */
  requestTimeoutMs: 30_000,
  /**
   * How often the deadline sweep (http/request-deadline.ts) looks for requests past their
   * deadline: a request is answered at most this much after it.
   */
  requestDeadlineSweepMs: 250,
  /**
   * Tokens the auth hook keeps for routes whose ledger batch re-checks the token (auth.ts): more
   * live tokens than this only cost a store lookup each.
   */
  tokenCacheSizeMax: 256,
  /** Reservations expired per sweep transaction. */
  sweepBatchSizeMax: 1_000,
  /** Idempotency keys pruned per sweep transaction. */
  pruneBatchSizeMax: 5_000,
  /** Default and minimum idempotency-key retention. */
  idempotencyRetentionDaysDefault: 7,
  idempotencyRetentionDaysMin: 1,
  /** Longest idempotency-key retention accepted: ten years, beyond any retry or audit window. */
  idempotencyRetentionDaysMax: 3650,
  /** Sweeper period: due reservations are written expired and old keys pruned this often (expiry itself is logical). */
  sweepIntervalMsDefault: 1000,
  /** A shorter sweep period spends transactions on nothing: each sweep is at least one write transaction. */
  sweepIntervalMsMin: 100,
  /** An hour: beyond it, expired holds and pruned keys pile up for no gain. */
  sweepIntervalMsMax: 60 * 60 * 1000,
  /**
   * Full recompute of every listing although no movement touched it: rules that depend on time
   * (the velocity buffer decays, store counts age) move quantities by themselves. 5 minutes is well
   * under the 15-minute velocity half-life (src/core/availability/velocity.ts).
   */
  availabilityRefreshMsDefault: 5 * 60 * 1000,
  /** At least once a day when enabled (0 disables it). */
  availabilityRefreshMsMax: 24 * 60 * 60 * 1000,
  /** PostgreSQL connections per process: group-commit transactions in flight, plus reads and the dispatcher. */
  pgPoolSizeDefault: 10,
  /** PostgreSQL's default max_connections is 100: 200 from one process is already a misconfiguration. */
  pgPoolSizeMax: 200,
  /**
   * Distinct statement texts a PostgreSQL connection keeps prepared (src/store/postgres/prepared-client.ts).
   * onhand's own SQL has a few hundred fixed texts; beyond the bound a text runs unprepared, so a
   * backend's memory for plans stays bounded whatever builds SQL dynamically.
   */
  pgPreparedStatementsMax: 500,
  /**
   * How far `onhand serve` lets the V8 heap grow past what the last full collection kept, in
   * percent (V8's --heap-growing-percent). Left to itself V8 grows it up to 4 times under a steady
   * allocation rate: at 1,000,000 listings and 200 orders/s that held 229-300 MiB of heap for 67 MiB
   * alive, a steady RSS of 398-432 MiB. At 50 the same flow steadies at 283-285 MiB, for about
   * 5-10% more CPU in collections (bench/README.md, "Memory"). 0 leaves V8's own heuristic.
   */
  heapGrowthPercentDefault: 50,
  /** Below 10 the heap is collected again almost as soon as it grows (V8's own floor is 10%). */
  heapGrowthPercentMin: 10,
  /** V8's own ceiling: 4 times what the last collection kept. */
  heapGrowthPercentMax: 300,

  // HTTP server: socket bounds besides requestTimeoutMs, and answer sizes.
  /** An idle socket is closed after a minute (Fastify's default is 0 = never). */
  connectionTimeoutMs: 60_000,
  /** Keep-alive outlives the 60 s idle timeout of common load balancers, so they close first, not us mid-request. */
  keepAliveTimeoutMs: 72_000,
  /**
   * Longest path parameter: codes of at most codeLengthMax characters, each at most 12 bytes once
   * UTF-8 (4 bytes) is percent-encoded (x3).
   */
  pathParameterLengthMax: 100 * 12,
  /**
   * Most entries in a problem's `errors`: a 2 MiB body of 1,000 bad movements could otherwise
   * yield a multi-megabyte answer; the first 100 say what is wrong.
   */
  problemErrorsMax: 100,
  /**
   * Most dead letters moved back to pending by one redrive: each becomes a push, and 10,000 is
   * already about 3.5 minutes of Bol.com's offer-write budget (50 per second).
   */
  redriveLimitMax: 10_000,
  /** Push-latency percentiles of sync status are read over the last 15 minutes. */
  pushLatencyWindowMs: 15 * 60 * 1000,
  /** Longest KPI window (`GET /v1/kpis?window=`): 90 days, in hours; a wider scan of movements is a report, not a KPI. */
  kpiWindowHoursMax: 90 * 24,
  /** Most push-latency samples one KPI read sorts per channel (the newest first). */
  kpiLatencySamplesMax: 100_000,

  // Alerts (src/alerts): how often the rules are evaluated and how a webhook delivery retries.
  /** Rules are evaluated this often by `serve`: each round is a few counts per channel. */
  alertIntervalMs: 30_000,
  /** Drifted listings counted per channel per round at most (a page of drift at a time). */
  alertDriftCountMax: 100_000,
  /** Default drift alert: more than 1% of a channel's listings (the field's target is under 0.2%). */
  alertDriftPercentDefault: 1,
  /** Default: the oldest waiting change older than 5 minutes. */
  alertOldestPendingSecondsDefault: 300,
  /** Default: a connection failing with no success for 15 minutes. */
  alertFailingMinutesDefault: 15,
  /**
   * Order silence: a channel's usual gap is the 95th percentile of the gaps between the distinct
   * creation times of its order lines in the 7 days up to its newest line, read from at most
   * `alertOrderGapLinesMax` lines (the newest), and trusted once it rests on 20 gaps or more.
   */
  alertOrderGapPercentile: 95,
  alertOrderGapWindowMs: 7 * 24 * 60 * 60 * 1000,
  alertOrderGapLinesMax: 20_000,
  alertOrderGapsMin: 20,
  /** Default: silent for 4 times the channel's usual gap ... */
  alertOrderSilenceFactorDefault: 4,
  /** ... and never for less than an hour (the floor, in minutes). */
  alertOrderSilenceMinutesDefault: 60,
  /** Largest factor over the usual gap. */
  alertOrderSilenceFactorMax: 100,
  /** Longest configurable threshold of a time rule: 30 days, in minutes. */
  alertMinutesMax: 30 * 24 * 60,
  /** Attempts of one webhook delivery: the first and up to 5 retries on 5xx, timeouts and network errors. */
  alertWebhookAttemptsMax: 6,
  /** Delay before the first retry of a delivery, doubled per attempt. */
  alertWebhookRetryDelayMs: 1_000,
  /** A delivery is abandoned after this long in total, whatever attempts are left. */
  alertWebhookDeliveryMsMax: 2 * 60 * 1000,
  /** Deliveries waiting at once; beyond it the oldest waiting one is dropped (and logged). */
  alertWebhookQueueMax: 1_000,
  /** Most alerts one `GET /v1/alerts` or `onhand alerts` answers, newest first. */
  alertListMax: 500,

  // Push side (src/sync): the dispatcher's lease, claims and loops, and the retry policy.
  /**
   * How long a channel's lease outlives its last renewal: one process pushes a channel at a time
   * (a platform's rate limit holds cluster-wide) and a dead owner's channel is taken over within
   * this plus one idle round. Every round renews it.
   */
  leaseTtlMs: 15_000,
  /**
   * How long a claim shields its rows from other claims; a crashed pusher's rows come back after
   * it. Longer than the lease: a push in flight when its owner's lease lapses is not pushed again
   * by the next owner before it has finished or timed out.
   */
  claimTtlMs: 30_000,
  /**
   * Rows claimed per dispatcher round (the run loop claims at most one connector batch per loop).
   * A claimed row carries its desired value from claim time: measured with bench:propagation at
   * Bol.com's limits, claims of 500 give an at-risk p95 of about 7 s; the rate budget caps it further.
   */
  claimBatchSizeMax: 500,
  /**
   * Sleep of a dispatcher loop when nothing was due. A commit wakes a sleeping loop at once, so this
   * only bounds how late rows that fall due by time (retries) are seen.
   */
  dispatchIdleMs: 25,
  /** Sleep after a round that pushed something, to coalesce changes into the next claim (0: claim again at once). */
  dispatchBusyMs: 0,
  /** Sleep of a loop after an error, so a failing store or connector is not hammered. */
  dispatchErrorPauseMs: 1000,
  /** Claims pushed at once per channel by the run loop; measured in bench/README.md (Propagation). */
  claimsInFlightMax: 4,
  /** Delay before the first retry of a failed push (then x retryBackoffCoefficient per attempt, with jitter). */
  retryInitialDelayMs: 1000,
  retryBackoffCoefficient: 2,
  /** A configured policy backs off at most x10 per attempt: that reaches the 10-minute cap by the fourth attempt. */
  retryBackoffCoefficientCeiling: 10,
  /** Longest delay between two attempts: a channel down for hours is retried every 10 minutes. */
  retryDelayMsMax: 10 * 60 * 1000,
  /** Failed attempts before a listing goes to the dead-letter list: 9 delays of 1, 2, ..., 256 s, 4 to 8.5 minutes with jitter. */
  retryAttemptsMax: 10,
  /** Ceiling of a configured attemptsMax: 100 attempts at the 10-minute cap is most of a day. */
  retryAttemptsCeiling: 100,
  /** Order poll interval of a polled channel: a sale there reaches the ledger within about 5 s. */
  orderPollIntervalMs: 5_000,
  /**
   * Mapped listings read from a marketplace's fulfilment network per pass (Amazon FBA: 50 SKUs a
   * call, 40 calls, 20 s of the 2-per-second plan); a channel with more reads the first ones.
   */
  marketplaceStockListingsMax: 2_000,

  // Connectors: onhand's own bounds on its calls to the platforms (the platforms' published
  // limits stay with each connector, in bol-limits.ts and shopify-limits.ts).
  /** Deadline of one outbound HTTP request: every outbound call has a timeout. */
  outboundRequestTimeoutMs: 10_000,
  /**
   * The largest answer a platform may send to one outbound call; a longer one is cut and read as
   * a network failure. The largest legitimate answers are pages (1,000 Google products, 250
   * Shopify items) and an Amazon feed's processing report, each well under 1 MiB per 1,000 items.
   */
  outboundAnswerBytesMax: 32 * 1024 * 1024,
  /** How long a Shopify push may wait for the cost bucket before it answers `retry` instead. */
  shopifyBucketWaitMsMax: 1_000,
  /** Mutations in one Shopify push chunk: the first, then one per round that removed stale or bad items. */
  shopifyPushRoundsMax: 4,
  /**
   * How long a Shopify request we gave up on (timeout, reset) still counts as possibly on its way:
   * once the connection is gone a request that has not fully arrived cannot run, so a few seconds
   * cover proxies and queues in between.
   */
  shopifyReleaseGraceMs: 5_000,
  /** Cost points kept in hand on top of a request's cost, against clock rounding between us and Shopify. */
  shopifyBucketSafetyMarginPoints: 1,
  /** Offers per Bol.com push: one PATCH each, so small (the dispatcher coalesces before the connector). */
  bolPushBatchSizeMax: 20,
  /** PATCHes in flight at once per Bol.com connection (50 per second at ~100 ms each needs ~5). */
  bolPushConcurrencyMax: 8,
  /** GETs in flight at once when reading Bol.com offers back. */
  bolReadConcurrencyMax: 4,
  /** Longest a Bol.com request waits for its rate window before the push answers `retry` instead. */
  bolLimiterWaitMsMax: 1_500,
  /**
   * Margin of the sliding window kept over each of Bol.com's fixed windows: max(ratio x window,
   * minimum), against network jitter (src/connectors/bol/bol-limits.ts explains it).
   */
  bolWindowMarginRatio: 0.05,
  /**
   * The most requests per window the Bol.com limiter adopts from bol's `x-ratelimit-limit`
   * (published: 25-50 per second). Bounds the limiter's log of send times, one per request in
   * the window; a client granted more than this uses this many.
   */
  bolRateCapacityMax: 5_000,
  bolWindowMarginMsMin: 25,
  /** Renew a Bol.com token at this fraction of its lifetime (299 s -> after 239 s), in the background. */
  bolTokenRefreshRatio: 0.8,
  /** Never send a Bol.com token older than this fraction of its lifetime (299 s -> 284 s); wait for renewal. */
  bolTokenUseRatioMax: 0.95,
  /** After a failed token request, wait this long before the next: Bol.com blocks addresses that hammer it. */
  bolTokenFailureHoldOffMs: 1_000,
  /** Pages of Bol.com's order list per poll: its budget is 25 list requests per minute. */
  bolOrdersPagesPerPollMax: 10,
  /** Bol.com order details fetched per poll (one request each, 25 per second). */
  bolOrderDetailsPerPollMax: 100,
  /** Bol.com order ids whose detail is still owed, carried in the poll cursor. */
  bolDeferredOrdersMax: 1_000,
  /** Bol.com order items remembered for dedupe in the poll cursor (oldest evicted beyond this). */
  bolRememberedOrderItemsMax: 20_000,
  /** A full scan of Bol.com's open orders at least this often; between them, change-interval polls. */
  bolOrdersFullScanIntervalMs: 10 * 60 * 1000,
  /** Product inputs per Google Merchant Center push: one insert each, inside a per-minute quota, nested in one batch request. */
  gmcPushBatchSizeMax: 20,
  /** Inserts in flight at once per Google Merchant Center connection when its batch requests are off. */
  gmcPushConcurrencyMax: 4,
  /** Longest a Google Merchant Center call waits for its minute budget before the push answers `retry`. */
  gmcLimiterWaitMsMax: 1_500,
  /**
   * WooCommerce has no rate limit of its own; its host (PHP workers, a WAF) has one. Requests per
   * second a WooCommerce connection sends by default: a small shared host serves a few PHP
   * requests at once, and a batch of 100 stock updates takes it about a second
   * (docs/channels/woocommerce.md, Rate limits). A channel's settings raise or lower it.
   */
  wooRequestsPerSecondDefault: 4,
  /** Ceiling of a WooCommerce channel's `requests_per_second`. */
  wooRequestsPerSecondCeiling: 100,
  /** Requests in flight at once per WooCommerce connection by default (PHP workers on a small host). */
  wooConcurrencyDefault: 2,
  /** Ceiling of a WooCommerce channel's `concurrency`. */
  wooConcurrencyCeiling: 32,
  /** Longest a WooCommerce push waits for its shop's budget before it answers `retry` instead. */
  wooLimiterWaitMsMax: 2_000,
  /** Share of a WooCommerce shop's request budget a read-back may take: the rest stays with pushes. */
  wooReadSharePercent: 50,
  /**
   * A WooCommerce connection starts at most a tenth of its per-second budget (at least one
   * request) in any window this long, so a busy shop's second is spread out, not spent at once.
   */
  wooPaceWindowMs: 100,
  /** Pages of WooCommerce's order list per poll (100 orders a page). */
  wooOrdersPagesPerPollMax: 10,
  /** WooCommerce orders whose refunds are read per poll (one request each). */
  wooRefundReadsPerPollMax: 50,
  /** How far back the first WooCommerce order poll looks (orders modified since). */
  wooOrdersFirstPollLookbackMs: 7 * 24 * 60 * 60 * 1000,
  /**
   * Each WooCommerce order poll asks again for orders modified this long before the newest one
   * it saw: `modified_after` is strict and to the second, and a store commits its writes late.
   */
  wooOrdersPollOverlapMs: 5_000,
  /** Order poll interval of a WooCommerce channel: the fallback behind its webhooks. */
  wooOrderPollIntervalMs: 30_000,

  // Request hardening: what the edge refuses before anything reaches a store.
  /**
   * From the first header byte to the last body byte of one request (Node's requestTimeout and
   * headersTimeout). A 2 MiB body at 200 KB/s still arrives; a stalled one is answered 408 and
   * its socket closed.
   */
  requestReceiveTimeoutMs: 10_000,
  /** How often Node checks sockets against requestReceiveTimeoutMs (Node's default is 30 s). */
  requestReceiveCheckIntervalMs: 1_000,
  /**
   * Deepest JSON a request may carry (query and path parameters count as depth 1). The deepest
   * schema is a rule set: rules.channels.<code>.buffer.dynamic.floor, depth 6.
   */
  requestJsonDepthMax: 32,
  /** Deepest channel settings document: settings.connector.<field> is depth 2. */
  channelSettingsDepthMax: 8,
  /** Largest channel settings document, as JSON (a connector's settings take about 500 bytes). */
  channelSettingsBytesMax: 16 * 1024,
  /** Largest rule set, as JSON (1,000 channels with every rule take about 300 KiB). */
  ruleSetBytesMax: 512 * 1024,
  /**
   * Listing ids a push batch's log line names; above it the line carries the count only. A
   * Shopify batch is up to 250 items: 20 ids (~200 bytes) keep a line readable in a terminal.
   */
  logListingIdsMax: 20,
  /**
   * Directories `onhand --version` walks up from the CLI module to find package.json: 2 from
   * src/cli/, 3 from dist/src/cli/; the margin covers a package nested under node_modules.
   */
  packageJsonSearchDepthMax: 6,

  // The operator's dashboard (src/http/plugins/dashboard.ts, session.ts, events.ts).
  /**
   * Variants per page of `GET /v1/stock`: a page carries every level and listing of its variants,
   * so it is smaller than a history page; 50 rows fill a screen.
   */
  stockPageSizeMax: 200,
  stockPageSizeDefault: 50,
  /**
   * Order lines per page of `GET /v1/order-lines`: each line carries its applied effect per
   * location, so a page stays below the plain list bound; 50 lines fill a variant page.
   */
  orderLinePageSizeMax: 200,
  orderLinePageSizeDefault: 50,
  /** A variant is low on stock when it has at most this many units available (`low_stock=true`). */
  stockLowAvailableMax: 5,
  /** Longest search text of `GET /v1/stock?q=` (a name is at most textLengthMax; a search is shorter). */
  stockSearchLengthMax: 100,
  /** A dashboard session ends after this long without a request ... */
  sessionIdleMs: 30 * 60 * 1000,
  /** ... and after this long in any case: a stolen cookie is worth a working day at most. */
  sessionAbsoluteMs: 12 * 60 * 60 * 1000,
  /** A session's last use is written at most this often (a read per request, a write per minute). */
  sessionTouchIntervalMs: 60 * 1000,
  /** Live events kept for a reconnecting client (`Last-Event-ID`); older ones are gone, the client reloads. */
  eventRingSizeMax: 1_000,
  /** Event streams open at once per process; beyond it a new one is answered 503. */
  eventStreamsMax: 100,
  /** A comment is sent on an idle stream this often, so proxies and the browser keep it open. */
  eventHeartbeatMs: 15_000,
  /** How long a client waits before reconnecting a dropped stream (the SSE `retry:` field). */
  eventRetryMs: 3_000,
  /** Events queued for one slow stream before it is closed (it reconnects and resumes from the ring). */
  eventStreamBacklogMax: 500,

  // CSV import and export (src/csv, src/api/csv-import.ts, src/api/csv-export.ts).
  /**
   * Largest CSV import, as an API body or a CLI file: 100,000 variant rows with a name,
   * a barcode and a few attributes take about 15 MiB; twice that leaves room for longer names.
   * The body is held in memory while it is checked (all rows before any is applied).
   */
  csvImportBytesMax: 32 * 1024 * 1024,
  /** Most data rows in one import: twice the 100,000 bench:import measures (under 10 s each). */
  csvImportRowsMax: 200_000,
  /** Longest field: a bundle's components (50 x ~110 characters) and 30 attributes (~600 each) fit. */
  csvFieldLengthMax: 20_000,
  /** Row errors an import answer lists at most (the CLI prints every one): a 30 MiB file of bad rows stays a small answer. */
  csvImportErrorsMax: 1_000,
  /** Rows read from the store per page of a streamed export (the whole table is never held). */
  csvExportPageMax: 1_000,
  /**
   * Skus an import resolves per store read. PostgreSQL answers a read of this many skus with a
   * scan of the variants and levels whatever the count, so fewer, larger reads: 100,000 stock
   * rows resolved in 11.2 s with reads of 1,000 skus (bench:import).
   */
  csvResolveSkusMax: 10_000,
  /**
   * Deadline of one import request, instead of requestTimeoutMs: 100,000 stock rows took 25 s
   * on PostgreSQL on the loaded 2-core VM (bench/README.md, CSV import); the largest file is
   * twice that, with room to spare.
   */
  csvImportTimeoutMs: 120_000,
});

/** A set of bounds of the same names (what {@link checkLimits} takes: a test may pass a broken one). */
export type Limits = { readonly [name in keyof typeof limits]: number };

/**
 * The relations between bounds that the code relies on, each with what breaks without it.
 * Kept as data so a test can check a broken set and see it caught.
 */
export const limitRelations: readonly { holds: (l: Limits) => boolean; why: string }[] = [
  {
    holds: (l) => l.movementsPerRequestMax <= l.groupCommitBatchSizeMax,
    why: 'a full movements request fits one group commit',
  },
  {
    holds: (l) => l.groupCommitBatchSizeMax <= l.groupCommitBatchSizeCeiling,
    why: 'the default group commit lies within its ceiling',
  },
  { holds: (l) => l.groupCommitBatchSizeCeiling <= l.groupCommitQueueDepthMax, why: 'a full group commit can queue' },
  { holds: (l) => l.pageSizeDefault <= l.pageSizeMax, why: 'the default page size is allowed' },
  {
    holds: (l) => l.requestDeadlineSweepMs * 10 <= l.requestTimeoutMs,
    why: 'the deadline sweep runs at least ten times within a request deadline',
  },
  {
    // 'r:' + created_at (15 digits) + ':' + an ASCII id + '|' + 8 hex digits, base64url.
    holds: (l) => 4 * Math.ceil((27 + l.idempotencyKeyLengthMax) / 3) <= l.listCursorLengthMax,
    why: 'a reservation cursor fits the cursor bound a request may carry',
  },
  {
    // 'p:' + a code of up to 4 UTF-8 bytes a character + '|' + 8 hex digits, base64url.
    holds: (l) => 4 * Math.ceil((11 + 4 * l.codeLengthMax) / 3) <= l.listCursorLengthMax,
    why: 'a purchase order cursor fits the cursor bound a request may carry',
  },
  {
    holds: (l) => l.readBackChunkMax <= l.pageSizeMax,
    why: 'a read-back chunk of listings is one page of the listings list',
  },
  {
    holds: (l) => l.reconcileTargetedWindowMs >= l.reconcileTargetedIntervalMs,
    why: 'a targeted reconcile pass covers everything changed since the previous one',
  },
  {
    holds: (l) => l.reconcileTargetedIntervalMsMax <= l.reconcileTargetedWindowMs,
    why: "a channel's own targeted interval still lets each pass cover what changed since the previous one",
  },
  {
    holds: (l) =>
      l.reconcileTargetedIntervalMs >= l.reconcileTargetedIntervalMsMin &&
      l.reconcileTargetedIntervalMs <= l.reconcileTargetedIntervalMsMax &&
      l.reconcileFullIntervalMs >= l.reconcileFullIntervalMsMin &&
      l.reconcileFullIntervalMs <= l.reconcileFullIntervalMsMax,
    why: 'the default schedule is one a channel could set',
  },
  {
    holds: (l) => l.reconcileTargetedIntervalMsMax <= l.reconcileFullIntervalMsMin,
    why: 'a full audit is never more frequent than the targeted passes between them',
  },
  {
    holds: (l) => l.reconcileScheduleTickMs <= l.reconcileTargetedIntervalMsMin / 2,
    why: 'the schedule looks often enough for the shortest interval to be kept within half of it',
  },
  {
    holds: (l) => l.reconcileBudgetReservePercent >= 0 && l.reconcileBudgetReservePercent < 100,
    why: 'a read-back chunk can always go ahead with a budget that is not empty',
  },
  {
    holds: (l) => l.reconcileDriftPageMax <= l.pageSizeMax,
    why: 'a page of drifted listings is one page of a list',
  },
  {
    holds: (l) =>
      l.alertWebhookRetryDelayMs * 2 ** (l.alertWebhookAttemptsMax - 2) + l.outboundRequestTimeoutMs <=
      l.alertWebhookDeliveryMsMax,
    why: 'the last retry of a webhook delivery starts within its time bound',
  },
  {
    holds: (l) => l.alertDriftCountMax >= l.reconcileDriftPageMax,
    why: 'at least one page of drift is counted for the drift alert',
  },
  {
    holds: (l) => l.quantityMax < Number.MAX_SAFE_INTEGER / 1_000_000,
    why: 'sums of a million quantities stay exact integers',
  },
  {
    holds: (l) =>
      l.idempotencyRetentionDaysMin <= l.idempotencyRetentionDaysDefault &&
      l.idempotencyRetentionDaysDefault <= l.idempotencyRetentionDaysMax,
    why: 'the default idempotency retention lies within its bounds',
  },
  {
    holds: (l) => l.sweepIntervalMsMin <= l.sweepIntervalMsDefault && l.sweepIntervalMsDefault <= l.sweepIntervalMsMax,
    why: 'the default sweep interval lies within its bounds',
  },
  {
    holds: (l) => l.availabilityRefreshMsDefault <= l.availabilityRefreshMsMax,
    why: 'the default availability refresh is allowed',
  },
  { holds: (l) => l.pgPoolSizeDefault <= l.pgPoolSizeMax, why: 'the default PostgreSQL pool size is allowed' },
  {
    holds: (l) =>
      l.heapGrowthPercentMin <= l.heapGrowthPercentDefault && l.heapGrowthPercentDefault <= l.heapGrowthPercentMax,
    why: 'the default heap growth is allowed',
  },
  {
    holds: (l) => l.webhookBodyBytesMax <= l.requestBodyBytesMax,
    why: 'a webhook body is a request body: the server would refuse it first',
  },
  {
    holds: (l) => l.problemErrorsMax <= l.movementsPerRequestMax,
    why: 'a problem never lists more errors than a request has commands',
  },
  {
    holds: (l) => l.pathParameterLengthMax >= l.codeLengthMax * 12,
    why: 'a percent-encoded code of codeLengthMax characters fits a path parameter',
  },
  {
    holds: (l) => l.requestTimeoutMs <= l.connectionTimeoutMs,
    why: 'a request meets its own deadline before its socket is closed as idle',
  },
  {
    holds: (l) => l.keepAliveTimeoutMs > 60_000,
    why: 'keep-alive outlives the 60 s idle timeout of common load balancers',
  },
  {
    holds: (l) => l.pushSampleRetentionMs >= l.pushLatencyWindowMs,
    why: 'push-latency samples are kept for the whole window sync status reads',
  },
  {
    holds: (l) => l.leaseTtlMs < l.claimTtlMs,
    why: 'a claim outlives the lease it was made under: the next owner does not push rows still in flight',
  },
  {
    holds: (l) => Math.max(l.dispatchIdleMs, l.dispatchBusyMs, l.dispatchErrorPauseMs) < l.leaseTtlMs,
    why: 'a dispatcher loop renews its lease before it lapses, even when idle or after an error',
  },
  {
    holds: (l) => l.outboundRequestTimeoutMs + Math.max(l.bolLimiterWaitMsMax, l.shopifyBucketWaitMsMax) < l.claimTtlMs,
    why: 'one push request, with its wait for the rate budget, ends while its rows are still claimed',
  },
  {
    holds: (l) =>
      l.bolLimiterWaitMsMax < l.outboundRequestTimeoutMs && l.shopifyBucketWaitMsMax < l.outboundRequestTimeoutMs,
    why: 'waiting for a rate budget never takes longer than the request it admits',
  },
  { holds: (l) => l.bolPushBatchSizeMax <= l.claimBatchSizeMax, why: 'a claim holds at least one Bol.com push batch' },
  {
    holds: (l) =>
      l.gmcPushBatchSizeMax <= l.claimBatchSizeMax &&
      l.gmcPushConcurrencyMax <= l.gmcPushBatchSizeMax &&
      l.gmcLimiterWaitMsMax < l.outboundRequestTimeoutMs &&
      l.outboundRequestTimeoutMs + l.gmcLimiterWaitMsMax < l.claimTtlMs,
    why: 'a Google Merchant Center push fits a claim and its quota wait ends while its rows are claimed',
  },
  {
    holds: (l) => l.outboundRequestTimeoutMs + l.wooLimiterWaitMsMax < l.claimTtlMs,
    why: 'one WooCommerce batch request, with its wait for the shop budget, ends while its rows are still claimed',
  },
  {
    holds: (l) =>
      l.wooRequestsPerSecondDefault <= l.wooRequestsPerSecondCeiling &&
      l.wooConcurrencyDefault <= l.wooConcurrencyCeiling,
    why: 'the default WooCommerce budget lies within what a channel may set',
  },
  {
    holds: (l) => l.wooReadSharePercent > 0 && l.wooReadSharePercent < 100,
    why: 'a WooCommerce read-back both progresses and leaves budget to pushes',
  },
  {
    holds: (l) => l.wooPaceWindowMs >= 10 && l.wooPaceWindowMs <= 250,
    why: 'WooCommerce pacing spreads a second over several windows, each long enough for a timer to tell apart',
  },
  {
    holds: (l) => l.bolPushConcurrencyMax <= l.bolPushBatchSizeMax,
    why: 'Bol.com push concurrency is bounded by what one push holds',
  },
  {
    holds: (l) => l.bolTokenRefreshRatio < l.bolTokenUseRatioMax && l.bolTokenUseRatioMax < 1,
    why: 'a Bol.com token is renewed before it is too old to use, and never used past its lifetime',
  },
  {
    holds: (l) => l.bolOrderDetailsPerPollMax <= l.bolDeferredOrdersMax,
    why: 'one poll cannot owe more Bol.com order details than the cursor carries',
  },
  {
    holds: (l) => l.retryInitialDelayMs >= 1 && l.retryInitialDelayMs <= l.retryDelayMsMax,
    why: 'the first retry delay is positive and within the longest delay',
  },
  {
    holds: (l) => l.retryBackoffCoefficient >= 1 && l.retryBackoffCoefficient <= l.retryBackoffCoefficientCeiling,
    why: 'the default backoff never shrinks and lies within its ceiling',
  },
  {
    holds: (l) => l.retryAttemptsMax >= 1 && l.retryAttemptsMax <= l.retryAttemptsCeiling,
    why: 'the default attempts lie within their ceiling',
  },
  {
    holds: (l) => l.requestReceiveTimeoutMs + l.requestReceiveCheckIntervalMs < l.requestTimeoutMs,
    why: 'a stalled body is answered 408 (receive deadline) before the handler deadline answers 503',
  },
  { holds: (l) => l.channelSettingsDepthMax < l.requestJsonDepthMax, why: 'channel settings nest within a request' },
  {
    holds: (l) => l.logListingIdsMax >= 1 && l.logListingIdsMax <= l.claimBatchSizeMax,
    why: 'a push line names at least one listing and at most a claim',
  },
  {
    holds: (l) => l.stockPageSizeDefault <= l.stockPageSizeMax && l.stockPageSizeMax <= l.pageSizeMax,
    why: 'a stock page is within the page bound of every list',
  },
  {
    holds: (l) => l.orderLinePageSizeDefault <= l.orderLinePageSizeMax && l.orderLinePageSizeMax <= l.pageSizeMax,
    why: 'an order line page is within the page bound of every list',
  },
  {
    holds: (l) => l.sessionIdleMs <= l.sessionAbsoluteMs && l.sessionTouchIntervalMs < l.sessionIdleMs,
    why: 'a session idles out within its absolute bound, and its use is recorded well before it idles out',
  },
  {
    holds: (l) => l.eventHeartbeatMs < l.connectionTimeoutMs && l.eventHeartbeatMs < l.requestTimeoutMs,
    why: 'an idle event stream sends a heartbeat before any socket or request deadline',
  },
  {
    holds: (l) => l.eventStreamBacklogMax <= l.eventRingSizeMax,
    why: 'a stream closed for its backlog can still resume from the ring',
  },
  {
    holds: (l) =>
      l.csvFieldLengthMax >= l.bundleComponentsMax * (l.codeLengthMax + 11) &&
      l.csvFieldLengthMax >= l.variantAttributesMax * (l.codeLengthMax + l.textLengthMax + 2),
    why: "a bundle's components and a variant's attributes fit one CSV field",
  },
  {
    holds: (l) =>
      l.csvImportBytesMax >= l.requestBodyBytesMax &&
      l.csvExportPageMax <= l.groupCommitBatchSizeMax &&
      l.csvImportTimeoutMs >= l.requestTimeoutMs,
    why: 'a CSV import takes at least what a JSON request does, and an export page is a bounded read',
  },
  {
    holds: (l) => l.channelSettingsBytesMax < l.requestBodyBytesMax && l.ruleSetBytesMax < l.requestBodyBytesMax,
    why: 'a settings document and a rule set fit one request body',
  },
];

/** The relations a set of limits breaks (empty when every one holds). */
export function checkLimits(candidate: Limits): string[] {
  return limitRelations.filter((relation) => !relation.holds(candidate)).map((relation) => relation.why);
}

const broken = checkLimits(limits);
assert(broken.length === 0, `src/core/limits.ts breaks: ${broken.join('; ')}`);
