/**
 * A WooCommerce listing's external id names what its stock is set on:
 * - `<product id>` for a simple product (stock on the product): `"733"`;
 * - `<product id>/<variation id>` for a variation of a variable product (stock on the
 *   variation; WooCommerce's variation routes need the parent): `"731/733"`.
 * Both ids are WooCommerce's post ids (positive integers). An order line item carries
 * `product_id` and `variation_id` (0 for a simple product), from which the same id is built, so
 * an order finds its listing without a lookup.
 */
export type WooItemRef =
  | { kind: 'product'; productId: number }
  | { kind: 'variation'; productId: number; variationId: number };

const idPattern = /^([1-9][0-9]{0,17})(?:\/([1-9][0-9]{0,17}))?$/;

export function parseWooItemId(externalId: string): WooItemRef | null {
  const match = idPattern.exec(externalId);
  if (!match) return null;
  const productId = Number(match[1]);
  if (!Number.isSafeInteger(productId)) return null;
  if (match[2] === undefined) return { kind: 'product', productId };
  const variationId = Number(match[2]);
  return Number.isSafeInteger(variationId) ? { kind: 'variation', productId, variationId } : null;
}

export function wooItemId(productId: number, variationId: number | null | undefined): string {
  return variationId ? `${productId}/${variationId}` : String(productId);
}
