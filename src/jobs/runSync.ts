import type { RemovalConfirm } from '../config/config.ts';
import { markMissingDevices, countPresentDevices, selectMissingHwids } from '../db/devicesStore.ts';
import { tryAcquireRunLock } from '../db/locks.ts';
import type { Database } from '../db/openDatabase.ts';
import { ensureSnapshotPartitions } from '../db/partitions.ts';
import { selectHwidsStoredInRun } from '../db/runDevices.ts';
import {
  finishRun, insertRun, markAbandonedRuns, selectLastRequestTimes, selectLastSucceededRun, type RunCounters, type RunStatus,
} from '../db/runs.ts';
import { insertRunSnapshots, upsertComplianceDaily } from '../db/snapshotsStore.ts';
import type { Clock } from '../lib/clock.ts';
import { AppError, errorCode, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { redactText, truncate } from '../lib/redact.ts';
import type { Source } from '../source/createSource.ts';
import { hwidKey, iterateDevicePageGroups, type PageBatch } from '../source/pager.ts';
import { createSeenKeys, type SeenKeys } from '../source/seenKeys.ts';
import { createProgress } from './progress.ts';
import { evaluateRemovalGuard } from './removalGuard.ts';
import { mergePrepared, preparePages, writePages, type PreparedPages } from './storePages.ts';
import { createWriteBehind } from './writeBehind.ts';

export interface SyncSettings {
  removalGuardPercent: number;
  removalConfirm: RemovalConfirm;
  timezone: string;
}

export interface SyncDeps {
  database: Database;
  source: Source;
  clock: Clock;
  logger: Logger;
  settings: SyncSettings;
  trigger: string;
  signal?: AbortSignal;
  /** When stderr is a terminal: progress as one updating line. */
  terminal?: NodeJS.WritableStream;
}

export interface RunSummary {
  runId: number;
  status: Exclude<RunStatus, 'running' | 'abandoned'>;
  startedAt: Date;
  finishedAt: Date;
  counters: RunCounters;
  notes: string | null;
  errorCode: string | null;
  error: string | null;
  abandonedRuns: number[];
  /** Time this run's requests waited for a rate-limiter slot. */
  rateLimitWaitMs: number;
}

interface RunState {
  runId: number;
  startedAt: Date;
  counters: RunCounters;
  seen: SeenKeys;
  /** hwids of records this run rejected: "seen", though no device row carries the run's id. */
  rejectedKeys: Set<string>;
  notes: string[];
  waitedBefore: number;
  limiter: Source['limiter'];
}

/**
 * One complete run: lock → run row → every page (one transaction each) → confirm and mark
 * removals → snapshot and daily figures → run row succeeded. Any failure leaves the run
 * `failed` (or `cancelled`), removes nothing and adds no snapshot.
 */
export async function runSync(deps: SyncDeps): Promise<RunSummary> {
  const lock = await tryAcquireRunLock(deps.database);
  try {
    const { db } = deps.database;
    const startedAt = new Date(deps.clock.now());
    const abandonedRuns = await markAbandonedRuns(db, startedAt);
    // Runs share the account's budget: carry on the window where the last run (maybe another process) left it.
    deps.source.limiter.preload(await selectLastRequestTimes(db));
    const runId = await insertRun(db, deps.trigger, startedAt);
    const logger = deps.logger.child({ runId });
    if (abandonedRuns.length) logger.warn('marked runs abandoned', { abandonedRuns });
    const state: RunState = {
      runId, startedAt, counters: emptyCounters(), seen: createSeenKeys(), rejectedKeys: new Set(), notes: [], waitedBefore: deps.source.limiter.waitedMs, limiter: deps.source.limiter,
    };
    const requestsBefore = { ...deps.source.stats };
    const syncStats = () => {
      state.counters.requests = deps.source.stats.requests - requestsBefore.requests;
      state.counters.retries = deps.source.stats.retries - requestsBefore.retries;
      state.counters.rateLimited = deps.source.stats.rateLimited - requestsBefore.rateLimited;
    };
    try {
      await executeRun({ ...deps, logger }, state, syncStats);
      return summary(state, 'succeeded', new Date(deps.clock.now()), abandonedRuns);
    } catch (err) {
      syncStats();
      return await recordFailure({ ...deps, logger }, state, err, abandonedRuns);
    }
  } finally {
    await lock.release();
  }
}

async function executeRun(deps: SyncDeps, state: RunState, syncStats: () => void): Promise<void> {
  const { db } = deps.database;
  const previous = await selectLastSucceededRun(db);
  const presentBefore = await countPresentDevices(db);
  deps.logger.info('sync started', { trigger: deps.trigger, expectedDevices: previous?.devicesSeen ?? null, presentDevices: presentBefore });
  await readPass(deps, state, syncStats, { expected: previous?.devicesSeen ?? null });
  deps.terminal?.write('\n');
  const removeAt = await confirmRemovals(deps, state, syncStats, presentBefore);
  syncStats();
  const finishedAt = new Date(deps.clock.now());
  // Outside the transaction: a new partition locks the snapshots table, which must last an instant.
  if (removeAt.trusted) await ensureSnapshotPartitions(db, finishedAt);
  await db.transaction(async (tx) => {
    if (removeAt.trusted) {
      if (removeAt.misses !== undefined) state.counters.devicesRemoved = await markMissingDevices(tx, state.runId, finishedAt, removeAt.misses);
      await insertRunSnapshots(tx, state.runId, finishedAt);
      await upsertComplianceDaily(tx, state.runId, state.startedAt, finishedAt, deps.settings.timezone);
    }
    const finished = await finishRun(tx, state.runId, {
      status: 'succeeded', finishedAt, counters: state.counters, notes: notesOf(state), recentRequests: deps.source.limiter.recentStarts(),
    });
    // If the lock connection died and another process took over, this run's results must not land.
    if (!finished) throw new AppError('RUN_TAKEN_OVER', `run ${state.runId} is no longer running (marked abandoned by another process); its removals and snapshot were discarded`);
  });
  deps.logger.info('sync succeeded', { ...state.counters, durationMs: finishedAt.getTime() - state.startedAt.getTime() });
}

/**
 * Pages that arrive while a transaction runs are stored together in the next, up to this many
 * records. Only a fast source reaches it: the rate-limited API delivers ten pages a window.
 * Measured at 100,000 devices, unthrottled (BENCHMARKS.md): caps of 250 / 1,000 / 2,000 records
 * stored 6,500 / 8,100 / 9,300 devices/s at a peak RSS of 170 / 213 / 226 MB (per-page
 * transactions: 4,400 devices/s, 132-158 MB); the larger the statement, the more large strings
 * V8 keeps in its old generation until a full collection.
 */
const MAX_GROUP_RECORDS = 1000;

interface PassOptions {
  expected: number | null;
  /** Recheck pass: stop once every one of these has been found. */
  lookingFor?: Set<string>;
}

/**
 * Reads the list from page 1, storing the pages; returns when the list ends (or all sought are
 * found). Pages are stored one transaction at a time, in order; pages that arrive while one is
 * being written are normalized meanwhile and go into the next (see createWriteBehind).
 */
async function readPass(deps: SyncDeps, state: RunState, syncStats: () => void, pass: PassOptions): Promise<void> {
  const { source } = deps;
  const progress = createProgress({
    clock: deps.clock, logger: deps.logger, expected: pass.expected, limiter: source.limiter, ...(deps.terminal ? { terminal: deps.terminal } : {}),
  });
  /** hwids normalized but not yet committed: stored in this run, though not yet visible in the database. */
  const unwritten = new Set<string>();
  const groups = iterateDevicePageGroups({
    api: source.api, pageSize: source.pageSize, prefetch: source.prefetch, seen: state.seen, signal: deps.signal, maxGroupRecords: MAX_GROUP_RECORDS,
    confirmSeen: async (hwids) => {
      // Taken before the query: a group that commits while the query runs is caught by one or the other.
      const known = hwids.filter((h) => unwritten.has(h) || state.rejectedKeys.has(h));
      return new Set([...known, ...await selectHwidsStoredInRun(deps.database.db, state.runId, hwids)]);
    },
    skipKeyless: Boolean(pass.lookingFor),
    ...(pass.expected === null ? {} : { expectedLastPage: Math.ceil(pass.expected / source.pageSize) }),
  });
  const writer = createWriteBehind<{ group: PageBatch[]; prepared: PreparedPages }>({
    maxRecords: MAX_GROUP_RECORDS,
    write: (items) => writeGroups({ deps, state, syncStats, pass, progress, unwritten }, items),
  });
  try {
    for await (const group of groups) {
      const prepared = preparePages(group.map((b) => ({ page: b.page, rawDevices: b.devices })));
      if (prepared.rejectedCount > 0) rememberRejectedKeys(state, group.flatMap((b) => b.devices), prepared.stored);
      for (const d of prepared.stored) unwritten.add(d.device.hwid);
      await writer.add({ group, prepared }, group.reduce((n, b) => n + b.devices.length, 0));
      if (pass.lookingFor) {
        for (const d of prepared.stored) pass.lookingFor.delete(d.device.hwid);
        if (pass.lookingFor.size === 0) break;
      }
      // Graceful stop: the pages already queued are stored (below), then the run ends as cancelled.
      deps.signal?.throwIfAborted();
    }
    await writer.flush();
  } catch (err) {
    // A failed page or a stop: the pages received before it are still stored (unless a write
    // is what failed); this loop's error is the one reported.
    await writer.flush().catch(() => undefined);
    throw err;
  } finally {
    await writer.abandon();
  }
}

interface PassContext {
  deps: SyncDeps;
  state: RunState;
  syncStats: () => void;
  pass: PassOptions;
  progress: ReturnType<typeof createProgress>;
  unwritten: Set<string>;
}

/** One transaction for the groups that queued up while the previous one was written. */
async function writeGroups(ctx: PassContext, items: { group: PageBatch[]; prepared: PreparedPages }[]): Promise<void> {
  const { deps, state, pass, unwritten } = ctx;
  ctx.syncStats();
  const prepared = mergePrepared(items.map((i) => i.prepared));
  const outcome = await writePages(deps.database, prepared, {
    runId: state.runId, now: state.startedAt, counters: state.counters, recentRequests: deps.source.limiter.recentStarts(),
  });
  for (const d of prepared.stored) unwritten.delete(d.device.hwid);
  state.counters.pages += prepared.pages;
  state.counters.devicesSeen += outcome.stored.length;
  state.counters.devicesAdded += outcome.added;
  state.counters.devicesChanged += outcome.changed;
  state.counters.recordsRejected += outcome.rejected;
  const batches = items.flatMap((i) => i.group);
  ctx.progress.page(batches.at(-1)!.page, state.counters.devicesSeen, {
    pages: batches.length, duplicates: batches.reduce((n, b) => n + b.duplicates, 0), rejected: outcome.rejected, recheck: Boolean(pass.lookingFor),
  });
}

/**
 * `misses`: the miss count at which devices are marked removed (undefined: remove none).
 * `trusted`: false when the guard tripped — the list looked truncated, so the run neither
 * removes devices nor adds its snapshot to the trend.
 */
async function confirmRemovals(deps: SyncDeps, state: RunState, syncStats: () => void, presentBefore: number): Promise<{ misses?: number; trusted: boolean }> {
  const { db } = deps.database;
  const guard = (missing: number) => evaluateRemovalGuard({
    presentBefore, seen: state.counters.devicesSeen, missing, guardPercent: deps.settings.removalGuardPercent,
  });
  let missing = await selectMissingHwids(db, state.runId);
  if (missing.length === 0) return { trusted: true };
  let decision = guard(missing.length);
  if (decision.allowed && deps.settings.removalConfirm === 'recheck') {
    deps.logger.info('rechecking the list for missing devices', { missing: missing.length });
    await readPass(deps, state, syncStats, { expected: null, lookingFor: new Set(missing) });
    missing = await selectMissingHwids(db, state.runId);
    decision = guard(missing.length);
  }
  if (!decision.allowed) {
    state.notes.push(`${decision.reason}; this run adds no snapshot to the trend`);
    deps.logger.warn(decision.reason, { missing: missing.length, presentBefore });
    return { trusted: false };
  }
  return { misses: deps.settings.removalConfirm === 'recheck' ? 1 : 2, trusted: true };
}

async function recordFailure(deps: SyncDeps, state: RunState, err: unknown, abandonedRuns: number[]): Promise<RunSummary> {
  const cancelled = deps.signal?.aborted === true;
  const status = cancelled ? 'cancelled' : 'failed';
  const code = cancelled ? 'CANCELLED' : errorCode(err);
  const message = cancelled ? 'stopped by signal once the pages received were stored' : truncate(redactText(errorMessage(err)), 2000);
  const finishedAt = new Date(deps.clock.now());
  await finishRun(deps.database.db, state.runId, {
    status, finishedAt, counters: state.counters, errorCode: code, error: message, notes: notesOf(state),
    recentRequests: deps.source.limiter.recentStarts(),
  });
  if (cancelled) deps.logger.warn('sync cancelled', { ...state.counters });
  else deps.logger.error('sync failed', { errorCode: code, error: message, ...state.counters });
  return { ...summary(state, status, finishedAt, abandonedRuns), errorCode: code, error: message };
}

function summary(state: RunState, status: RunSummary['status'], finishedAt: Date, abandonedRuns: number[]): RunSummary {
  return {
    runId: state.runId, status, startedAt: state.startedAt, finishedAt, counters: { ...state.counters },
    notes: notesOf(state), errorCode: null, error: null, abandonedRuns, rateLimitWaitMs: Math.round(state.limiter.waitedMs - state.waitedBefore),
  };
}

function rememberRejectedKeys(state: RunState, raw: unknown[], stored: { device: { hwid: string } }[]): void {
  const storedKeys = new Set(stored.map((d) => d.device.hwid));
  for (const record of raw) {
    const key = hwidKey(record);
    if (key !== undefined && !storedKeys.has(key)) state.rejectedKeys.add(key);
  }
}

function notesOf(state: RunState): string | null {
  return state.notes.length ? state.notes.join('; ') : null;
}

function emptyCounters(): RunCounters {
  return {
    pages: 0, requests: 0, retries: 0, rateLimited: 0, devicesSeen: 0, devicesAdded: 0,
    devicesChanged: 0, devicesRemoved: 0, recordsRejected: 0,
  };
}
