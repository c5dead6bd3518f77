import { and, eq, inArray } from 'drizzle-orm';
import type { Executor } from './openDatabase.ts';
import { devices } from './schema.ts';

/** Which of these hwids this run has already stored (each stored device carries the run's id). */
export async function selectHwidsStoredInRun(db: Executor, runId: number, hwids: string[]): Promise<string[]> {
  if (hwids.length === 0) return [];
  const rows = await db.select({ hwid: devices.hwid }).from(devices)
    .where(and(inArray(devices.hwid, hwids), eq(devices.lastRunId, runId)));
  return rows.map((r) => r.hwid);
}
