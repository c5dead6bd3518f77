import pg from 'pg';
import { LockHeldError } from '../lib/errors.ts';
import type { Database } from './openDatabase.ts';

/** Advisory lock keys: 'meta' as an int, then one number per purpose. */
const LOCK_NAMESPACE = 0x6d657461;
export const RUN_LOCK = 1;
export const MIGRATE_LOCK = 2;

export interface HeldLock {
  /** The connection holding the lock (session-level locks live as long as it does). */
  client?: pg.Client;
  release(): Promise<void>;
}

/**
 * One run at a time per database, across processes: a session-level advisory lock held on a
 * dedicated connection for the length of the run; a crashed process drops it with its socket.
 * PGlite is single-process and already guarded by its lock file.
 */
export async function tryAcquireRunLock(database: Database): Promise<HeldLock> {
  if (database.kind === 'pglite' || !database.url) return { release: async () => undefined };
  const client = await connect(database.url);
  const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [LOCK_NAMESPACE, RUN_LOCK]);
  if (!rows[0]?.ok) {
    await client.end().catch(() => undefined);
    throw new LockHeldError('another sync run holds the lock on this database');
  }
  return {
    client,
    release: async () => {
      await client.query('select pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, RUN_LOCK]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Waits for the migration lock, so two processes starting at once migrate one after the other. */
export async function acquireMigrationLock(url: string): Promise<pg.Client> {
  const client = await connect(url);
  await client.query('select pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, MIGRATE_LOCK]);
  return client;
}

async function connect(url: string): Promise<pg.Client> {
  // keepAlive: the lock lives as long as this idle connection; a silently dropped one would free it.
  const client = new pg.Client({ connectionString: url, application_name: 'metaaccess-sync lock', keepAlive: true });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
