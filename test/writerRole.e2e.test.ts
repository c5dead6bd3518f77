import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { runsCommand } from '../src/cli/runsCommand.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { openDatabase, queryRows, type Database } from '../src/db/openDatabase.ts';
import { listSnapshotPartitions } from '../src/db/partitions.ts';
import { pruneSnapshots } from '../src/jobs/pruneSnapshots.ts';
import { runSync } from '../src/jobs/runSync.ts';
import { shiftedClock } from '../src/lib/clock.ts';
import { admin } from './globalSetup.ts';
import { cleanUpAfterEach, startHarness, type Harness } from './helpers/harness.ts';
import { createTestDatabase } from './helpers/testDatabase.ts';

/**
 * The worker logged in as the least-privilege writer that docs/writer-role.sql makes (the schema
 * owned by the administrator who migrated it): every nightly step works — including the first run
 * of a month, whose snapshot partition only the owner may create — and DDL is refused.
 */

const WRITER_SQL_PATH = fileURLToPath(new URL('../docs/writer-role.sql', import.meta.url));
const WRITER_SQL = readFileSync(WRITER_SQL_PATH, 'utf8');
const COMPOSE_SCRIPT = fileURLToPath(new URL('../deploy/postgres/writer-login.sh', import.meta.url));
const hasPsql = (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const DEVICES = 60;
const cleanUp = cleanUpAfterEach();

/** Runs docs/writer-role.sql as the administrator, for the login `login`. */
async function applyWriterRole(url: string, login: string): Promise<void> {
  await admin(url, async (c) => {
    await c.query(`set metaaccess.writer_login = '${login}'`);
    await c.query(WRITER_SQL);
  });
}

/** The PostgreSQL error code a statement fails with as `database`'s login (undefined if it succeeds). */
async function failureCode(database: Database, statement: string): Promise<string | undefined> {
  try {
    await database.db.execute(sql.raw(statement));
    return undefined;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    return e.cause?.code ?? e.code;
  }
}

/** A sync as the CLI runs it, on the night `at` (dates shifted; requests in real time). */
function syncAt(h: Harness, database: Database, at: string) {
  return runSync({
    database,
    source: h.makeSource(),
    clock: shiftedClock(Date.parse(at) - Date.now()),
    logger: h.logger,
    trigger: 'test',
    settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: 'UTC' },
  });
}

async function runsAs(url: string): Promise<{ code: number; runs: { status: string }[] }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const ctx = {
    env: { DATABASE_URL: url, LOG_LEVEL: 'error' },
    stdout,
    stderr: new PassThrough(),
    isTty: false,
    signal: new AbortController().signal,
  };
  const code = await runsCommand.run(['--json'], ctx);
  return { code, runs: JSON.parse(out) as { status: string }[] };
}

