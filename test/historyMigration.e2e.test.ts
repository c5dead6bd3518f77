import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../src/db/migrate.ts';
import type { Database, Db } from '../src/db/openDatabase.ts';
import { ensureSnapshotPartitions } from '../src/db/partitions.ts';
import { insertRunSnapshots } from '../src/db/snapshotsStore.ts';
import { pruneSnapshots } from '../src/jobs/pruneSnapshots.ts';
import { systemClock } from '../src/lib/clock.ts';
import { createSilentLogger } from '../src/lib/logger.ts';
import { migrateUpTo } from './helpers/olderRelease.ts';
import { createEmptyDatabase } from './helpers/testDatabase.ts';

const MIGRATIONS = { migrationsSchema: 'metaaccess', migrationsTable: '__drizzle_migrations' };

/**
 * History written by the old schema (one wide row per device and run): three runs, the second
 * and third a minute either side of a UTC month change, states that repeat, NULLs and an empty
 * string that must stay apart from NULL.
 */
const OLD_HISTORY = `
  insert into metaaccess.sync_runs (started_at, finished_at, status, trigger) values
    ('2025-01-31 23:00:00Z', '2025-01-31 23:59:00Z', 'succeeded', 'cli'),
    ('2025-02-01 00:00:00Z', '2025-02-01 00:01:00Z', 'succeeded', 'cli'),
    ('2025-03-10 02:00:00Z', '2025-03-10 02:20:00.123456Z', 'succeeded', 'schedule');
  insert into metaaccess.devices (hwid, raw, content_hash, first_seen_at, last_synced_at, first_run_id, last_run_id)
    select 'HW-' || i, '{}', 'x', '2025-01-31 23:00:00Z', '2025-03-10 02:00:00Z', 1, 3 from generate_series(1, 3) i;
  insert into metaaccess.device_snapshots (device_id, run_id, captured_at, status, critical_status, exempt, active,
      total_issue, total_critical_issue, agent_version, os_name, os_version, last_seen)
    select d.id, r.id, r.finished_at,
      case when d.id = 3 then null else (r.id + d.id) % 2 end, 0, d.id = 2, true, r.id * d.id % 3, 0,
      case d.id when 1 then '4.3.1' when 2 then '' else null end, case when d.id = 3 then null else 'Windows 11 Pro' end,
      '10.0.22631', case when r.id = 2 then null else r.finished_at - interval '5 minutes' * d.id end
    from metaaccess.devices d cross join metaaccess.sync_runs r;`;

const COLUMNS = `run_id, device_id, hwid, captured_at::text, status, critical_status, exempt, active, total_issue,
  total_critical_issue, agent_version, os_name, os_version, last_seen::text`;
const OLD_ROWS = `select ${COLUMNS.replace('hwid', '(select hwid from metaaccess.devices d where d.id = s.device_id) as hwid')}
    , (captured_at at time zone 'UTC')::date::text as day
  from metaaccess.device_snapshots s order by run_id, device_id`;
const VIEW_ROWS = `select ${COLUMNS}, day::text from metaaccess.device_snapshots order by run_id, device_id`;
const PARTITIONS = `select tableoid::regclass::text as partition, day::text, count(*)::int as n from metaaccess.snapshots group by 1, 2 order by 2`;
const PROFILES = 'select count(*)::int as n from metaaccess.snapshot_profiles';

type Query = (text: string) => Promise<Record<string, unknown>[]>;

