import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Executor } from './openDatabase.ts';
import { inRun } from './snapshotsStore.ts';
import {
  complianceDaily,
  deviceChanges,
  deviceOs,
  deviceState,
  deviceStatusIntervals,
  devices,
  networkAdapters,
  snapshots,
} from './schema.ts';

/** What a succeeded run changed, counted from the change log it just wrote. */
export interface RunHistory {
  /** New devices, and removed ones listed again. */
  added: number;
  /** Devices present before with at least one tracked field changed. */
  changed: number;
  removed: number;
}

export interface HistoryArgs {
  runId: number;
  /** Every run of the logical sync (this one and those it resumed). */
  attempts: number[];
  finishedAt: Date;
  /** The run's day (dayIn(finishedAt, SYNC_TIMEZONE)). */
  day: string;
}

/** The tracked fields, in the order they are compared and logged: [change, current, as last logged]. */
const FIELDS: [string, SQL, SQL][] = [
  ['status', sql`f.status::text`, sql`f.o_status::text`],
  ['critical_status', sql`f.critical_status::text`, sql`f.o_critical_status::text`],
  ['exempt', sql`f.exempt::text`, sql`f.o_exempt::text`],
  ['hostname', sql`f.hostname`, sql`f.o_hostname`],
  ['os_family', sql`f.os_family`, sql`f.o_os_family`],
  ['os_name', sql`f.os_name`, sql`f.o_os_name`],
  ['os_version', sql`f.os_version`, sql`f.o_os_version`],
  ['machine_type', sql`f.machine_type`, sql`f.o_machine_type`],
  ['agent_version', sql`f.agent_version`, sql`f.o_agent_version`],
];
const STATE_COLUMNS = [
  'status',
  'critical_status',
  'exempt',
  'hostname',
  'os_family',
  'os_name',
  'os_version',
  'machine_type',
  'agent_version',
  'macs',
  'ips',
];
const cols = (prefix: string) => sql.raw(STATE_COLUMNS.map((c) => `${prefix}${c}`).join(', '));
const statusMoved = sql`(f.is_new or f.is_back or (f.status, f.critical_status, f.exempt) is distinct from (f.o_status, f.o_critical_status, f.o_exempt))`;

/**
 * The change log and the status intervals of a succeeded run, in its success transaction (after
 * removals and the snapshot). The run's devices are diffed against device_state — the state the
 * last succeeded run logged, not what a failed or cancelled run may have written to `devices`
 * since — so nothing a run that did not succeed changed goes unlogged. Only devices that changed
 * are written: a calm night reads the state and writes nothing.
 */
