import { queryRows } from '../src/db/openDatabase.ts';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { tryAcquireRunLock } from '../src/db/locks.ts';
import { createSimulator, type Simulator } from '../src/simulator/simulator.ts';
import type { RunJson } from '../src/cli/format.ts';
import { runCli } from './helpers/cli.ts';
import { cleanUpAfterEach, TEST_TOKEN } from './helpers/harness.ts';
import { createTestDatabase, type TestDatabase } from './helpers/testDatabase.ts';

const cleanUp = cleanUpAfterEach();
let sim: Simulator | undefined;
let tdb: TestDatabase | undefined;

async function setUp(devices: number) {
  const simulator = createSimulator({ devices, seed: 31, auth: { token: TEST_TOKEN } });
  sim = simulator;
  cleanUp(() => simulator.close());
  await simulator.start();
  const database = await createTestDatabase();
  tdb = database;
  cleanUp(() => database.drop());
  return {
    DATABASE_URL: tdb.url,
    METAACCESS_URL: sim.url,
    METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
    METAACCESS_RATE_LIMIT: '100',
    METAACCESS_RATE_WINDOW_MS: '1000',
  };
}

describe('CLI', () => {
  it('--help lists the commands, and every command has its own help', async () => {
    const top = await runCli(['--help'], {});
    expect(top.code).toBe(0);
    for (const name of ['migrate', 'sync', 'runs', 'demo']) expect(top.stdout).toContain(name);
    const help = await runCli(['sync', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 succeeded/);
    const unknown = await runCli(['frobnicate'], {});
    expect(unknown.code).toBe(2);
  });

  it('migrate creates the schema; runs shows runs as a table and as JSON', async () => {
    const env = await setUp(120);
    const migrate = await runCli(['migrate'], { DATABASE_URL: env.DATABASE_URL });
    expect(migrate.code).toBe(0);
    const empty = await runCli(['runs'], { DATABASE_URL: env.DATABASE_URL });
    expect(empty.stdout).toMatch(new RegExp(`^no runs yet\n\\(read PostgreSQL postgres://\\S+/${tdb!.name}\\)\n$`));
    expect((await runCli(['sync'], env)).code).toBe(0);
    const table = await runCli(['runs'], { DATABASE_URL: env.DATABASE_URL });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^id\s+status\s+trigger/);
    expect(table.stdout).toMatch(/\n1\s+succeeded\s+cli\s+/);
    const json = JSON.parse((await runCli(['runs', '--json'], { DATABASE_URL: env.DATABASE_URL })).stdout) as RunJson[];
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ runId: 1, status: 'succeeded', devicesSeen: 120, pages: 3 });
    // One shape for a run, whichever command prints it.
    const synced = JSON.parse((await runCli(['sync', '--json'], env)).stdout) as RunJson;
    const [listed] = JSON.parse((await runCli(['runs', '--json', '--limit', '1'], { DATABASE_URL: env.DATABASE_URL })).stdout) as RunJson[];
    expect(Object.keys(listed!).sort()).toEqual(Object.keys(synced).sort());
    expect(listed).toEqual(synced);
  });

  it('sync: a garbage page fails the run with exit 1, and the token appears nowhere', async () => {
    const env = await setUp(300);
    expect((await runCli(['sync'], env)).code).toBe(0);
    sim!.injectFault({
      match: { path: 'devices', page: 2 },
      kind: 'garbage',
      body: `{"error":"boom","echo":"access_token=${TEST_TOKEN}"}`,
    });
    const failed = await runCli(['sync', '--json'], { ...env, LOG_LEVEL: 'debug' });
    expect(failed.code).toBe(1);
    const summary = JSON.parse(failed.stdout) as RunJson;
    expect(summary).toMatchObject({ status: 'failed', errorCode: 'API_BAD_BODY', devicesRemoved: 0 });
    const stored = await queryRows(tdb!.database.db, sql`select * from metaaccess.sync_runs`);
    const rejected = await queryRows(tdb!.database.db, sql`select * from metaaccess.rejected_records`);
    for (const text of [failed.stdout, failed.stderr, JSON.stringify(stored), JSON.stringify(rejected)])
      expect(text).not.toContain(TEST_TOKEN);
    const removed = await queryRows(tdb!.database.db, sql`select count(*)::int as n from metaaccess.devices where removed_at is not null`);
    expect(removed[0]).toEqual({ n: 0 });
  });

  it('refuses bad configuration before any work: one line naming the variable, exit 2', async () => {
    const env = await setUp(10);
    const bad = await runCli(['sync'], { ...env, METAACCESS_PAGE_SIZE: '51' });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('METAACCESS_PAGE_SIZE');
    // Several mistakes: all of them at once, one line each.
    const several = await runCli(['sync', '--json'], { ...env, METAACCESS_PAGE_SIZE: '51', SYNC_TIMEZONE: 'Mars/Olympus' });
    expect(several.code).toBe(2);
    expect(several.stderr.trim().split('\n')).toEqual([
      'metaaccess-sync sync: configuration error: 2 problems:',
      '  SYNC_TIMEZONE: "Mars/Olympus" is not an IANA time zone',
      '  METAACCESS_PAGE_SIZE: 51 is outside 1..50',
    ]);
    expect(JSON.parse(several.stdout)).toMatchObject({ runId: null, status: 'not started', exitCode: 2, errorCode: 'CONFIG_INVALID' });
    const noCreds = await runCli(['sync'], { DATABASE_URL: env.DATABASE_URL, METAACCESS_URL: env.METAACCESS_URL });
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr).toContain('METAACCESS_ACCESS_TOKEN');
    expect(sim!.stats().requests).toBe(0);
  });

  it('sync exits 3 while another run holds the lock', async () => {
    const env = await setUp(10);
    const lock = await tryAcquireRunLock(tdb!.database);
    try {
      const held = await runCli(['sync'], env);
      expect(held.code).toBe(3);
      expect(held.stderr).toMatch(/another sync run holds the lock/);
      // A script reading --json learns why no run was made.
      const json = await runCli(['sync', '--json'], env);
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout)).toEqual({
        runId: null,
        status: 'not started',
        exitCode: 3,
        errorCode: 'LOCK_HELD',
        error: 'another sync run holds the lock on this database',
      });
    } finally {
      await lock.release();
    }
    expect(sim!.stats().requests).toBe(0);
  });

  it('SIGTERM during a run stops once the pages received are stored, records it cancelled, exits 143', async () => {
    const env = await setUp(2000);
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    sim!.onPage((page) => {
      if (page === 3) child?.kill('SIGTERM');
    });
    const started = performance.now();
    const result = await runCli(
      ['sync', '--json'],
      { ...env, METAACCESS_RATE_LIMIT: '5', METAACCESS_RATE_WINDOW_MS: '500' },
      { onSpawn: (c) => (child = c) },
    );
    expect(result.code).toBe(143);
    expect(performance.now() - started).toBeLessThan(10_000);
    // sync has no stopNotice of its own: main's generic line, which is about storing pages.
    expect(result.stderr).toContain('metaaccess-sync: SIGTERM received, stopping once the pages received are stored (again to exit now)');
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'cancelled', errorCode: 'CANCELLED' });
    const [run] = await queryRows<{ status: string; pages: number }>(tdb!.database.db, sql`select status, pages from metaaccess.sync_runs`);
    expect(run!.status).toBe('cancelled');
    expect(run!.pages).toBeLessThanOrEqual(5);
    expect((await runCli(['sync'], env)).code).toBe(0);
  });

  it('a second SIGTERM exits at once with 143, as the signal would', async () => {
    const env = await setUp(2000);
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    sim!.onPage((page) => {
      if (page === 3) {
        child?.kill('SIGTERM');
        setTimeout(() => child?.kill('SIGTERM'), 20);
      }
    });
    const result = await runCli(
      ['sync'],
      { ...env, METAACCESS_RATE_LIMIT: '2', METAACCESS_RATE_WINDOW_MS: '2000' },
      { onSpawn: (c) => (child = c) },
    );
    expect(result.code).toBe(143);
    expect(result.stderr).toMatch(/second SIGTERM, exiting now/);
  });
});

