import type pg from 'pg';
import { LockHeldError, LockLostError, toDatabaseError } from '../lib/errors.ts';
import type { Database } from './openDatabase.ts';
import { closeClient, connectClient, withTimeout } from './pgConnection.ts';

/** Advisory lock keys: 'meta' as an int, then one number per purpose. */
const LOCK_NAMESPACE = 0x6d657461;
const RUN_LOCK = 1;
const MIGRATE_LOCK = 2;

const DEFAULT_PROBE_INTERVAL_MS = 5_000;
/** The unlock on release: a dead server must not hold up the end of a run. */
const RELEASE_TIMEOUT_MS = 2_000;

export interface HeldLock {
  /**
   * Aborted, with a LockLostError as its reason, once the lock may be gone: another run may then
   * start, so the holder must stop before it writes again. Never aborted by release().
   */
  lost: AbortSignal;
  /** Gives the lock back and closes its connection. Never throws. */
  release(): Promise<void>;
}

export interface RunLockOptions {
  /** How often the lock connection checks that it still holds the lock (default 5 s). */
  probeIntervalMs?: number;
}

/**
 * One run at a time per database, across processes. PostgreSQL: an advisory lock
 * (tryAcquireAdvisoryRunLock); PGlite: the data directory's lock file, held since it was opened.
 */
export function tryAcquireRunLock(database: Database, options: RunLockOptions = {}): Promise<HeldLock> {
  return database.tryAcquireRunLock(options);
}

/**
 * A session-level advisory lock held on a dedicated connection for the length of the run. The
 * lock lives exactly as long as that session, so the session is watched: its 'error' and 'end',
 * and a periodic probe of pg_locks.
 */
export async function tryAcquireAdvisoryRunLock(url: string, options: RunLockOptions = {}): Promise<HeldLock> {
  const client = await connectClient(url, 'metaaccess-sync lock');
  try {
    await disableIdleTimeouts(client);
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [LOCK_NAMESPACE, RUN_LOCK]);
    if (!rows[0]?.ok) throw new LockHeldError('another sync run holds the lock on this database');
  } catch (err) {
    await closeClient(client);
    throw toDatabaseError(err) ?? err;
  }
  return watchLock(client, options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS);
}

/**
 * The lock connection sits idle for most of a run: a server-side idle timeout (set on the role,
 * the database or by a pooler-minded DBA) would end the session and free the lock mid-run.
 */
async function disableIdleTimeouts(client: pg.Client): Promise<void> {
  try {
    await client.query('set idle_session_timeout = 0');
  } catch (err) {
    // PostgreSQL before 14 has no idle_session_timeout (42704, unrecognized parameter): nothing to disable.
    if ((err as { code?: unknown }).code !== '42704') throw err;
  }
  await client.query('set idle_in_transaction_session_timeout = 0');
  await client.query('set statement_timeout = 0');
}

function watchLock(client: pg.Client, probeIntervalMs: number): HeldLock {
  const controller = new AbortController();
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  const lose = (why: string, cause?: unknown) => {
    if (released || controller.signal.aborted) return;
    clearTimeout(timer);
    controller.abort(new LockLostError(`the run lock was lost: ${why}; another run may start`, cause));
  };
  client.on('error', (err) => lose(toDatabaseError(err)?.message ?? err.message, err));
  client.on('end', () => lose('its database connection closed'));
  const probe = async () => {
    const failure = await probeLock(client, Math.max(2 * probeIntervalMs, 1_000));
    if (failure) lose(failure.why, failure.cause);
    else if (!released && !controller.signal.aborted) schedule();
  };
  // One probe at a time, each after the last answered; unref'd, so it never keeps the process alive.
  const schedule = () => {
    timer = setTimeout(() => void probe(), probeIntervalMs);
    timer.unref();
  };
  schedule();
  return {
    lost: controller.signal,
    release: async () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      if (!controller.signal.aborted) {
        await withTimeout(client.query('select pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, RUN_LOCK]), RELEASE_TIMEOUT_MS).catch(
          () => undefined,
        );
      }
      await closeClient(client);
    },
  };
}

/** Undefined while this session still holds the lock; else why it may not. */
async function probeLock(client: pg.Client, timeoutMs: number): Promise<{ why: string; cause?: unknown } | undefined> {
  try {
    const { rows } = await withTimeout(
      client.query<{ held: boolean }>(
        `select exists (select 1 from pg_locks where locktype = 'advisory' and classid = $1 and objid = $2
           and objsubid = 2 and pid = pg_backend_pid() and granted) as held`,
        [LOCK_NAMESPACE, RUN_LOCK],
      ),
      timeoutMs,
    );
    return rows[0]?.held ? undefined : { why: 'this session no longer holds the advisory lock' };
  } catch (err) {
    return { why: `the lock check failed: ${toDatabaseError(err)?.message ?? (err as Error).message}`, cause: err };
  }
}

/**
 * Waits for the migration lock, so two processes starting at once migrate one after the other.
 * Returns its connection: what runs on it runs under the lock, which ends with the session.
 */
export async function acquireMigrationLock(url: string): Promise<pg.Client> {
  const client = await connectClient(url, 'metaaccess-sync migrate');
  try {
    await client.query('select pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, MIGRATE_LOCK]);
  } catch (err) {
    await closeClient(client);
    throw err;
  }
  return client;
}
