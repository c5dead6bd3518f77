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
function normalizePage(rawDevices: unknown[]): { stored: NormalizedDevice[]; rejections: Rejection[] } {
  const stored: NormalizedDevice[] = [];
  const rejections: Rejection[] = [];
  for (const raw of rawDevices) {
    const result = normalizeDevice(raw);
    if (result.ok) stored.push(result.value);
    else rejections.push({ reason: result.reason, raw: result.raw });
  }
  return { stored, rejections };
}

/** A group of pages normalized, ready to write. */
export interface PreparedPages {
  pages: number;
  stored: NormalizedDevice[];
  rejected: { page: number; rejections: Rejection[] }[];
  rejectedCount: number;
  rows: DevicePageRows;
}

/** Normalizes a group of consecutive pages; pure, so it can run while the previous group is written. */
export function preparePages(pages: { page: number; rawDevices: unknown[] }[]): PreparedPages {
  const stored: NormalizedDevice[] = [];
  const rejected: { page: number; rejections: Rejection[] }[] = [];
  for (const { page, rawDevices } of pages) {
    const normalized = normalizePage(rawDevices);
    for (const device of normalized.stored) stored.push(device);
    if (normalized.rejections.length) rejected.push({ page, rejections: normalized.rejections });
  }
  return prepared(pages.length, stored, rejected);
}

function prepared(pages: number, stored: NormalizedDevice[], rejected: PreparedPages['rejected']): PreparedPages {
  return { pages, stored, rejected, rejectedCount: rejected.reduce((n, r) => n + r.rejections.length, 0), rows: pageRows(stored) };
}

/** Several prepared groups as one (hwids are unique across them: the pager's de-duplication). */
export function mergePrepared(groups: PreparedPages[]): PreparedPages {
  if (groups.length === 1) return groups[0]!;
  return prepared(
    groups.reduce((n, g) => n + g.pages, 0),
    groups.flatMap((g) => g.stored),
    groups.flatMap((g) => g.rejected),
  );
}

/**
 * One group of consecutive pages (usually one page), one transaction: devices, OS rows, adapters,
 * rejections and the run's counters commit together or not at all, so the current tables never
 * hold part of a page. hwids must be unique across the group (the pager guarantees it).
 */
export async function writePages(
  database: Database,
  prepared: PreparedPages,
  args: { runId: number; now: Date; counters: RunCounters; nextPage?: number },
): Promise<PageOutcome> {
  const { stored, rejected, rejectedCount } = prepared;
  return database.db.transaction(async (tx) => {
    const { added, changed } = await storeDevicePage(tx, prepared.rows, args.runId, args.now);
    for (const { page, rejections } of rejected) await insertRejectedRecords(tx, args.runId, page, rejections);
    await updateRunCounters(tx, args.runId, {
      ...args.counters,
      pages: args.counters.pages + prepared.pages,
      devicesSeen: args.counters.devicesSeen + stored.length,
      devicesAdded: args.counters.devicesAdded + added,
      devicesChanged: args.counters.devicesChanged + changed,
      recordsRejected: args.counters.recordsRejected + rejectedCount,
      ...(args.nextPage === undefined ? {} : { nextPage: args.nextPage }),
    });
    return { stored, added, changed, rejected: rejectedCount };
  });
}

/** preparePages then writePages. */
export async function storePages(
  database: Database,
  args: { runId: number; pages: { page: number; rawDevices: unknown[] }[]; now: Date; counters: RunCounters },
): Promise<PageOutcome> {
  return writePages(database, preparePages(args.pages), args);
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
