import type { RemovalConfirm } from '../config/config.ts';
import type { Database } from '../db/openDatabase.ts';
import type { ResumePoint, RunCounters, RunStatus } from '../db/runs.ts';
import type { Clock } from '../lib/clock.ts';
import { errorCode, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { printableText } from '../lib/printable.ts';
import { redactText } from '../lib/redact.ts';
import type { Source } from '../source/createSource.ts';
import { ARCHIVE_AT_MISSES, confirmRemovals, type RemovalDecision } from './confirmRemovals.ts';
import { readList, type ReadDeps } from './readList.ts';
import { createRunKeys, emptyCounters, type RunState } from './runState.ts';
import { createRunStore, type RunStore } from './runStore.ts';

export interface SyncSettings {
  removalGuardPercent: number;
  removalConfirm: RemovalConfirm;
  timezone: string;
  /** A run interrupted no longer ago than this is resumed (SYNC_RESUME_WITHIN); 0 or unset: always start over. */
  resumeWithinMs?: number;
}

export interface SyncDeps {
  /** Where the run's statements go (or give `store` instead). */
  database?: Database;
  /** The run's statements; by default on `database`. */
  store?: RunStore;
  source: Source;
  clock: Clock;
  logger: Logger;
  settings: SyncSettings;
  trigger: string;
  signal?: AbortSignal;
  /** When stderr is a terminal: progress as one updating line. */
  terminal?: NodeJS.WritableStream;
  /** Runs after a succeeded run, still under the run lock (snapshot retention). */
  afterSucceeded?: () => Promise<void>;
}

export interface RunSummary {
  runId: number;
  trigger: string;
  status: Exclude<RunStatus, 'running' | 'abandoned'>;
  startedAt: Date;
  finishedAt: Date;
  counters: RunCounters;
  notes: string | null;
  errorCode: string | null;
  error: string | null;
  abandonedRuns: number[];
  /** The interrupted run this one continued, and the page it started at. */
  resumed: { runId: number; page: number } | null;
  /** Time this run's requests waited for a rate-limiter slot. */
  rateLimitWaitMs: number;
}

/**
 * One logical sync: lock → run row (resuming an interrupted run when there is one) → every page
 * (one transaction per group) → confirm removals → snapshot, daily figures and the row, in one
 * transaction. A failure leaves the run `failed` (or `cancelled`), removes nothing and adds no
 * snapshot; the next run within SYNC_RESUME_WITHIN continues it from its first uncommitted page.
 */
export async function runSync(deps: SyncDeps): Promise<RunSummary> {
  const store = deps.store ?? (deps.database ? createRunStore(deps.database) : undefined);
  if (!store) throw new TypeError('runSync needs a database or a run store');
  const lock = await store.lock();
  try {
    const startedAt = new Date(deps.clock.now());
    const abandonedRuns = await store.markAbandoned(startedAt);
    const resume = await store.resumePoint(startedAt, deps.settings.resumeWithinMs ?? 0);
    // Runs share the account's budget: carry on the window where the last run (maybe another
    // process, maybe killed) left it; every request's time is on its row before it is sent.
    deps.source.limiter.preload(await store.lastRequestTimes());
    const runId = await store.insertRun(deps.trigger, startedAt, resume);
    // The window handed on goes onto the new row at once: a run stopped before its first request
    // (which may wait most of a window) must not leave the next one an empty window.
    await store.recordRequests(runId, deps.source.limiter.recentStarts());
    deps.source.limiter.setJournal((times) => store.recordRequests(runId, times));
    const logger = deps.logger.child({ runId });
    if (abandonedRuns.length) logger.warn('marked runs abandoned', { abandonedRuns });
    const state = await startState(store, runId, startedAt, resume, lock.lost);
    if (resume) logger.info('resuming an interrupted run', { resumedFrom: resume.runId, page: resume.page });
    const waitedBefore = deps.source.limiter.waitedMs;
    const requestsBefore = { ...deps.source.stats };
    const syncStats = () => {
      state.counters.requests = deps.source.stats.requests - requestsBefore.requests;
      state.counters.retries = deps.source.stats.retries - requestsBefore.retries;
      state.counters.rateLimited = deps.source.stats.rateLimited - requestsBefore.rateLimited;
      state.counters.rateLimitWaitMs = Math.round(deps.source.limiter.waitedMs - waitedBefore);
    };
    // A lost lock stops the run's requests at once, like a stop signal (but is recorded as a failure).
    const signal = deps.signal ? AbortSignal.any([deps.signal, lock.lost]) : lock.lost;
    const run: RunContext = { ...deps, store, logger, signal, syncStats, resume };
    const outcome = await executeRun(run, state).catch(async (err: unknown) => {
      syncStats();
      return recordFailure(run, state, lock.lost.aborted ? lock.lost.reason : err, deps.signal);
    });
    if (outcome.status === 'succeeded') await deps.afterSucceeded?.();
    return {
      runId,
      trigger: deps.trigger,
      status: outcome.status,
      startedAt,
      finishedAt: outcome.finishedAt,
      counters: { ...state.counters },
      notes: notesOf(state),
      errorCode: 'errorCode' in outcome ? outcome.errorCode : null,
      error: 'error' in outcome ? outcome.error : null,
      abandonedRuns,
      resumed: resume ? { runId: resume.runId, page: resume.page } : null,
      rateLimitWaitMs: state.counters.rateLimitWaitMs,
    };
  } finally {
    deps.source.limiter.setJournal(undefined);
    await lock.release();
  }
}

interface RunContext extends Omit<SyncDeps, 'signal'>, ReadDeps {
  store: RunStore;
  resume: ResumePoint | undefined;
}

/** A fresh run's state, or one that carries on an interrupted run's pages, devices and figures. */
async function startState(
  store: RunStore,
  runId: number,
  startedAt: Date,
  resume: ResumePoint | undefined,
  lockLost: AbortSignal,
): Promise<RunState> {
  const attempts = [...(resume?.attempts ?? []), runId];
  const state: RunState = {
    runId,
    attempts,
    startedAt,
    counters: resume ? { ...resume.counters } : emptyCounters(),
    notes: [],
    lockLost,
    keys: createRunKeys((hwids) => store.storedIn(attempts, hwids)),
    endPage: resume?.endPage ?? undefined,
    nextPage: resume?.page ?? 1,
  };
  if (resume) {
    state.keys.preload(await store.storedBy(resume.attempts));
    state.notes.push(`resumed run ${resume.runId} from page ${resume.page}`);
  }
  return state;
}

async function executeRun(run: RunContext, state: RunState): Promise<{ status: 'succeeded' | 'incomplete'; finishedAt: Date }> {
  const previous = await run.store.lastSucceeded();
  const presentBefore = await run.store.countPresent();
  run.logger.info('sync started', { trigger: run.trigger, expectedDevices: previous?.devicesSeen ?? null, presentDevices: presentBefore });
  const expected = previous?.devicesSeen ?? (await estimateDevices(run));
  const expectedLastPage = previous?.endPage
    ? previous.endPage - 1
    : expected === null
      ? undefined
      : Math.ceil(expected / run.source.pageSize);
  const startPage = state.nextPage;
  await readList(run, state, { expected, expectedLastPage, startPage });
  if (run.resume && run.resume.endPage === null && state.endPage === startPage) {
    // The list now ends where the interrupted run meant to go on: it shrank under the resume
    // point, so read it again from the start (devices already stored are not counted twice).
    run.logger.warn('the list ends before the resume page; reading it again from page 1', { resumePage: startPage });
    state.notes.push(`the list ended before resume page ${startPage}; read again from page 1`);
    await readList(run, state, { expected, expectedLastPage, startPage: 1 });
  }
  run.terminal?.write('\n');
  const decision = await decideRemovals(run, state, presentBefore);
  run.syncStats();
  const finishedAt = new Date(run.clock.now());
  state.lockLost.throwIfAborted();
  const status = decision.trusted ? 'succeeded' : 'incomplete';
  await run.store.complete({
    runId: state.runId,
    attempts: state.attempts,
    finishedAt,
    timezone: run.settings.timezone,
    trusted: decision.trusted,
    rule: decision.trusted ? decision.rule : undefined,
    end: (done) => {
      // The change log's figures: they count what runs that did not succeed changed, too.
      state.counters.devicesRemoved = done.history?.removed ?? done.removed;
      if (done.history) {
        state.counters.devicesAdded = done.history.added;
        state.counters.devicesChanged = done.history.changed;
      }
      if (done.archived.length) state.notes.push(archivedNote(done.archived));
      return { status, finishedAt, counters: state.counters, notes: notesOf(state), endPage: state.endPage ?? null };
    },
  });
  if (status === 'incomplete') run.logger.warn('sync incomplete: the list looked truncated', { ...state.counters, notes: notesOf(state) });
  else run.logger.info('sync succeeded', { ...state.counters, durationMs: finishedAt.getTime() - state.startedAt.getTime() });
  return { status, finishedAt };
}

/**
 * A first run has no previous end to prefetch up to: one Account request estimates the list's
 * length (licensed devices), so a burst of requests past the end is not spent on nothing. Only
 * an estimate: never a reason to stop reading.
 */
const ESTIMATE_ONLY_ERRORS = new Set(['API_HTTP_ERROR', 'API_BAD_BODY']);

async function estimateDevices(run: RunContext): Promise<number | null> {
  try {
    const { devicesUsed } = await run.source.api.fetchAccount(run.signal);
    run.logger.info('account estimate', { devicesUsed: devicesUsed ?? null });
    return devicesUsed ?? null;
  } catch (err) {
    // An endpoint this tenant lacks, or an odd body, only costs the estimate; anything else
    // (credentials, the host) would fail the first page the same way, so it fails the run now.
    if (!ESTIMATE_ONLY_ERRORS.has(errorCode(err))) throw err;
    run.logger.warn('account estimate failed; the first read prefetches without a horizon', { error: errorMessage(err) });
    return null;
  }
}

function archivedNote(hwids: string[]): string {
  const shown = hwids
    .slice(0, 10)
    .map((hwid) => printableText(hwid, 64))
    .join(', ');
  return `${hwids.length} devices removed as archived (Device Details still finds them, but the list has not shown them in ${ARCHIVE_AT_MISSES} complete runs): ${shown}${hwids.length > 10 ? ', …' : ''}`;
}

/** Confirms the devices the read missed (REMOVAL_CONFIRM), within the removal guard. */
async function decideRemovals(run: RunContext, state: RunState, presentBefore: number): Promise<RemovalDecision> {
  const decision = await confirmRemovals(
    {
      selectMissing: () => run.store.missing(state.attempts),
      reread: (lookingFor) => readList(run, state, { expected: null, lookingFor }),
      lookup: (hwid, signal) => run.source.api.fetchDeviceDetails(hwid, signal),
    },
    {
      mode: run.settings.removalConfirm,
      guardPercent: run.settings.removalGuardPercent,
      presentBefore,
      seen: () => state.counters.devicesSeen,
      listCost: state.endPage ?? state.counters.pages + 1,
      concurrency: run.source.prefetch,
      logger: run.logger,
      signal: run.signal,
    },
  );
  state.notes.push(...decision.notes);
  return decision;
}

/**
 * Records a failed or cancelled run. The database may be what failed: the row is written
 * through a fresh connection, retried briefly; if it still cannot be written, the next run marks
 * it abandoned, and the original error is the one reported either way.
 */
async function recordFailure(run: RunContext, state: RunState, err: unknown, stop: AbortSignal | undefined) {
  const cancelled = stop?.aborted === true && !state.lockLost.aborted;
  const status = cancelled ? ('cancelled' as const) : ('failed' as const);
  const code = cancelled ? 'CANCELLED' : errorCode(err);
  const message = cancelled ? 'stopped by signal once the pages received were stored' : printableText(redactText(errorMessage(err)), 2000);
  const finishedAt = new Date(run.clock.now());
  const end = {
    status,
    finishedAt,
    counters: state.counters,
    errorCode: code,
    error: message,
    notes: notesOf(state),
    endPage: state.endPage ?? null,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await run.store.finish(state.runId, end);
      break;
    } catch (recordErr) {
      if (attempt >= 3) {
        run.logger.error('could not record the run as failed; the next run will mark it abandoned', {
          error: redactText(errorMessage(recordErr)),
        });
        break;
      }
      await run.clock.sleep(1000 * attempt);
    }
  }
  if (cancelled) run.logger.warn('sync cancelled', { ...state.counters });
  else run.logger.error('sync failed', { errorCode: code, error: message, ...state.counters });
  return { status, finishedAt, errorCode: code, error: message };
}

function notesOf(state: RunState): string | null {
  return state.notes.length ? state.notes.join('; ') : null;
}
