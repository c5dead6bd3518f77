import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrationState, runMigrations, shippedMigrations } from '../src/db/migrate.ts';
import { openDatabase, queryRows } from '../src/db/openDatabase.ts';
import { errorMessage } from '../src/lib/errors.ts';
import { createTestDatabase, type TestDatabase } from './helpers/testDatabase.ts';

/** A server that asks every client for SCRAM-SHA-256, as a password-protected PostgreSQL does. */
function scramServer(): Promise<Server> {
  const server = createServer((socket) => {
    server.once('close', () => socket.destroy());
    socket.on('error', () => undefined);
    socket.once('data', () => {
      const mechanisms = Buffer.from('SCRAM-SHA-256\0\0');
      const message = Buffer.alloc(9 + mechanisms.length);
      message.write('R', 0);
      message.writeInt32BE(8 + mechanisms.length, 1);
      message.writeInt32BE(10, 5);
      mechanisms.copy(message, 9);
      socket.write(message);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('a DATABASE_URL without a password, against a server that wants one', () => {
  let server: Server;
  beforeAll(async () => {
    server = await scramServer();
  });
  afterAll(async () => {
    await new Promise((resolve) => {
      server.close(resolve);
      server.emit('close');
    });
  });

  it('fails at once, naming DATABASE_URL and the missing password (not after the connect timeout)', async () => {
    const { port } = server.address() as { port: number };
    const started = Date.now();
    const err = await openDatabase({ url: `postgres://sync@127.0.0.1:${port}/metaaccess`, pgliteDir: '' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toMatchObject({ code: 'DB_UNREACHABLE' });
    expect(errorMessage(err)).toContain(`DATABASE_URL postgres://sync@127.0.0.1:${port}/metaaccess`);
    expect(errorMessage(err)).toContain('the server asks for a password and DATABASE_URL has none');
    // The connection is closed too: left open, it held the process until the server gave up (60 s).
    await expect.poll(() => new Promise((resolve) => server.getConnections((_, n) => resolve(n))), { timeout: 2_000 }).toBe(0);
  });
});

describe('opening without creating (read-only commands)', () => {
  it('an embedded database that does not exist is an error naming the directory, and nothing is created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metaaccess-open-'));
    try {
      const pgliteDir = join(dir, 'pglite');
      const err = await openDatabase({ pgliteDir, mustExist: true }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DB_NOT_FOUND' });
      expect(errorMessage(err)).toContain(`no embedded database in ${pgliteDir}`);
      expect(existsSync(pgliteDir)).toBe(false);
      expect(existsSync(`${pgliteDir}.lock`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readMigrationState', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('a migrated database has nothing pending and names the latest migration', async () => {
    const state = await readMigrationState(tdb.database);
    const shipped = shippedMigrations();
    expect(state).toEqual({ initialized: true, applied: shipped.length, pending: [], latest: shipped.at(-1)!.tag });
  });

  it('an empty database is reported as not initialized, and reading it creates nothing', async () => {
    await tdb.database.db.execute(sql`drop schema metaaccess cascade`);
    const state = await readMigrationState(tdb.database);
    expect(state.initialized).toBe(false);
    expect(state.pending).toEqual(shippedMigrations().map((m) => m.tag));
    const [schemas] = await queryRows<{ n: number }>(
      tdb.database.db,
      sql`select count(*)::int as n from pg_namespace where nspname = 'metaaccess'`,
    );
    expect(schemas!.n).toBe(0);
    await runMigrations(tdb.database);
    expect((await readMigrationState(tdb.database)).pending).toEqual([]);
  });

  it('a database one migration behind lists that one as pending', async () => {
    const latest = shippedMigrations().at(-1)!;
    await tdb.database.db.execute(sql`delete from metaaccess.__drizzle_migrations where created_at = ${latest.when}`);
    expect((await readMigrationState(tdb.database)).pending).toEqual([latest.tag]);
  });
});
