import type { Database } from '../db/openDatabase.ts';
import { insertRejectedRecords, storeDevicePage, type DevicePageRows, type Rejection } from '../db/devicesStore.ts';
import { updateRunCounters, type RunCounters } from '../db/runs.ts';
import { normalizeDevice } from '../normalize/normalizeDevice.ts';
import type { NormalizedDevice } from '../normalize/rows.ts';

export interface PageOutcome {
  stored: NormalizedDevice[];
  added: number;
  changed: number;
  rejected: number;
}

/** Normalizes one page; pure, so a bad record becomes a rejection instead of an exception. */
export function normalizePage(rawDevices: unknown[]): { stored: NormalizedDevice[]; rejections: Rejection[] } {
  const stored: NormalizedDevice[] = [];
  const rejections: Rejection[] = [];
  for (const raw of rawDevices) {
    const result = normalizeDevice(raw);
    if (result.ok) stored.push(result.value);
    else rejections.push({ reason: result.reason, raw: result.raw });
  }
  return { stored, rejections };
}

/**
 * One page, one transaction: devices, OS rows, adapters, rejections and the run's counters
 * commit together or not at all, so the current tables never hold half a page.
 */
export async function storePage(
  database: Database,
  args: { runId: number; page: number; rawDevices: unknown[]; now: Date; counters: RunCounters; recentRequests: number[] },
): Promise<PageOutcome> {
  const { stored, rejections } = normalizePage(args.rawDevices);
  const rows = pageRows(stored);
  return database.db.transaction(async (tx) => {
    const { added, changed } = await storeDevicePage(tx, rows, args.runId, args.now);
    await insertRejectedRecords(tx, args.runId, args.page, rejections);
    await updateRunCounters(tx, args.runId, {
      ...args.counters,
      pages: args.counters.pages + 1,
      devicesSeen: args.counters.devicesSeen + stored.length,
      devicesAdded: args.counters.devicesAdded + added,
      devicesChanged: args.counters.devicesChanged + changed,
      recordsRejected: args.counters.recordsRejected + rejections.length,
      recentRequests: args.recentRequests,
    });
    return { stored, added, changed, rejected: rejections.length };
  });
}

function pageRows(stored: NormalizedDevice[]): DevicePageRows {
  const rows: DevicePageRows = { devices: [], os: [], adapters: [] };
  for (const { device, os, adapters } of stored) {
    rows.devices.push(device);
    if (os) rows.os.push(os);
    for (const adapter of adapters) rows.adapters.push(adapter);
  }
  return rows;
}
