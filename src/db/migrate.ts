import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { AppError } from '../lib/errors.ts';
import { acquireMigrationLock } from './locks.ts';
import type { Database } from './openDatabase.ts';

/** Resolves from both src/db and dist/db: the folder ships beside them. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
const MIGRATIONS = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'metaaccess', migrationsTable: '__drizzle_migrations' };

/** Applies pending migrations. Safe when several processes start at once (advisory lock). */
export async function runMigrations(database: Database): Promise<void> {
  try {
    if (database.migrateWith) {
      await database.migrateWith(MIGRATIONS);
      return;
    }
    if (!database.url) throw new AppError('MIGRATION_FAILED', 'no database to migrate');
    const client = await acquireMigrationLock(database.url);
    try {
      await migrate(drizzle(client), MIGRATIONS);
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
