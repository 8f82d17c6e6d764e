/** The orders bench:webhooks sends, shared by the bench (its checks) and its load generator. */

/** Order ids and line ids: 10- and 11-digit integers, exact as doubles (16+ digits would be strings). */
export const orderIdBase = 6_000_000_000;
const lineIdBase = 70_000_000_000;

/** The lines of order `index`: 1 or 2 distinct variants, 1-3 units each. */
export function orderLines(
  index: number,
  variantCount: number,
): { variant: number; lineId: number; quantity: number }[] {
  const count = 1 + (index % 2);
  return Array.from({ length: count }, (_, line) => ({
    variant: (index + line * Math.floor(variantCount / 2)) % variantCount,
    lineId: lineIdBase + index * 2 + line,
    quantity: 1 + (index % 3),
  }));
}
