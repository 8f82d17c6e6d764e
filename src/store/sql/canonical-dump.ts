import { jsonValue, type SqlExecutor } from './sql-executor.js';

/** Every table's rows in a canonical order (byte order on both engines), for cross-engine comparison in tests. */
export async function canonicalDump(sql: SqlExecutor): Promise<Record<string, unknown[]>> {
  const c = sql.dialect.byteOrder;
  const dump = (text: string) => sql.all(text);
  return {
    // Attributes as compact JSON text: SQLite stores the text, PostgreSQL's jsonb comes back parsed.
    variants: (
      await dump(`SELECT sku, name, barcode, product_group, attributes, is_bundle FROM variants ORDER BY sku${c}`)
    ).map((row) => ({
      ...row,
      attributes: JSON.stringify(jsonValue(row.attributes)),
    })),
    locations: await dump(`SELECT code, name, kind FROM locations ORDER BY code${c}`),
    levels: await dump(
      `SELECT v.sku, l.code, lv.on_hand, lv.reserved, lv.damaged, lv.quarantine, lv.in_transit, lv.held, lv.version, lv.last_count_at, lv.last_count_source_version
       FROM levels lv JOIN variants v ON v.id = lv.variant_id JOIN locations l ON l.id = lv.location_id ORDER BY v.sku${c}, l.code${c}`,
    ),
    movements: await dump(
      `SELECT m.command_key, m.leg, m.type, v.sku, l.code, m.version, m.d_on_hand, m.d_reserved, m.d_damaged, m.d_quarantine, m.d_in_transit,
         m.on_hand, m.reserved, m.damaged, m.quarantine, m.in_transit, m.guarded, m.oversold, m.occurred_at, m.recorded_at, m.payload_hash
       FROM movements m JOIN variants v ON v.id = m.variant_id JOIN locations l ON l.id = m.location_id
       ORDER BY v.sku${c}, l.code${c}, m.version`,
    ),
    reservations: await dump(
      `SELECT r.key, v.sku, l.code, r.quantity, r.committed_quantity, r.status, r.expires_at, r.created_at, r.resolved_at
       FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN locations l ON l.id = r.location_id ORDER BY r.key${c}`,
    ),
    answers: await dump(`SELECT key, payload_hash, recorded_at FROM command_answers ORDER BY key${c}`),
  };
}
