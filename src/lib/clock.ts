/** Time as a dependency, so rate windows, backoff and ETAs can be tested without real minutes. */
// Properties, not methods: a clock's functions use no `this`, so `clock.sleep` may be passed on alone.
export interface Clock {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort() {
        clearTimeout(timer);
        reject(signal!.reason);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Real time moved by a fixed offset: `demo --days` runs each simulated night's sync on the day it
 * stands for. Time still passes and sleeps are real, so rate windows, backoff and timeouts behave
 * as on any night; only the dates written (runs, snapshots, removals) are shifted.
 */
export function shiftedClock(offsetMs: number, base: Clock = systemClock): Clock {
  return { now: () => base.now() + offsetMs, sleep: (ms, signal) => base.sleep(ms, signal) };
}
