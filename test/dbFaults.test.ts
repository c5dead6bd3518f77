import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { tryAcquireRunLock, type HeldLock } from '../src/db/locks.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { openDatabase, queryRows, type Database } from '../src/db/openDatabase.ts';
import { LockHeldError, LockLostError, errorCode, errorMessage } from '../src/lib/errors.ts';
import { admin } from './globalSetup.ts';
import { createTestDatabase, type TestDatabase } from './helpers/testDatabase.ts';

const ADMIN_SHUTDOWN = 'terminating connection due to administrator command (SQLSTATE 57P01)';
const LOCK_KEYS = [0x6d657461, 1] as const;

let tdb: TestDatabase;
const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await tdb?.drop();
});

function asAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return admin(inject('adminUrl'), fn);
}

/** What a failover or a DBA does to every session of the database (except the admin's own). */
async function terminateBackends(extraCondition = 'true'): Promise<void> {
  await asAdmin((c) =>
    c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and ${extraCondition}`, [
      tdb.name,
    ]),
  );
}

async function waitUntilRunning(fragment: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await asAdmin((c) =>
      c.query(`select 1 from pg_stat_activity where datname = $1 and state = 'active' and query like $2`, [tdb.name, `%${fragment}%`]),
    );
    if (rows.length) return;
    await sleep(50);
  }
  throw new Error(`no statement containing ${fragment} started`);
}

function abortReason(signal: AbortSignal, withinMs: number): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not aborted within ${withinMs} ms`)), withinMs);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    });
  });
}

