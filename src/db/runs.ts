import { and, desc, eq, inArray, or, sql } from 'drizzle-orm';
import { LockLostError } from '../lib/errors.ts';
import type { Executor } from './openDatabase.ts';
import { syncRuns } from './schema.ts';

export type RunStatus = 'running' | 'succeeded' | 'incomplete' | 'failed' | 'cancelled' | 'abandoned';
export type RunRow = typeof syncRuns.$inferSelect;

/** Where an interrupted run stopped: a new run continues the same logical sync from there. */
export interface ResumePoint {
  /** The interrupted run. */
  runId: number;
  /** Every run of the logical sync so far (the first attempt, and each resume). */
  attempts: number[];
  /** Its first page not committed. */
  page: number;
  /** Its counters so far (device figures carry over; request figures are each run's own). */
  counters: RunCounters;
  /** Where the list ended, if it got that far. */
  endPage: number | null;
}

export async function insertRun(db: Executor, trigger: string, startedAt: Date, resume?: ResumePoint): Promise<number> {
  const [row] = await db
    .insert(syncRuns)
    .values({
      trigger,
      startedAt,
      status: 'running',
      ...(resume ? { attemptOf: resume.attempts[0], resumedFrom: resume.runId, resumePage: resume.page, nextPage: resume.page } : {}),
    })
    .returning({ id: syncRuns.id });
  return row!.id;
}

/**
 * The latest run, if it was interrupted (failed, cancelled or abandoned) after committing at least
 * one page and stopped no longer than `withinMs` ago: the next run resumes it.
 */
export async function selectResumePoint(db: Executor, now: Date, withinMs: number): Promise<ResumePoint | undefined> {
  if (withinMs <= 0) return undefined;
  const [last] = await db.select().from(syncRuns).orderBy(desc(syncRuns.id)).limit(1);
  if (!last || !['failed', 'cancelled', 'abandoned'].includes(last.status) || !last.nextPage || last.nextPage <= 1) return undefined;
  // An abandoned run's finished_at is when the next run found it dead, not when it stopped: its
  // last request tells that better.
  const stoppedAt =
    last.status === 'abandoned'
      ? Math.max(last.startedAt.getTime(), ...(last.recentRequests ?? []).filter(Number.isFinite))
      : (last.finishedAt ?? last.startedAt).getTime();
  if (now.getTime() - stoppedAt > withinMs) return undefined;
  const root = last.attemptOf ?? last.id;
  const attempts = await db
    .select({ id: syncRuns.id })
    .from(syncRuns)
    .where(or(eq(syncRuns.id, root), eq(syncRuns.attemptOf, root)))
    .orderBy(syncRuns.id);
  return {
    runId: last.id,
    attempts: attempts.map((a) => a.id),
    page: last.nextPage,
    endPage: last.endPage,
    counters: {
      pages: last.pages,
      requests: 0,
      retries: 0,
      rateLimited: 0,
      rateLimitWaitMs: 0,
      devicesSeen: last.devicesSeen,
      devicesAdded: last.devicesAdded,
      devicesChanged: last.devicesChanged,
      devicesRemoved: 0,
      recordsRejected: last.recordsRejected,
    },
  };
}

/**
 * The rate window, made durable before each request is sent: the next run, in any process,
 * continues it. Fenced like a page: a run that another process marked abandoned (it lost its
 * lock) sends no further request.
 */
export async function updateRunRequests(db: Executor, runId: number, recentRequests: number[]): Promise<void> {
  const rows = await db
    .update(syncRuns)
    .set({ recentRequests })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running')))
    .returning({ id: syncRuns.id });
  if (rows.length === 0)
    throw new LockLostError(`run ${runId} is no longer running: another process took the run lock over and marked it abandoned`);
}

