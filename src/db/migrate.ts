import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { AppError } from '../lib/errors.ts';
import { acquireMigrationLock } from './locks.ts';
import type { Database } from './openDatabase.ts';

/** Resolves from both src/db and dist/db: the folder ships beside them. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
const MIGRATIONS = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'metaaccess', migrationsTable: '__drizzle_migrations' };

/**
 * Applies pending migrations (`timezone`, SYNC_TIMEZONE, is the calendar 0007 moves existing days
 * to: the session setting metaaccess.timezone), then grants the reader role again (a migration that recreates a
 * view drops its grants). Safe when several processes start at once (advisory lock).
 */
export async function runMigrations(database: Database, options: { timezone?: string } = {}): Promise<void> {
  const timezone = options.timezone ?? 'UTC';
  try {
    if (database.migrateWith) {
      await database.migrateWith(MIGRATIONS, timezone);
      await database.db.execute(sql`select metaaccess.grant_reader()`);
      return;
    }
    if (!database.url) throw new AppError('MIGRATION_FAILED', 'no database to migrate');
    const client = await acquireMigrationLock(database.url);
    try {
      await client.query("select set_config('metaaccess.timezone', $1, false)", [timezone]);
      await migrate(drizzle(client), MIGRATIONS);
      await client.query('select metaaccess.grant_reader()');
    } finally {
      await client.query('select pg_advisory_unlock_all()').catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const cause = (err as { cause?: { message?: string } }).cause;
    throw new AppError('MIGRATION_FAILED', `migrations failed: ${cause?.message ?? (err as Error).message}`, { cause: err });
  }
}
