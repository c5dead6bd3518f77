import type { Clock } from './clock.ts';

/**
 * A Clock for tests: time stands still until the test moves it, and each sleeper wakes at its
 * own deadline, in deadline order, with the promise jobs it triggers run before the next one
 * wakes. A rate window of a minute then takes microseconds, and its figures are exact.
 */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, waking every sleeper whose deadline falls within it. */
  advance(ms: number): Promise<void>;
  /** Moves time to the earliest deadline and wakes it; false when nobody sleeps. */
  next(): Promise<boolean>;
  /**
   * Moves time from deadline to deadline until `promise` settles, and returns its outcome.
   * Throws when nobody sleeps and the promise is still pending: it would wait forever.
   */
  run<T>(promise: Promise<T>): Promise<T>;
  /** Sleepers not yet woken. */
  readonly sleepers: number;
}

interface Sleeper {
  at: number;
  seq: number;
  wake(): void;
}

/** Lets pending promise jobs (and what they chain) run: one macrotask turn drains them all. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function createFakeClock(startMs = Date.parse('2026-01-01T00:00:00Z')): FakeClock {
  let now = startMs;
  let seq = 0;
  const sleepers: Sleeper[] = [];

  function earliest(): Sleeper | undefined {
    let first: Sleeper | undefined;
    for (const s of sleepers) if (!first || s.at < first.at || (s.at === first.at && s.seq < first.seq)) first = s;
    return first;
  }

  function wakeOne(sleeper: Sleeper): void {
    sleepers.splice(sleepers.indexOf(sleeper), 1);
    now = Math.max(now, sleeper.at);
    sleeper.wake();
  }

  const clock: FakeClock = {
    now: () => now,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (!(ms > 0)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = sleepers.indexOf(sleeper);
          if (i >= 0) sleepers.splice(i, 1);
          reject(signal!.reason);
        };
        const sleeper: Sleeper = {
          at: now + ms,
          seq: seq++,
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        sleepers.push(sleeper);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async advance(ms) {
      const target = now + Math.max(0, ms);
      await flushPromises();
      for (let s = earliest(); s && s.at <= target; s = earliest()) {
        wakeOne(s);
        await flushPromises();
      }
      now = target;
      await flushPromises();
    },
    async next() {
      await flushPromises();
      const s = earliest();
      if (!s) return false;
      wakeOne(s);
      await flushPromises();
      return true;
    },
    async run(promise) {
      let settled = false;
      const watched = promise.finally(() => void (settled = true));
      // Marked handled here: the caller gets the rejection from the returned promise.
      watched.catch(() => undefined);
      await flushPromises();
      while (!settled) {
        if (!(await clock.next())) {
          await flushPromises();
          if (!settled) throw new Error(`fake clock: the promise is still pending at ${now} and nobody sleeps (it would wait forever)`);
        }
      }
      return watched;
    },
    get sleepers() {
      return sleepers.length;
    },
  };
  return clock;
}
