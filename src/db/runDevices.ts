import { and, inArray } from 'drizzle-orm';
import type { Executor } from './openDatabase.ts';
import { devices } from './schema.ts';

/**
 * Which of these hwids this sync has already stored: each stored device carries the id of the
 * run that stored it, and a sync resumed after an interruption is several runs (`runIds`).
 */
export async function selectHwidsStoredInRun(db: Executor, runIds: number[], hwids: string[]): Promise<string[]> {
  if (hwids.length === 0) return [];
  const rows = await db
    .select({ hwid: devices.hwid })
    .from(devices)
    .where(and(inArray(devices.hwid, hwids), inArray(devices.lastRunId, runIds)));
  return rows.map((r) => r.hwid);
}

/** Every hwid the earlier attempts of a sync stored: a resumed run must not count them twice. */
export async function selectHwidsOfRuns(db: Executor, runIds: number[]): Promise<string[]> {
  if (runIds.length === 0) return [];
  const rows = await db.select({ hwid: devices.hwid }).from(devices).where(inArray(devices.lastRunId, runIds));
  return rows.map((r) => r.hwid);
}
