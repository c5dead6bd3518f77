import { and, count, eq, getTableColumns, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { DeviceOsRow, DeviceRow, NetworkAdapterRow } from '../normalize/rows.ts';
import { queryRows, type Executor } from './openDatabase.ts';
import { deviceOs, devices, networkAdapters, rejectedRecords } from './schema.ts';

/** `set` for an upsert: every column from `excluded`, except the ones named (identity, first-seen facts). */
function excludedSet(table: PgTable, keep: string[]): Record<string, SQL> {
  const columns = getTableColumns(table) as Record<string, PgColumn>;
  return Object.fromEntries(
    Object.entries(columns)
      .filter(([key]) => !keep.includes(key))
      .map(([key, column]) => [key, sql`excluded.${sql.identifier(column.name)}`]),
  );
}

const DEVICE_UPDATE = excludedSet(devices, ['hwid', 'id', 'firstSeenAt', 'firstRunId']);
const OS_UPDATE = excludedSet(deviceOs, ['hwid']);

const ADAPTER_BATCH = 5000;

export interface KnownDevice {
  hwid: string;
  contentHash: string;
  removedAt: Date | null;
}

export async function selectKnownDevices(db: Executor, hwids: string[]): Promise<KnownDevice[]> {
  if (hwids.length === 0) return [];
  return db.select({ hwid: devices.hwid, contentHash: devices.contentHash, removedAt: devices.removedAt })
    .from(devices).where(inArray(devices.hwid, hwids));
}

/** Inserts new devices and refreshes known ones; seeing a device clears its removal and misses. */
export async function upsertDevices(db: Executor, rows: DeviceRow[], runId: number, now: Date): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((row) => ({
    ...row, firstSeenAt: now, lastSyncedAt: now, removedAt: null, firstRunId: runId, lastRunId: runId, missedRuns: 0,
  }));
  await db.insert(devices).values(values).onConflictDoUpdate({ target: devices.hwid, set: DEVICE_UPDATE });
}

export async function upsertDeviceOs(db: Executor, rows: DeviceOsRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insert(deviceOs).values(rows).onConflictDoUpdate({ target: deviceOs.hwid, set: OS_UPDATE });
}

/** A device that stopped reporting os_info loses its OS row. */
export async function deleteDeviceOs(db: Executor, hwids: string[]): Promise<void> {
  if (hwids.length === 0) return;
  await db.delete(deviceOs).where(inArray(deviceOs.hwid, hwids));
}

/** Adapters have no identity of their own: a device's set is replaced whole. */
export async function replaceNetworkAdapters(db: Executor, hwids: string[], rows: NetworkAdapterRow[]): Promise<void> {
  if (hwids.length === 0) return;
  await db.delete(networkAdapters).where(inArray(networkAdapters.hwid, hwids));
  // A device may list thousands of adapters: stay far below PostgreSQL's 65,535 bind parameters.
  for (let i = 0; i < rows.length; i += ADAPTER_BATCH) await db.insert(networkAdapters).values(rows.slice(i, i + ADAPTER_BATCH));
}

export interface Rejection {
  reason: string;
  raw: unknown;
}

export async function insertRejectedRecords(db: Executor, runId: number, page: number, rejections: Rejection[]): Promise<void> {
  if (rejections.length === 0) return;
  await db.insert(rejectedRecords).values(rejections.map((r) => ({ runId, page, reason: r.reason, raw: r.raw ?? null })));
}

export async function countPresentDevices(db: Executor): Promise<number> {
  const [row] = await db.select({ n: count() }).from(devices).where(isNull(devices.removedAt));
  return row?.n ?? 0;
}

/** Present devices this run has not seen (yet). */
export async function selectMissingHwids(db: Executor, runId: number): Promise<string[]> {
  const rows = await db.select({ hwid: devices.hwid }).from(devices)
    .where(and(isNull(devices.removedAt), ne(devices.lastRunId, runId)));
  return rows.map((r) => r.hwid);
}

export async function countMissingDevices(db: Executor, runId: number): Promise<number> {
  const [row] = await db.select({ n: count() }).from(devices).where(and(isNull(devices.removedAt), ne(devices.lastRunId, runId)));
  return row?.n ?? 0;
}

/**
 * Counts one more miss for every present device the run did not see, and marks removed those
 * that reached `removeAtMisses` (1 after a recheck, 2 for next-run confirmation).
 */
export async function markMissingDevices(db: Executor, runId: number, now: Date, removeAtMisses: number): Promise<number> {
  const rows = await queryRows<{ removed: number }>(db, sql`
    with missed as (
      update ${devices}
      set missed_runs = ${devices.missedRuns} + 1,
          removed_at = case when ${devices.missedRuns} + 1 >= ${removeAtMisses} then ${now.toISOString()}::timestamptz end
      where ${devices.removedAt} is null and ${devices.lastRunId} <> ${runId}
      returning removed_at
    )
    select count(*) filter (where removed_at is not null)::int as removed from missed`);
  return Number(rows[0]?.removed ?? 0);
}

export async function selectDeviceByHwid(db: Executor, hwid: string) {
  const [row] = await db.select().from(devices).where(eq(devices.hwid, hwid));
  return row;
}
