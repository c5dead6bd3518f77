import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/openDatabase.ts';
import type { RunSummary } from '../src/jobs/runSync.ts';
import { createDatabaseProbe } from '../src/scheduler/databaseProbe.ts';
import { listenHealthServer } from '../src/scheduler/healthServer.ts';
import { createMetrics } from '../src/scheduler/metrics.ts';
import type { Scheduler } from '../src/scheduler/scheduler.ts';
import { admin } from './globalSetup.ts';
import { cleanUpAfterEach } from './helpers/harness.ts';
import { startDbProxy } from './helpers/healthDbProxy.ts';
import { createTestDatabase } from './helpers/testDatabase.ts';

const cleanUp = cleanUpAfterEach();
const scheduler: Scheduler = {
  state: () => ({ running: false, ticks: 0, skipped: 0 }),
  periodMs: () => 24 * 3_600_000,
  stop: () => Promise.resolve(),
};

const summary: RunSummary = {
  runId: 1,
  trigger: 'test',
  status: 'succeeded',
  startedAt: new Date(),
  finishedAt: new Date(),
  notes: null,
  errorCode: null,
  error: null,
  abandonedRuns: [],
  resumed: null,
  rateLimitWaitMs: 1500,
  counters: {
    pages: 3,
    requests: 7,
    retries: 2,
    rateLimited: 1,
    rateLimitWaitMs: 1500,
    devicesSeen: 0,
    devicesAdded: 0,
    devicesChanged: 0,
    devicesRemoved: 0,
    recordsRejected: 0,
  },
};

/** The worker's endpoints on a free port, reaching a fresh database through a relay the test controls. */
async function setUp() {
  const tdb = await createTestDatabase();
  cleanUp(() => tdb.drop());
  await tdb.database.db.execute(sql`insert into metaaccess.sync_runs (started_at, finished_at, status, trigger, devices_seen)
    values (now() - interval '1 hour', now() - interval '59 minutes', 'succeeded', 'test', 42)`);
  const proxy = await startDbProxy(tdb.url);
  cleanUp(() => proxy.close());
  const metrics = createMetrics();
  const server = await listenHealthServer(0, metrics);
  cleanUp(() => server.close());
  const get = async (path: string) => {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), ms: performance.now() - started };
  };
  const ready = async () => {
    const database = await openDatabase({ url: proxy.url, pgliteDir: '' });
    cleanUp(() => database.close().catch(() => undefined));
    const probe = createDatabaseProbe(database, { timeoutMs: 2_000 });
    metrics.useDatabase(database, probe);
    server.ready({ database, probe, scheduler, clock: { now: () => Date.now(), sleep: () => Promise.resolve() }, startedAt: Date.now() });
  };
  return { tdb, proxy, metrics, server, get, ready };
}

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const reasonsOf = (body: string) => (JSON.parse(body) as { reasons: string[] }).reasons;

