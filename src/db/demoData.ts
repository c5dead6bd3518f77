import { sql } from 'drizzle-orm';
import { queryRows, type Executor } from './openDatabase.ts';

/** The tables a sync fills (not the label tables, which migrations fill). */
const SYNCED_TABLES = [
  'device_changes',
  'device_status_intervals',
  'device_state',
  'compliance_daily',
  'snapshots',
  'snapshot_profiles',
  'rejected_records',
  'network_adapters',
  'device_os',
  'devices',
  'sync_runs',
];

/** Triggers of the runs whose data comes from the simulator only. */
export async function selectRunTriggers(db: Executor): Promise<{ trigger: string; n: number }[]> {
  return queryRows(db, sql`select trigger, count(*)::int as n from metaaccess.sync_runs group by trigger order by trigger`);
}

/**
 * Empties what syncs wrote, keeping the schema, its labels, grants and anything users built on it
 * (a view of their own would be dropped by DROP SCHEMA … CASCADE). For databases that hold only
 * the simulator's data.
 */
export async function truncateSyncedData(db: Executor): Promise<void> {
  await db.execute(sql.raw(`truncate ${SYNCED_TABLES.map((t) => `metaaccess.${t}`).join(', ')} restart identity`));
}
