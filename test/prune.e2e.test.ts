import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/openDatabase.ts';
import { ensureSnapshotPartitions, listSnapshotPartitions } from '../src/db/partitions.ts';
import { pruneSnapshots, type PruneResult } from '../src/jobs/pruneSnapshots.ts';
import { systemClock, type Clock } from '../src/lib/clock.ts';
import { runCli } from './helpers/cli.ts';
import { startHarness, TEST_TOKEN, type Harness } from './helpers/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const rows = <T>(q: ReturnType<typeof sql>) => queryRows<T>(h!.tdb.database.db, q);

/**
 * Moves a succeeded run into the past, as if it had run at `at`: its snapshots to that day's
 * partition (made first, as the worker would have), its finish time and its day's figures.
 */
async function backdateRun(harness: Harness, runId: number, at: Date): Promise<void> {
  const { db } = harness.tdb.database;
  await ensureSnapshotPartitions(db, at.toISOString().slice(0, 10));
  const iso = at.toISOString();
  await db.execute(sql`update metaaccess.snapshots set day = ${iso.slice(0, 10)}::date where run_id = ${runId}`);
  await db.execute(
    sql`update metaaccess.sync_runs set started_at = ${iso}::timestamptz, finished_at = ${iso}::timestamptz where id = ${runId}`,
  );
  await db.execute(
    sql`update metaaccess.compliance_daily set day = ${iso.slice(0, 10)}::date, captured_at = ${iso}::timestamptz where run_id = ${runId}`,
  );
}

/** Three succeeded runs, backdated to 500, 300 and 0 days ago, each with its day's figures. */
async function historyOfThreeRuns(harness: Harness): Promise<number[]> {
  const ids: number[] = [];
  for (const daysAgo of [500, 300, 0]) {
    const run = await harness.sync();
    ids.push(run.runId);
    if (daysAgo) await backdateRun(harness, run.runId, new Date(Date.now() - daysAgo * 86_400_000));
  }
  return ids;
}

/** `prune --json`: the PruneResult, its cutoff as ISO text. */
type PruneJson = Omit<PruneResult, 'cutoff'> & { cutoff: string | null };

const fixedClock = (iso: string): Clock => ({ now: () => Date.parse(iso), sleep: systemClock.sleep });

