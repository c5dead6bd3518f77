import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { AppError, DatabaseError } from '../lib/errors.ts';
import { acquireFileLock, type FileLockOptions } from './fileLock.ts';
import * as schema from './schema.ts';

/** node-postgres for PostgreSQL, PGlite's own driver for the embedded database: one query API. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A database or an open transaction: statement functions accept either. */
export type Executor = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'execute'>;

export interface Database {
  db: Db;
  /** Which database this is, as an operator may see it: the URL without its password, or the embedded directory. */
  location: string;
  kind: 'postgres' | 'pglite';
  /** For PostgreSQL: the connection string, to open the dedicated lock connection. */
  url?: string;
  /** For PGlite: runs drizzle's migrator with its own driver. */
  migrateWith?: (config: { migrationsFolder: string; migrationsSchema: string; migrationsTable: string }, timezone: string) => Promise<void>;
  /** For PGlite: aborted (with a LockLostError) when the data directory's lock file is compromised. */
  lockLost?: AbortSignal;
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

/** A refused or silent server fails the run in seconds, not after the OS gives up (minutes). */
export const CONNECT_TIMEOUT_MS = 5_000;

/** PostgreSQL when a URL is given, else embedded PGlite — one node-postgres code path for both. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.url ? openPostgres(options.url) : openPglite(options.pgliteDir, options.fileLock, options.mustExist === true);
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new ReleasingPool({
    connectionString: url,
    max: 4,
    application_name: 'metaaccess-sync',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A failover can leave sockets half-open; keepalive lets the OS notice instead of waiting forever.
    keepAlive: true,
    // Listens for 'error' from birth: a checked-out client (inside a transaction) has no pool listener.
    Client: ReportingClient,
  });
  // An idle client losing its connection must not crash the worker; the next query reports it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw connectFailure(url, err);
  }
  return { db: drizzle(pool, { schema }), location: `PostgreSQL ${describeUrl(url)}`, kind: 'postgres', url, close: () => pool.end() };
}

/** Any failure to open a connection: refused, unresolvable, silent, or turned away by the server. */
export function connectFailure(url: string, err: unknown): DatabaseError {
  const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // Node 20 tries each address of a host name and then reports an AggregateError with an empty message.
  const said = e.message || e.errors?.[0]?.message || e.code || String(err);
  // pg's own words for a silent server ("timeout expired") do not say how long it waited.
  const reason = /timeout/i.test(said) ? `${said} (no answer within ${CONNECT_TIMEOUT_MS / 1000} s)` : said;
  // Turned away by the server (bad password, no such database, too many clients): its SQLSTATE says which.
  const sqlstate = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  const message = `cannot connect to DATABASE_URL ${describeUrl(url)}: ${reason}${sqlstate ? ` (SQLSTATE ${sqlstate})` : ''}`;
  return new DatabaseError('DB_UNREACHABLE', message, { cause: err, ...(sqlstate ? { sqlstate } : {}) });
}

async function openPglite(dir: string, lockOptions: FileLockOptions | undefined, mustExist: boolean): Promise<Database> {
  const dataDir = resolve(dir);
  if (mustExist && !existsSync(`${dataDir}/PG_VERSION`)) {
    throw new AppError('DB_NOT_FOUND', `no embedded database in ${dataDir}: nothing has been synced here yet (run \`sync\` or \`demo\` first, set PGLITE_DIR, or set DATABASE_URL)`);
  }
  const lock = await acquireFileLock(`${dataDir}.lock`, lockOptions);
  try {
    mkdirSync(dataDir, { recursive: true });
    // Loaded only when used: the WASM engine costs time and memory a PostgreSQL user never needs.
    // (PGlite's node-postgres adapter hangs inside drizzle's migration transaction, so its own driver is used.)
    const { PGlite } = await import('@electric-sql/pglite');
    const { drizzle: drizzlePglite } = await import('drizzle-orm/pglite');
    const pglite = await PGlite.create(dataDir);
    return {
      db: drizzlePglite(pglite, { schema }) as unknown as Db,
      location: `embedded PGlite in ${dataDir}`,
      kind: 'pglite',
      lockLost: lock.lost,
      migrateWith: async (config, timezone) => {
        const { migrate } = await import('drizzle-orm/pglite/migrator');
        // One connection: the setting is seen by the migrations that follow.
        await pglite.query("select set_config('metaaccess.timezone', $1, false)", [timezone]);
        await migrate(drizzlePglite(pglite), config);
      },
      close: async () => {
        await pglite.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw new AppError('DB_OPEN_FAILED', `cannot open the embedded database in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A pg client that is never without an 'error' listener: pg emits 'error' when a client's socket
 * dies, and the pool listens only while the client is idle, so a connection dropped inside a
 * transaction would crash the process. It also keeps what PostgreSQL said when it closed the
 * connection (e.g. 57P01 "terminating connection due to administrator command"), and statements
 * that fail afterwards (drizzle's ROLLBACK) report that instead of "... is not queryable".
 */
/**
 * A pool whose checked-out clients go back (as broken) the moment their connection dies. drizzle
 * releases a transaction's client only if its BEGIN succeeded: a connection killed before that
 * leaked the client, so the pool shrank with every failover until nothing could connect, and
 * pool.end() never finished (Node exited 13 with the stop half done). Releasing twice is a no-op.
 */
class ReleasingPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    if (callback) return super.connect(callback);
    return super.connect().then((client) => {
      const release = client.release.bind(client);
      let released = false;
      const onLost = (err?: Error) => client.release(err ?? new Error('connection ended'));
      client.once('error', onLost);
      client.once('end', onLost);
      client.release = (err?: Error | boolean) => {
        if (released) return;
        released = true;
        client.off('error', onLost);
        client.off('end', onLost);
        release(err);
      };
      return client;
    });
  }
}

export class ReportingClient extends pg.Client {
  #closedWith: unknown;

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // Without a password pg would try SCRAM with none and hang until the connection timeout, then
    // say "client password must be a string"; asked through this function it fails at once, in words.
    if (!this.password) {
      Object.defineProperty(this, 'password', { configurable: true, enumerable: false, writable: true, value: passwordMissing });
    }
    this.on('error', (err) => {
      if (isServerFatal(err)) this.#closedWith ??= err;
    });
  }

  // any: forwards every one of pg's overloads (promise, callback, submittable) unchanged.
  override query(...args: any[]): any {
    const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
    if (!(result instanceof Promise)) return result;
    return result.catch((err: unknown) => {
      if (isServerFatal(err)) this.#closedWith ??= err;
      else if (this.#closedWith !== undefined && typeof (err as { severity?: unknown }).severity !== 'string') throw this.#closedWith;
      throw err;
    });
  }
}

function passwordMissing(): never {
  throw new Error('the server asks for a password and DATABASE_URL has none (put it in the URL, or use DATABASE_URL_FILE)');
}

/** PostgreSQL ends the session after a FATAL (or PANIC) error: everything after it fails for that reason. */
function isServerFatal(err: unknown): boolean {
  const severity = (err as { severity?: unknown } | null)?.severity;
  return severity === 'FATAL' || severity === 'PANIC';
}

/** The connection string as an operator may see it: no password, in the userinfo or the query. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.searchParams.delete('password');
    u.searchParams.delete('sslpassword');
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Rows of a raw SQL statement; node-postgres and PGlite both answer with `{ rows }`. */
export async function queryRows<T>(db: Executor, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
