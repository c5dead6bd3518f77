import { describe, expect, it } from 'vitest';
import type { ResumePoint, RunEnd } from '../db/runs.ts';
import { systemClock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { createSilentLogger } from '../lib/logger.ts';
import type { Source } from '../source/createSource.ts';
import type { DevicePage } from '../source/devicesApi.ts';
import { createRateLimiter } from '../source/rateLimiter.ts';
import { createRequestStats } from '../source/sender.ts';
import { runSync } from './runSync.ts';
import type { CompleteRun, RunStore } from './runStore.ts';

/** The run core over fakes: an in-memory run store and a scripted API, no database, no HTTP. */
function fakes(options: { devices: number; failPage?: number; resume?: ResumePoint; handedOn?: number[] }) {
  const stored = new Map<string, number>();
  const journal: number[][] = [];
  const written: { nextPage: number }[] = [];
  const ends: RunEnd[] = [];
  let completed: CompleteRun | undefined;
  const runId = 7;
  const store: RunStore = {
    lock: async () => ({ lost: new AbortController().signal, release: async () => undefined }),
    markAbandoned: async () => [],
    lastRequestTimes: async () => options.handedOn ?? [],
    lastSucceeded: async () => undefined,
    resumePoint: async () => options.resume,
    insertRun: async () => runId,
    countPresent: async () => 0,
    recordRequests: async (_id, times) => void journal.push(times),
    storedIn: async (_attempts, hwids) => hwids.filter((h) => stored.has(h)),
    storedBy: async () => [...stored.keys()],
    writePages: async (prepared, args) => {
      for (const d of prepared.stored) stored.set(d.device.hwid, args.runId);
      written.push({ nextPage: args.nextPage });
      return { stored: prepared.stored, added: prepared.stored.length, changed: 0, rejected: 0 };
    },
    missing: async () => [],
    complete: async (run) => {
      completed = run;
      ends.push(run.end({ removed: 0, archived: [] }));
    },
    finish: async (_id, end) => (ends.push(end), true),
  };
  const pages: number[] = [];
  const source: Source = {
    pageSize: 10,
    prefetch: 3,
    stats: createRequestStats(),
    limiter: createRateLimiter({ limit: 1000, windowMs: 1000, clock: systemClock }),
    api: {
      fetchAccount: async () => ({ devicesUsed: options.devices }),
      fetchDeviceDetails: async () => 'present',
      async fetchDevicePage(page): Promise<DevicePage> {
        pages.push(page);
        if (page === options.failPage) throw new ApiError('API_SERVER_ERROR', `devices page ${page}: server error`, { page, status: 503 });
        const first = (page - 1) * 10;
        const devices = Array.from({ length: Math.max(0, Math.min(10, options.devices - first)) }, (_, i) => ({ hwid: `H${first + i}` }));
        return devices.length ? { kind: 'devices', page, devices } : { kind: 'end', page };
      },
    },
  };
  const sync = () =>
    runSync({
      store,
      source,
      clock: systemClock,
      logger: createSilentLogger(),
      trigger: 'test',
      settings: { removalGuardPercent: 50, removalConfirm: 'lookup', timezone: 'UTC', resumeWithinMs: 3_600_000 },
    });
  return { sync, stored, written, ends, pages, journal, completed: () => completed };
}

describe('runSync over fakes', () => {
  it('a page that keeps failing fails the run, after the pages before it are stored, and records where to resume', async () => {
    const f = fakes({ devices: 100, failPage: 6 });
    const summary = await f.sync();
    expect(summary).toMatchObject({ status: 'failed', errorCode: 'API_SERVER_ERROR' });
    expect(f.stored.size).toBe(50);
    expect(f.written.at(-1)).toEqual({ nextPage: 6 });
    expect(f.completed()).toBeUndefined();
    expect(f.ends).toEqual([expect.objectContaining({ status: 'failed', errorCode: 'API_SERVER_ERROR' })]);
  });

  it('a resumed run reads from the resume page, counts what the earlier attempt stored, and completes over both attempts', async () => {
    const resume: ResumePoint = {
      runId: 5,
      attempts: [5],
      page: 6,
      endPage: null,
      counters: {
        pages: 5,
        requests: 0,
        retries: 0,
        rateLimited: 0,
        rateLimitWaitMs: 0,
        devicesSeen: 50,
        devicesAdded: 50,
        devicesChanged: 0,
        devicesRemoved: 0,
        recordsRejected: 0,
      },
    };
    const f = fakes({ devices: 100, resume });
    for (let i = 0; i < 50; i++) f.stored.set(`H${i}`, 5);
    const summary = await f.sync();
    expect(summary).toMatchObject({ status: 'succeeded', resumed: { runId: 5, page: 6 } });
    expect(Math.min(...f.pages)).toBe(6);
    expect(summary.counters).toMatchObject({ pages: 10, devicesSeen: 100, devicesAdded: 100 });
    expect(f.completed()).toMatchObject({ attempts: [5, 7], trusted: true });
    expect(f.ends.at(-1)).toMatchObject({ status: 'succeeded', endPage: 11 });
  });

  it('puts the window handed on onto its own row before anything else, so a run stopped early does not lose it', async () => {
    const now = Date.now();
    const handedOn = [now - 300, now - 200, now - 100];
    const f = fakes({ devices: 20, handedOn });
    await f.sync();
    expect(f.journal[0]).toEqual(handedOn);
  });
});
