import { randomBytes } from 'node:crypto';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { runMigrations } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/openDatabase.ts';
import { admin } from './globalSetup.ts';
import { parseMarkdown, SCHEMA_DOC, section, tableNames } from './helpers/markdownSql.ts';
import { migrateUpTo } from './helpers/olderRelease.ts';
import { createEmptyDatabase } from './helpers/testDatabase.ts';

/**
 * The role a BI tool is given (docs/bi-access.md), on a database an older release wrote history
 * into and this one upgraded: it reads every relation meant for reporting and nothing else, and
 * keeps doing so when runs add partitions and later migrations recreate views.
 */

const READER = 'metaaccess_reader';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

/**
 * History as release 0002 wrote it (one wide snapshot row per device and run): three succeeded
 * runs over three months, a failed one, devices with their OS and adapters, the daily figures.
 * Device 1 flips at each run, device 2 once, device 3 never reports a status.
 */
const OLD_HISTORY = `
  insert into metaaccess.sync_runs (started_at, finished_at, status, trigger) values
    ('2025-01-31 23:00:00Z', '2025-01-31 23:59:00Z', 'succeeded', 'cli'),
    ('2025-02-01 00:00:00Z', '2025-02-01 00:01:00Z', 'succeeded', 'cli'),
    ('2025-03-10 02:00:00Z', '2025-03-10 02:20:00Z', 'succeeded', 'schedule'),
    ('2025-04-02 02:00:00Z', '2025-04-02 02:03:00Z', 'failed', 'schedule');
  insert into metaaccess.devices (hwid, hostname, status, critical_status, exempt, raw, content_hash, first_seen_at, last_synced_at, first_run_id, last_run_id)
    select 'HW-' || i, 'HOST-' || i, case i when 1 then 0 when 2 then 0 end, 0, false, '{}', 'x',
      '2025-01-31 23:00:00Z', '2025-03-10 02:00:00Z', 1, 3
    from generate_series(1, 3) i;
  insert into metaaccess.device_os (hwid, family, name, version) select hwid, 'Windows', 'Windows 11 Pro', '10.0.22631' from metaaccess.devices;
  insert into metaaccess.network_adapters (hwid, position, ipv4_addr) select hwid, 0, ('10.0.0.' || right(hwid, 1))::inet from metaaccess.devices;
  insert into metaaccess.device_snapshots (device_id, run_id, captured_at, status, critical_status, exempt, active,
      total_issue, total_critical_issue, agent_version, os_name, os_version, last_seen)
    select d.id, r.id, r.finished_at,
      case d.id when 1 then (r.id + 1) % 2 when 2 then case when r.id < 3 then 1 else 0 end end,
      0, false, true, 0, 0, '4.3.3589.0', 'Windows 11 Pro', '10.0.22631', r.finished_at - interval '1 hour'
    from metaaccess.devices d cross join metaaccess.sync_runs r where r.status = 'succeeded';
  insert into metaaccess.compliance_daily (day, run_id, captured_at, devices, compliant, non_compliant, in_progress, critical, exempt, active)
    select (r.started_at at time zone 'UTC')::date, r.id, r.finished_at, 3, 0, 0, 0, 0, 0, 3
    from metaaccess.sync_runs r where r.status = 'succeeded';`;

/** The relations of schema metaaccess that `role` may read, as privileges say and as information_schema shows it. */
async function visibleTo(client: pg.Client, role: string) {
  await client.query(`set role ${role}`);
  try {
    const tables = (
      await client.query<{ name: string }>(
        "select table_name as name from information_schema.tables where table_schema = 'metaaccess' order by 1",
      )
    ).rows.map((r) => r.name);
    const views = (
      await client.query<{ name: string }>(
        "select table_name as name from information_schema.views where table_schema = 'metaaccess' order by 1",
      )
    ).rows.map((r) => r.name);
    return { tables, views };
  } finally {
    await client.query('reset role');
  }
}

/** Tries `select` on each relation as `role`: those it could read, and those refused for lack of privilege. */
async function readAs(client: pg.Client, role: string, relations: string[]) {
  const read: string[] = [];
  const denied: string[] = [];
  for (const relation of relations) {
    await client.query(`set role ${role}`);
    try {
      await client.query(`select count(*) from metaaccess.${pg.escapeIdentifier(relation)}`);
      read.push(relation);
    } catch (error) {
      if ((error as { code?: string }).code !== '42501') throw error;
      denied.push(relation);
    } finally {
      await client.query('reset role');
    }
  }
  return { read, denied };
}

