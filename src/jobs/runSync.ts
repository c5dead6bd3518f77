import type { RemovalConfirm } from '../config/config.ts';
import { countPresentDevices, markMissingDevices, selectMissingDevices } from '../db/devicesStore.ts';
import { tryAcquireRunLock } from '../db/locks.ts';
import type { Database } from '../db/openDatabase.ts';
import { ensureSnapshotPartitions } from '../db/partitions.ts';
import { selectHwidsStoredInRun } from '../db/runDevices.ts';
import {
  finishRun, insertRun, markAbandonedRuns, selectLastRequestTimes, selectLastSucceededRun, type RunCounters, type RunStatus,
} from '../db/runs.ts';
import { insertRunSnapshots, upsertComplianceDaily } from '../db/snapshotsStore.ts';
import type { Clock } from '../lib/clock.ts';
import { errorCode, errorMessage, LockLostError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { redactText, truncate } from '../lib/redact.ts';
import type { Source } from '../source/createSource.ts';
import { hwidKey } from '../normalize/hwid.ts';
import { iterateDevicePageGroups, type PageBatch } from '../source/pager.ts';
import { createSeenKeys, type SeenKeys } from '../source/seenKeys.ts';
import { ARCHIVE_AT_MISSES, confirmRemovals, type RemovalDecision } from './confirmRemovals.ts';
import { createProgress } from './progress.ts';
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
  /** The page that ended the list in the first read. */
  endPage?: number;
  /** Aborted when the run lock is lost: nothing more may be written or requested. */
  lockLost: AbortSignal;
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
    // A run that died (or lost its lock) may have sent requests it never recorded: count its
    // window as full rather than meet its last requests with a burst.
    if (abandonedRuns.length) deps.source.limiter.preload(Array.from({ length: deps.source.limiter.limit }, () => deps.clock.now()));
    const runId = await insertRun(db, deps.trigger, startedAt);
    const logger = deps.logger.child({ runId });
    if (abandonedRuns.length) logger.warn('marked runs abandoned', { abandonedRuns });
    const state: RunState = {
      runId, startedAt, counters: emptyCounters(), seen: createSeenKeys(), rejectedKeys: new Set(), notes: [],
      waitedBefore: deps.source.limiter.waitedMs, limiter: deps.source.limiter, lockLost: lock.lost,
    };
    const requestsBefore = { ...deps.source.stats };
    const syncStats = () => {
      state.counters.requests = deps.source.stats.requests - requestsBefore.requests;
      state.counters.retries = deps.source.stats.retries - requestsBefore.retries;
      state.counters.rateLimited = deps.source.stats.rateLimited - requestsBefore.rateLimited;
    };
    // A lost lock stops the run's requests at once, like a stop signal (but is recorded as a failure).
    const signal = deps.signal ? AbortSignal.any([deps.signal, lock.lost]) : lock.lost;
    const runDeps = { ...deps, logger, signal };
    try {
      const status = await executeRun(runDeps, state, syncStats);
      return summary(state, status, new Date(deps.clock.now()), abandonedRuns);
    } catch (err) {
      syncStats();
      return await recordFailure(runDeps, state, lock.lost.aborted ? lock.lost.reason : err, abandonedRuns, deps.signal);
    }
  } finally {
    await lock.release();
  }
}

