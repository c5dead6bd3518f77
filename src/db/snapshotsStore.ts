import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Executor } from './openDatabase.ts';
import { complianceDaily, deviceOs, devices, snapshotProfiles, snapshots } from './schema.ts';

/**
 * The profile key of a compliance state. Spelled the same in migrations/0004 (which moved the old
 * rows): the text of a row of these nine values, typed as the columns are, hashed to a uuid — so
 * profiles are found by a hash join on one uuid instead of nine IS NOT DISTINCT FROM tests.
 */
function fingerprint(d: SQL, o: SQL): SQL {
  return sql`md5(row(${d}.status, ${d}.critical_status, ${d}.exempt, ${d}.active, ${d}.total_issue, ${d}.total_critical_issue,
    ${d}.agent_version, ${o}.name, ${o}.version)::text)::uuid`;
}

/**
 * The devices a run accounts for: those its list showed, and those a Device Details lookup of
 * this run found although the list did not (a page left them out; they stay present).
 */
export function inRun(d: SQL, runIds: number[], capturedAt: Date): SQL {
  return sql`(${d}.last_run_id = any(${sql.param(runIds)}::int[]) or (${d}.removed_at is null and ${d}.lookup_found_at = ${capturedAt.toISOString()}::timestamptz))`;
}

/**
 * The snapshot of a run is taken from the current tables when it succeeds, in the same
 * transaction that marks it succeeded: a run that fails, is cancelled or dies leaves none. That
 * single insert per run is also what keeps (run_id, device_id) unique: `snapshots` has no key.
 * The partitions of the run's day must exist (ensureSnapshotPartitions, before the transaction).
 */
export async function insertRunSnapshots(
  db: Executor,
  runId: number,
  capturedAt: Date,
  day: string,
  runIds: number[] = [runId],
): Promise<number> {
  await db.execute(sql`set local jit = off`); // as in recordRunHistory: a once-a-night statement gains nothing from it
  const fp = fingerprint(sql.raw('d'), sql.raw('o'));
  // One pass over the run's devices: new states become profiles (only those not seen before: an
  // insert that conflicts would still use up an identity value), and the snapshot rows find
  // their profile among the old ones and the ones just inserted, which the statement's own
  // snapshot of the table cannot see.
  const rows = await queryRows<{ n: number }>(
    db,
    sql`
    with src as materialized (
      select d.id, d.last_seen, ${fp} as fp, d.status, d.critical_status, d.exempt, d.active, d.total_issue,
        d.total_critical_issue, d.agent_version, o.name, o.version
      from ${devices} d left join ${deviceOs} o on o.hwid = d.hwid
      where ${inRun(sql.raw('d'), runIds, capturedAt)}),
    new_profiles as (
      insert into ${snapshotProfiles} (fingerprint, status, critical_status, exempt, active, total_issue, total_critical_issue,
        agent_version, os_name, os_version)
      select distinct on (s.fp) s.fp, s.status, s.critical_status, s.exempt, s.active, s.total_issue, s.total_critical_issue,
        s.agent_version, s.name, s.version
      from src s
      where not exists (select 1 from ${snapshotProfiles} p where p.fingerprint = s.fp)
      on conflict (fingerprint) do nothing
      returning id, fingerprint),
    profiles as (
      select p.id, p.fingerprint from ${snapshotProfiles} p where p.fingerprint in (select fp from src)
      union all
      select id, fingerprint from new_profiles),
    inserted as (
      insert into ${snapshots} (last_seen, day, run_id, device_id, profile_id)
      select s.last_seen, ${day}::date, ${runId}, s.id, p.id
      from src s join profiles p on p.fingerprint = s.fp
      order by s.id
      returning 1)
    select count(*)::int as n from inserted`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** The day's figures (`day`: the run's day): a later succeeded run on the same day replaces an earlier one. */
export async function upsertComplianceDaily(
  db: Executor,
  runId: number,
  capturedAt: Date,
  day: string,
  runIds: number[] = [runId],
): Promise<void> {
  await db.execute(sql`
    insert into ${complianceDaily} (day, run_id, captured_at, devices, compliant, non_compliant, in_progress, critical, exempt, active)
    select ${day}::date, ${runId}, ${capturedAt.toISOString()}::timestamptz,
      count(*), count(*) filter (where status = 0), count(*) filter (where status = 1), count(*) filter (where status = 3),
      count(*) filter (where critical_status = 1), count(*) filter (where exempt), count(*) filter (where active)
    from ${devices} d where ${inRun(sql.raw('d'), runIds, capturedAt)}
    on conflict (day) do update set run_id = excluded.run_id, captured_at = excluded.captured_at, devices = excluded.devices,
      compliant = excluded.compliant, non_compliant = excluded.non_compliant, in_progress = excluded.in_progress,
      critical = excluded.critical, exempt = excluded.exempt, active = excluded.active`);
}