describe('the writer role (docs/writer-role.sql)', () => {
  it('syncs, starts a new month, prunes and lists runs, and may not change the schema', async () => {
    const login = `metaaccess_t_writer_${process.pid}_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const adminUrl = inject('adminUrl');
    // Roles are shared by the whole server: this login only, dropped after its database.
    cleanUp(() => admin(adminUrl, (c) => c.query(`drop role if exists ${login}`)));
    const h = await startHarness({ simulator: { devices: DEVICES, seed: 81 } });
    cleanUp(() => h.close());

    await applyWriterRole(h.tdb.url, login);
    await applyWriterRole(h.tdb.url, login); // idempotent
    await admin(h.tdb.url, (c) => c.query(`alter role ${login} password '${password}'`));
    const [role] = await queryRows<Record<string, boolean>>(
      h.tdb.database.db,
      sql`
      select rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, pg_has_role(rolname, 'metaaccess_writer', 'MEMBER') as writer,
        exists (select 1 from pg_class where relowner = r.oid) or exists (select 1 from pg_namespace where nspowner = r.oid) as owns
      from pg_roles r where rolname = ${login}`,
    );
    expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true, writer: true, owns: false });
    // A login that could do more is refused, not silently stripped.
    await expect(applyWriterRole(h.tdb.url, 'postgres')).rejects.toThrow(/can do more than the worker needs/);

    const url = new URL(h.tdb.url);
    url.username = login;
    url.password = password;
    const writer = await openDatabase({ url: url.toString(), pgliteDir: '' });
    cleanUp(() => writer.close());
    await runMigrations(writer, { timezone: 'UTC' }); // up to date: must do no DDL

    const first = await syncAt(h, writer, '2031-01-20T02:00:00Z');
    expect(first.status).toBe('succeeded');
    expect(first.counters.devicesAdded).toBe(DEVICES);
    // The first night of a month whose partition nobody made yet (nor the next month's).
    const second = await syncAt(h, writer, '2031-03-01T02:00:00Z');
    expect(second.status).toBe('succeeded');
    const partitions = (await listSnapshotPartitions(writer.db)).map((p) => p.name);
    expect(partitions).toEqual(expect.arrayContaining(['snapshots_2031_01', 'snapshots_2031_03', 'snapshots_2031_04']));
    const perDay = await queryRows<{ day: string; n: number }>(
      writer.db,
      sql`
      select day::text, count(*)::int as n from metaaccess.snapshots group by day order by day`,
    );
    expect(perDay).toEqual([
      { day: '2031-01-20', n: DEVICES },
      { day: '2031-03-01', n: DEVICES },
    ]);

    // Prune as the writer: January dropped whole, February (ended, empty) compacted.
    const pruned = await pruneSnapshots({
      database: writer,
      clock: shiftedClock(Date.parse('2031-03-01T03:00:00Z') - Date.now()),
      logger: h.logger,
      retentionDays: 20,
    });
    expect(pruned.droppedPartitions).toEqual(['snapshots_2031_01']);
    expect(pruned.deleted).toBe(DEVICES);
    expect(pruned.compactedPartitions).toEqual(['snapshots_2031_02']);
    expect((await listSnapshotPartitions(writer.db)).find((p) => p.name === 'snapshots_2031_02')?.compacted).toBe(true);

    // Statistics: a plain ANALYZE by the writer is skipped (only a warning); the owner's function refreshes them.
    const analyzed = async () =>
      (
        await queryRows<{ n: number }>(
          h.tdb.database.db,
          sql`
      select analyze_count::int as n from pg_stat_user_tables where relid = 'metaaccess.devices'::regclass`,
        )
      )[0]!.n;
    const before = await analyzed();
    await writer.db.execute(sql`analyze metaaccess.devices`);
    expect(await analyzed()).toBe(before);
    await writer.db.execute(sql`select metaaccess.analyze_devices()`);
    expect(await analyzed()).toBe(before + 1);

    const runs = await runsAs(url.toString());
    expect(runs.code).toBe(0);
    expect(runs.runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);

    // No DDL beyond the owner's functions, and those act on snapshot months only.
    expect(await failureCode(writer, 'drop table metaaccess.devices')).toBe('42501');
    expect(await failureCode(writer, 'create table metaaccess.x (a int)')).toBe('42501');
    expect(await failureCode(writer, 'alter table metaaccess.devices add column x int')).toBe('42501');
    expect(await failureCode(writer, 'truncate metaaccess.sync_runs')).toBe('42501');
    expect(await failureCode(writer, 'drop table metaaccess.snapshots_2031_03')).toBe('42501');
    expect(await failureCode(writer, 'create schema metaaccess_x')).toBe('42501');
    expect(await failureCode(writer, 'delete from metaaccess.__drizzle_migrations')).toBe('42501');
    expect(await failureCode(writer, "select metaaccess.drop_snapshot_partition('devices')")).toBe('42P01');
    expect(await failureCode(writer, "select metaaccess.compact_snapshot_partition('sync_runs')")).toBe('42P01');
    expect(await failureCode(writer, 'grant metaaccess_writer to metaaccess_reader')).toBe('42501');
    // No month a run cannot have: prune could never match its name, so it would stay for ever.
    for (const day of ['10000-01-01', '4713-01-01 BC', 'infinity', '1999-12-31']) {
      expect(await failureCode(writer, `select metaaccess.create_snapshot_partition('${day}')`)).toBe('22023');
    }
    // The owner's functions are the writer's alone: the BI reader may not call them.
    const reader = new pg.Client({ connectionString: h.tdb.url });
    await reader.connect();
    cleanUp(() => reader.end());
    await reader.query('set role metaaccess_reader');
    await expect(reader.query("select metaaccess.create_snapshot_partition('2040-01-01')")).rejects.toMatchObject({ code: '42501' });
    // A release ahead of the schema: the writer may not migrate, and is told whose step it is.
    await h.tdb.database.db.execute(
      sql`delete from metaaccess.__drizzle_migrations where created_at = (select max(created_at) from metaaccess.__drizzle_migrations)`,
    );
    await expect(runMigrations(writer, { timezone: 'UTC' })).rejects.toThrow(/permission denied .*run `migrate` as the schema owner first/);
    await runMigrations(h.tdb.database, { timezone: 'UTC' }); // the owner re-applies it
    await runMigrations(writer, { timezone: 'UTC' });
  });

  // psql is the postgres image's client; a machine without it cannot run the script.
  it.skipIf(!hasPsql)("compose's `roles` script makes the login from docs/writer-role.sql, its password from a file", async () => {
    const login = `metaaccess_t_writer_${process.pid}_${randomBytes(3).toString('hex')}`;
    const adminUrl = new URL(inject('adminUrl'));
    cleanUp(() => admin(adminUrl.toString(), (c) => c.query(`drop role if exists ${login}`)));
    const tdb = await createTestDatabase();
    cleanUp(() => tdb.drop());
    const dir = mkdtempSync(join(tmpdir(), 'writer-login-'));
    cleanUp(async () => rmSync(dir, { recursive: true, force: true }));
    const password = randomBytes(12).toString('hex');
    writeFileSync(join(dir, 'writer_password'), `${password}\n`);
    writeFileSync(join(dir, 'postgres_password'), `${decodeURIComponent(adminUrl.password)}\n`);
    const run = () =>
      execFileSync('sh', [COMPOSE_SCRIPT], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          PGHOST: adminUrl.hostname,
          PGPORT: adminUrl.port || '5432',
          PGUSER: decodeURIComponent(adminUrl.username),
          PGDATABASE: tdb.name,
          WRITER_LOGIN: login,
          WRITER_ROLE_SQL: WRITER_SQL_PATH,
          WRITER_PASSWORD_FILE: join(dir, 'writer_password'),
          ADMIN_PASSWORD_FILE: join(dir, 'postgres_password'),
        },
      });
    expect(run()).toContain(`login ${login} is ready`);
    expect(run()).toContain(`login ${login} is ready`); // at every `up`
    const [row] = await queryRows<{ scram: boolean; writer: boolean; insert: boolean; create: boolean }>(
      tdb.database.db,
      sql`
      select rolpassword like 'SCRAM-SHA-256$%' as scram, pg_has_role(rolname, 'metaaccess_writer', 'MEMBER') as writer,
        has_table_privilege(rolname, 'metaaccess.devices', 'INSERT') as insert, has_schema_privilege(rolname, 'metaaccess', 'CREATE') as create
      from pg_authid where rolname = ${login}`,
    );
    expect(row).toEqual({ scram: true, writer: true, insert: true, create: false });
    const url = new URL(tdb.url);
    url.username = login;
    url.password = password;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    cleanUp(() => client.end());
    expect((await client.query<{ user: string }>('select current_user as user')).rows[0]!.user).toBe(login);
  });
});