describe('/metrics is always Prometheus text', () => {
  it("with the database up: database_up 1, the database gauges, this process's counters and Node's process metrics", async () => {
    const { metrics, get, ready } = await setUp();
    await ready();
    metrics.recordRun(summary);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(value(res.body, 'metaaccess_database_up')).toBe(1);
    expect(value(res.body, 'metaaccess_sync_runs{status="succeeded"}')).toBe(1);
    expect(value(res.body, 'metaaccess_last_run{field="devices_seen"}')).toBe(42);
    expect(value(res.body, 'metaaccess_api_requests_total')).toBe(7);
    expect(value(res.body, 'metaaccess_worker_runs_total{status="succeeded"}')).toBe(1);
    expect(value(res.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(res.body).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
  });

  it('with the database refusing connections: still 200, database_up 0, counters, process metrics and the last database figures', async () => {
    const { proxy, metrics, get, ready } = await setUp();
    await ready();
    metrics.recordRun(summary);
    expect(value((await get('/metrics')).body, 'metaaccess_database_up')).toBe(1);
    await proxy.set('refuse');
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(value(res.body, 'metaaccess_database_up')).toBe(0);
    expect(value(res.body, 'metaaccess_api_requests_total')).toBe(7);
    expect(value(res.body, 'metaaccess_rate_limiter_wait_seconds_total')).toBe(1.5);
    expect(value(res.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // Kept, not dropped: an alert on an old last success keeps firing while the database is down.
    expect(value(res.body, 'metaaccess_last_run{field="devices_seen"}')).toBe(42);
    expect(value(res.body, 'metaaccess_last_success_timestamp_seconds')).toBeGreaterThan(0);

    await proxy.set('forward');
    expect(value((await get('/metrics')).body, 'metaaccess_database_up')).toBe(1);
  });

  it('with a database host that accepts and never answers: the scrape answers within the probe timeout', async () => {
    const { proxy, get, ready } = await setUp();
    await ready();
    await proxy.set('silent');
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(value(metrics.body, 'metaaccess_database_up')).toBe(0);
    expect(metrics.ms).toBeLessThan(3_500);
    const health = await get('/healthz');
    expect(health.status).toBe(503);
    expect(reasonsOf(health.body)).toEqual(['database unreachable: no answer within 2 s']);
    expect(health.ms).toBeLessThan(3_500);
  });

  it('while the worker is still opening the database: /metrics answers with database_up 0, /healthz says starting', async () => {
    const { get } = await setUp();
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(value(metrics.body, 'metaaccess_database_up')).toBe(0);
    expect(metrics.body).toMatch(/^process_cpu_user_seconds_total /m);
    // Figures never read are absent, not a misleading 0 ("never succeeded").
    expect(metrics.body).not.toMatch(/metaaccess_last_success_timestamp_seconds/);
    const health = await get('/healthz');
    expect(health.status).toBe(503);
    expect(reasonsOf(health.body)).toEqual(['starting: opening and migrating the database']);
    expect((await get('/livez')).status).toBe(200);
  });
});

describe('/healthz names what failed', () => {
  it('a refused connection: the driver\'s words and the address, not drizzle\'s "Failed query"', async () => {
    const { proxy, get, ready } = await setUp();
    await ready();
    expect((await get('/healthz')).status).toBe(200);
    await proxy.set('refuse');
    const res = await get('/healthz');
    expect(res.status).toBe(503);
    expect(reasonsOf(res.body)).toEqual([
      `database unreachable: cannot connect to the database: connect ECONNREFUSED 127.0.0.1:${proxy.port}`,
    ]);
  });

  it("a database that turns connections away: PostgreSQL's words and SQLSTATE", async () => {
    const { tdb, get, ready } = await setUp();
    await ready();
    const adminUrl = inject('adminUrl');
    await admin(adminUrl, (c) => c.query(`alter database ${tdb.name} with allow_connections false`));
    cleanUp(() => admin(adminUrl, (c) => c.query(`alter database ${tdb.name} with allow_connections true`)));
    await admin(adminUrl, (c) => c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, [tdb.name]));
    const res = await get('/healthz');
    expect(res.status).toBe(503);
    expect(reasonsOf(res.body)).toEqual([
      `database unreachable: database "${tdb.name}" is not currently accepting connections (SQLSTATE 55000)`,
    ]);
    expect(res.body).not.toMatch(/Failed query|params/);
  });
});

describe('HTTP_PORT in use', () => {
  it('is one error naming HTTP_PORT and the port, with the way out', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, () => resolve()));
    cleanUp(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as { port: number }).port;
    await expect(listenHealthServer(port, createMetrics())).rejects.toMatchObject({
      code: 'HTTP_PORT_UNAVAILABLE',
      exitCode: 1,
      message: `HTTP_PORT ${port} is already in use (EADDRINUSE); set HTTP_PORT to a free port or 0 to turn the endpoints off`,
    });
  });
});
