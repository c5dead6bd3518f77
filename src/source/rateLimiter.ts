import { setMaxListeners } from 'node:events';
import type { Clock } from '../lib/clock.ts';
import { createArrivalWindow, type Slot } from './arrivalWindow.ts';

/**
 * Every request to the account — page fetches, retries and token requests — takes a slot here
 * before it is sent. Slots are granted one at a time, in order, and a slot is granted only once
 * the `limit`-th latest request *arrived at the server* a window plus a margin ago: a strict
 * sliding window over arrivals, which is what the server counts.
 *
 * We cannot see arrivals, so each one is bounded from what we do see (see arrivalBound): the
 * write on a reused connection, the answer on a new one (at most the widest margin after the
 * write), and for a request not yet written, "now" (it may leave any moment). The margin covers
 * the rest (network jitter); a 429 the limiter let through widens it. A server's pause holds
 * every grant. All times are epoch ms from the injected clock, so a window handed on to another
 * process (recentStarts → preload) means the same there.
 */
// Properties, not methods: the callbacks use no `this`, so the transport may be handed `sent` alone.
export interface Permit {
  /** Call when the request has been written to the socket; `reusedSocket` false for a new connection. */
  sent: (info?: { reusedSocket?: boolean }) => void;
  /** Call when the response (or an error) came back. */
  answered: () => void;
  /** The request will not be sent after all: the slot is given back (the server never saw it). */
  cancel: () => void;
}

export interface AcquireOptions {
  /** Queue ahead of ordinary requests (a token request, a retry that already waited its turn). */
  first?: boolean;
}

export type Journal = (recent: number[]) => Promise<void>;

export interface RateLimiter {
  /** Requests allowed per window. */
  readonly limit: number;
  /**
   * Resolves when a request may start now; rejects with the signal's reason if aborted while
   * waiting (no slot is taken), or with the journal's error if recording the grant failed.
   */
  acquire(signal?: AbortSignal, options?: AcquireOptions): Promise<Permit>;
  /** Wall time during which at least one caller was waiting for a slot, in ms. */
  readonly waitedMs: number;
  /** Requests waiting for a slot right now. */
  readonly queued: number;
  /** Latest possible arrival times (epoch ms) of the last `limit` requests, oldest first. */
  recentStarts(): number[];
  /** Continue a window begun elsewhere: a time T counts exactly like a request that arrived at T. */
  preload(epochStarts: number[]): void;
  /** The server asked for a pause (Retry-After, reset time): no slot is granted before `epochMs`. */
  pauseUntil(epochMs: number): void;
  /**
   * Called after each grant, before acquire() resolves, with recentStarts() (the new grant
   * included): the caller makes the window durable before the request is sent. A rejection
   * fails that acquire(), and the request is not sent.
   */
  setJournal(journal: Journal | undefined): void;
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
  clock: Clock;
  /** Extra spacing added to the window for clock and network jitter. Default: 1% of the window, 20 ms..1 s. */
  marginMs?: number;
}

export function defaultMarginMs(windowMs: number): number {
  return Math.min(1000, Math.max(20, Math.ceil(windowMs * 0.01)));
}

interface Waiter {
  first: boolean;
  resolve(slot: Slot): void;
  reject(reason: unknown): void;
  leave(): void;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { limit, windowMs, clock } = options;
  let marginMs = options.marginMs ?? defaultMarginMs(windowMs);
  const maxMarginMs = Math.max(marginMs, Math.ceil(windowMs * 0.05));
  const arrivals = createArrivalWindow({ limit, windowMs, maxMarginMs });
  const waiters: Waiter[] = [];
  const waiting = createWaitMeter(clock);
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let journal: Journal | undefined;
  let journaling = 0;
  let granting = false;
  /** Aborted to end the grant loop's sleep early: a waiter left, or a bound moved earlier. */
  let wake: AbortController | undefined;

  /** When the next slot may be granted: the window has room, and no server pause holds. */
  const nextGrantAt = (now: number) => Math.max(arrivals.freeAt(now, marginMs), pausedUntil);

  function nudge(): void {
    wake?.abort();
  }

