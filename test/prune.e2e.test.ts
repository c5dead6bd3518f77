import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/openDatabase.ts';
import { pruneSnapshots } from '../src/jobs/pruneSnapshots.ts';
import { systemClock } from '../src/lib/clock.ts';
import { runCli } from './helpers/cli.ts';
import { startHarness, TEST_TOKEN, type Harness } from './helpers/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const rows = <T>(q: ReturnType<typeof sql>) => queryRows<T>(h!.tdb.database.db, q);

/** Three succeeded runs, backdated to 500, 300 and 0 days ago, each with its day's figures. */
async function historyOfThreeRuns(harness: Harness): Promise<number[]> {
  const ids: number[] = [];
  for (const daysAgo of [500, 300, 0]) {
    const run = await harness.sync();
    ids.push(run.runId);
    await harness.tdb.database.db.execute(sql`update metaaccess.device_snapshots set captured_at = now() - make_interval(days => ${daysAgo}) where run_id = ${run.runId}`);
    await harness.tdb.database.db.execute(sql`update metaaccess.compliance_daily set day = (now() - make_interval(days => ${daysAgo}))::date where run_id = ${run.runId}`);
  }
  return ids;
}

describe('snapshot retention', () => {
  it('deletes exactly the snapshots past retention, in batches, and keeps runs and daily figures', async () => {
    h = await startHarness({ simulator: { devices: 120, seed: 51 } });
    const [old, mid, recent] = await historyOfThreeRuns(h);
    const result = await pruneSnapshots({ database: h.tdb.database, clock: systemClock, logger: h.logger, retentionDays: 400, batchSize: 50 });
    expect(result.deleted).toBe(120);
    const left = await rows<{ run_id: number; n: number }>(sql`select run_id, count(*)::int as n from metaaccess.device_snapshots group by run_id order by run_id`);
    expect(left).toEqual([{ run_id: mid, n: 120 }, { run_id: recent, n: 120 }]);
    const daily = await rows<{ run_id: number }>(sql`select run_id from metaaccess.compliance_daily order by day`);
    expect(daily.map((d) => d.run_id)).toEqual([old, mid, recent]);
    const runs = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.sync_runs`);
    expect(runs[0]!.n).toBe(3);
  });

  it('prunes on its own after every succeeded sync', async () => {
    h = await startHarness({ simulator: { devices: 60, seed: 53 } });
    const [old] = await historyOfThreeRuns(h);
    const sync = await runCli(['sync'], { DATABASE_URL: h.tdb.url, METAACCESS_URL: h.sim.url, METAACCESS_ACCESS_TOKEN: TEST_TOKEN, METAACCESS_RATE_LIMIT: '100', METAACCESS_RATE_WINDOW_MS: '1000' });
    expect(sync.code).toBe(0);
    const runsLeft = await rows<{ run_id: number }>(sql`select distinct run_id from metaaccess.device_snapshots order by run_id`);
    expect(runsLeft.map((r) => r.run_id)).not.toContain(old);
    expect(runsLeft).toHaveLength(3);
  });

  it('keeps everything with SNAPSHOT_RETENTION_DAYS=0; the prune command reports what it deleted', async () => {
    h = await startHarness({ simulator: { devices: 60, seed: 52 } });
    await historyOfThreeRuns(h);
    const keepAll = await runCli(['prune', '--json'], { DATABASE_URL: h.tdb.url, SNAPSHOT_RETENTION_DAYS: '0' });
    expect(keepAll.code).toBe(0);
    expect(JSON.parse(keepAll.stdout)).toEqual({ deleted: 0, cutoff: null });
    const pruned = await runCli(['prune', '--json'], { DATABASE_URL: h.tdb.url, SNAPSHOT_RETENTION_DAYS: '200' });
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout).deleted).toBe(120);
    const left = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.device_snapshots`);
    expect(left[0]!.n).toBe(60);
  });
});
