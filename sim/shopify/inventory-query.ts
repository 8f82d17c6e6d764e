import { type BulkOperations, notBulkNode } from './bulk-operations.js';
import { cost } from './cost-bucket.js';
import { arrayInputMax, maxInputSize, undefinedField, type GraphqlError, type OperationPlan } from './graphql-error.js';
import { argumentValue, type OperationField } from './graphql-operation.js';
import { gid, numericId, type Level, type ShopState } from './shop-state.js';

/**
 * The read side: nodes(ids:) with `... on InventoryItem { inventoryLevel(locationId:) { quantities(names:) } }`,
 * and inventoryItem(id:) with inventoryLevel(locationId:) / inventoryLevels(first:) [spec]. Answers
 * carry a fixed superset of fields; the cost is the fixed figures in cost-bucket.ts.
 */
export function planQuery(
  shop: ShopState,
  fields: OperationField[],
  variables: Record<string, unknown>,
  bulk?: BulkOperations,
): OperationPlan {
  const runs: { key: string; requested: number; run: () => { value: unknown; actual: number } }[] = [];
  for (const field of fields) {
    const key = field.alias ?? field.name;
    if (field.name === 'nodes') {
      const ids = argumentValue(field.args, 'ids', variables);
      if (
        !ids.found ||
        'unsupported' in ids ||
        !Array.isArray(ids.value) ||
        !ids.value.every((id) => typeof id === 'string')
      ) {
        return {
          errors: [
            {
              message: "Argument 'ids' on Field 'nodes' has an invalid value. Expected type '[ID!]!'.",
              extensions: { code: 'argumentLiteralsIncompatible' },
            },
          ],
        };
      }
      if (ids.value.length > arrayInputMax) return { errors: [maxInputSize(ids.value.length)] };
      const location = locationArgument(field.selection, variables);
      if ('error' in location) return { errors: [location.error] };
      const list = ids.value as string[];
      runs.push({
        key,
        requested: cost.root + cost.perNode * list.length,
        run: () => {
          const nodes = list.map((id) => inventoryNode(shop, id, location.locationId));
          return { value: nodes, actual: cost.root + cost.perNode * nodes.filter((node) => node !== null).length };
        },
      });
    } else if (field.name === 'node' && bulk) {
      const id = argumentValue(field.args, 'id', variables);
      if (!id.found || 'unsupported' in id || typeof id.value !== 'string' || bulk.node(id.value) === undefined)
        return { errors: [notBulkNode] };
      const nodeId = id.value;
      runs.push({ key, requested: cost.root, run: () => ({ value: bulk.node(nodeId), actual: cost.root }) });
    } else if (field.name === 'currentBulkOperation' && bulk) {
      runs.push({ key, requested: cost.root, run: () => ({ value: bulk.current(), actual: cost.root }) });
    } else if (field.name === 'inventoryItem') {
      const id = argumentValue(field.args, 'id', variables);
      if (!id.found || 'unsupported' in id || typeof id.value !== 'string') {
        return {
          errors: [
            {
              message: "Argument 'id' on Field 'inventoryItem' has an invalid value. Expected type 'ID!'.",
              extensions: { code: 'argumentLiteralsIncompatible' },
            },
          ],
        };
      }
      const location = locationArgument(field.selection, variables);
      const first = /inventoryLevels\s*\(\s*first\s*:\s*(\d+)/.exec(field.selection);
      const levelsFirst = first ? Math.min(Number(first[1]), arrayInputMax) : 0;
      const itemId = id.value;
      runs.push({
        key,
        requested: cost.root + cost.level + 2 * levelsFirst,
        run: () => {
          const node = inventoryNode(shop, itemId, 'locationId' in location ? location.locationId : null, levelsFirst);
          return {
            value: node,
            actual:
              node === null
                ? 1
                : cost.root +
                  cost.level +
                  2 * Math.min(levelsFirst, shop.items.get(numericId(itemId, 'InventoryItem')!)!.levels.size),
          };
        },
      });
    } else {
      return { errors: [undefinedField(field.name, 'QueryRoot')] };
    }
  }
  return {
    requestedCost: runs.reduce((sum, run) => sum + run.requested, 0),
    mutation: false,
    idempotency: null,
    run: () => {
      const data: Record<string, unknown> = {};
      let actualCost = 0;
      for (const run of runs) {
        const result = run.run();
        data[run.key] = result.value;
        actualCost += result.actual;
      }
      return { data, actualCost };
    },
  };
}

/** `inventoryLevel(locationId: ...)` inside a selection. */
function locationArgument(
  selection: string,
  variables: Record<string, unknown>,
): { locationId: string | null } | { error: GraphqlError } {
  const match = /inventoryLevel\s*\(\s*locationId\s*:\s*(\$[_A-Za-z]\w*|"(?:[^"\\]|\\.)*")\s*\)/.exec(selection);
  if (!match) return { locationId: null };
  const value = match[1]!.startsWith('$') ? variables[match[1]!.slice(1)] : (JSON.parse(match[1]!) as unknown);
  if (typeof value !== 'string')
    return {
      error: {
        message: "Argument 'locationId' on Field 'inventoryLevel' has an invalid value. Expected type 'ID!'.",
        extensions: { code: 'argumentLiteralsIncompatible' },
      },
    };
  return { locationId: value };
}

function inventoryNode(shop: ShopState, id: string, locationId: string | null, levelsFirst = 0): unknown {
  const itemId = numericId(id, 'InventoryItem');
  if (itemId === null)
    return numericId(id, 'Location') !== null && shop.locations.has(numericId(id, 'Location')!) ? {} : null;
  const item = shop.items.get(itemId);
  if (!item) return null;
  const levelNode = (location: number, level: Level) => ({
    id: `gid://shopify/InventoryLevel/${location}?inventory_item_id=${item.id}`,
    location: { id: gid('Location', location) },
    updatedAt: new Date(level.updatedAt).toISOString(),
    quantities: [
      { name: 'available', quantity: level.available, updatedAt: new Date(level.updatedAt).toISOString() },
      { name: 'on_hand', quantity: level.available, updatedAt: new Date(level.updatedAt).toISOString() },
    ],
  });
  const locationNumber = locationId === null ? null : numericId(locationId, 'Location');
  const level = locationNumber === null ? undefined : item.levels.get(locationNumber);
  return {
    id: gid('InventoryItem', item.id),
    sku: item.sku,
    tracked: true,
    variant: { id: gid('ProductVariant', item.variantId) },
    inventoryLevel: level ? levelNode(locationNumber!, level) : null,
    inventoryLevels: {
      nodes: [...item.levels].slice(0, levelsFirst).map(([location, entry]) => levelNode(location, entry)),
      pageInfo: { hasNextPage: item.levels.size > levelsFirst, endCursor: null },
    },
  };
}
