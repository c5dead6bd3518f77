import { existsSync, mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { admin } from './globalSetup.ts';
import { runCli } from './helpers/cli.ts';
import { queryOnce } from './helpers/faultMatrix.ts';
import { cleanUpAfterEach } from './helpers/harness.ts';
import { createEmptyDatabase, createTestDatabase } from './helpers/testDatabase.ts';

/**
 * `runs` reads: it never creates an embedded database or a schema, never migrates (a login
 * holding only metaaccess_reader may run it), and says which database it read.
 */
const cleanUp = cleanUpAfterEach();

async function migrated() {
  const tdb = await createTestDatabase();
  cleanUp(() => tdb.drop());
  return tdb;
}

const schemaCount = async (url: string) =>
  (await queryOnce<{ n: number }>(url, "select count(*)::int as n from pg_namespace where nspname = 'metaaccess'"))[0]!.n;

describe('runs reads only', () => {
  it('in an empty directory: exit 1 naming the directory, and no ./data/pglite created', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'metaaccess-runs-'));
    const result = await runCli(['runs'], {}, { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no embedded database in ${join(cwd, 'data', 'pglite')}`);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it('on an empty PostgreSQL database: exit 1 naming it, and no schema created', async () => {
    const empty = await createEmptyDatabase();
    cleanUp(() => empty.drop());
    for (const args of [['runs'], ['runs', '--json']]) {
      const result = await runCli(args, { DATABASE_URL: empty.url });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          `^metaaccess-sync runs: error: PostgreSQL postgres://\\S+/${empty.name} has no metaaccess schema: run \`migrate\` or \`sync\` first\\n$`,
        ),
      );
    }
    expect(await schemaCount(empty.url)).toBe(0);
  });

  it('a login holding only metaaccess_reader lists the runs; the output names the database read', async () => {
    const tdb = await migrated();
    await queryOnce(
      tdb.url,
      "insert into metaaccess.sync_runs (started_at, finished_at, status, trigger) values (now() - interval '1 minute', now(), 'succeeded', 'cli')",
    );
    const login = `runs_reader_${randomBytes(4).toString('hex')}`;
    await admin(inject('adminUrl'), (c) => c.query(`create role ${login} login in role metaaccess_reader`));
    cleanUp(() => admin(inject('adminUrl'), (c) => c.query(`drop role if exists ${login}`)));
    const asReader = new URL(tdb.url);
    asReader.username = login;
    const text = await runCli(['runs'], { DATABASE_URL: asReader.toString() });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/\n1\s+succeeded\s+cli\s+/);
    expect(text.stdout).toMatch(new RegExp(`\\n\\(read PostgreSQL postgres://${login}@\\S+/${tdb.name}\\)\\n$`));
    const json = await runCli(['runs', '--json'], { DATABASE_URL: asReader.toString() });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject([{ runId: 1, status: 'succeeded' }]);
    expect(json.stderr).toMatch(new RegExp(`^metaaccess-sync runs: read PostgreSQL postgres://${login}@\\S+/${tdb.name}\\n$`));
  });

  it('with a migration pending: says so, reads what it can, and migrates nothing', async () => {
    const tdb = await migrated();
    const [last] = await queryOnce<{ id: number }>(tdb.url, 'select max(id) as id from metaaccess.__drizzle_migrations');
    await queryOnce(tdb.url, `delete from metaaccess.__drizzle_migrations where id = ${last!.id}`);
    const result = await runCli(['runs'], { DATABASE_URL: tdb.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/note: 1 migration\(s\) pending \(\d{4}_\w+\): run `migrate`; reading what this version can/);
    expect(result.stdout).toMatch(/^no runs yet\n\(read PostgreSQL /);
    const [count] = await queryOnce<{ n: number }>(tdb.url, 'select count(*)::int as n from metaaccess.__drizzle_migrations');
    expect(count!.n).toBe(last!.id - 1);
  });

  it('notes from remote data: control characters escaped, a long note cut with "…"', async () => {
    const tdb = await migrated();
    const note = `device \x1b[2J\x07 gone; ${'x'.repeat(100)}`;
    await queryOnce(
      tdb.url,
      "insert into metaaccess.sync_runs (started_at, status, trigger, notes) values (now(), 'incomplete', 'cli', $1)",
      [note],
    );
    const result = await runCli(['runs'], { DATABASE_URL: tdb.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/[\x07\x1b]/);
    expect(result.stdout).toContain('device \\x1b[2J\\x07 gone; xxx');
    expect(result.stdout).toMatch(/x… \(\d+ chars\)\n/);
  });
});
