import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/openDatabase.ts';
import { createSimulator } from '../src/simulator/simulator.ts';
import { admin } from './globalSetup.ts';
import { runCli } from './helpers/cli.ts';
import { cleanUpAfterEach, TEST_TOKEN } from './helpers/harness.ts';
import { createTestDatabase } from './helpers/testDatabase.ts';
import { inject } from 'vitest';

const cleanUp = cleanUpAfterEach();

/** A simulated account of `devices` and a fresh database, both closed after the test. */
async function setUp(devices: number, seed: number) {
  const sim = createSimulator({ devices, seed, auth: { token: TEST_TOKEN } });
  cleanUp(() => sim.close());
  await sim.start();
  const tdb = await createTestDatabase();
  cleanUp(() => tdb.drop());
  return { sim, tdb };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('schedule', () => {
  it('runs syncs on a seconds-level cron, serves health and metrics, and stops cleanly on SIGTERM', async () => {
    const { sim, tdb } = await setUp(200, 41);
    const port = await freePort();
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    const done = runCli(
      ['schedule'],
      {
        DATABASE_URL: tdb.url,
        METAACCESS_URL: sim.url,
        METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
        METAACCESS_RATE_LIMIT: '100',
        METAACCESS_RATE_WINDOW_MS: '1000',
        SYNC_CRON: '*/2 * * * * *',
        SYNC_ON_START: 'true',
        HTTP_PORT: String(port),
      },
      { onSpawn: (c) => (child = c) },
    );
    const succeeded = async () => {
      const [r] = await queryRows<{ n: number }>(
        tdb.database.db,
        sql`select count(*)::int as n from metaaccess.sync_runs where status = 'succeeded'`,
      );
      return r!.n >= 2 ? r!.n : undefined;
    };
    await waitFor('two scheduled runs', succeeded);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const [counts] = await queryRows<{ n: number }>(
      tdb.database.db,
      sql`select count(*)::int as n from metaaccess.sync_runs where status = 'succeeded'`,
    );
    const reported = Number(/^metaaccess_sync_runs\{status="succeeded"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(reported).toBeGreaterThanOrEqual(2);
    expect(Math.abs(reported - counts!.n)).toBeLessThanOrEqual(1);
    expect(metrics).toMatch(/^# TYPE metaaccess_devices gauge$/m);
    expect(metrics).toMatch(/^metaaccess_database_up 1$/m);
    expect(metrics).toMatch(/^metaaccess_last_run\{field="devices_seen"\} 200$/m);
    // This process's counters agree with what it recorded on its run rows (read between two
    // scrapes that agree, so no run finished in between).
    await waitFor(
      'counters that match sync_runs',
      async () => {
        const before = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const [use] = await queryRows<{ requests: number; runs: number }>(
          tdb.database.db,
          sql`select coalesce(sum(requests), 0)::int as requests, count(*)::int as runs from metaaccess.sync_runs where status = 'succeeded'`,
        );
        const after = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const counter = (text: string, re: RegExp) => Number(re.exec(text)?.[1]);
        const runsRe = /^metaaccess_worker_runs_total\{status="succeeded"\} (\d+)$/m;
        const requestsRe = /^metaaccess_api_requests_total (\d+)$/m;
        if (counter(before, runsRe) !== counter(after, runsRe)) return undefined;
        return counter(after, runsRe) === use!.runs && counter(after, requestsRe) === use!.requests ? true : undefined;
      },
      15_000,
    );
    expect(metrics).toMatch(/^metaaccess_rate_limiter_wait_seconds_total [\d.e+-]+$/m);
    for (const line of metrics.trim().split('\n').filter(Boolean))
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? (-?[\d.e+-]+|NaN))$/);

    // The database goes away: health says so.
    await admin(inject('adminUrl'), (c) =>
      c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'metaaccess-sync'`, [
        tdb.name,
      ]),
    );
    await admin(inject('adminUrl'), (c) => c.query(`alter database ${tdb.name} with allow_connections false`));
    const down = await waitFor('503', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      return r.status === 503 ? r : undefined;
    });
    // The reason is PostgreSQL's, not drizzle's "Failed query: select 1 params:".
    expect(((await down.json()) as { reasons: string[] }).reasons).toEqual([
      `database unreachable: database "${tdb.name}" is not currently accepting connections (SQLSTATE 55000)`,
    ]);
    // Metrics still answer, as text: the database is down, this process's counters and Node's figures are not lost.
    const downMetrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(downMetrics.status).toBe(200);
    expect(downMetrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const downText = await downMetrics.text();
    expect(downText).toMatch(/^metaaccess_database_up 0$/m);
    expect(Number(/^metaaccess_worker_runs_total\{status="succeeded"\} (\d+)$/m.exec(downText)?.[1])).toBeGreaterThanOrEqual(2);
    expect(downText).toMatch(/^process_cpu_user_seconds_total [\d.e+-]+$/m);
    // Liveness is about the process, which is fine: no restart loop while the database is down.
    expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
    await admin(inject('adminUrl'), (c) => c.query(`alter database ${tdb.name} with allow_connections true`));
    await waitFor('database_up 1 again', async () =>
      /^metaaccess_database_up 1$/m.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()) ? true : undefined,
    );

    const stopAt = performance.now();
    child!.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(performance.now() - stopAt).toBeLessThan(10_000);
    expect(result.stderr).toMatch(/stopped cleanly/);
  }, 90_000);
});

describe('schedule, stopped mid-run', () => {
  it('SIGTERM during a scheduled run records it cancelled, exits 0 within 10 s, and the next run succeeds', async () => {
    const { sim, tdb } = await setUp(3000, 42);
    const env = {
      DATABASE_URL: tdb.url,
      METAACCESS_URL: sim.url,
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
      METAACCESS_RATE_LIMIT: '5',
      METAACCESS_RATE_WINDOW_MS: '500',
      SYNC_CRON: '0 0 1 1 *',
      SYNC_ON_START: 'true',
      HTTP_PORT: '0',
    };
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    sim.onPage((page) => {
      if (page === 4) child?.kill('SIGTERM');
    });
    let stoppedAt = 0;
    const result = await runCli(['schedule'], env, {
      onSpawn: (c) => (child = { kill: (s) => ((stoppedAt = performance.now()), c.kill(s)) }),
    });
    expect(result.code).toBe(0);
    expect(performance.now() - stoppedAt).toBeLessThan(10_000);
    const runs = await queryRows<{ status: string; pages: number }>(tdb.database.db, sql`select status, pages from metaaccess.sync_runs`);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('cancelled');
    expect(runs[0]!.pages).toBeLessThanOrEqual(5);
    expect(result.stderr).toMatch(/SIGTERM received, waiting for the run in flight to store the pages it holds/);
    expect(result.stderr).toMatch(/"message":"stopping: waiting for the run in flight to store the pages it holds"/);
    sim.onPage(null);
    const next = await runCli(['sync', '--json'], { ...env, METAACCESS_RATE_LIMIT: '100', METAACCESS_RATE_WINDOW_MS: '1000' });
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ status: 'succeeded', devicesSeen: 3000 });
  });
});

describe('schedule, when the database drops every connection mid-run', () => {
  it("stays up, records the run failed in PostgreSQL's words, and the next tick runs again and succeeds", async () => {
    const { sim, tdb } = await setUp(600, 43);
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    let dropped = false;
    sim.onPage((page) => {
      if (page !== 4 || dropped) return;
      dropped = true;
      void admin(inject('adminUrl'), (c) =>
        c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'metaaccess-sync%'`, [
          tdb.name,
        ]),
      );
    });
    const done = runCli(
      ['schedule'],
      {
        DATABASE_URL: tdb.url,
        METAACCESS_URL: sim.url,
        METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
        METAACCESS_RATE_LIMIT: '4',
        METAACCESS_RATE_WINDOW_MS: '200',
        SYNC_CRON: '*/3 * * * * *',
        SYNC_ON_START: 'true',
        HTTP_PORT: '0',
      },
      { onSpawn: (c) => (child = c) },
    );
    const runs = () =>
      queryRows<{ status: string; error_code: string | null; error: string | null }>(
        tdb.database.db,
        sql`select status, error_code, error from metaaccess.sync_runs order by id`,
      );
    const all = await waitFor(
      'a failed run followed by a succeeded one',
      async () => {
        const rows = await runs();
        const failedAt = rows.findIndex((r) => r.status === 'failed');
        return failedAt >= 0 && rows.slice(failedAt + 1).some((r) => r.status === 'succeeded') ? rows : undefined;
      },
      60_000,
    );
    const failed = all.find((r) => r.status === 'failed')!;
    expect(failed.error_code).toMatch(/^(DB_CONNECTION_LOST|LOCK_LOST)$/);
    expect(failed.error).toMatch(/terminating connection due to administrator command/);
    expect(failed.error).not.toMatch(/Failed query|select |insert /i);
    child!.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/Unhandled|uncaught/i);
  }, 90_000);
});

