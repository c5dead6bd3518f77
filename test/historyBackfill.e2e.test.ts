import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/openDatabase.ts';
import { migrateUpTo } from './helpers/olderRelease.ts';
import { recomputeFromSnapshots, storedHistory } from './helpers/recomputeHistory.ts';
import { createEmptyDatabase } from './helpers/testDatabase.ts';

/**
 * Six nightly runs as release 0006 stored them, for a New York team: snapshots on the UTC day the
 * run finished, compliance_daily on the New York day it started. Runs finish at 03:30 UTC (the
 * evening before in New York; the first one crosses a month), except run 2, which starts before
 * New York midnight and finishes after it. Device 5 is missing from runs 3 and 4 (no removal on record),
 * device 6 is removed at run 4, device 20 enrols at run 3; statuses flip on a fixed pattern.
 */
const HISTORY = `
  select metaaccess.create_snapshot_partition(m) from unnest(array['2026-02-01', '2026-03-01']::date[]) m;
  insert into metaaccess.sync_runs (started_at, finished_at, status, trigger)
  select f - interval '20 minutes', f, 'succeeded', 'schedule' from (
    select case when r = 2 then timestamptz '2026-03-02 04:50:00Z' + interval '20 minutes'
      else timestamptz '2026-03-01 03:30:00Z' + (r - 1) * interval '1 day' end as f
    from generate_series(1, 6) r) x;
  insert into metaaccess.sync_runs (started_at, finished_at, status, trigger, error_code) values
    ('2026-03-07 03:10:00Z', '2026-03-07 03:15:00Z', 'failed', 'schedule', 'API_HTTP_ERROR');
  insert into metaaccess.devices (hwid, raw, content_hash, first_seen_at, last_synced_at, first_run_id, last_run_id, removed_at, status)
  select 'HW-' || d, '{}', 'x', case when d = 20 then timestamptz '2026-03-03 03:15:00Z' else timestamptz '2026-03-01 03:10:00Z' end, now(),
    case when d = 20 then 3 else 1 end, case when d = 6 then 3 else 6 end,
    case when d = 6 then (select finished_at from metaaccess.sync_runs where id = 4) end, 0
  from generate_series(1, 20) d;
  create temp table planned as
  select r.id as run_id, d.id as device_id, r.finished_at,
    case when (d.id + r.id / 2) % 4 = 0 then 1 when d.id = 7 and r.id = 4 then 3 else 0 end::smallint as status,
    (d.id % 5 = 0 and r.id >= 4)::int::smallint as critical_status, d.id = 9 as exempt, true as active,
    case when r.id >= 5 and d.id % 2 = 0 then '4.4.0' else '4.3.9' end as agent_version, 'Windows 11 Pro' as os_name,
    case when r.id >= 6 and d.id < 4 then '10.0.26100' else '10.0.22631' end as os_version
  from metaaccess.sync_runs r cross join metaaccess.devices d
  where r.status = 'succeeded' and not (d.id = 5 and r.id in (3, 4)) and not (d.id = 6 and r.id >= 4) and not (d.id = 20 and r.id < 3);
  insert into metaaccess.snapshot_profiles (fingerprint, status, critical_status, exempt, active, total_issue, total_critical_issue, agent_version, os_name, os_version)
  select distinct md5(row(status, critical_status, exempt, active, null::int, null::int, agent_version, os_name, os_version)::text)::uuid,
    status, critical_status, exempt, active, null::int, null::int, agent_version, os_name, os_version from planned;
  insert into metaaccess.snapshots (last_seen, day, run_id, device_id, profile_id)
  select null, (p.finished_at at time zone 'UTC')::date, p.run_id, p.device_id, s.id from planned p
  join metaaccess.snapshot_profiles s on s.fingerprint = md5(row(p.status, p.critical_status, p.exempt, p.active, null::int, null::int,
    p.agent_version, p.os_name, p.os_version)::text)::uuid;
  insert into metaaccess.compliance_daily (day, run_id, captured_at, devices, compliant, non_compliant, in_progress, critical, exempt, active)
  select distinct on (day) (r.started_at at time zone 'America/New_York')::date as day, r.id, r.finished_at, count(*), count(*) filter (where p.status = 0),
    count(*) filter (where p.status = 1), count(*) filter (where p.status = 3), count(*) filter (where p.critical_status = 1),
    count(*) filter (where p.exempt), count(*)
  from metaaccess.sync_runs r join planned p on p.run_id = r.id group by r.id order by day, r.finished_at desc;`;