describe('snapshot retention', () => {
  it('deletes exactly the snapshots past retention, in batches, and keeps runs and daily figures', async () => {
    h = await startHarness({ simulator: { devices: 120, seed: 51 } });
    const [old, mid, recent] = await historyOfThreeRuns(h);
    const oldMonth = `snapshots_${new Date(Date.now() - 500 * 86_400_000).toISOString().slice(0, 7).replace('-', '_')}`;
    const result = await pruneSnapshots({
      database: h.tdb.database,
      clock: systemClock,
      logger: h.logger,
      retentionDays: 400,
      batchSize: 50,
    });
    expect(result.deleted).toBe(120);
    expect(result.droppedPartitions).toContain(oldMonth);
    expect((await listSnapshotPartitions(h.tdb.database.db)).map((p) => p.name)).not.toContain(oldMonth);
    const left = await rows<{ run_id: number; n: number }>(
      sql`select run_id, count(*)::int as n from metaaccess.device_snapshots group by run_id order by run_id`,
    );
    expect(left).toEqual([
      { run_id: mid, n: 120 },
      { run_id: recent, n: 120 },
    ]);
    const daily = await rows<{ run_id: number }>(sql`select run_id from metaaccess.compliance_daily order by day`);
    expect(daily.map((d) => d.run_id)).toEqual([old, mid, recent]);
    const runs = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.sync_runs`);
    expect(runs[0]!.n).toBe(3);
  });

  it('prunes on its own after every succeeded sync', async () => {
    h = await startHarness({ simulator: { devices: 60, seed: 53 } });
    const [old] = await historyOfThreeRuns(h);
    const sync = await runCli(['sync'], {
      DATABASE_URL: h.tdb.url,
      METAACCESS_URL: h.sim.url,
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
      METAACCESS_RATE_LIMIT: '100',
      METAACCESS_RATE_WINDOW_MS: '1000',
    });
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
    const kept = JSON.parse(keepAll.stdout) as PruneJson;
    expect(kept).toMatchObject({ deleted: 0, cutoff: null, droppedPartitions: [] });
    // Retention off still compacts the months that have ended (the backdated ones), once.
    expect(kept.compactedPartitions.length).toBeGreaterThanOrEqual(2);
    const pruned = await runCli(['prune', '--json'], { DATABASE_URL: h.tdb.url, SNAPSHOT_RETENTION_DAYS: '200' });
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ deleted: 120, compactedPartitions: [] });
    const left = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.device_snapshots`);
    expect(left[0]!.n).toBe(60);
  });

  it('drops months past the cutoff whole, deletes the older days of the cutoff month in batches, compacts ended months', async () => {
    const n = 60;
    h = await startHarness({ simulator: { devices: n, seed: 54 } });
    const days = ['2025-01-15', '2025-02-03', '2025-02-10', '2025-02-20'];
    const ids: number[] = [];
    for (const day of days) {
      const run = await h.sync();
      ids.push(run.runId);
      await backdateRun(h, run.runId, new Date(`${day}T02:30:00Z`));
    }
    const profiles = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.snapshot_profiles`);
    // February (3 × 60 rows of 52 bytes) spans two heap pages: the delete walks them one statement per page.
    const [pages] = await rows<{ n: number }>(sql`select (pg_relation_size('metaaccess.snapshots_2025_02') / 8192)::int as n`);
    expect(pages!.n).toBe(2);
    // Retention 400 days on 2026-03-22 (UTC): the cutoff day is 2025-02-15.
    const result = await pruneSnapshots({
      database: h.tdb.database,
      clock: fixedClock('2026-03-22T12:00:00Z'),
      logger: h.logger,
      retentionDays: 400,
      batchSize: 7,
      pagesPerStatement: 1,
    });
    expect(result.cutoff?.toISOString()).toBe('2025-02-15T00:00:00.000Z');
    expect(result.droppedPartitions).toEqual(['snapshots_2025_01']);
    expect(result.deleted).toBe(3 * n);
    // The months that had ended by then are rewritten in device order, after the batched deletes.
    expect(result.compactedPartitions).toEqual(['snapshots_2025_02', 'snapshots_2025_03']);
    const left = await rows<{ run_id: number; day: string; n: number }>(
      sql`select run_id, day::text as day, count(*)::int as n from metaaccess.snapshots group by run_id, day order by run_id`,
    );
    expect(left).toEqual([{ run_id: ids[3], day: '2025-02-20', n }]);
    const partitions = (await listSnapshotPartitions(h.tdb.database.db)).map((p) => p.name);
    expect(partitions).toContain('snapshots_2025_02');
    expect(partitions).not.toContain('snapshots_2025_01');
    const february = (await listSnapshotPartitions(h.tdb.database.db)).find((p) => p.name === 'snapshots_2025_02')!;
    expect(february.compacted).toBe(true);
    const [order] = await rows<{ sorted: boolean }>(sql`
      select bool_and(device_id >= prev) as sorted
      from (select device_id, lag(device_id, 1, 0) over (order by ctid) as prev from metaaccess.snapshots_2025_02) s`);
    expect(order!.sorted).toBe(true);
    // The aggregate, the runs and the profiles outlive the snapshots.
    const daily = await rows<{ day: string; run_id: number }>(
      sql`select day::text as day, run_id from metaaccess.compliance_daily order by day`,
    );
    expect(daily).toEqual(days.map((day, i) => ({ day, run_id: ids[i] })));
    const runs = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.sync_runs`);
    expect(runs[0]!.n).toBe(4);
    expect(await rows(sql`select count(*)::int as n from metaaccess.snapshot_profiles`)).toEqual(profiles);
    // Pruning again finds nothing more to do.
    const again = await pruneSnapshots({
      database: h.tdb.database,
      clock: fixedClock('2026-03-22T12:00:00Z'),
      logger: h.logger,
      retentionDays: 400,
    });
    expect(again).toMatchObject({ deleted: 0, droppedPartitions: [], compactedPartitions: [] });
  });
});
