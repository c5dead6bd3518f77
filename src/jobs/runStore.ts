import {
  analyzeDevices,
  countPresentDevices,
  markMissingDevices,
  selectMissingDevices,
  type MissingDevice,
  type RemovalRule,
} from '../db/devicesStore.ts';
import { tryAcquireRunLock, type HeldLock } from '../db/locks.ts';
import type { Database } from '../db/openDatabase.ts';
import { ensureSnapshotPartitions } from '../db/partitions.ts';
import { selectHwidsOfRuns, selectHwidsStoredInRun } from '../db/runDevices.ts';
import {
  finishRun,
  insertRun,
  markAbandonedRuns,
  selectLastRequestTimes,
  selectLastSucceededRun,
  selectResumePoint,
  updateRunRequests,
  type ResumePoint,
  type RunCounters,
  type RunEnd,
  type RunRow,
} from '../db/runs.ts';
import { recordRunHistory, type RunHistory } from '../db/historyStore.ts';
import { insertRunSnapshots, upsertComplianceDaily } from '../db/snapshotsStore.ts';
import { dayIn } from '../lib/calendar.ts';
import { LockLostError } from '../lib/errors.ts';
import { writePages, type PageOutcome, type PreparedPages } from './storePages.ts';

/** What the success transaction did, for the run row. */
export interface Completed {
  removed: number;
  archived: string[];
  /** From the change log; absent when the run was not trusted (nothing logged). */
  history?: RunHistory;
}

/** How a complete run ends: removals (if the guard allowed them), snapshot, daily figures, change log, the row. */
export interface CompleteRun {
  runId: number;
  /** Every run of the logical sync (this one, and the attempts it resumed). */
  attempts: number[];
  finishedAt: Date;
  /** SYNC_TIMEZONE: the run's day is the day there on which it finished. */
  timezone: string;
  /** False: the guard tripped, so nothing is removed and no snapshot is added (status `incomplete`). */
  trusted: boolean;
  /** The removal rule, when devices were missing. */
  rule?: RemovalRule | undefined;
  /** The row's final content, given what the removals did. */
  end: (done: Completed) => RunEnd;
}

/**
 * Every statement a sync run makes, behind one seam (as pg-boss routes its SQL): the run job
 * speaks to this interface, so it can be unit-tested with a fake and read without the SQL.
 */
export interface RunStore {
  lock(): Promise<HeldLock>;
  markAbandoned(now: Date): Promise<number[]>;
  lastRequestTimes(): Promise<number[]>;
  lastSucceeded(): Promise<RunRow | undefined>;
  resumePoint(now: Date, withinMs: number): Promise<ResumePoint | undefined>;
  insertRun(trigger: string, startedAt: Date, resume?: ResumePoint): Promise<number>;
  countPresent(): Promise<number>;
  /** The rate window, durable before a request is sent. */
  recordRequests(runId: number, times: number[]): Promise<void>;
  /** Of these hwids, which the sync already stored. */
  storedIn(attempts: number[], hwids: string[]): Promise<string[]>;
  /** What earlier attempts stored (a resumed run must not take them for new). */
  storedBy(attempts: number[]): Promise<string[]>;
  writePages(prepared: PreparedPages, args: { runId: number; now: Date; counters: RunCounters; nextPage: number }): Promise<PageOutcome>;
  missing(attempts: number[]): Promise<MissingDevice[]>;
  /** In one transaction; throws LockLostError when the row is no longer `running`. */
  complete(run: CompleteRun): Promise<void>;
  finish(runId: number, end: RunEnd): Promise<boolean>;
}

export function createRunStore(database: Database): RunStore {
  const { db } = database;
  return {
    lock: () => tryAcquireRunLock(database),
    markAbandoned: (now) => markAbandonedRuns(db, now),
    lastRequestTimes: () => selectLastRequestTimes(db),
    lastSucceeded: () => selectLastSucceededRun(db),
    resumePoint: (now, withinMs) => selectResumePoint(db, now, withinMs),
    insertRun: (trigger, startedAt, resume) => insertRun(db, trigger, startedAt, resume),
    countPresent: () => countPresentDevices(db),
    recordRequests: (runId, times) => updateRunRequests(db, runId, times),
    storedIn: (attempts, hwids) => selectHwidsStoredInRun(db, attempts, hwids),
    storedBy: (attempts) => selectHwidsOfRuns(db, attempts),
    writePages: (prepared, args) => writePages(database, prepared, args),
    missing: (attempts) => selectMissingDevices(db, attempts),
    finish: (runId, end) => finishRun(db, runId, end),
    async complete(run) {
      const { finishedAt, attempts, runId } = run;
      const day = dayIn(finishedAt, run.timezone);
      // Outside the transaction: a new partition locks the snapshots table, which must last an instant.
      if (run.trusted) await ensureSnapshotPartitions(db, day);
      // Fresh statistics before the statements that pick this run's devices: the planner
      // otherwise estimates "last_run_id = this run" at one row (no device had it at the last
      // ANALYZE) and nests loops over every device, a plan that slows with every device added.
      if (run.trusted) await analyzeDevices(db);
      return db.transaction(async (tx) => {
        let done: Completed = { removed: 0, archived: [] };
        if (run.trusted) {
          if (run.rule) done = await markMissingDevices(tx, attempts, finishedAt, run.rule);
          await insertRunSnapshots(tx, runId, finishedAt, day, attempts);
          await upsertComplianceDaily(tx, runId, finishedAt, day, attempts);
          done.history = await recordRunHistory(tx, { runId, attempts, finishedAt, day });
        }
        const end = run.end(done);
        // If the lock connection died and another process took over, this run's results must not land.
        if (!(await finishRun(tx, run.runId, end))) {
          throw new LockLostError(
            `run ${run.runId} is no longer running (marked abandoned by another process); its removals and snapshot were discarded`,
          );
        }
      });
    },
  };
}