/** A database at 0006 holding HISTORY (after `prepare`), migrated to the latest in New York time; dropped after `check`. */
async function upgraded(
  prepare: string,
  check: (client: pg.Client, database: Awaited<ReturnType<typeof openDatabase>>) => Promise<void>,
  before: (client: pg.Client) => Promise<void> = async () => undefined,
) {
  const empty = await createEmptyDatabase();
  const client = new pg.Client({ connectionString: empty.url });
  await client.connect();
  const database = await openDatabase({ url: empty.url, pgliteDir: '' });
  try {
    await migrateUpTo('0006_resume', (config) => migrate(drizzle(client), config));
    await client.query(HISTORY + prepare);
    await before(client);
    await runMigrations(database, { timezone: 'America/New_York' });
    await check(client, database);
  } finally {
    await database.close();
    await client.end();
    await empty.drop();
  }
}

describe('migration 0007 on an existing history', () => {
  it('logs no addition for devices first seen before the snapshots retention kept', async () => {
    await upgraded('delete from metaaccess.snapshots where run_id in (1, 2);', async (client) => {
      const added = (
        await client.query(`select device_id, run_id from metaaccess.device_changes where change = 'added' order by device_id`)
      ).rows;
      // Device 20 enrolled at run 3; the others were there before the oldest snapshot kept.
      expect(added).toEqual([{ device_id: 20, run_id: 3 }]);
      const open = (await client.query(`select count(*)::int as n from metaaccess.device_status_intervals where valid_to is null`)).rows;
      expect(open).toEqual([{ n: 19 }]);
    });
  });

  it('moves every day to the New York day the run finished and backfills intervals and the change log from the snapshots', async () => {
    const before = async (client: pg.Client) => {
      const oldDaily = (
        await client.query<{ day: string; run_id: number }>('select day::text, run_id from metaaccess.compliance_daily order by day')
      ).rows;
      // Run 2 started on 1 March in New York and finished on 2 March: the old key is its start.
      expect(oldDaily.find((r) => r.run_id === 2)?.day).toBe('2026-03-01');
    };
    await upgraded(
      '',
      async (client, database) => {
        const day = (id: number) =>
          new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(
            new Date(Date.parse('2026-03-01T03:30:00Z') + (id - 1) * 86_400_000 + (id === 2 ? 110 * 60_000 : 0)),
          );
        const daily = (await client.query('select day::text, run_id from metaaccess.compliance_daily order by day')).rows;
        // Runs 2 and 3 both finished on 2 March in New York: the later one is that day's figure.
        const lastOfDay = new Map([1, 2, 3, 4, 5, 6].map((id) => [day(id), id]));
        expect(daily).toEqual([...lastOfDay].map(([d, id]) => ({ day: d, run_id: id })));
        expect(daily.slice(0, 2)).toEqual([
          { day: '2026-02-28', run_id: 1 },
          { day: '2026-03-02', run_id: 3 },
        ]);
        const snapshotDays = (
          await client.query(`
        select run_id, min(day)::text as day, min(tableoid::regclass::text) as part from metaaccess.snapshots group by run_id order by run_id`)
        ).rows;
        expect(snapshotDays).toEqual(
          [1, 2, 3, 4, 5, 6].map((id) => ({
            run_id: id,
            day: day(id),
            part: `metaaccess.snapshots_${day(id).slice(0, 7).replace('-', '_')}`,
          })),
        );

        // Device 6's removal is on record (removed_at); device 5's gap is not: old releases kept no
        // trace of a removal followed by a return, and a run could miss a device without removing it.
        const expected = await recomputeFromSnapshots(database.db, [{ deviceId: 6, runId: 4 }]);
        const stored = await storedHistory(database.db);
        expect(stored.intervals).toEqual(expected.intervals);
        expect(stored.changes).toEqual(expected.changes);
        const kinds = new Set(stored.changes.map((c) => c.change));
        for (const kind of ['added', 'removed', 'status', 'critical_status', 'agent_version', 'os_version']) expect(kinds).toContain(kind);
        // Device 20 enrolled after the first run: "added" at run 3; the others at the first run of the history.
        const added = (
          await client.query<{ device_id: number; run_id: number }>(
            `select device_id, run_id from metaaccess.device_changes where change = 'added' order by device_id`,
          )
        ).rows;
        expect(added).toHaveLength(20);
        expect(added.find((r) => r.device_id === 20)).toEqual({ device_id: 20, run_id: 3 });
        // The state a next run diffs against: present devices as of their last snapshot, device 6 gone.
        const state = (
          await client.query(`select device_id, present, agent_version from metaaccess.device_state where device_id in (2, 6) order by 1`)
        ).rows;
        expect(state).toEqual([
          { device_id: 2, present: true, agent_version: '4.4.0' },
          { device_id: 6, present: false, agent_version: '4.3.9' },
        ]);
        // The change log's days use the same calendar as compliance_daily.
        const mismatched = (
          await client.query(`
        select count(*)::int as n from metaaccess.device_changes c join metaaccess.compliance_daily d on d.run_id = c.run_id where d.day <> c.day`)
        ).rows;
        expect(mismatched).toEqual([{ n: 0 }]);
      },
      before,
    );
  });
});
