import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { acquireMigrationLock, tryAcquireAdvisoryRunLock } from './locks.ts';
import type { Database, MigrationSet } from './openDatabase.ts';
import {
  closeClient,
  CONNECT_TIMEOUT_MS,
  connectFailure,
  describeUrl,
  KEEPALIVE_DELAY_MS,
  ReleasingPool,
  ReportingClient,
} from './pgConnection.ts';
import * as schema from './schema.ts';

/**
 * PostgreSQL through a small node-postgres pool. The run lock and the migration lock each take a
 * connection of their own (an advisory lock belongs to a session), opened from the same URL.
 */
export async function openPostgres(url: string): Promise<Database> {
  const pool = new ReleasingPool({
    connectionString: url,
    max: 4,
    application_name: 'metaaccess-sync',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A failover can leave sockets half-open; keepalive lets the OS notice instead of waiting forever.
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
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
  return {
    db: drizzle(pool, { schema }),
    location: `PostgreSQL ${describeUrl(url)}`,
    applyMigrations: (migrations, timezone) => migrateUnderLock(url, migrations, timezone),
    tryAcquireRunLock: (options) => tryAcquireAdvisoryRunLock(url, options),
    close: () => pool.end(),
  };
}

/** One session: the lock, the timezone setting the migrations read, the migrations, `afterwards`. */
async function migrateUnderLock(url: string, migrations: MigrationSet, timezone: string): Promise<void> {
  const { afterwards, ...config } = migrations;
  const client = await acquireMigrationLock(url);
  try {
    await client.query("select set_config('metaaccess.timezone', $1, false)", [timezone]);
    await migrate(drizzle(client), config);
    await client.query(afterwards);
  } finally {
    await client.query('select pg_advisory_unlock_all()').catch(() => undefined);
    await closeClient(client);
  }
}
