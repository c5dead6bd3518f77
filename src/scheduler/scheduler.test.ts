import { describe, expect, it } from 'vitest';
import { emptyCounters } from '../jobs/runState.ts';
import type { RunSummary } from '../jobs/runSync.ts';
import { LockHeldError } from '../lib/errors.ts';
import { createSilentLogger } from '../lib/logger.ts';
import { startScheduler } from './scheduler.ts';

const summary = (runId: number): RunSummary => ({
  runId,
  trigger: 'test',
  status: 'succeeded',
  startedAt: new Date(),
  finishedAt: new Date(),
  notes: null,
  errorCode: null,
  error: null,
  abandonedRuns: [],
  resumed: null,
  rateLimitWaitMs: 0,
  counters: emptyCounters(),
});

describe('scheduler', () => {
  it('never overlaps runs: ticks during a run are skipped', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const scheduler = startScheduler({
      cron: '* * * * * *',
      timezone: 'UTC',
      onStart: true,
      logger: createSilentLogger(),
      runOnce: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 2300));
        active -= 1;
        return summary(++runs);
      },
    });
    await new Promise((r) => setTimeout(r, 3500));
    await scheduler.stop();
    expect(maxActive).toBe(1);
    expect(scheduler.state().skipped).toBeGreaterThanOrEqual(1);
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(scheduler.periodMs()).toBe(1000);
  });

  it('keeps going after a failed run and when another process holds the lock', async () => {
    const outcomes: Array<() => Promise<RunSummary>> = [
      () => Promise.reject(new LockHeldError('held')),
      () => Promise.reject(new Error('boom')),
      () => Promise.resolve(summary(7)),
    ];
    const scheduler = startScheduler({
      cron: '* * * * * *',
      timezone: 'UTC',
      onStart: true,
      logger: createSilentLogger(),
      runOnce: () => (outcomes.shift() ?? (() => Promise.resolve(summary(8))))(),
    });
    await new Promise((r) => setTimeout(r, 2600));
    await scheduler.stop();
    expect(scheduler.state().lastRun?.runId).toBeGreaterThanOrEqual(7);
  });
});
