import cron from 'node-cron';
import type { RunSummary } from '../jobs/runSync.ts';
import { LockHeldError, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';

export interface SchedulerOptions {
  cron: string;
  timezone: string;
  onStart: boolean;
  runOnce: (trigger: string) => Promise<RunSummary>;
  logger: Logger;
}

export interface SchedulerState {
  running: boolean;
  ticks: number;
  skipped: number;
  lastRun?: { runId: number; status: RunSummary['status']; finishedAt: Date };
}

export interface Scheduler {
  state(): SchedulerState;
  /** Time between the next two ticks: the basis of "the last run is too old". */
  periodMs(): number;
  /** Stops ticking and waits for the run in flight (the caller aborts it first). */
  stop(): Promise<void>;
}

/**
 * Cron ticks → sync runs, never two at once: a tick that finds a run in flight in this process
 * is skipped, and one that finds the database lock held by another process is logged and waits
 * for the next tick. A failed run is logged; the worker keeps going.
 */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const { logger } = options;
  const state: SchedulerState = { running: false, ticks: 0, skipped: 0 };
  let inflight: Promise<void> | undefined;

  const tick = (trigger: string) => {
    state.ticks += 1;
    if (inflight) {
      state.skipped += 1;
      logger.warn('previous run still in progress; skipping this tick');
      return;
    }
    state.running = true;
    inflight = options
      .runOnce(trigger)
      .then(
        (summary) => {
          state.lastRun = { runId: summary.runId, status: summary.status, finishedAt: summary.finishedAt };
        },
        (err: unknown) => {
          if (err instanceof LockHeldError) logger.info('another process holds the run lock; waiting for the next tick');
          else logger.error('scheduled run could not start', { error: errorMessage(err) });
        },
      )
      .finally(() => {
        state.running = false;
        inflight = undefined;
      });
  };

  const task = cron.createTask(options.cron, () => tick('schedule'), {
    name: 'metaaccess-sync',
    timezone: options.timezone,
    logger: {
      info: (m) => logger.debug(`node-cron: ${m}`),
      warn: (m) => logger.warn(`node-cron: ${m}`),
      error: (m) => logger.error(`node-cron: ${String(m)}`),
      debug: (m) => logger.debug(`node-cron: ${String(m)}`),
    },
  });
  // node-cron's start() is async: a rejection must be logged, not left unhandled (which ends Node).
  Promise.resolve(task.start()).catch((err: unknown) =>
    logger.error('scheduler could not start its cron task', { error: errorMessage(err) }),
  );
  logger.info('scheduler started', { cron: options.cron, timezone: options.timezone, nextRun: task.getNextRun()?.toISOString() });
  if (options.onStart) tick('schedule');

  return {
    state: () => ({ ...state }),
    periodMs() {
      const [a, b] = task.getNextRuns(2);
      return a && b ? b.getTime() - a.getTime() : 24 * 3600_000;
    },
    async stop() {
      await task.stop();
      await task.destroy();
      await inflight;
    },
  };
}
