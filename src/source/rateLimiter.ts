import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { systemClock } from '../lib/clock.ts';

/**
 * Every request to the account — page fetches, retries and token requests — takes a slot here
 * before it is sent. Two gates:
 * 1. p-queue in strict mode, a true sliding window over grant times (its default fixed window
 *    can burst to 2× the limit at a boundary);
 * 2. the same window over the times requests actually left the process: a grant is only a
 *    promise to send, and a busy event loop or a new connection can delay the send, so a
 *    request that went out late pushes back the one that would follow it a window later.
 * The server counts arrivals; the second gate is what keeps its count under the limit.
 */
export interface Permit {
  /** Call when the request has been written to the socket. */
  sent(): void;
}

export interface RateLimiter {
  /** Resolves when a request may start now; rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<Permit>;
  /** Total time callers spent waiting for a slot, in ms. */
  readonly waitedMs: number;
  /** Requests waiting for a slot right now. */
  readonly queued: number;
  /** Start times (epoch ms) of the last `limit` requests, to hand the window on to the next run. */
  recentStarts(): number[];
  /** Continue a window begun elsewhere (the previous run): these starts count against the next requests. */
  preload(epochStarts: number[]): void;
  /**
   * The server refused a request this limiter let through: its clock or its count differs from
   * ours by more than the margin. Doubles the margin (up to 5% of the window) from now on.
   */
  widenMargin(): void;
  /** The margin now in force, in ms. */
  readonly marginMs: number;
}

export interface RateLimiterOptions {
  limit: number;
  windowMs: number;
  /** Extra spacing added to the window for clock and network jitter. Default: 1% of the window, 20 ms..1 s. */
  marginMs?: number;
  now?: () => number;
}

export function defaultMarginMs(windowMs: number): number {
  return Math.min(1000, Math.max(20, Math.ceil(windowMs * 0.01)));
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const now = options.now ?? (() => performance.now());
  let marginMs = options.marginMs ?? defaultMarginMs(options.windowMs);
  const maxMarginMs = Math.max(marginMs, Math.ceil(options.windowMs * 0.05));
  // p-queue keeps the margin it started with; the second gate below applies any widening.
  const queue = new PQueue({ concurrency: Number.POSITIVE_INFINITY, intervalCap: options.limit, interval: options.windowMs + marginMs, strict: true });
  /** Effective start time of recent grants by sequence number: the send time once known. */
  const startedAt = new Map<number, number>();
  let sequence = 0;
  let waitedMs = 0;
  const epochOffset = Date.now() - now();

  async function acquire(signal?: AbortSignal): Promise<Permit> {
    const queuedAt = now();
    // The task itself is empty: holding the slot is the point, the request runs outside the queue.
    await queue.add(() => undefined, signal ? { signal } : {});
    const seq = sequence++;
    startedAt.delete(seq - options.limit - 1);
    const previous = startedAt.get(seq - options.limit);
    const wait = previous === undefined ? 0 : previous + options.windowMs + marginMs - now();
    try {
      if (wait > 0) await systemClock.sleep(wait, signal);
    } finally {
      // Aborted while waiting: the slot was taken from p-queue's count, so it stays taken here too.
      // Leaving it unset would let the request `limit` places later skip this gate entirely.
      startedAt.set(seq, now());
    }
    waitedMs += now() - queuedAt;
    return { sent: () => void startedAt.set(seq, Math.max(startedAt.get(seq) ?? 0, now())) };
  }

  return {
    acquire,
    recentStarts: () => [...startedAt.entries()]
      .filter(([seq]) => seq >= sequence - options.limit)
      .map(([, t]) => Math.round(t + epochOffset)),
    preload(epochStarts) {
      const recent = epochStarts.filter(Number.isFinite).sort((a, b) => a - b).slice(-options.limit);
      recent.forEach((t, i) => startedAt.set(sequence - recent.length + i, t - epochOffset));
    },
    widenMargin() {
      marginMs = Math.min(maxMarginMs, marginMs * 2);
    },
    get marginMs() {
      return marginMs;
    },
    get waitedMs() {
      return waitedMs;
    },
    get queued() {
      return queue.size;
    },
  };
}

/** Many requests share one run signal; lift Node's listener warning for it. */
export function allowManyListeners(signal: AbortSignal): void {
  setMaxListeners(0, signal);
}
