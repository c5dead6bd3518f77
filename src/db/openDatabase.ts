import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { AppError } from '../lib/errors.ts';
import { redactText } from '../lib/redact.ts';
import { acquireFileLock } from './fileLock.ts';
import * as schema from './schema.ts';

/** node-postgres for PostgreSQL, PGlite's own driver for the embedded database: one query API. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A database or an open transaction: statement functions accept either. */
export type Executor = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'execute'>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** For PostgreSQL: the connection string, to open the dedicated lock connection. */
  url?: string;
  /** For PGlite: runs drizzle's migrator with its own driver. */
  migrateWith?: (config: { migrationsFolder: string; migrationsSchema: string; migrationsTable: string }) => Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  url?: string;
  pgliteDir: string;
}

/** PostgreSQL when a URL is given, else embedded PGlite — one node-postgres code path for both. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.url ? openPostgres(options.url) : openPglite(options.pgliteDir);
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'metaaccess-sync' });
  // An idle client losing its connection must not crash the worker; the next query reports it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new AppError('DB_UNREACHABLE', `cannot connect to DATABASE_URL: ${redactText((err as Error).message)}`, { cause: err });
  }
  return { db: drizzle(pool, { schema }), kind: 'postgres', url, close: () => pool.end() };
}

async function openPglite(dir: string): Promise<Database> {
  const dataDir = resolve(dir);
  const release = acquireFileLock(`${dataDir}.lock`);
  try {
    mkdirSync(dataDir, { recursive: true });
    // Loaded only when used: the WASM engine costs time and memory a PostgreSQL user never needs.
    // (PGlite's node-postgres adapter hangs inside drizzle's migration transaction, so its own driver is used.)
    const { PGlite } = await import('@electric-sql/pglite');
    const { drizzle: drizzlePglite } = await import('drizzle-orm/pglite');
    const pglite = await PGlite.create(dataDir);
    return {
      db: drizzlePglite(pglite, { schema }) as unknown as Db,
      kind: 'pglite',
      migrateWith: async (config) => {
        const { migrate } = await import('drizzle-orm/pglite/migrator');
        await migrate(drizzlePglite(pglite), config);
      },
      close: async () => {
        await pglite.close();
        release();
      },
    };
  } catch (err) {
    release();
    throw new AppError('DB_OPEN_FAILED', `cannot open the embedded database in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Rows of a raw SQL statement; node-postgres and PGlite both answer with `{ rows }`. */
export async function queryRows<T>(db: Executor, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
