import PQueue from 'p-queue';

/**
 * Every request to the account — page fetches, retries and token requests — takes a slot here
 * before it is sent. p-queue's strict mode is a true sliding window: at most `limit` starts in
 * any `windowMs`, where its default fixed window can burst to 2× at a boundary.
 */
export interface RateLimiter {
  /** Resolves when a request may start now; rejects with the signal's reason if aborted while queued. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Total time callers spent waiting for a slot, in ms. */
  readonly waitedMs: number;
  /** Requests waiting for a slot right now. */
  readonly queued: number;
}

export interface RateLimiterOptions {
  limit: number;
  windowMs: number;
  /**
   * Extra spacing added to the window. The server counts arrivals, we count starts; the margin
   * absorbs dispatch and network jitter between the two. Default: 1% of the window, 20 ms..1 s.
   */
  marginMs?: number;
  now?: () => number;
}

export function defaultMarginMs(windowMs: number): number {
  return Math.min(1000, Math.max(20, Math.ceil(windowMs * 0.01)));
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const queue = new PQueue({
    concurrency: Number.POSITIVE_INFINITY,
    intervalCap: options.limit,
    interval: options.windowMs + (options.marginMs ?? defaultMarginMs(options.windowMs)),
    strict: true,
  });
  let waitedMs = 0;
  return {
    async acquire(signal) {
      const queuedAt = now();
      // The task itself is empty: holding the slot is the point, the request runs outside the queue.
      await queue.add(() => undefined, signal ? { signal } : {});
      waitedMs += now() - queuedAt;
    },
    get waitedMs() {
      return waitedMs;
    },
    get queued() {
      return queue.size;
    },
  };
}