const rows = async <T>(client: pg.Client, text: string) => (await client.query(text)).rows as T[];

describe('the reader role, on a database upgraded from an older release', () => {
  it('reads every reporting relation and nothing else, after a new month and a recreated view too', async () => {
    const adminUrl = inject('adminUrl');
    const tag = randomBytes(4).toString('hex');
    const oldLogin = `metaaccess_t_bi_old_${tag}`;
    const newLogin = `metaaccess_t_bi_${tag}`;
    const empty = await createEmptyDatabase();
    // Roles are shared by the whole server: only these two are made here, and dropped after the database.
    cleanups.push(() =>
      admin(adminUrl, (c) => c.query(`drop role if exists ${oldLogin}`).then(() => c.query(`drop role if exists ${newLogin}`))),
    );
    cleanups.push(() => empty.drop());
    const url = empty.url;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    cleanups.push(() => client.end());
    await client.query("set time zone 'UTC'");

    // An older release: history written by 0002, then upgraded to 0006 (the release before the reader role).
    await migrateUpTo('0002_run_request_times', (config) => migrate(drizzle(client), config));
    await client.query(OLD_HISTORY);
    await migrateUpTo('0006_resume', (config) => migrate(drizzle(client), config));
    // What the old deployment notes told an administrator to do for Metabase.
    await client.query(`create role ${oldLogin} login`);
    await client.query(`grant usage on schema metaaccess to ${oldLogin}; grant select on all tables in schema metaaccess to ${oldLogin}`);
    const before = await visibleTo(client, oldLogin);

    // This release, through the product's migrate (which ends with grant_reader()).
    const database = await openDatabase({ url, pgliteDir: '' });
    cleanups.push(() => database.close());
    await runMigrations(database, { timezone: 'UTC' });

    const reporting = (await rows<{ name: string }>(client, 'select unnest(metaaccess.reporting_relations()) as name order by 1')).map(
      (r) => r.name,
    );
    const doc = parseMarkdown(SCHEMA_DOC);
    const documented = tableNames(section(doc, 'Relations for reporting'));
    const storage = tableNames(section(doc, 'Storage, not for the reader'));
    expect([...documented].sort()).toEqual(reporting);
    expect(reporting).toHaveLength(15);

    const partitions = (
      await rows<{ name: string }>(
        client,
        `
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'metaaccess.snapshots'::regclass order by 1`,
      )
    ).map((r) => r.name);
    expect(partitions).toEqual(['snapshots_2025_01', 'snapshots_2025_02', 'snapshots_2025_03']);
    const notForReader = [...storage.filter((s) => s !== 'snapshots_YYYY_MM'), ...partitions];
    expect(notForReader).toEqual(
      expect.arrayContaining(['snapshots', 'snapshot_profiles', 'device_state', 'rejected_records', '__drizzle_migrations']),
    );

    /** Everything the reader should and should not read, and what its schema browser lists. */
    const checkReader = async (extraDenied: string[] = []) => {
      expect(await readAs(client, READER, reporting)).toEqual({ read: reporting, denied: [] });
      const refused = [...notForReader, ...extraDenied];
      expect(await readAs(client, READER, refused)).toEqual({ read: [], denied: refused });
      expect(await visibleTo(client, READER)).toEqual({
        tables: reporting,
        views: ['adapters_current', 'device_snapshots', 'devices_current'],
      });
      // Privileges on every relation of the schema, as a BI tool's sync checks them.
      const granted = await rows<{ name: string }>(
        client,
        `
        select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'metaaccess' and c.relkind in ('r', 'p', 'v', 'm', 'f') and has_table_privilege('${READER}', c.oid, 'SELECT')
        order by 1`,
      );
      expect(granted.map((r) => r.name)).toEqual(reporting);
    };
    await checkReader();

    // The history the old release wrote is there for the reader, with the new relations filled in.
    await client.query(`set role ${READER}`);
    expect(
      await rows(
        client,
        `select d.hwid, i.status, i.valid_from::text as "from", i.valid_to::text as "to"
        from metaaccess.device_status_intervals i join metaaccess.devices d on d.id = i.device_id order by d.hwid, i.valid_from`,
      ),
    ).toEqual([
      { hwid: 'HW-1', status: 0, from: '2025-01-31 23:59:00+00', to: '2025-02-01 00:01:00+00' },
      { hwid: 'HW-1', status: 1, from: '2025-02-01 00:01:00+00', to: '2025-03-10 02:20:00+00' },
      { hwid: 'HW-1', status: 0, from: '2025-03-10 02:20:00+00', to: null },
      { hwid: 'HW-2', status: 1, from: '2025-01-31 23:59:00+00', to: '2025-03-10 02:20:00+00' },
      { hwid: 'HW-2', status: 0, from: '2025-03-10 02:20:00+00', to: null },
      { hwid: 'HW-3', status: null, from: '2025-01-31 23:59:00+00', to: null },
    ]);
    expect(
      await rows(
        client,
        `select d.hwid, c.day::text, c.change, c.old_value, c.new_value
        from metaaccess.device_changes c join metaaccess.devices d on d.id = c.device_id order by c.changed_at, d.hwid, c.change`,
      ),
    ).toEqual([
      { hwid: 'HW-1', day: '2025-01-31', change: 'added', old_value: null, new_value: null },
      { hwid: 'HW-2', day: '2025-01-31', change: 'added', old_value: null, new_value: null },
      { hwid: 'HW-3', day: '2025-01-31', change: 'added', old_value: null, new_value: null },
      { hwid: 'HW-1', day: '2025-02-01', change: 'status', old_value: '0', new_value: '1' },
      { hwid: 'HW-1', day: '2025-03-10', change: 'status', old_value: '1', new_value: '0' },
      { hwid: 'HW-2', day: '2025-03-10', change: 'status', old_value: '1', new_value: '0' },
    ]);
    await client.query('reset role');

    // A run in a new month makes its partition (and the next month's): not granted, and not needed.
    await client.query("select metaaccess.create_snapshot_partition('2099-01-15')");
    await checkReader(['snapshots_2099_01']);
    expect((await visibleTo(client, READER)).tables).not.toContain('snapshots_2099_01');

    // A later migration recreates a view, as a migration would: its grants go with it…
    const definition = (await rows<{ def: string }>(client, "select pg_get_viewdef('metaaccess.adapters_current'::regclass) as def"))[0]!
      .def;
    await client.query(`drop view metaaccess.adapters_current; create view metaaccess.adapters_current as ${definition}`);
    expect(await readAs(client, READER, ['adapters_current'])).toEqual({ read: [], denied: ['adapters_current'] });
    // …and the next migrate grants it again.
    await runMigrations(database, { timezone: 'UTC' });
    await checkReader(['snapshots_2099_01']);

    // A BI login made as docs/bi-access.md says sees exactly that.
    await client.query(`create role ${newLogin} login password '${randomBytes(12).toString('hex')}' in role ${READER}`);
    const after = await visibleTo(client, newLogin);
    expect(after.tables).toEqual(reporting);

    // The login the old notes made still sees storage (its own grants) and none of the new
    // relations, until the upgrade steps of docs/bi-access.md replace its grants with the role.
    const stale = await visibleTo(client, oldLogin);
    expect(stale.tables).toEqual(expect.arrayContaining(['snapshots', 'snapshot_profiles', '__drizzle_migrations']));
    expect(stale.tables).not.toContain('device_changes');
    await client.query(
      `revoke all on all tables in schema metaaccess from ${oldLogin}; revoke all on schema metaaccess from ${oldLogin}; grant ${READER} to ${oldLogin}`,
    );
    expect((await visibleTo(client, oldLogin)).tables).toEqual(reporting);

    const meant = (names: string[]) => names.filter((n) => reporting.includes(n)).length;
    console.log(
      `reader visibility: before (0006, "grant select on all tables in schema metaaccess"): ${before.tables.length} relations `
        + `(${before.tables.join(', ')}), ${meant(before.tables)} of them reporting relations → after (metaaccess_reader): `
        + `${after.tables.length} relations, ${meant(after.tables)} reporting`,
    );
  });
});
