import { limits } from './limits.js';

/**
 * Catalogue rules shared by every store: what a bulk variant upsert may do. Pure: the store
 * looks up what exists and passes it in.
 */

export interface ExistingVariantFacts {
  sku: string;
  isBundle: boolean;
  /** The variant is a component of some bundle. */
  usedAsComponent: boolean;
  /** The variant has movements (stock history) of its own. */
  hasMovements: boolean;
}

export interface VariantUpsertItem {
  sku: string;
  components?: { sku: string; quantity: number }[] | undefined;
}

export interface CatalogueProblem {
  path: string;
  message: string;
}

/**
 * Rules:
 * 1. a sku appears at most once per request;
 * 2. a bundle's components exist (stored or in the same request), are distinct, are not
 *    bundles themselves (kit = min over plain components), and are not the bundle itself;
 * 3. a variant with stock history cannot become a bundle (a bundle holds no stock), and a
 *    component of a bundle cannot become a bundle.
 */
export function checkVariantUpsert(
  items: readonly VariantUpsertItem[],
  existing: ReadonlyMap<string, ExistingVariantFacts>,
): CatalogueProblem[] {
  const problems: CatalogueProblem[] = [];
  const inRequest = new Map<string, VariantUpsertItem>();
  items.forEach((item, index) => {
    if (inRequest.has(item.sku))
      problems.push({ path: `/variants/${index}/sku`, message: `sku ${item.sku} appears twice` });
    inRequest.set(item.sku, item);
  });
  const willBeBundle = (sku: string): boolean => {
    const item = inRequest.get(sku);
    if (item) return (item.components?.length ?? 0) > 0;
    return existing.get(sku)?.isBundle ?? false;
  };
  items.forEach((item, index) => {
    const components = item.components ?? [];
    if (components.length === 0) {
      const facts = existing.get(item.sku);
      if (facts?.isBundle && facts.hasMovements) {
        problems.push({ path: `/variants/${index}/components`, message: `${item.sku} has history as a bundle` });
      }
      return;
    }
    if (components.length > limits.bundleComponentsMax) {
      problems.push({
        path: `/variants/${index}/components`,
        message: `at most ${limits.bundleComponentsMax} components`,
      });
    }
    const facts = existing.get(item.sku);
    if (facts?.hasMovements) {
      problems.push({
        path: `/variants/${index}/components`,
        message: `${item.sku} has stock movements: it cannot become a bundle`,
      });
    }
    if (facts?.usedAsComponent) {
      problems.push({
        path: `/variants/${index}/components`,
        message: `${item.sku} is a component of a bundle: it cannot become a bundle`,
      });
    }
    const seen = new Set<string>();
    components.forEach((component, componentIndex) => {
      const path = `/variants/${index}/components/${componentIndex}`;
      if (component.sku === item.sku) problems.push({ path, message: 'a bundle cannot contain itself' });
      else if (seen.has(component.sku)) problems.push({ path, message: `component ${component.sku} appears twice` });
      else if (!inRequest.has(component.sku) && !existing.has(component.sku)) {
        problems.push({ path, message: `unknown component sku ${component.sku}` });
      } else if (willBeBundle(component.sku)) {
        problems.push({ path, message: `component ${component.sku} is itself a bundle` });
      }
      seen.add(component.sku);
    });
  });
  return problems;
}
