import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

describe('check', () => {
  it('against the simulator: every section, exit 0, one request spent, no secret printed', async () => {
    const sim = await simulator();
    const tdb = await migratedDatabase();
    const env = { DATABASE_URL: withPassword(tdb.url, DB_PASSWORD), METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN };
    const result = await runCli(['check'], env);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^configuration: ok$/m);
    expect(out).toMatch(/^ {2}METAACCESS_ACCESS_TOKEN +set +\[environment\]$/m);
    expect(out).toMatch(/^ {2}METAACCESS_CLIENT_SECRET +unset +\[default\]$/m);
    expect(out).toMatch(/^ {2}METAACCESS_PAGE_SIZE +50 +\[default\]$/m);
    expect(out).toMatch(new RegExp(`^database: ok: PostgreSQL postgres://[^ ]*/${tdb.name}$`, 'm'));
    expect(out).toMatch(/^ {2}migrated: (\d+) of \1 migrations applied \(latest \d{4}_\w+\)$/m);
    expect(out).toMatch(/^api: ok$/m);
    expect(out).toContain(`host: ${sim.url}`);
    expect(out).toMatch(/HTTP 200 in \d+ ms: access token accepted, 50 device\(s\) on the first page/);
    expect(out).toMatch(/^rate:$/m);
    expect(out).toContain('10 requests per 60.0 s, page size 50: at most 10 pages (500 devices) a minute');
    expect(out).toMatch(/^result: ok \(exit 0\)$/m);
    expect(sim.stats().requests).toBe(1);
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
      [{ METAACCESS_URL: 'http://127.0.0.1:1' }, /connection refused.*http:\/\/127\.0\.0\.1:1 unreachable \(ECONNREFUSED\)/],
      [
        { METAACCESS_URL: 'http://metaaccess.invalid', METAACCESS_ALLOW_INSECURE: 'true' },
        /DNS: the host name does not resolve.*http:\/\/metaaccess\.invalid unreachable \((ENOTFOUND|EAI_AGAIN)\)/,
      ],
    ];
    for (const [env, cause] of cases) {
      const started = performance.now();
      // Retries as configured for a sync (and its backoff) must not apply to check.
      const result = await runCli(['check'], { ...env, METAACCESS_ACCESS_TOKEN: TEST_TOKEN, METAACCESS_MAX_RETRIES: '8' }, { cwd: dir });
      expect(performance.now() - started).toBeLessThan(8_000);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^api: FAILED$/m);
      expect(result.stdout).toContain(`host: ${env.METAACCESS_URL}`);
      expect(result.stdout).toMatch(cause);
      expect(result.stdout).toMatch(/^result: api failed \(exit 1\)$/m);
    }
  });

  it('a bad token: exit 1 naming 401', async () => {
    const sim = await simulator();
    const dir = mkdtempSync(join(tmpdir(), 'metaaccess-check-'));
    const result = await runCli(['check'], { METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: 'not-the-token-5521' }, { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED after \d+ ms: 401 unauthorized: /);
    expect(result.stdout).not.toContain('not-the-token-5521');
  });

  it('an unmigrated PostgreSQL: exit 1, "run `migrate`", and the schema is not created', async () => {
    const sim = await simulator();
    const empty = await createEmptyDatabase();
    cleanUp(() => empty.drop());
    const result = await runCli(['check'], { DATABASE_URL: empty.url, METAACCESS_URL: sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^database: FAILED: PostgreSQL /m);
    expect(result.stdout).toContain('no metaaccess schema: run `migrate`');
    expect(result.stdout).toMatch(/^api: ok$/m);
    expect(result.stdout).toMatch(/^result: database failed \(exit 1\)$/m);
    const schemas = await queryOnce<{ n: number }>(empty.url, "select count(*)::int as n from pg_namespace where nspname = 'metaaccess'");
    expect(schemas[0]!.n).toBe(0);
  });

  it('a wrong database port: exit 1 with the cause on one line, and no password', async () => {
    const sim = await simulator();
    const result = await runCli(['check'], {
      DATABASE_URL: `postgres://postgres:${DB_PASSWORD}@127.0.0.1:1/none`,
      METAACCESS_URL: sim.url,
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^ {2}FAILED: cannot connect to DATABASE_URL postgres:\/\/postgres@127\.0\.0\.1:1\/none: .*ECONNREFUSED/m,
    );
    expect(result.stdout + result.stderr).not.toContain(DB_PASSWORD);
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
      expect(result.stdout).toMatch(/^api: skipped$/m);
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
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^configuration: FAILED \(4 problems\)$/m);
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
