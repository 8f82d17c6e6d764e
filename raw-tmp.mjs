import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
function open() {
  const db = new Database(join(mkdtempSync(join(tmpdir(), 'raw-')), 'r.db'));
  db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL'); db.pragma('cache_size = -65536'); db.pragma('wal_autocheckpoint = 4000'); db.pragma('foreign_keys = ON');
  return db;
}
function time(label, n, fn) { const t = process.hrtime.bigint(); fn(); const s = Number(process.hrtime.bigint() - t) / 1e9; console.log(label.padEnd(40), Math.round(n / s), '/s', (s*1e6/n).toFixed(2), 'us'); }
const N = Number(process.env.N ?? 200000);
function stripChecks(sql) { let out = ''; for (let i = 0; i < sql.length; ) { if (sql.startsWith('CHECK (', i)) { let depth = 0, j = i + 6; for (; j < sql.length; j++) { if (sql[j] === '(') depth++; else if (sql[j] === ')') { depth--; if (depth === 0) break; } } i = j + 1; if (sql.slice(out.length ? 0 : 0).length && out.trimEnd().endsWith(',') === false && sql[i] === ',') {} continue; } out += sql[i++]; } return out.replace(/,\s*--[^\n]*\n\s*--[^\n]*\n\s*,/, ',').replace(/\n\s*,\s*\n/g, '\n'); }
const mode = process.argv[2].split(',');
for (const variant of mode) {
  const db = open();
  db.exec("CREATE TABLE variants (id INTEGER PRIMARY KEY); CREATE TABLE locations (id INTEGER PRIMARY KEY); INSERT INTO variants VALUES (1); INSERT INTO locations VALUES (1);");
  let sql = readFileSync('src/store/sqlite/migrations/0001_ledger.sql', 'utf8');
  let m = sql.slice(sql.indexOf('CREATE TABLE movements'), sql.indexOf('CREATE INDEX movements_oversold'));
  if (variant.includes('nofk')) m = m.replace(/REFERENCES \w+ \(id\)/g, '');
  if (variant.includes('nocheck')) m = stripChecks(m);
  if (variant.includes('typefk')) { db.exec("CREATE TABLE movement_types (name TEXT PRIMARY KEY) WITHOUT ROWID; INSERT INTO movement_types VALUES ('receipt'),('adjustment'),('count'),('transfer_out'),('transfer_in'),('status'),('order'),('cancellation'),('shipment'),('sale'),('return'),('reserve'),('commit'),('release'),('expire')"); m = m.replace(/CHECK \(type IN \([^)]*\)\)/s, 'REFERENCES movement_types (name)'); }
  if (variant.includes('gbetween')) m = m.replace('CHECK (guarded IN (0, 1))', 'CHECK (guarded BETWEEN 0 AND 1)');
  if (variant.includes('notypecheck')) m = m.replace(/CHECK \(type IN \([^)]*\)\)/s, '');
  if (variant.includes('typeglob')) m = m.replace(/CHECK \(type IN \([^)]*\)\)/s, "CHECK (type = 'receipt' OR type = 'adjustment' OR type = 'count' OR type = 'transfer_out' OR type = 'transfer_in' OR type = 'status' OR type = 'order' OR type = 'cancellation' OR type = 'shipment' OR type = 'sale' OR type = 'return' OR type = 'reserve' OR type = 'commit' OR type = 'release' OR type = 'expire')");
  if (process.env.SHOW) console.log(m);
  db.exec(m);
  db.exec('ALTER TABLE movements ADD COLUMN payload_hash TEXT;');
  if (!variant.includes('nocmd')) db.exec('CREATE UNIQUE INDEX movements_command ON movements (command_key, leg);');
  if (variant.includes('novar')) db.exec('DROP INDEX movements_variant_id');
  if (variant.includes('noocc')) db.exec('DROP INDEX movements_level_occurred');
  const cols = ['command_key','leg','type','variant_id','location_id','version','d_on_hand','d_reserved','d_damaged','d_quarantine','d_in_transit','on_hand','reserved','damaged','quarantine','in_transit','guarded','oversold','occurred_at','recorded_at','payload_hash'];
  const one = '(' + cols.map(() => '?').join(',') + ')';
  let v = 0;
  const rnd = variant.includes('rndkey');
  const row = () => { v++; return [rnd ? Math.random().toString(36).slice(2) + v : `k${v}`, 0, 'sale', 1, 1, v, -1, 0, 0, 0, 0, 1000000 - v, 0, 0, 0, 0, 0, 0, 1763900000000 + v, 1763900000000 + v, 'abcdef0123456789abcdef0123456789']; };
  if (variant.includes('json')) {
    const sel = cols.map((c, i) => `value ->> ${i}`).join(', ');
    const ins = db.prepare(`INSERT INTO movements (${cols}) SELECT ${sel} FROM json_each(?)`);
    const tx = db.transaction(() => { const a = []; for (let i = 0; i < 5000; i++) a.push(row()); ins.run(JSON.stringify(a)); });
    time(variant, N, () => { for (let k = 0; k < N / 5000; k++) tx(); });
    continue;
  }
  if (variant.includes('jarr')) {
    // column arrays: one JSON array per column, joined by index
    const ins = db.prepare(`INSERT INTO movements (${cols}) SELECT ${cols.map((c, i) => i === 0 ? 'k.value' : `json_extract(?${i+1}, '$[' || k.key || ']')`).join(', ')} FROM json_each(?1) k`);
    continue;
  }
  const per = variant.includes('multi') ? 100 : 1;
  const ins = db.prepare(`INSERT INTO movements (${cols}) VALUES ${Array(per).fill(one).join(',')}`);
  const tx = db.transaction(() => { for (let i = 0; i < 5000 / per; i++) { const a = []; for (let j = 0; j < per; j++) a.push(...row()); if (variant.includes('spread')) ins.run(...a); else ins.run(a); } });
  time(variant, N, () => { for (let k = 0; k < N / 5000; k++) tx(); });
}
