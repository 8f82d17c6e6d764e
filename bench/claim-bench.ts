/**
 * bench:claim - the dispatcher's claim (store.outbox.claimDue, limit 50) over a deep outbox:
 * `--listings` pending listings of one channel, on SQLite and PostgreSQL. The claim takes the
 * urgency classes in turn, each a seek on the claim index (migration 0017) that stops at the
 * limit; beside it, in the same run on the same data with the claim index dropped (as the data
 * stood before it), the single statement it replaced (every due row of the channel ordered by a
 * computed urgency, then cut to the limit), so the gain is a ratio measured here.
 *
 * Scenarios: `all due` (every row due: the outbox after a burst), `nothing due` (every row
 * backing off: a channel that is down, polled every idle period). Each claim holds its rows for
 * 1 ms, so the next one finds the same outbox.
 *
 * Usage: npm run bench:claim [-- --stores sqlite,postgres --listings 200000 --claims 100]
 * Prints one JSON line per scenario, then a table. Never asserts timings.
 */
import { parseArgs } from 'node:util';
import { openBenchStore, percentile } from './support/bench-store.js';

const { values } = parseArgs({
  options: {
    stores: { type: 'string', default: 'sqlite,postgres' },
    listings: { type: 'string', default: '200000' },
    claims: { type: 'string', default: '100' },
  },
});
const listingCount = Math.min(2_000_000, Number(values.listings));
const claimCount = Math.min(10_000, Number(values.claims));
const limit = 50;
const T0 = Date.UTC(2026, 0, 1);

/** The claim before migration 0017: one statement that sorts the channel's due rows. */
const sortedClaim = (placeholder: (n: number) => string) => `SELECT lq.listing_id FROM listing_quantities lq
  JOIN listings l ON l.id = lq.listing_id
  WHERE lq.channel_id = ${placeholder(1)} AND lq.dispatch_state = 'pending' AND lq.due_at <= ${placeholder(2)}
    AND (lq.claimed_until IS NULL OR lq.claimed_until <= ${placeholder(3)} OR lq.claimed_epoch <> ${placeholder(4)})
  ORDER BY CASE
    WHEN lq.quantity = 0 AND COALESCE(lq.channel_quantity, lq.pushed_quantity, 1) > 0 THEN 0
    WHEN COALESCE(lq.channel_quantity, lq.pushed_quantity, lq.quantity + 1) > lq.quantity THEN 1
    ELSE 2 END, lq.due_at, lq.listing_id
  LIMIT ${placeholder(5)}`;

async function scenario(engine: string) {
  const { store, sql, connect, cleanup } = await openBenchStore(engine);
  const raw = await connect();
  const series =
    engine === 'sqlite'
      ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${listingCount}) SELECT i FROM n`
      : `SELECT i FROM generate_series(1, ${listingCount}) i`;
  const seedStarted = performance.now();
  await sql(`INSERT INTO channels (id, code, name, platform, created_at, updated_at) VALUES (1, 'bol', 'Bol', 'bol', ${T0}, ${T0});
    INSERT INTO variants (id, sku, name, created_at, updated_at) SELECT i, 'S' || i, 'n', ${T0}, ${T0} FROM (${series}) s;
    INSERT INTO listings (id, channel_id, variant_id, external_id, matched_by, created_at, updated_at)
      SELECT i, 1, i, 'offer-' || i, 'sku', ${T0}, ${T0} FROM (${series}) s;
    INSERT INTO listing_quantities (variant_id, listing_id, quantity, computed_at, channel_id, due_at, pending_since,
        channel_quantity, pushed_quantity, dispatch_state)
      SELECT i, i, i % 4, ${T0}, 1, ${T0} + (i * 13) % 1000, ${T0},
        CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 7) % 5 END, CASE WHEN i % 3 = 0 THEN NULL ELSE (i * 11) % 4 END, 'pending'
      FROM (${series}) s;
    ANALYZE;`);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const epoch = (await store.outbox.acquireLease('bol', 'bench', T0, 3_600_000))!;
  const scenarios = [
    ['all due', T0 + 10_000],
    ['nothing due', T0 - 10_000],
  ] as const;
  const mean = (array: Float64Array) => array.reduce((sum, value) => sum + value, 0) / array.length;
  const claims = new Map<string, { timings: Float64Array; rows: number }>();
  for (const [name, now] of scenarios) {
    const timings = new Float64Array(claimCount);
    let rows = 0;
    for (let index = 0; index < claimCount; index += 1) {
      // Each claim at a later millisecond than the last one's 1 ms hold: the outbox stays as seeded.
      const at = now + index * 2;
      const started = performance.now();
      rows += (await store.outbox.claimDue('bol', epoch, at, limit, 1)).length;
      timings[index] = performance.now() - started;
    }
    claims.set(name, { timings: timings.sort(), rows });
  }
  // The statement it replaced, on the same data as it ran then: without the claim index (the
  // planners would otherwise walk it for the old ORDER BY too).
  await raw.all('DROP INDEX listing_quantities_claim', []);
  const results = [];
  for (const [name, now] of scenarios) {
    const sorted = new Float64Array(claimCount);
    for (let index = 0; index < claimCount; index += 1) {
      const at = now + index * 2;
      const started = performance.now();
      await raw.all(
        sortedClaim((n) => `$${n}`),
        [1, at, at, epoch, limit],
      );
      sorted[index] = performance.now() - started;
    }
    sorted.sort();
    const claim = claims.get(name)!;
    const result = {
      bench: 'claim',
      store: engine,
      scenario: name,
      pending_listings: listingCount,
      claims: claimCount,
      rows_per_claim: Number((claim.rows / claimCount).toFixed(1)),
      claim_mean_ms: Number(mean(claim.timings).toFixed(3)),
      claim_p99_ms: Number(percentile(claim.timings, 99).toFixed(3)),
      sorted_statement_mean_ms: Number(mean(sorted).toFixed(3)),
      sorted_statement_p99_ms: Number(percentile(sorted, 99).toFixed(3)),
      seed_seconds: Number(seedSeconds.toFixed(1)),
    };
    console.log(JSON.stringify(result));
    results.push(result);
  }
  await raw.close();
  await cleanup();
  return results;
}

const rows = [];
for (const engine of values.stores.split(',')) rows.push(...(await scenario(engine)));
console.log(
  '\n| store | outbox | pending listings | rows per claim | claim (its statements and the hold it writes on the rows) mean / p99 ms | the sorted statement it replaced, mean / p99 ms |',
);
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.store} | ${r.scenario} | ${r.pending_listings} | ${r.rows_per_claim} | ${r.claim_mean_ms} / ${r.claim_p99_ms} | ${r.sorted_statement_mean_ms} / ${r.sorted_statement_p99_ms} |`,
  );