describe('demo on the embedded database', () => {
  it('syncs the simulated account into PGlite, shows changes on the next run, and keeps a second process out', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'metaaccess-demo-'));
    const first = await runCli(['demo', '--devices', '300'], {}, { cwd, timeoutMs: 180_000 });
    expect(first.stderr).not.toContain('demo-secret');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/run 1 succeeded/);
    expect(first.stdout).toMatch(/devices seen 300, added 300/);
    expect(existsSync(join(cwd, 'data', 'pglite', 'PG_VERSION'))).toBe(true);
    // `runs` starts once the demo holds the database (it logs that its simulator is ready after
    // opening it): a fixed delay let `runs` win the lock on a loaded machine.
    let holding: () => void = () => undefined;
    const demoHolds = new Promise<void>((resolve) => (holding = resolve));
    const demo = runCli(
      ['demo', '--devices', '300', '--json'],
      {},
      {
        cwd,
        timeoutMs: 180_000,
        onSpawn: (c) => c.stderr?.on('data', (d: Buffer) => void (/simulated account ready/.test(String(d)) && holding())),
      },
    );
    void demo.finally(holding);
    const [second, third] = await Promise.all([demo, demoHolds.then(() => runCli(['runs'], {}, { cwd }))]);
    expect(second.code).toBe(0);
    const summary = JSON.parse(second.stdout) as RunJson;
    expect(summary).toMatchObject({ status: 'succeeded', devicesAdded: 6, devicesRemoved: 3 });
    expect(summary.devicesChanged).toBeGreaterThan(0);
    // The embedded database is one process's at a time: the concurrent `runs` waits for the lock
    // (a holder that stops beating is taken over after ~10 s) and is either refused (exit 3) or
    // let in only once the demo has let go (its run already succeeded) — never beside it.
    if (third.code === 3) expect(third.stderr).toMatch(/embedded database is in use/);
    else {
      expect(third.code).toBe(0);
      expect(third.stdout).toMatch(/\n2\s+succeeded\s+demo/);
    }
  }, 240_000);
});
