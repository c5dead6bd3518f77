import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createDatabaseProbe } from '../src/scheduler/databaseProbe.ts';
import { checkHealth } from '../src/scheduler/healthServer.ts';
import { createMetrics } from '../src/scheduler/metrics.ts';
import type { Scheduler } from '../src/scheduler/scheduler.ts';
import { cleanUpAfterEach } from './helpers/harness.ts';
import { createTestDatabase } from './helpers/testDatabase.ts';

const cleanUp = cleanUpAfterEach();
const HOUR = 3_600_000;
const scheduler: Scheduler = {
  state: () => ({ running: false, ticks: 0, skipped: 0 }),
  periodMs: () => 24 * HOUR,
  stop: () => Promise.resolve(),
};

async function withRuns(statuses: string[]) {
  const tdb = await createTestDatabase();
  cleanUp(() => tdb.drop());
  const now = Date.now();
  for (const [i, status] of statuses.entries()) {
    const at = new Date(now - (statuses.length - i) * HOUR).toISOString();
    await tdb.database.db.execute(sql`insert into metaaccess.sync_runs (started_at, finished_at, status, trigger, notes)
      values (${at}::timestamptz, ${at}::timestamptz, ${status}, 'test', ${status === 'incomplete' ? 'removal guard: the run saw 0 devices' : null})`);
  }
  const probe = createDatabaseProbe(tdb.database, { timeoutMs: 2_000 });
  const metrics = createMetrics();
  metrics.useDatabase(tdb.database, probe);
  const deps = {
    database: tdb.database,
    probe,
    scheduler,
    clock: { now: () => now, sleep: () => Promise.resolve() },
    startedAt: now - 10 * HOUR,
  };
  const gauge = async () => Number(/^metaaccess_last_run_incomplete (\d+)$/m.exec(await metrics.scrape())?.[1]);
  return { health: () => checkHealth(deps), gauge };
}

describe('an incomplete run is visible until a complete one follows', () => {
  it("/healthz is unhealthy with the run's reason, and the gauge is 1", async () => {
    const { health, gauge } = await withRuns(['succeeded', 'incomplete']);
    const h = await health();
    expect(h.ok).toBe(false);
    expect(h.reasons.join(' ')).toMatch(/run 2 was incomplete: removal guard/);
    expect(await gauge()).toBe(1);
  });

  it('a failed run after it does not clear it; a succeeded one does', async () => {
    const stillBad = await withRuns(['succeeded', 'incomplete', 'failed']);
    expect((await stillBad.health()).ok).toBe(false);
    expect(await stillBad.gauge()).toBe(1);
    const cleared = await withRuns(['succeeded', 'incomplete', 'succeeded']);
    expect(await cleared.health()).toMatchObject({ ok: true, reasons: [] });
    expect(await cleared.gauge()).toBe(0);
  });
});