/** Old rows in, 0003/0004 applied, then the same rows out of the view — on either driver. */
async function checkMigration(query: Query, migrateAll: () => Promise<void>, db: () => Db): Promise<void> {
  await query(OLD_HISTORY);
  const before = await query(OLD_ROWS);
  expect(before).toHaveLength(9);
  await migrateAll();
  const after = await query(VIEW_ROWS);
  expect(after).toEqual(before);
  expect(after.map((r) => r.day)).toContain('2025-02-01');
  expect(await query(PARTITIONS)).toEqual([
    { partition: 'metaaccess.snapshots_2025_01', day: '2025-01-31', n: 3 },
    { partition: 'metaaccess.snapshots_2025_02', day: '2025-02-01', n: 3 },
    { partition: 'metaaccess.snapshots_2025_03', day: '2025-03-10', n: 3 },
  ]);
  const [{ n: states }] = (await query(`select count(distinct (status, critical_status, exempt, active, total_issue,
    total_critical_issue, agent_version, os_name, os_version)::text)::int as n from metaaccess.device_snapshots`)) as [{ n: number }];
  expect(await query(PROFILES)).toEqual([{ n: states }]);
  expect(await query(`select relkind::text from pg_class where oid = 'metaaccess.device_snapshots'::regclass`)).toEqual([{ relkind: 'v' }]);

  // The worker's fingerprint finds the profiles the migration made: a run whose devices are in
  // states already on record adds no profile.
  await query(`insert into metaaccess.sync_runs (started_at, finished_at, status, trigger) values ('2025-03-11 02:00:00Z', '2025-03-11 02:10:00Z', 'succeeded', 'cli');
    insert into metaaccess.device_os (hwid, name, version) select d.hwid, s.os_name, s.os_version
      from metaaccess.devices d join metaaccess.device_snapshots s on s.device_id = d.id and s.run_id = 3;
    update metaaccess.devices d set status = s.status, critical_status = s.critical_status, exempt = s.exempt, active = s.active,
      total_issue = s.total_issue, total_critical_issue = s.total_critical_issue, agent_version = s.agent_version, last_run_id = 4
      from metaaccess.device_snapshots s where s.device_id = d.id and s.run_id = 3;`);
  const capturedAt = new Date('2025-03-11T02:10:00Z');
  await ensureSnapshotPartitions(db(), capturedAt.toISOString().slice(0, 10));
  expect(await insertRunSnapshots(db(), 4, capturedAt, capturedAt.toISOString().slice(0, 10))).toBe(3);
  expect(await query(PROFILES)).toEqual([{ n: states }]);
  const latest = `select device_id, status, exempt, total_issue, agent_version, os_name from metaaccess.device_snapshots where run_id = %s order by device_id`;
  expect(await query(latest.replace('%s', '4'))).toEqual(await query(latest.replace('%s', '3')));

  // Housekeeping on this engine: the months that ended are compacted, and read back the same.
  const database = { db: db() } as Database;
  const housekeeping = await pruneSnapshots({
    database,
    clock: { now: () => Date.parse('2025-03-20T00:00:00Z'), sleep: systemClock.sleep },
    logger: createSilentLogger(),
    retentionDays: 0,
  });
  expect(housekeeping.compactedPartitions).toEqual(['snapshots_2025_01', 'snapshots_2025_02']);
  expect((await query(VIEW_ROWS)).filter((r) => Number(r.run_id) <= 3)).toEqual(before);
}

describe('migration to partitioned history (0003, 0004)', () => {
  it('moves the snapshots of the old table into profiles and monthly partitions (PostgreSQL)', async () => {
    const empty = await createEmptyDatabase();
    const client = new pg.Client({ connectionString: empty.url });
    await client.connect();
    try {
      await migrateUpTo('0002_run_request_times', (config) => migrate(drizzle(client), config));
      const query: Query = async (text) => {
        // Several statements in one text get one result each (node-postgres' types do not say so): the last one's rows.
        const result: unknown = await client.query(text);
        return ((Array.isArray(result) ? result.at(-1) : result) as pg.QueryResult<Record<string, unknown>>).rows;
      };
      await checkMigration(
        query,
        () => migrate(drizzle(client), { ...MIGRATIONS, migrationsFolder: MIGRATIONS_FOLDER }),
        () => drizzle(client) as unknown as Db,
      );
    } finally {
      await client.end();
      await empty.drop();
    }
  });

  it('does the same on the embedded database (PGlite)', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const { drizzle: drizzlePglite } = await import('drizzle-orm/pglite');
    const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
    const pglite = await PGlite.create();
    try {
      await migrateUpTo('0002_run_request_times', (config) => migratePglite(drizzlePglite(pglite), config));
      const query: Query = async (text) => {
        const results = await pglite.exec(text);
        return results.at(-1)!.rows;
      };
      const db = () => drizzlePglite(pglite) as unknown as Db;
      await checkMigration(query, () => migratePglite(drizzlePglite(pglite), { ...MIGRATIONS, migrationsFolder: MIGRATIONS_FOLDER }), db);
    } finally {
      await pglite.close();
    }
  }, 120_000);
});