async function executeRun(deps: SyncDeps, state: RunState, syncStats: () => void): Promise<'succeeded' | 'incomplete'> {
  const { db } = deps.database;
  const previous = await selectLastSucceededRun(db);
  const presentBefore = await countPresentDevices(db);
  deps.logger.info('sync started', { trigger: deps.trigger, expectedDevices: previous?.devicesSeen ?? null, presentDevices: presentBefore });
  const expectedLastPage = previous ? (previous.endPage ? previous.endPage - 1 : Math.ceil(previous.devicesSeen / deps.source.pageSize)) : undefined;
  await readPass(deps, state, syncStats, { expected: previous?.devicesSeen ?? null, expectedLastPage });
  deps.terminal?.write('\n');
  const decision = await decideRemovals(deps, state, syncStats, presentBefore);
  syncStats();
  const finishedAt = new Date(deps.clock.now());
  // Outside the transaction: a new partition locks the snapshots table, which must last an instant.
  if (decision.trusted) await ensureSnapshotPartitions(db, finishedAt);
  state.lockLost.throwIfAborted();
  const status = decision.trusted ? 'succeeded' : 'incomplete';
  await db.transaction(async (tx) => {
    if (decision.trusted) {
      if (decision.rule) {
        const marked = await markMissingDevices(tx, state.runId, finishedAt, decision.rule);
        state.counters.devicesRemoved = marked.removed;
        if (marked.archived.length) state.notes.push(archivedNote(marked.archived));
      }
      await insertRunSnapshots(tx, state.runId, finishedAt);
      await upsertComplianceDaily(tx, state.runId, state.startedAt, finishedAt, deps.settings.timezone);
    }
    const finished = await finishRun(tx, state.runId, {
      status, finishedAt, counters: state.counters, notes: notesOf(state), recentRequests: deps.source.limiter.recentStarts(), endPage: state.endPage ?? null,
    });
    // If the lock connection died and another process took over, this run's results must not land.
    if (!finished) throw new LockLostError(`run ${state.runId} is no longer running (marked abandoned by another process); its removals and snapshot were discarded`);
  });
  if (status === 'incomplete') deps.logger.warn('sync incomplete: the list looked truncated', { ...state.counters, notes: notesOf(state) });
  else deps.logger.info('sync succeeded', { ...state.counters, durationMs: finishedAt.getTime() - state.startedAt.getTime() });
  return status;
}

function archivedNote(hwids: string[]): string {
  const shown = hwids.slice(0, 10).join(', ');
  return `${hwids.length} devices removed as archived (Device Details still finds them, but the list has not shown them in ${ARCHIVE_AT_MISSES} complete runs): ${shown}${hwids.length > 10 ? ', …' : ''}`;
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
  /** The last page with devices in the previous run's read (the first read only). */
  expectedLastPage?: number | undefined;
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
    ...(pass.expectedLastPage === undefined ? {} : { expectedLastPage: pass.expectedLastPage }),
    ...(pass.lookingFor ? {} : { onListEnd: (page: number) => void (state.endPage = page) }),
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
    // is what failed, or the lock is gone); this loop's error is the one reported.
    if (!state.lockLost.aborted) await writer.flush().catch(() => undefined);
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

/** Confirms the devices the read missed (REMOVAL_CONFIRM), within the removal guard. */
async function decideRemovals(deps: SyncDeps, state: RunState, syncStats: () => void, presentBefore: number): Promise<RemovalDecision> {
  const { db } = deps.database;
  const decision = await confirmRemovals({
    selectMissing: () => selectMissingDevices(db, state.runId),
    reread: (lookingFor) => readPass(deps, state, syncStats, { expected: null, lookingFor }),
    lookup: (hwid, signal) => deps.source.api.fetchDeviceDetails(hwid, signal),
  }, {
    mode: deps.settings.removalConfirm, guardPercent: deps.settings.removalGuardPercent, presentBefore,
    seen: () => state.counters.devicesSeen, rejected: state.rejectedKeys, listCost: state.endPage ?? state.counters.pages + 1,
    concurrency: deps.source.prefetch, logger: deps.logger, ...(deps.signal ? { signal: deps.signal } : {}),
  });
  state.notes.push(...decision.notes);
  return decision;
}

/**
 * Records a failed or cancelled run. The database may be what failed: the row is written
 * through a fresh connection, retried briefly; if it still cannot be written, the next run marks
 * it abandoned, and the original error is the one reported either way.
 */
async function recordFailure(deps: SyncDeps, state: RunState, err: unknown, abandonedRuns: number[], stop: AbortSignal | undefined): Promise<RunSummary> {
  const cancelled = stop?.aborted === true && !state.lockLost.aborted;
  const status = cancelled ? 'cancelled' : 'failed';
  const code = cancelled ? 'CANCELLED' : errorCode(err);
  const message = cancelled ? 'stopped by signal once the pages received were stored' : truncate(redactText(errorMessage(err)), 2000);
  const finishedAt = new Date(deps.clock.now());
  const end = { status, finishedAt, counters: state.counters, errorCode: code, error: message, notes: notesOf(state), recentRequests: deps.source.limiter.recentStarts() } as const;
  for (let attempt = 1; ; attempt++) {
    try {
      await finishRun(deps.database.db, state.runId, end);
      break;
    } catch (recordErr) {
      if (attempt >= 3) {
        deps.logger.error('could not record the run as failed; the next run will mark it abandoned', { error: redactText(errorMessage(recordErr)) });
        break;
      }
      await deps.clock.sleep(1000 * attempt);
    }
  }
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
