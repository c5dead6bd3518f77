import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { AppError } from '../lib/errors.ts';
import { redactText } from '../lib/redact.ts';
import { acquireFileLock } from './fileLock.ts';
import * as schema from './schema.ts';

export type Db = NodePgDatabase<typeof schema>;
/** A database or an open transaction: statement functions accept either. */
export type Executor = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'execute'>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** For PostgreSQL: the connection string, to open the dedicated lock connection. */
  url?: string;
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
    const { PGlite } = await import('@electric-sql/pglite');
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    const pglite = await PGlite.create(dataDir);
    const pool = new pg.Pool(createPgConfig(pglite) as unknown as pg.PoolConfig);
    return {
      db: drizzle(pool, { schema }),
      kind: 'pglite',
      close: async () => {
        await pool.end().catch(() => undefined);
        await pglite.close();
        release();
      },
    };
  } catch (err) {
    release();
    throw new AppError('DB_OPEN_FAILED', `cannot open the embedded database in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
}
