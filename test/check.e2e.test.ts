import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tryAcquireRunLock } from '../src/db/locks.ts';
import { createSimulator, type Simulator } from '../src/simulator/simulator.ts';
import { runCli } from './helpers/cli.ts';
import { queryOnce } from './helpers/faultMatrix.ts';
import { cleanUpAfterEach, TEST_CLIENT, TEST_TOKEN } from './helpers/harness.ts';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from './helpers/testDatabase.ts';

const cleanUp = cleanUpAfterEach();

async function simulator(auth: { token?: string; clientId?: string; clientSecret?: string } = { token: TEST_TOKEN }): Promise<Simulator> {
  const sim = createSimulator({ devices: 120, seed: 41, auth });
  cleanUp(() => sim.close());
  await sim.start();
  return sim;
}

async function migratedDatabase(): Promise<TestDatabase> {
  const tdb = await createTestDatabase();
  cleanUp(() => tdb.drop());
  return tdb;
}

/** A password the server (trust authentication) never asks for: it must still never be printed. */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

const DB_PASSWORD = 'db-password-93kq';

/** What a newcomer sees on a terminal of 80 columns: one screen, no line wrapped by it. */
function expectOneScreen(out: string): void {
  const lines = out.trimEnd().split('\n');
  expect(lines.length, out).toBeLessThanOrEqual(30);
  // The database's location is one word, as long as its URL: the header line alone may be longer.
  for (const line of lines.filter((l) => !l.startsWith('database: '))) expect(line.length, line).toBeLessThanOrEqual(80);
}