/** Runs still `running` when we hold the run lock belong to a process that died. */
export async function markAbandonedRuns(db: Executor, now: Date): Promise<number[]> {
  const rows = await db
    .update(syncRuns)
    .set({ status: 'abandoned', finishedAt: now, errorCode: 'ABANDONED', error: 'the process running it stopped before it finished' })
    .where(eq(syncRuns.status, 'running'))
    .returning({ id: syncRuns.id });
  return rows.map((r) => r.id);
}

export interface RunCounters {
  pages: number;
  requests: number;
  retries: number;
  rateLimited: number;
  /** Wall time during which at least one request waited for a rate-limit slot. */
  rateLimitWaitMs: number;
  devicesSeen: number;
  devicesAdded: number;
  devicesChanged: number;
  devicesRemoved: number;
  recordsRejected: number;
}

/**
 * Written in every page's transaction, and the fence of the run lock: the row must still be
 * `running`. A process that takes the lock over marks it `abandoned` first, so a run that lost
 * its lock finds out here, and its page rolls back instead of landing beside the new run's.
 */
export async function updateRunCounters(db: Executor, runId: number, counters: RunCounters & { nextPage?: number }): Promise<void> {
  const rows = await db
    .update(syncRuns)
    .set(counters)
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running')))
    .returning({ id: syncRuns.id });
  if (rows.length === 0)
    throw new LockLostError(`run ${runId} is no longer running: another process took the run lock over and marked it abandoned`);
}

export interface RunEnd {
  status: Exclude<RunStatus, 'running' | 'abandoned'>;
  finishedAt: Date;
  /** The page that ended the list, for the next run's prefetch horizon. */
  endPage?: number | null;
  counters: RunCounters;
  errorCode?: string | null;
  error?: string | null;
  notes?: string | null;
}

/**
 * Returns false when the run was no longer `running` (another process marked it abandoned). A
 * failure may also overwrite `abandoned`: the run itself knows better why it stopped.
 */
export async function finishRun(db: Executor, runId: number, end: RunEnd): Promise<boolean> {
  const from: RunStatus[] = end.status === 'failed' || end.status === 'cancelled' ? ['running', 'abandoned'] : ['running'];
  const rows = await db
    .update(syncRuns)
    .set({
      ...end.counters,
      status: end.status,
      finishedAt: end.finishedAt,
      errorCode: end.errorCode ?? null,
      error: end.error ?? null,
      notes: end.notes ?? null,
      ...(end.endPage === undefined ? {} : { endPage: end.endPage }),
    })
    .where(and(eq(syncRuns.id, runId), inArray(syncRuns.status, from)))
    .returning({ id: syncRuns.id });
  return rows.length === 1;
}

/** The latest run that read the whole list (succeeded, or incomplete: the guard tripped). */
export async function selectLastCompleteRun(db: Executor): Promise<RunRow | undefined> {
  const [row] = await db
    .select()
    .from(syncRuns)
    .where(inArray(syncRuns.status, ['succeeded', 'incomplete']))
    .orderBy(desc(syncRuns.id))
    .limit(1);
  return row;
}

export async function selectLastSucceededRun(db: Executor): Promise<RunRow | undefined> {
  const [row] = await db.select().from(syncRuns).where(eq(syncRuns.status, 'succeeded')).orderBy(desc(syncRuns.id)).limit(1);
  return row;
}

/** The request times the latest run left behind, so a new run does not start a fresh window. */
export async function selectLastRequestTimes(db: Executor): Promise<number[]> {
  const [row] = await db.select({ times: syncRuns.recentRequests }).from(syncRuns).orderBy(desc(syncRuns.id)).limit(1);
  return row?.times ?? [];
}

export async function selectRecentRuns(db: Executor, limit: number): Promise<RunRow[]> {
  return db.select().from(syncRuns).orderBy(desc(syncRuns.id)).limit(limit);
}

export async function countRunsByStatus(db: Executor): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: syncRuns.status, n: sql<number>`count(*)::int` })
    .from(syncRuns)
    .groupBy(syncRuns.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