describe('schedule, when HTTP_PORT is taken', () => {
  it('exits 1 with one line naming HTTP_PORT and the port, before opening the database or announcing a start', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, () => resolve()));
    cleanUp(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as { port: number }).port;
    const dead = await freePort();
    const started = performance.now();
    // A database nobody answers: the port is checked first, so its error is the one reported.
    const result = await runCli(['schedule'], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${dead}/none`,
      METAACCESS_URL: 'http://127.0.0.1:1',
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
      SYNC_ON_START: 'true',
      HTTP_PORT: String(port),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `metaaccess-sync schedule: error: HTTP_PORT ${port} is already in use (EADDRINUSE); set HTTP_PORT to a free port or 0 to turn the endpoints off\n`,
    );
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('schedule, when the database is unreachable at start', () => {
  it("exits 1 naming DATABASE_URL's cause, and lets go of HTTP_PORT", async () => {
    const port = await freePort();
    const dead = await freePort();
    const result = await runCli(['schedule'], {
      DATABASE_URL: `postgres://postgres:hunter2secret@127.0.0.1:${dead}/none`,
      METAACCESS_URL: 'http://127.0.0.1:1',
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
      HTTP_PORT: String(port),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`error: cannot connect to DATABASE_URL .*ECONNREFUSED 127\\.0\\.0\\.1:${dead}`));
    expect(result.stderr).not.toMatch(/hunter2secret|scheduler started/);
    // The process is gone and so is its listener: the port can be bound again.
    const again = createServer();
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(port, () => resolve()));
    await new Promise((resolve) => again.close(resolve));
  });
});

describe('schedule, stopped while idle', () => {
  it('says it stops now (no run in flight), not that it waits for one, and exits 0', async () => {
    const { sim, tdb } = await setUp(10, 44);
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    let started: () => void;
    const ready = new Promise<void>((resolve) => (started = resolve));
    const done = runCli(
      ['schedule'],
      {
        DATABASE_URL: tdb.url,
        METAACCESS_URL: sim.url,
        METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
        SYNC_CRON: '0 0 1 1 *',
        SYNC_ON_START: 'false',
        HTTP_PORT: '0',
      },
      {
        onSpawn: (c) => {
          child = c;
          c.stderr?.on('data', (d: Buffer) => String(d).includes('scheduler started') && started());
        },
      },
    );
    await ready;
    child!.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/SIGTERM received, no run in flight: stopping now/);
    expect(result.stderr).toMatch(/"message":"stopping: no run in flight"/);
    expect(result.stderr).not.toMatch(/waiting for the run in flight|pages received are stored/);
    expect(result.stderr).toMatch(/stopped cleanly/);
  });
});