async function runLockHolders(): Promise<number> {
  const { rows } = await asAdmin((c) =>
    c.query<{ n: number }>(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = $1 and objid = $2 and granted
       and database = (select oid from pg_database where datname = $3)`,
      [...LOCK_KEYS, tdb.name],
    ),
  );
  return rows[0]!.n;
}

async function acquire(options?: { probeIntervalMs?: number }, database = tdb.database): Promise<HeldLock> {
  const lock = await tryAcquireRunLock(database, options);
  cleanups.push(() => lock.release());
  return lock;
}

/** The test database opened a second time, through `url` (a proxy's). */
async function openThrough(url: string): Promise<Database> {
  const database = await openDatabase({ url, pgliteDir: '' });
  cleanups.push(() => database.close());
  return database;
}

/** Forgets the newest applied migration until the test ends, so runMigrations has one to apply. */
async function oneMigrationBehind(): Promise<void> {
  const [row] = await queryRows<{ hash: string; created_at: string }>(
    tdb.database.db,
    sql`
    delete from metaaccess.__drizzle_migrations where id = (select max(id) from metaaccess.__drizzle_migrations)
    returning hash, created_at::text`,
  );
  cleanups.push(() =>
    tdb.database.db.execute(sql`
    insert into metaaccess.__drizzle_migrations (hash, created_at) values (${row!.hash}, ${row!.created_at}::bigint)`),
  );
}

describe('the pool survives its connections being dropped (failover, DBA, restart)', () => {
  it("a query in flight rejects with DB_CONNECTION_LOST in PostgreSQL's words, and the next one works", async () => {
    const { db } = tdb.database;
    const query = db.execute(sql`select pg_sleep(30)`).catch((err: unknown) => err);
    await waitUntilRunning('pg_sleep');
    await terminateBackends();
    const err = await query;
    expect(errorCode(err)).toBe('DB_CONNECTION_LOST');
    expect(errorMessage(err)).toBe(ADMIN_SHUTDOWN);
    await expect(db.execute(sql`select 1 as ok`)).resolves.toBeDefined();
  });

  it('a transaction cut mid-statement reports why, not that its ROLLBACK could not be sent', async () => {
    const { db } = tdb.database;
    const tx = db
      .transaction(async (t) => {
        await t.execute(sql`select 1`);
        await t.execute(sql`select pg_sleep(30)`);
      })
      .catch((err: unknown) => err);
    await waitUntilRunning('pg_sleep');
    await terminateBackends();
    const err = await tx;
    expect(errorCode(err)).toBe('DB_CONNECTION_LOST');
    expect(errorMessage(err)).toBe(ADMIN_SHUTDOWN);
  });

  it('a connection dropped while a transaction holds it between statements does not crash the process', async () => {
    const { db } = tdb.database;
    const err = await db
      .transaction(async (t) => {
        await t.execute(sql`select 1`);
        await terminateBackends();
        // The server's goodbye reaches the checked-out client as an 'error' event while no query runs.
        await sleep(300);
        await t.execute(sql`select 2`);
      })
      .catch((e: unknown) => e);
    expect(errorCode(err)).toBe('DB_CONNECTION_LOST');
    expect(errorMessage(err)).toBe(ADMIN_SHUTDOWN);
    await expect(db.execute(sql`select 1 as ok`)).resolves.toBeDefined();
  });

  it("a statement timeout is DB_STATEMENT_TIMEOUT with PostgreSQL's message, without the SQL or its parameters", async () => {
    const { db } = tdb.database;
    const err = await db
      .transaction(async (t) => {
        await t.execute(sql`set local statement_timeout = '200ms'`);
        await t.execute(sql`select pg_sleep(5), ${'secret-parameter-value'}::text as p`);
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain('secret-parameter-value');
    expect(errorCode(err)).toBe('DB_STATEMENT_TIMEOUT');
    expect(errorMessage(err)).toBe('canceling statement due to statement timeout (SQLSTATE 57014)');
  });
});

describe('a database that cannot be reached fails fast', () => {
  it('refused: DB_UNREACHABLE at once, naming DATABASE_URL without its password', async () => {
    const started = Date.now();
    const err = await openDatabase({ url: 'postgres://sync:hunter2@127.0.0.1:1/metaaccess', pgliteDir: '' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toMatchObject({ code: 'DB_UNREACHABLE', exitCode: 1 });
    expect(errorMessage(err)).toContain('postgres://sync@127.0.0.1:1/metaaccess');
    expect(errorMessage(err)).toContain('ECONNREFUSED');
    expect(errorMessage(err)).not.toContain('hunter2');
  });

  it('silent: DB_UNREACHABLE after the connect timeout, for the pool, the run lock and the migration lock', async () => {
    const proxy = await startProxy(new URL(tdb.url));
    cleanups.push(() => proxy.close());
    // Trust authentication ignores the password; it is there to prove no message shows it.
    const url = proxy.url('hunter2');
    const database = await openThrough(url);
    await oneMigrationBehind();
    proxy.newConnections('silent');
    const started = Date.now();
    const errors = await Promise.all([
      openDatabase({ url, pgliteDir: '' }).catch((e: unknown) => e),
      tryAcquireRunLock(database).catch((e: unknown) => e),
      runMigrations(database).catch((e: unknown) => e),
    ]);
    expect(Date.now() - started).toBeLessThan(8_000);
    for (const err of errors) {
      expect(err).toMatchObject({ code: 'DB_UNREACHABLE' });
      expect(errorMessage(err)).toContain(proxy.url());
      expect(errorMessage(err)).toMatch(/timeout .*\(no answer within 5 s\)$/);
      expect(errorMessage(err)).not.toContain('hunter2');
    }
  });

  it('no password in DATABASE_URL, asked for one: the run lock and the migration lock fail at once, saying so', async () => {
    const proxy = await startProxy(new URL(tdb.url));
    cleanups.push(() => proxy.close());
    const database = await openThrough(proxy.url());
    await oneMigrationBehind();
    proxy.newConnections('ask-password');
    const started = Date.now();
    const errors = await Promise.all([
      tryAcquireRunLock(database).catch((e: unknown) => e),
      runMigrations(database).catch((e: unknown) => e),
    ]);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const err of errors) {
      expect(err).toMatchObject({ code: 'DB_UNREACHABLE' });
      expect(errorMessage(err)).toContain(`DATABASE_URL ${proxy.url()}`);
      expect(errorMessage(err)).toContain('the server asks for a password and DATABASE_URL has none');
    }
  });
});

describe('the run lock (session advisory lock) says when it is lost', () => {
  it('a second run is refused while the first holds it, and admitted after release', async () => {
    const first = await acquire();
    await expect(tryAcquireRunLock(tdb.database)).rejects.toBeInstanceOf(LockHeldError);
    await first.release();
    expect(first.lost.aborted).toBe(false);
    const second = await acquire();
    await second.release();
    expect(await runLockHolders()).toBe(0);
  });

  it("terminating the lock connection aborts `lost` with LOCK_LOST, in PostgreSQL's words, within the probe interval", async () => {
    const lock = await acquire({ probeIntervalMs: 1_000 });
    await terminateBackends(`application_name = 'metaaccess-sync lock'`);
    const reason = await abortReason(lock.lost, 1_000);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason).toMatchObject({ code: 'LOCK_LOST', fatal: true, exitCode: 1 });
    expect((reason as Error).message).toContain(ADMIN_SHUTDOWN);
    // Another run can now start: exactly why the first must stop writing.
    const other = await acquire();
    await other.release();
    await lock.release();
  });

  it('survives a server idle_session_timeout of 500 ms (set on the database) through 2 s idle', async () => {
    await asAdmin((c) => c.query(`alter database ${tdb.name} set idle_session_timeout = '500ms'`));
    cleanups.push(() => asAdmin((c) => c.query(`alter database ${tdb.name} reset idle_session_timeout`)));
    // Control: an ordinary session of this database is ended by the setting.
    const plain = new pg.Client({ connectionString: tdb.url });
    plain.on('error', () => undefined);
    await plain.connect();
    const lock = await acquire({ probeIntervalMs: 60_000 });
    await sleep(2_000);
    await expect(plain.query('select 1')).rejects.toThrow();
    expect(lock.lost.aborted).toBe(false);
    expect(await runLockHolders()).toBe(1);
    await lock.release();
    expect(await runLockHolders()).toBe(0);
  });

  it('a lock connection that stops answering (black hole) aborts `lost` when the probe times out; release does not hang', async () => {
    const proxy = await startProxy(new URL(tdb.url));
    cleanups.push(() => proxy.close());
    const lock = await acquire({ probeIntervalMs: 300 }, await openThrough(proxy.url()));
    await sleep(700);
    expect(lock.lost.aborted).toBe(false);
    proxy.freeze();
    const reason = await abortReason(lock.lost, 3_000);
    expect(reason).toMatchObject({ code: 'LOCK_LOST' });
    expect((reason as Error).message).toMatch(/lock check failed: no answer within \d+ ms/);
    const started = Date.now();
    await lock.release();
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe("PGlite: the run lock is the data directory's lock file", () => {
  it("tryAcquireRunLock returns the file lock's `lost`, aborted with LOCK_LOST when the lock file is taken away", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pglite-lock-')), 'data');
    const database = await openDatabase({ pgliteDir: dir, fileLock: { staleMs: 2_000, updateMs: 1_000 } });
    cleanups.push(() => database.close());
    const lock = await tryAcquireRunLock(database);
    expect(lock.lost.aborted).toBe(false);
    rmSync(`${dir}.lock`, { recursive: true });
    const reason = await abortReason(lock.lost, 3_000);
    expect(reason).toMatchObject({ code: 'LOCK_LOST' });
    await lock.release();
  });
});

/** What the proxy does with connections opened from now on. */
type NewConnections = 'relay' | 'silent' | 'ask-password';

/**
 * A TCP relay to PostgreSQL that can go silent in both directions, as a partitioned network does,
 * and can meet the connections opened after some point with silence (a black hole) or with a
 * request for a SCRAM password (a server that wants one).
 */
async function startProxy(target: URL): Promise<{
  port: number;
  url(password?: string): string;
  newConnections(mode: NewConnections): void;
  freeze(): void;
  close(): Promise<void>;
}> {
  let frozen = false;
  let mode: NewConnections = 'relay';
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    sockets.push(client);
    client.on('error', () => undefined);
    if (mode === 'silent') return;
    if (mode === 'ask-password') return void client.once('data', () => client.write(askForScramPassword()));
    const upstream = netConnect(Number(target.port || 5432), target.hostname);
    sockets.push(upstream);
    client.on('data', (d: Buffer) => void (frozen || upstream.write(d)));
    upstream.on('data', (d: Buffer) => void (frozen || client.write(d)));
    upstream.on('error', () => undefined);
    for (const s of [client, upstream])
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: (password) => {
      const url = new URL(target);
      url.port = String(port);
      if (password) url.password = password;
      return url.toString();
    },
    newConnections: (next) => {
      mode = next;
    },
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** AuthenticationSASL offering SCRAM-SHA-256: a password-protected server's answer to a startup message. */
function askForScramPassword(): Buffer {
  const mechanisms = Buffer.from('SCRAM-SHA-256\0\0');
  const message = Buffer.alloc(9 + mechanisms.length);
  message.write('R', 0);
  message.writeInt32BE(8 + mechanisms.length, 1);
  message.writeInt32BE(10, 5);
  mechanisms.copy(message, 9);
  return message;
}
