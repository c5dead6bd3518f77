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
import { hwidKey, iterateDevicePages } from '../source/pager.ts';
import { createSeenKeys, type SeenKeys } from '../source/seenKeys.ts';
import { createProgress } from './progress.ts';
import { evaluateRemovalGuard } from './removalGuard.ts';
import { storePage } from './storePage.ts';

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

interface PassOptions {
  expected: number | null;
  /** Recheck pass: stop once every one of these has been found. */
  lookingFor?: Set<string>;
}

/** Reads the list from page 1, storing each page; returns when the list ends (or all sought are found). */
async function readPass(deps: SyncDeps, state: RunState, syncStats: () => void, pass: PassOptions): Promise<void> {
  const { source } = deps;
  const progress = createProgress({
    clock: deps.clock, logger: deps.logger, expected: pass.expected, limiter: source.limiter, ...(deps.terminal ? { terminal: deps.terminal } : {}),
  });
  const pages = iterateDevicePages({
    api: source.api, pageSize: source.pageSize, prefetch: source.prefetch, seen: state.seen, signal: deps.signal,
    confirmSeen: async (hwids) => new Set([
      ...await selectHwidsStoredInRun(deps.database.db, state.runId, hwids), ...hwids.filter((h) => state.rejectedKeys.has(h)),
    ]),
    skipKeyless: Boolean(pass.lookingFor),
    ...(pass.expected === null ? {} : { expectedLastPage: Math.ceil(pass.expected / source.pageSize) }),
  });
  for await (const batch of pages) {
    syncStats();
    const outcome = await storePage(deps.database, {
      runId: state.runId, page: batch.page, rawDevices: batch.devices, now: state.startedAt, counters: state.counters,
      recentRequests: source.limiter.recentStarts(),
    });
    state.counters.pages += 1;
    state.counters.devicesSeen += outcome.stored.length;
    state.counters.devicesAdded += outcome.added;
    state.counters.devicesChanged += outcome.changed;
    state.counters.recordsRejected += outcome.rejected;
    if (outcome.rejected > 0) rememberRejectedKeys(state, batch.devices, outcome.stored);
    progress.page(batch.page, state.counters.devicesSeen, { duplicates: batch.duplicates, rejected: outcome.rejected, recheck: Boolean(pass.lookingFor) });
    if (pass.lookingFor) {
      for (const d of outcome.stored) pass.lookingFor.delete(d.device.hwid);
      if (pass.lookingFor.size === 0) return;
    }
    // Graceful stop: the page in flight is stored, then the run ends as cancelled.
    deps.signal?.throwIfAborted();
  }
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
  const message = cancelled ? 'stopped by signal after the page in flight' : truncate(redactText(errorMessage(err)), 2000);
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