describe('check', () => {
  it('against the simulator: every section, exit 0, one request spent, no secret printed', async () => {
    const sim = await simulator();
    const tdb = await migratedDatabase();
    const env = {
      DATABASE_URL: withPassword(tdb.url, DB_PASSWORD),
      METAACCESS_URL: sim.url,
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
      SYNC_RESUME_WITHIN: '6h',
    };
    const result = await runCli(['check'], env);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^configuration: ok$/m);
    expect(out).toMatch(/^ {2}METAACCESS_ACCESS_TOKEN +set +\[environment\]$/m);
    expect(out).toMatch(/^ {2}METAACCESS_CLIENT_SECRET +unset +\[default\]$/m);
    // Durations as the user writes them; the variables left at their defaults by name only.
    expect(out).toMatch(/^ {2}SYNC_RESUME_WITHIN +6h +\[environment\]$/m);
    expect(out).not.toMatch(/METAACCESS_PAGE_SIZE +50/);
    expect(out).toMatch(/^ {2}at their defaults: METAACCESS_RATE_LIMIT, /m);
    expect(out).toMatch(/ METAACCESS_PAGE_SIZE,/);
    expect(out).toMatch(new RegExp(`^database: ok: PostgreSQL postgres://[^ ]*/${tdb.name}$`, 'm'));
    expect(out).toMatch(/^ {2}migrated: (\d+) of \1 migrations applied \(latest \d{4}_\w+\)$/m);
    expect(out).toMatch(new RegExp(`^api: ok: ${sim.url}$`, 'm'));
    expect(out).toMatch(/HTTP 200 in \d+ ms: access token accepted, 50 device\(s\) on the first page/);
    expect(out).toMatch(/^rate:$/m);
    expect(out).toContain('10 requests per 60.0 s, page size 50: at most 10 pages (500 devices) a minute');
    expect(out).toMatch(/^result: ok \(exit 0\)$/m);
    expect(sim.stats().requests).toBe(1);
    expectOneScreen(out);
    for (const text of [out, result.stderr]) {
      expect(text).not.toContain(TEST_TOKEN);
      expect(text).not.toContain(DB_PASSWORD);
    }
    const json = JSON.parse((await runCli(['check', '--json'], env)).stdout) as unknown;
    expect(json).toMatchObject({
      ok: true,
      exitCode: 0,
      api: { ok: true, httpStatus: 200, requests: 1 },
      database: { ok: true, runInProgress: false },
    });
    expect(JSON.stringify(json)).not.toContain(TEST_TOKEN);
  });

  it('client credentials: two requests (token, page), the client secret shown only as set via its file', async () => {
    const sim = await simulator(TEST_CLIENT);
    const dir = mkdtempSync(join(tmpdir(), 'metaaccess-check-'));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${TEST_CLIENT.clientSecret}\n`);
    const result = await runCli(
      ['check'],
      {
        METAACCESS_URL: sim.url,
        METAACCESS_CLIENT_ID: TEST_CLIENT.clientId,
        METAACCESS_CLIENT_SECRET_FILE: secretFile,
        PGLITE_DIR: join(dir, 'db'),
      },
      { cwd: dir },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ {2}METAACCESS_CLIENT_SECRET +set +\[via METAACCESS_CLIENT_SECRET_FILE, environment\]$/m);
    expect(result.stdout).toContain('client credentials and token accepted');
    expect(result.stdout).toContain('requests sent: 2,');
    expect(sim.stats().requests).toBe(2);
    expect(result.stdout + result.stderr).not.toContain(TEST_CLIENT.clientSecret);
  });

  it('a wrong host fails within seconds, naming the host and the cause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metaaccess-check-'));
    const cases: [Record<string, string>, RegExp][] = [
      [
        { METAACCESS_URL: 'http://127.0.0.1:1' },
        /^ {2}FAILED after \d+ ms: connection refused: nothing listens on 127\.0\.0\.1:1\s+\(ECONNREFUSED\)$/m,
      ],
      [
        { METAACCESS_URL: 'http://metaaccess.invalid', METAACCESS_ALLOW_INSECURE: 'true' },
        /^ {2}FAILED after \d+ ms: DNS: metaaccess\.invalid does not resolve\s+\((ENOTFOUND|EAI_AGAIN)\)$/m,
      ],
    ];
    for (const [env, cause] of cases) {
      const started = performance.now();
      // Retries as configured for a sync (and its backoff) must not apply to check.
      const result = await runCli(['check'], { ...env, METAACCESS_ACCESS_TOKEN: TEST_TOKEN, METAACCESS_MAX_RETRIES: '8' }, { cwd: dir });
      expect(performance.now() - started).toBeLessThan(8_000);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`api: FAILED: ${env.METAACCESS_URL}\n`);
      expect(result.stdout).toMatch(cause);
      expect(result.stdout).toContain('requests sent: 1 (none reached the API)');
      expectOneScreen(result.stdout);
      expect(result.stdout).toMatch(/^result: api failed \(exit 1\)$/m);
    }
  });

  it('a bad token: exit 1 naming 401', async () => {
    const sim = await simulator();
    const dir = mkdtempSync(join(tmpdir(), 'metaaccess-check-'));
    const result = await runCli(['check'], { METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: 'not-the-token-5521' }, { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED after \d+ ms: HTTP 401: devices request unauthorized: /);
    // Said once: no second status, no page and attempt notes.
    expect(result.stdout.match(/401/g)).toHaveLength(1);
    expect(result.stdout.match(/unauthorized/g)).toHaveLength(1);
    expect(result.stdout).not.toContain('not-the-token-5521');
  });

  it('an empty PostgreSQL (before the first sync) is fine, with a note, and the schema is not created', async () => {
    const sim = await simulator();
    const empty = await createEmptyDatabase();
    cleanUp(() => empty.drop());
    const result = await runCli(['check'], { DATABASE_URL: empty.url, METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^database: ok: PostgreSQL /m);
    expect(result.stdout).toMatch(/not migrated yet: the first `sync` \(or `migrate`\) creates the schema; that\s+login needs CREATE/);
    expect(result.stdout).toContain('device count unknown (not migrated yet)');
    expect(result.stdout).toMatch(/^result: ok \(exit 0\)$/m);
    const schemas = await queryOnce<{ n: number }>(empty.url, "select count(*)::int as n from pg_namespace where nspname = 'metaaccess'");
    expect(schemas[0]!.n).toBe(0);
  });

  it('a wrong database port: exit 1, the location once, the cause, and no password', async () => {
    const sim = await simulator();
    const result = await runCli(['check'], {
      DATABASE_URL: `postgres://postgres:${DB_PASSWORD}@127.0.0.1:1/none`,
      METAACCESS_URL: sim.url,
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^database: FAILED: PostgreSQL postgres:\/\/postgres@127\.0\.0\.1:1\/none\n {2}cannot connect: .*ECONNREFUSED/m,
    );
    expect(result.stdout.match(/127\.0\.0\.1:1\/none/g)).toHaveLength(1);
    expect(result.stdout.match(/FAILED/g)).toHaveLength(1);
    // The database was never read: the run estimate says so, not "no succeeded run yet".
    expect(result.stdout).toContain('device count unknown (the database could not be reached)');
    expect(result.stdout + result.stderr).not.toContain(DB_PASSWORD);
  });

  it('a database the server does not have: exit 1, SQLSTATE 3D000, and exists: false', async () => {
    const sim = await simulator();
    const tdb = await migratedDatabase();
    const url = new URL(tdb.url);
    url.pathname = `/${tdb.name}_absent`;
    const env = { DATABASE_URL: url.toString(), METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN };
    const result = await runCli(['check'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ {2}no such database on that server \(SQLSTATE 3D000\): create it/m);
    const json = JSON.parse((await runCli(['check', '--json'], env)).stdout) as unknown;
    expect(json).toMatchObject({ exitCode: 1, database: { ok: false, reachable: true, exists: false } });
  });

  it('migrations pending: exit 1, "run `migrate` as the schema owner"', async () => {
    const sim = await simulator();
    const tdb = await migratedDatabase();
    await queryOnce(
      tdb.url,
      'delete from metaaccess.__drizzle_migrations where id = (select max(id) from metaaccess.__drizzle_migrations)',
    );
    const result = await runCli(['check'], { DATABASE_URL: tdb.url, METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ {2}migrations pending: \d{4}_\w+ [^]*run `migrate` as the\s+schema owner/m);
    expect(result.stdout).toMatch(/^result: database failed \(exit 1\)$/m);
  });

  it('a host that accepts the connection and never answers: "no answer", not "none reached the API"', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanUp(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const { port } = server.address() as AddressInfo;
    const dir = mkdtempSync(join(tmpdir(), 'metaaccess-check-'));
    const env = { METAACCESS_URL: `http://127.0.0.1:${port}`, METAACCESS_ACCESS_TOKEN: TEST_TOKEN, METAACCESS_TIMEOUT_MS: '500' };
    const result = await runCli(['check'], env, { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('requests sent: 1 (no answer)');
    expect(result.stdout).not.toContain('none reached the API');
  });

  it('an embedded database not created yet is not a failure, and check creates nothing', async () => {
    const sim = await simulator();
    const cwd = mkdtempSync(join(tmpdir(), 'metaaccess-check-'));
    const result = await runCli(['check'], { METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN }, { cwd });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain(`database: ok: embedded PGlite in ${join(cwd, 'data', 'pglite')}`);
    expect(result.stdout).toContain('does not exist yet: the first `sync` or `demo` creates it');
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it('while a sync holds the run lock: no request is spent, the API check is skipped, exit 0', async () => {
    const sim = await simulator();
    const tdb = await migratedDatabase();
    const lock = await tryAcquireRunLock(tdb.database);
    try {
      const result = await runCli(['check'], { DATABASE_URL: tdb.url, METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN });
      expect(result.code, result.stdout).toBe(0);
      expect(result.stdout).toContain('a sync is running now (it holds the run lock)');
      expect(result.stdout).toContain(`api: skipped: ${sim.url}\n`);
      expect(result.stdout).toMatch(/skipped, no request sent: a sync is running on this database/);
    } finally {
      await lock.release();
    }
    expect(sim.stats().requests).toBe(0);
  });

  it('bad configuration: exit 2 listing every problem, nothing tried', async () => {
    const sim = await simulator();
    const result = await runCli(['check'], {
      METAACCESS_URL: sim.url,
      METAACCESS_PAGE_SIZE: '51',
      SYNC_CRON: '61 * * * *',
      SYNC_ON_START: 'yes',
      DATABASE_URL: `postgres://u:${DB_PASSWORD}@h:notaport/db`,
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^configuration: FAILED \(5 problems\)$/m);
    expect(result.stdout).toMatch(/^ {2}DATABASE_URL: is not a valid URL \(value not shown/m);
    expect(result.stdout).not.toContain(DB_PASSWORD);
    for (const line of [
      /^ {2}METAACCESS_ACCESS_TOKEN: no credentials/m,
      /^ {2}METAACCESS_PAGE_SIZE: 51 is outside 1\.\.50$/m,
      /^ {2}SYNC_CRON: "61 \* \* \* \*": minute 61 is outside 0-59$/m,
      /^ {2}SYNC_ON_START: "yes" is not true or false/m,
    ]) {
      expect(result.stdout).toMatch(line);
    }
    const json = JSON.parse(
      (await runCli(['check', '--json'], { METAACCESS_URL: sim.url, METAACCESS_PAGE_SIZE: '0', METAACCESS_ACCESS_TOKEN: TEST_TOKEN }))
        .stdout,
    ) as unknown;
    expect(json).toEqual({
      ok: false,
      exitCode: 2,
      configuration: { ok: false, problems: [{ variable: 'METAACCESS_PAGE_SIZE', message: 'METAACCESS_PAGE_SIZE: 0 is outside 1..50' }] },
    });
    expect(sim.stats().requests).toBe(0);
  });

  it('--help, and --version in every spelling', async () => {
    const help = await runCli(['check', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 every check passed/);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v', '-V', 'version']) {
      const result = await runCli([flag], {});
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`metaaccess-sync ${version}\n`);
    }
    expect((await runCli(['--help'], {})).stdout).toMatch(/--version, -v, -V, version/);
  });
});
