import { readdirSync, readFileSync } from 'node:fs';

/**
 * Numbered SQL migrations (docs/ARCHITECTURE.md, A new table): `NNNN_name.sql`, applied in order, each in a
 * transaction that first records its number, so a concurrent migrator collides and backs off.
 * A shipped file is never edited.
 */
export interface MigrationFile {
  id: string;
  sql: string;
}

export function readMigrations(directory: URL): MigrationFile[] {
  return readdirSync(directory)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => ({ id: name.replace(/\.sql$/, ''), sql: readFileSync(new URL(name, directory), 'utf8') }));
}