export async function recordRunHistory(db: Executor, args: HistoryArgs): Promise<RunHistory> {
  const at = sql`${args.finishedAt.toISOString()}::timestamptz`;
  // This statement's estimated cost crosses JIT's thresholds: compiling takes most of its time
  // and saves nothing on a statement run once (see BENCHMARKS.md, "History for analysts", where
  // recordRunHistory's time goes). For the success transaction only.
  await db.execute(sql`set local jit = off`);
  // The day of the previous succeeded run: a device whose state changes was nearly always in
  // that run's snapshot, so its last snapshot is found in the last partition(s), not by reading
  // every month since its interval began (a long interval spans every partition).
  const [previous] = await queryRows<{ day: string | null }>(
    db,
    sql`
    select max(day)::text as day from ${complianceDaily} where run_id <> all(${sql.param(args.attempts)}::int[]) and day <= ${args.day}::date`,
  );
  const lastSnapshot = (since: SQL) => sql`(select max(s.run_id) from ${snapshots} s
    where s.device_id = i.device_id and s.run_id <> ${args.runId} and s.day >= ${since})`;
  const recent = previous?.day ? lastSnapshot(sql`${previous.day}::date`) : sql`null::int`;
  const rows = await queryRows<RunHistory>(
    db,
    sql`
    with cur as materialized (
      select d.id as device_id, d.status, d.critical_status, d.exempt, d.hostname, o.family as os_family, o.name as os_name,
        o.version as os_version, d.machine_type, d.agent_version, coalesce(ad.macs, '{}') as macs, coalesce(ad.ips, '{}') as ips
      from ${devices} d
      left join ${deviceOs} o on o.hwid = d.hwid
      left join lateral (
        select array_agg(distinct a.mac_addr::text order by a.mac_addr::text) filter (where a.mac_addr is not null) as macs,
          array_agg(distinct ip.v order by ip.v) filter (where ip.v is not null) as ips
        from ${networkAdapters} a cross join lateral unnest(array[host(a.ipv4_addr), host(a.ipv6_addr)]) as ip(v)
        where a.hwid = d.hwid) ad on true
      where ${inRun(sql.raw('d'), args.attempts, args.finishedAt)}),
    diff as materialized (
      select c.*, s.device_id is null as is_new, coalesce(not s.present, false) as is_back,
        s.status as o_status, s.critical_status as o_critical_status, s.exempt as o_exempt, s.hostname as o_hostname,
        s.os_family as o_os_family, s.os_name as o_os_name, s.os_version as o_os_version, s.machine_type as o_machine_type,
        s.agent_version as o_agent_version, s.macs as o_macs, s.ips as o_ips
      from cur c left join ${deviceState} s on s.device_id = c.device_id
      where s.device_id is null or not s.present or (${cols('c.')}) is distinct from (${cols('s.')})),
    gone as materialized (
      select s.device_id from ${deviceState} s join ${devices} d on d.id = s.device_id
      where s.present and d.removed_at is not null),
    changes as (
      select f.device_id, v.change, v.old_value, v.new_value
      from diff f cross join lateral (values
        ('added', null::text, null::text, f.is_new),
        ('returned', null, null, f.is_back),
        ${sql.join(
          FIELDS.map(([name, now, before]) => sql`(${name}, ${before}, ${now}, not f.is_new and ${before} is distinct from ${now})`),
          sql`, `,
        )}
      ) as v(change, old_value, new_value, applies)
      where v.applies
      union all
      select f.device_id, 'mac_added', null, m from diff f cross join lateral unnest(f.macs) as m where not f.is_new and m <> all(f.o_macs)
      union all
      select f.device_id, 'mac_removed', m, null from diff f cross join lateral unnest(f.o_macs) as m where not f.is_new and m <> all(f.macs)
      union all
      select f.device_id, 'ip_added', null, m from diff f cross join lateral unnest(f.ips) as m where not f.is_new and m <> all(f.o_ips)
      union all
      select f.device_id, 'ip_removed', m, null from diff f cross join lateral unnest(f.o_ips) as m where not f.is_new and m <> all(f.ips)
      union all
      select g.device_id, 'removed', null, null from gone g),
    logged as (
      insert into ${deviceChanges} (run_id, day, changed_at, device_id, change, old_value, new_value)
      select ${args.runId}, ${args.day}::date, ${at}, device_id, change, old_value, new_value from changes order by device_id, change
      returning 1),
    closed as (
      -- last_run_id: the last snapshot before this run that showed the device (the day bounds prune partitions).
      update ${deviceStatusIntervals} i set valid_to = greatest(${at}, i.valid_from + interval '1 microsecond'),
        last_run_id = coalesce(${recent}, ${lastSnapshot(sql`(i.valid_from at time zone 'UTC')::date - 1`)})
      where i.valid_to is null
        and i.device_id in (select f.device_id from diff f where ${statusMoved} union all select device_id from gone)
      returning 1),
    opened as (
      -- p is the interval this run closes (the statement sees the table as it was): the same
      -- status carries its start on; a new status, a new device or a return starts it now.
      -- Two runs finishing in the same microsecond (a clock stepped back) must not collide on the key.
      insert into ${deviceStatusIntervals} (device_id, valid_from, status, critical_status, exempt, first_run_id, status_since)
      select f.device_id, greatest(${at}, p.valid_from + interval '1 microsecond'), f.status, f.critical_status, f.exempt, ${args.runId},
        case when p.device_id is not null and not f.is_back and p.status is not distinct from f.status then p.status_since else ${at} end
      from diff f left join ${deviceStatusIntervals} p on p.device_id = f.device_id and p.valid_to is null
      where ${statusMoved}
      returning 1),
    stored as (
      insert into ${deviceState} (device_id, present, run_id, ${cols('')})
      select f.device_id, true, ${args.runId}, ${cols('f.')} from diff f
      on conflict (device_id) do update set present = true, run_id = excluded.run_id,
        ${sql.raw(STATE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', '))}
      returning 1),
    left_state as (
      update ${deviceState} s set present = false, run_id = ${args.runId} where s.device_id in (select device_id from gone)
      returning 1)
    select (select count(*) from diff where is_new or is_back)::int as added,
      (select count(*) from diff where not is_new and not is_back)::int as changed,
      (select count(*) from gone)::int as removed,
      (select count(*) from logged)::int + (select count(*) from closed)::int + (select count(*) from opened)::int
        + (select count(*) from stored)::int + (select count(*) from left_state)::int as written`,
  );
  const row = rows[0];
  return { added: Number(row?.added ?? 0), changed: Number(row?.changed ?? 0), removed: Number(row?.removed ?? 0) };
}
