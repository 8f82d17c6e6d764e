import { setFlagsFromString } from 'node:v8';

/**
 * Sets how far the V8 heap may grow past what its last full collection kept before the next one
 * (`--heap-growing-percent`; config `heapGrowthPercent`, bound in src/core/limits.ts). V8 reads
 * the value each time it sizes the heap after a collection, so setting it at start-up, before
 * the server allocates its working set, takes effect for the whole process. 0 leaves V8's own
 * heuristic, which grows the heap up to 4 times the live data under a steady allocation rate.
 *
 * Only `onhand serve` calls it: the one long-running process, whose steady RSS is the figure
 * that matters on a small host. The effect is measured, not assumed: test/unit/heap-growth.test.ts
 * and `npm run bench:order-latency -- --memory`.
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
