import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { systemClock } from '../lib/clock.ts';

/**
 * Every request to the account — page fetches, retries and token requests — takes a slot here
 * before it is sent. Slots are granted one at a time, in order (a p-queue of concurrency 1), and
 * the n-th may start only a window plus a margin after the (n − limit)-th *arrived at the server*:
 * a strict sliding window over arrivals, which is what the server counts.
 *
 * We cannot see arrivals, so each request's arrival is bounded from what we do see:
 * - on a reused connection, by the time the request was written to the socket;
 * - on a new connection, the server may count it later (handshake, a server busy accepting a
 *   burst of connections: 50 ms seen against a cold simulator), so by when its answer arrived,
 *   at most the widest margin after the write. That costs at most one such delay per burst of
 *   new connections, not one per window.
 * The margin covers the rest (network jitter); a 429 the limiter let through widens it.
 */
export interface Permit {
  /** Call when the request has been written to the socket; `reusedSocket` false for a new connection. */
  sent(info?: { reusedSocket?: boolean }): void;
  /** Call when the response (or an error) came back. */
  answered(): void;
}

export interface RateLimiter {
  /** Requests allowed per window. */
  readonly limit: number;
  /** Resolves when a request may start now; rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<Permit>;
  /** Total time callers spent waiting for a slot, in ms. */
  readonly waitedMs: number;
  /** Requests waiting for a slot right now. */
  readonly queued: number;
  /** Latest possible arrival times (epoch ms) of the last `limit` requests, to hand the window on to the next run. */
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

/** One granted request, in the limiter's own clock. */
interface Slot {
  grantedAt: number;
  sentAt?: number;
  newConnection?: boolean;
  answeredAt?: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const { limit, windowMs } = options;
  let marginMs = options.marginMs ?? defaultMarginMs(windowMs);
  const maxMarginMs = Math.max(marginMs, Math.ceil(windowMs * 0.05));
  const queue = new PQueue({ concurrency: 1 });
  /** The last `limit` slots, oldest first. */
  const recent: Slot[] = [];
  let waitedMs = 0;
  const epochOffset = Date.now() - now();

  /** The latest time the server may have counted this request's arrival. */
  function arrivalBound(slot: Slot): number {
    const sent = Math.max(slot.grantedAt, slot.sentAt ?? 0);
    if (!slot.newConnection) return sent;
    return Math.min(slot.answeredAt ?? Number.POSITIVE_INFINITY, sent + maxMarginMs);
  }

  /** Runs alone (concurrency 1): waits until the slot `limit` places back has left the window. */
  async function grant(signal?: AbortSignal): Promise<Slot> {
    for (;;) {
      const oldest = recent.length >= limit ? recent[recent.length - limit] : undefined;
      // Re-checked after each sleep: a late send or a new connection can push the bound back.
      const wait = oldest ? arrivalBound(oldest) + windowMs + marginMs - now() : 0;
      if (wait <= 0) break;
      await systemClock.sleep(Math.ceil(wait), signal);
    }
    const slot: Slot = { grantedAt: now() };
    recent.push(slot);
    if (recent.length > limit) recent.shift();
    return slot;
  }

  async function acquire(signal?: AbortSignal): Promise<Permit> {
    const queuedAt = now();
    // Aborted while queued or waiting: no slot is taken, nothing was sent.
    const slot = await queue.add(() => grant(signal), signal ? { signal } : {});
    waitedMs += now() - queuedAt;
    return {
      sent: (info) => {
        slot.sentAt = now();
        if (info?.reusedSocket === false) slot.newConnection = true;
      },
      answered: () => void (slot.answeredAt ??= now()),
    };
  }

  return {
    limit,
    acquire,
    recentStarts: () => recent.map((slot) => Math.round(arrivalBound(slot) + epochOffset)).filter(Number.isFinite),
    preload(epochStarts) {
      const starts = epochStarts.filter(Number.isFinite).sort((a, b) => a - b).slice(-limit);
      recent.unshift(...starts.map((t) => ({ grantedAt: t - epochOffset })));
      recent.splice(0, Math.max(0, recent.length - limit));
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
      return queue.size + queue.pending;
    },
  };
}

/** Many requests share one run signal; lift Node's listener warning for it. */
export function allowManyListeners(signal: AbortSignal): void {
  setMaxListeners(0, signal);
}
