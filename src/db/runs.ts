import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { LockLostError } from '../lib/errors.ts';
import type { Executor } from './openDatabase.ts';
import { syncRuns } from './schema.ts';

export type RunStatus = 'running' | 'succeeded' | 'incomplete' | 'failed' | 'cancelled' | 'abandoned';
export type RunRow = typeof syncRuns.$inferSelect;

export async function insertRun(db: Executor, trigger: string, startedAt: Date): Promise<number> {
  const [row] = await db.insert(syncRuns).values({ trigger, startedAt, status: 'running' }).returning({ id: syncRuns.id });
  return row!.id;
}

/** Runs still `running` when we hold the run lock belong to a process that died. */
export async function markAbandonedRuns(db: Executor, now: Date): Promise<number[]> {
  const rows = await db.update(syncRuns)
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
export async function updateRunCounters(db: Executor, runId: number, counters: RunCounters & { recentRequests?: number[] }): Promise<void> {
  const rows = await db.update(syncRuns).set(counters).where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running'))).returning({ id: syncRuns.id });
  if (rows.length === 0) throw new LockLostError(`run ${runId} is no longer running: another process took the run lock over and marked it abandoned`);
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
  recentRequests?: number[];
}

/**
 * Returns false when the run was no longer `running` (another process marked it abandoned). A
 * failure may also overwrite `abandoned`: the run itself knows better why it stopped.
 */
export async function finishRun(db: Executor, runId: number, end: RunEnd): Promise<boolean> {
  const from: RunStatus[] = end.status === 'failed' || end.status === 'cancelled' ? ['running', 'abandoned'] : ['running'];
  const rows = await db.update(syncRuns).set({
    ...end.counters,
    status: end.status,
    finishedAt: end.finishedAt,
    errorCode: end.errorCode ?? null,
    error: end.error ?? null,
    notes: end.notes ?? null,
    ...(end.endPage === undefined ? {} : { endPage: end.endPage }),
    ...(end.recentRequests ? { recentRequests: end.recentRequests } : {}),
  }).where(and(eq(syncRuns.id, runId), inArray(syncRuns.status, from))).returning({ id: syncRuns.id });
  return rows.length === 1;
}

/** The latest run that read the whole list (succeeded, or incomplete: the guard tripped). */
export async function selectLastCompleteRun(db: Executor): Promise<RunRow | undefined> {
  const [row] = await db.select().from(syncRuns).where(inArray(syncRuns.status, ['succeeded', 'incomplete'])).orderBy(desc(syncRuns.id)).limit(1);
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

export async function selectRun(db: Executor, runId: number): Promise<RunRow | undefined> {
  const [row] = await db.select().from(syncRuns).where(eq(syncRuns.id, runId));
  return row;
}

export async function countRunsByStatus(db: Executor): Promise<Record<string, number>> {
  const rows = await db.select({ status: syncRuns.status, n: sql<number>`count(*)::int` }).from(syncRuns).groupBy(syncRuns.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
