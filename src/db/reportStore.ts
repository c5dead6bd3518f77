/**
 * The statements of `report`: reads only, one function per statement. Instants come back as
 * epoch milliseconds and days as text, so node-postgres and PGlite answer with the same types.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Executor } from './openDatabase.ts';
import type { Counts } from '../report/model.ts';

/** What the report reads; all of it must exist before anything is read. */
const REPORT_RELATIONS = [
  'metaaccess.devices_current',
  'metaaccess.compliance_daily',
  'metaaccess.sync_runs',
  'metaaccess.device_status_intervals',
] as const;

export interface ReportSchemaState {
  schemaExists: boolean;
  /** Of REPORT_RELATIONS, those missing. */
  missing: string[];
}

/** to_regclass answers NULL for a missing relation (or schema) instead of failing the statement. */
export async function selectReportSchemaState(db: Executor): Promise<ReportSchemaState> {
  const [row] = await queryRows<ReportSchemaState>(
    db,
    sql`
    select to_regnamespace('metaaccess') is not null as "schemaExists",
      coalesce(array_agg(r order by r) filter (where to_regclass(r) is null), '{}') as missing
    from unnest(${sql.param([...REPORT_RELATIONS])}::text[]) r`,
  );
  return { schemaExists: Boolean(row?.schemaExists), missing: row?.missing ?? [...REPORT_RELATIONS] };
}

/** The report's counts, as the queries return them (one shape, defined by the model). */
export type CountsRow = Counts;

/** The present devices by compliance state, counted the way compliance_daily counts a run. */
export async function selectCurrentCounts(db: Executor): Promise<CountsRow> {
  const [row] = await queryRows<CountsRow>(
    db,
    sql`
    select count(*)::int as devices, (count(*) filter (where status = 0))::int as compliant,
      (count(*) filter (where status = 1))::int as "nonCompliant", (count(*) filter (where status = 3))::int as "inProgress",
      (count(*) filter (where critical_status = 1))::int as critical, (count(*) filter (where exempt))::int as exempt,
      (count(*) filter (where active))::int as active
    from metaaccess.devices_current`,
  );
  return row!;
}

export async function selectLastSucceededRun(db: Executor): Promise<{ id: number; finishedAt: Date } | null> {
  const [row] = await queryRows<{ id: number; finishedAtMs: number }>(
    db,
    sql`
    select id, (extract(epoch from finished_at) * 1000)::float8 as "finishedAtMs"
    from metaaccess.sync_runs
    where status = 'succeeded' and finished_at is not null
    order by finished_at desc, id desc limit 1`,
  );
  return row ? { id: row.id, finishedAt: new Date(Number(row.finishedAtMs)) } : null;
}

export interface DailyStoreRow extends CountsRow {
  day: string;
  runId: number;
  capturedAt: Date;
}

/** compliance_daily from `from` to `to` (days in SYNC_TIMEZONE, both included), oldest first. */
export async function selectComplianceDaily(db: Executor, from: string, to: string): Promise<DailyStoreRow[]> {
  const rows = await queryRows<Omit<DailyStoreRow, 'capturedAt'> & { capturedAtMs: number }>(
    db,
    sql`
    select day::text as day, run_id as "runId", (extract(epoch from captured_at) * 1000)::float8 as "capturedAtMs",
      devices, compliant, non_compliant as "nonCompliant", in_progress as "inProgress", critical, exempt, active
    from metaaccess.compliance_daily
    where day between ${from}::date and ${to}::date
    order by day`,
  );
  return rows.map(({ capturedAtMs, ...r }) => ({ ...r, capturedAt: new Date(Number(capturedAtMs)) }));
}

/** The first day with figures on or after `from` (null: none). */
export async function selectFirstDailyDay(db: Executor, from: string): Promise<string | null> {
  const rows = await queryRows<{ day: string | null }>(
    db,
    sql`select min(day)::text as day from metaaccess.compliance_daily where day >= ${from}::date`,
  );
  return rows[0]?.day ?? null;
}

/** The present devices per OS name (NULL: none reported). */
export async function selectOsCounts(db: Executor): Promise<{ os: string | null; devices: number }[]> {
  return queryRows(
    db,
    sql`
    select os_name as os, count(*)::int as devices from metaaccess.devices_current group by os_name`,
  );
}

/**
 * The `limit` present devices non-compliant the longest, and since when: status_since, the start
 * of the unbroken run of status 1 (a new critical issue does not restart it; being fixed or
 * removed does). Read in order from the index on open intervals.
 */
export async function selectLongestNonCompliant(
  db: Executor,
  limit: number,
): Promise<{ hwid: string; hostname: string | null; since: Date }[]> {
  const rows = await queryRows<{ hwid: string; hostname: string | null; sinceMs: number }>(
    db,
    sql`
    select c.hwid, c.hostname, (extract(epoch from i.status_since) * 1000)::float8 as "sinceMs"
    from metaaccess.device_status_intervals i join metaaccess.devices_current c on c.id = i.device_id
    where i.valid_to is null and i.status = 1
    order by i.status_since, c.hwid
    limit ${limit}`,
  );
  return rows.map((r) => ({ hwid: r.hwid, hostname: r.hostname, since: new Date(Number(r.sinceMs)) }));
}

/** The earliest instant the status history knows of (null: no history). */
export async function selectHistoryStart(db: Executor): Promise<Date | null> {
  const rows = await queryRows<{ ms: number | null }>(
    db,
    sql`
    select (extract(epoch from min(valid_from)) * 1000)::float8 as ms from metaaccess.device_status_intervals`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : new Date(Number(ms));
}
