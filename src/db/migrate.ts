import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { AppError, toDatabaseError } from '../lib/errors.ts';
import { queryRows, type Database, type MigrationSet } from './openDatabase.ts';

/** Resolves from both src/db and dist/db: the folder ships beside them. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
/** A recreated view loses its grants and a new table has none: both roles are granted again after every migrate. */
const GRANT_ROLES = 'select metaaccess.grant_reader(), metaaccess.grant_writer()';
const MIGRATIONS: MigrationSet = {
  migrationsFolder: MIGRATIONS_FOLDER,
  migrationsSchema: 'metaaccess',
  migrationsTable: '__drizzle_migrations',
  afterwards: GRANT_ROLES,
};

/**
 * Applies pending migrations, then grants the reader and writer roles again (a migration that
 * recreates a view drops its grants). `timezone` (SYNC_TIMEZONE) is the calendar 0007 moves
 * existing days to, read from the session setting metaaccess.timezone. Safe when several
 * processes start at once (Database.applyMigrations).
 */
export async function runMigrations(database: Database, options: { timezone?: string } = {}): Promise<void> {
  const timezone = options.timezone ?? 'UTC';
  try {
    // Up to date: no DDL at all, so a worker login that may not create in the database can start.
    if ((await readMigrationState(database)).pending.length === 0) {
      await database.db.execute(sql.raw(GRANT_ROLES));
      return;
    }
    await database.applyMigrations(MIGRATIONS, timezone);
  } catch (err) {
    if (err instanceof AppError) throw err;
    const cause = (err as { cause?: { message?: string } }).cause;
    // A worker's writer login may not migrate: the upgrade is the schema owner's step.
    const hint =
      toDatabaseError(err)?.sqlstate === '42501' ? ' (this login may not change the schema: run `migrate` as the schema owner first)' : '';
    throw new AppError('MIGRATION_FAILED', `migrations failed: ${cause?.message ?? (err as Error).message}${hint}`, { cause: err });
  }
}

/** What `migrate` would do: the migrations this release ships, and which of them the database lacks. */
export interface MigrationState {
  /** False when the database has no `metaaccess` schema (or no migration table) at all. */
  initialized: boolean;
  applied: number;
  /** Tags (file names without .sql) of the shipped migrations not yet applied, in order. */
  pending: string[];
  /** The newest shipped migration's tag. */
  latest: string;
}

interface JournalEntry {
  tag: string;
  when: number;
}

/** The shipped migrations, oldest first, as drizzle's journal lists them. */
export function shippedMigrations(): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: JournalEntry[] };
  return journal.entries;
}

/**
 * Reads, without creating anything, which shipped migrations the database has: drizzle applies
 * every migration newer than the last one recorded, so the same comparison is made here.
 */
export async function readMigrationState(database: Database): Promise<MigrationState> {
  const shipped = shippedMigrations();
  const latest = shipped.at(-1)?.tag ?? '';
  const [table] = await queryRows<{ exists: boolean }>(
    database.db,
    sql`select to_regclass('metaaccess.__drizzle_migrations') is not null as exists`,
  );
  if (!table?.exists) return { initialized: false, applied: 0, pending: shipped.map((m) => m.tag), latest };
  const [last] = await queryRows<{ at: string | null; n: number }>(
    database.db,
    sql`select max(created_at)::text as at, count(*)::int as n from metaaccess.__drizzle_migrations`,
  );
  const lastAt = last?.at === null || last?.at === undefined ? -Infinity : Number(last.at);
  return { initialized: true, applied: Number(last?.n ?? 0), pending: shipped.filter((m) => m.when > lastAt).map((m) => m.tag), latest };
}