  async function sleepUntil(at: number): Promise<void> {
    wake = new AbortController();
    await clock.sleep(Math.ceil(at - clock.now()), wake.signal).catch(() => undefined);
    wake = undefined;
  }

  /** Runs one at a time: grants the head waiter when the window allows, journals, hands over. */
  async function grantLoop(): Promise<void> {
    if (granting) return;
    granting = true;
    try {
      while (waiters.length > 0) {
        const at = nextGrantAt(clock.now());
        // Re-checked after each sleep: a late send, a new connection or a pause can push it back.
        if (at > clock.now()) {
          await sleepUntil(at);
          continue;
        }
        const waiter = waiters.shift()!;
        waiter.leave();
        const slot: Slot = { grantedAt: clock.now() };
        arrivals.add(slot);
        if (journal) await record(journal, slot, waiter);
        else waiter.resolve(slot);
      }
    } finally {
      granting = false;
    }
  }

  /** Makes the window durable before the request may leave; on failure the slot was never used. */
  async function record(write: Journal, slot: Slot, waiter: Waiter): Promise<void> {
    journaling += 1;
    try {
      await write(recentStarts());
      waiter.resolve(slot);
    } catch (error) {
      arrivals.remove(slot);
      waiter.reject(error);
    } finally {
      journaling -= 1;
    }
  }

  const recentStarts = () => arrivals.recent(clock.now());

  function permitFor(slot: Slot): Permit {
    let cancelled = false;
    return {
      sent: (info) => {
        if (cancelled || slot.sentAt !== undefined) return;
        slot.sentAt = clock.now();
        if (info?.reusedSocket === false) slot.newConnection = true;
        nudge();
      },
      answered: () => {
        if (cancelled || slot.answeredAt !== undefined) return;
        slot.answeredAt = clock.now();
        nudge();
      },
      cancel: () => {
        if (cancelled || slot.sentAt !== undefined) return;
        cancelled = true;
        arrivals.remove(slot);
        nudge();
      },
    };
  }

  function acquire(signal?: AbortSignal, opts: AcquireOptions = {}): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const i = waiters.indexOf(waiter);
        if (i < 0) return;
        // Still queued: no slot is taken, nothing was sent.
        waiters.splice(i, 1);
        waiter.leave();
        reject(signal!.reason);
        nudge();
      };
      const waiter: Waiter = {
        first: opts.first === true,
        resolve,
        reject,
        leave: () => {
          signal?.removeEventListener('abort', onAbort);
          waiting.leave();
        },
      };
      const at = waiter.first ? waiters.findIndex((w) => !w.first) : -1;
      waiters.splice(at < 0 ? waiters.length : at, 0, waiter);
      waiting.enter();
      signal?.addEventListener('abort', onAbort, { once: true });
      void grantLoop();
    }).then(permitFor);
  }

  return {
    limit,
    acquire,
    recentStarts,
    // Counted exactly as requests that arrived at those times, no later.
    // A time ahead of our clock (another host's clock runs fast) counts as at most the widest
    // margin ahead: trusted as written, it would stall this run for as long as the clocks differ.
    preload: (epochStarts) => arrivals.preload(epochStarts.map((t) => Math.min(t, clock.now() + maxMarginMs))),
    pauseUntil(epochMs) {
      if (Number.isFinite(epochMs)) pausedUntil = Math.max(pausedUntil, epochMs);
    },
    setJournal(next) {
      journal = next;
    },
    widenMargin() {
      marginMs = Math.min(maxMarginMs, marginMs * 2);
    },
    get marginMs() {
      return marginMs;
    },
    get waitedMs() {
      return waiting.totalMs();
    },
    get queued() {
      return waiters.length + journaling;
    },
  };
}

/** Wall time with at least one waiter: concurrent waits count once, not once per waiter. */
function createWaitMeter(clock: Clock) {
  let count = 0;
  let since = 0;
  let total = 0;
  return {
    enter() {
      if (count++ === 0) since = clock.now();
    },
    leave() {
      if (--count === 0) total += clock.now() - since;
    },
    totalMs: () => total + (count > 0 ? clock.now() - since : 0),
  };
}

/** Many requests share one run signal; lift Node's listener warning for it. */
export function allowManyListeners(signal: AbortSignal): void {
  setMaxListeners(0, signal);
}
