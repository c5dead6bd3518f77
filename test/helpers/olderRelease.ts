import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate.ts';

/** What drizzle's migrate() is given: the folder, and where the journal table lives (as src/db/migrate.ts keeps it). */
export interface MigrationConfig {
  migrationsFolder: string;
  migrationsSchema: string;
  migrationsTable: string;
}

/**
 * Runs `migrate` (drizzle's, for node-postgres or PGlite) on a copy of migrations/ whose journal
 * stops at `lastTag`: the database as an older release left it. The copy is removed afterwards.
 */
export async function migrateUpTo<T>(lastTag: string, migrate: (config: MigrationConfig) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'metaaccess-migrations-'));
  try {
    cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
    const journalPath = join(dir, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
    const last = journal.entries.findIndex((e) => e.tag === lastTag);
    if (last < 0) throw new Error(`no migration ${lastTag} in ${MIGRATIONS_FOLDER}`);
    journal.entries = journal.entries.slice(0, last + 1);
    writeFileSync(journalPath, JSON.stringify(journal));
    return await migrate({ migrationsFolder: dir, migrationsSchema: 'metaaccess', migrationsTable: '__drizzle_migrations' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
