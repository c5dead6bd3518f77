import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { FileLockOptions } from './fileLock.ts';
import type { HeldLock, RunLockOptions } from './locks.ts';
import { openPglite } from './pgliteDatabase.ts';
import { openPostgres } from './postgresDatabase.ts';
import type * as schema from './schema.ts';

/** node-postgres for PostgreSQL, PGlite's own driver for the embedded database: one query API. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A database or an open transaction: statement functions accept either. */
export type Executor = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'execute'>;

/** drizzle's migration folder and table, and what to run once they are applied. */
export interface MigrationSet {
  migrationsFolder: string;
  migrationsSchema: string;
  migrationsTable: string;
  /** SQL run right after the migrations, in their session (on PostgreSQL, still under the migration lock). */
  afterwards: string;
}

/** An open database: PostgreSQL (postgresDatabase.ts) or embedded PGlite (pgliteDatabase.ts). */
export interface Database {
  db: Db;
  /** Which database this is, as an operator may see it: the URL without its password, or the embedded directory. */
  location: string;
  /**
   * Applies the migrations of `migrations` that the database lacks, with the session setting
   * metaaccess.timezone set to `timezone` (the calendar a migration may move days to). Safe when
   * several processes do it at once.
   */
  applyMigrations(migrations: MigrationSet, timezone: string): Promise<void>;
  /** The run lock: one run at a time per database. Throws LockHeldError while another run holds it. */
  tryAcquireRunLock(options?: RunLockOptions): Promise<HeldLock>;
  close(): Promise<void>;
}

export interface OpenOptions {
  url?: string;
  pgliteDir: string;
  /** For PGlite: heartbeat and staleness of the data directory's lock (tests shorten them). */
  fileLock?: FileLockOptions;
  /**
   * Read-only commands pass true: a missing embedded database is an error (DB_NOT_FOUND) instead of
   * being created. (A PostgreSQL connection never creates its database.)
   */
  mustExist?: boolean;
}

/** PostgreSQL when a URL is given, else embedded PGlite. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url);
  return openPglite(options.pgliteDir, { fileLock: options.fileLock, mustExist: options.mustExist === true });
}

/** Rows of a raw SQL statement; node-postgres and PGlite both answer with `{ rows }`. */
export async function queryRows<T>(db: Executor, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (result as { rows: T[] }).rows;
}
