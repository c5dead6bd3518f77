import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/openDatabase.ts';
import { listSnapshotPartitions, monthStart } from '../src/db/partitions.ts';
import { deviceSnapshots } from '../src/db/schema.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { countTrackedChanges } from './helpers/tracked.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const rows = <T>(q: ReturnType<typeof sql>) => queryRows<T>(h!.tdb.database.db, q);

/** What each device looks like in the current tables, in the shape of a device_snapshots row. */
async function currentStates() {
  const states = await rows<{ hwid: string; totalIssue: number | null; lastSeen: string | null } & Record<string, unknown>>(sql`
    select d.id as "deviceId", d.hwid, d.status, d.critical_status as "criticalStatus", d.exempt, d.active,
      d.total_issue as "totalIssue", d.total_critical_issue as "totalCriticalIssue", d.agent_version as "agentVersion",
      o.name as "osName", o.version as "osVersion", d.last_seen as "lastSeen"
    from metaaccess.devices d left join metaaccess.device_os o on o.hwid = d.hwid
    where d.removed_at is null order by d.id`);
  return states.map((d) => ({ ...d, lastSeen: d.lastSeen === null ? null : new Date(d.lastSeen) }));
}

describe('device history', () => {
  it('makes the partitions of the run month and the next one before storing the snapshot', async () => {
    h = await startHarness({ simulator: { devices: 30, seed: 61 } });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    const day = run.finishedAt.toISOString().slice(0, 10);
    const names = (await listSnapshotPartitions(h.tdb.database.db)).map((p) => p.name);
    const nameOf = (d: string) => `snapshots_${d.slice(0, 7).replace('-', '_')}`;
    expect(names).toEqual([nameOf(monthStart(day)), nameOf(monthStart(day, 1))]);
    const stored = await rows<{ part: string; day: string; n: number }>(sql`
      select tableoid::regclass::text as part, day::text as day, count(*)::int as n from metaaccess.snapshots group by 1, 2`);
    expect(stored).toEqual([{ part: `metaaccess.${nameOf(day)}`, day, n: 30 }]);
  });

  it('the device_snapshots view shows each device as it was at each run', async () => {
    h = await startHarness({ simulator: { devices: 80, seed: 62 } });
    const first = await h.sync();
    const atFirst = await currentStates();
    const before = structuredClone(h.sim.list());
    const changed = h.sim.changeDevices(25);
    h.sim.addDevices(3);
    const second = await h.sync();
    expect(second).toMatchObject({
      status: 'succeeded',
      counters: { devicesChanged: countTrackedChanges(before, h.sim.list()), devicesAdded: 3 },
    });
    const atSecond = await currentStates();
    expect(atSecond).not.toEqual(atFirst);

    const { db } = h.tdb.database;
    for (const [run, states] of [
      [first, atFirst],
      [second, atSecond],
    ] as const) {
      const [{ finished }] = (await rows<{ finished: string }>(
        sql`select finished_at::text as finished from metaaccess.sync_runs where id = ${run.runId}`,
      )) as [{ finished: string }];
      const capturedAt = new Date(finished);
      const view = await db
        .select()
        .from(deviceSnapshots)
        .where(sql`${deviceSnapshots.runId} = ${run.runId}`)
        .orderBy(deviceSnapshots.deviceId);
      expect(view).toEqual(states.map((s) => ({ ...s, runId: run.runId, capturedAt, day: capturedAt.toISOString().slice(0, 10) })));
    }
    // A device's history, by hwid, as BI tools ask for it.
    const hwid = changed[0]!;
    const history = await rows<{ run_id: number; total_issue: number | null }>(
      sql`select run_id, total_issue from metaaccess.device_snapshots where hwid = ${hwid} order by run_id`,
    );
    expect(history.map((r) => r.run_id)).toEqual([first.runId, second.runId]);
    expect(history.map((r) => r.total_issue)).toEqual([atFirst, atSecond].map((s) => s.find((d) => d.hwid === hwid)!.totalIssue));
    // States repeat across devices and runs: far fewer profiles than snapshots.
    const [counts] = await rows<{ profiles: number; snapshots: number }>(sql`
      select (select count(*)::int from metaaccess.snapshot_profiles) as profiles, (select count(*)::int from metaaccess.snapshots) as snapshots`);
    expect(counts!.snapshots).toBe(80 + 83);
    expect(counts!.profiles).toBeLessThan(counts!.snapshots);
  });

  it('documents every table, view, partition and column with a comment', async () => {
    h = await startHarness({ simulator: { devices: 5, seed: 63 } });
    await h.sync();
    const missing = await rows<{ object: string }>(sql`
      with rels as (
        select c.oid, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'metaaccess' and c.relkind in ('r', 'p', 'v') and c.relname <> '__drizzle_migrations')
      select relname as object from rels where obj_description(oid, 'pg_class') is null
      union all
      select r.relname || '.' || a.attname from rels r join pg_attribute a on a.attrelid = r.oid
      where a.attnum > 0 and not a.attisdropped and col_description(r.oid, a.attnum) is null
      order by 1`);
    expect(missing).toEqual([]);
  });
});
