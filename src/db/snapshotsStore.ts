import { sql } from 'drizzle-orm';
import { queryRows, type Executor } from './openDatabase.ts';
import { complianceDaily, deviceOs, devices, deviceSnapshots } from './schema.ts';

/**
 * The snapshot of a run is taken from the current tables when it succeeds, in the same
 * transaction that marks it succeeded: a run that fails, is cancelled or dies leaves none.
 */
export async function insertRunSnapshots(db: Executor, runId: number, capturedAt: Date): Promise<number> {
  const rows = await queryRows<{ n: number }>(db, sql`
    with inserted as (insert into ${deviceSnapshots} (device_id, run_id, captured_at, status, critical_status, exempt, active,
      total_issue, total_critical_issue, agent_version, os_name, os_version, last_seen)
    select d.id, ${runId}, ${capturedAt.toISOString()}::timestamptz, d.status, d.critical_status, d.exempt, d.active,
      d.total_issue, d.total_critical_issue, d.agent_version, o.name, o.version, d.last_seen
    from ${devices} d left join ${deviceOs} o on o.hwid = d.hwid
    where d.last_run_id = ${runId} returning 1)
    select count(*)::int as n from inserted`);
  return Number(rows[0]?.n ?? 0);
}

/** The day's figures: a later succeeded run on the same day replaces an earlier one. */
export async function upsertComplianceDaily(db: Executor, runId: number, startedAt: Date, capturedAt: Date, timezone: string): Promise<void> {
  await db.execute(sql`
    insert into ${complianceDaily} (day, run_id, captured_at, devices, compliant, non_compliant, in_progress, critical, exempt, active)
    select (${startedAt.toISOString()}::timestamptz at time zone ${timezone})::date, ${runId}, ${capturedAt.toISOString()}::timestamptz,
      count(*), count(*) filter (where status = 0), count(*) filter (where status = 1), count(*) filter (where status = 3),
      count(*) filter (where critical_status = 1), count(*) filter (where exempt), count(*) filter (where active)
    from ${devices} where last_run_id = ${runId}
    on conflict (day) do update set run_id = excluded.run_id, captured_at = excluded.captured_at, devices = excluded.devices,
      compliant = excluded.compliant, non_compliant = excluded.non_compliant, in_progress = excluded.in_progress,
      critical = excluded.critical, exempt = excluded.exempt, active = excluded.active`);
}

/**
 * Deletes up to `batchSize` snapshots captured before `cutoff`, in one short statement; callers
 * loop, so a large prune never holds a long lock on the table.
 */
export async function deleteSnapshotsBefore(db: Executor, cutoff: Date, batchSize: number): Promise<number> {
  const rows = await queryRows<{ n: number }>(db, sql`
    with doomed as (
      select device_id, run_id from ${deviceSnapshots} where captured_at < ${cutoff.toISOString()}::timestamptz limit ${batchSize}
    ), deleted as (
      delete from ${deviceSnapshots} s using doomed d where s.device_id = d.device_id and s.run_id = d.run_id returning 1
    )
    select count(*)::int as n from deleted`);
  return Number(rows[0]?.n ?? 0);
}
