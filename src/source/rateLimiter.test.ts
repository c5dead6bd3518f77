import { describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../lib/fakeClock.ts';
import { createRateLimiter, defaultMarginMs, type Permit, type RateLimiterOptions } from './rateLimiter.ts';

/** Highest number of grants inside any window of `windowMs` (a strict server's view). */
function maxInSlidingWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

/** A limiter on fake time; `t()` is the time since it was made. */
function setUp(options: Omit<RateLimiterOptions, 'clock'>) {
  const clock: FakeClock = createFakeClock();
  const t0 = clock.now();
  const limiter = createRateLimiter({ ...options, clock });
  const t = () => clock.now() - t0;
  /** Acquires, records the grant time, and (like the sender) reports the request written at once. */
  const take = (signal?: AbortSignal, send = true): Promise<number> =>
    limiter.acquire(signal).then((permit) => {
      if (send) permit.sent({ reusedSocket: true });
      return t();
    });
  return { clock, limiter, t, t0, take };
}

describe('rate limiter (sliding window, on fake time)', () => {
  it('never grants more than the limit in any window, and is no slower than the limit forces', async () => {
    const { clock, take } = setUp({ limit: 5, windowMs: 200 });
    const grants = await clock.run(Promise.all(Array.from({ length: 23 }, () => take())));
    expect(maxInSlidingWindow(grants, 200)).toBeLessThanOrEqual(5);
    // 23 grants at 5 per window: four full windows (plus the margin) after the first burst, no more.
    const margin = defaultMarginMs(200);
    expect(grants).toEqual([0, 1, 2, 3, 4].flatMap((w) => Array<number>(w < 4 ? 5 : 3).fill(w * (200 + margin))));
  });

  it('keeps the window across bursts: a late burst waits for old grants to age out', async () => {
    const { clock, take } = setUp({ limit: 3, windowMs: 150, marginMs: 0 });
    const early = await clock.run(Promise.all([take(), take()]));
    await clock.advance(100);
    // A fixed window would reset here and allow 3 more at once; a sliding one allows 1 now, 2 later.
    const late = await clock.run(Promise.all([take(), take(), take()]));
    expect([...early, ...late]).toEqual([0, 0, 100, 150, 150]);
  });

  it('spaces requests by when they were really sent; a granted request not yet sent holds its place', async () => {
    const { clock, limiter, t, take } = setUp({ limit: 1, windowMs: 100, marginMs: 0 });
    const first = await limiter.acquire();
    // The first request leaves 60 ms after its grant (a new connection, a busy event loop): a
    // server counting arrivals sees it then, so the next must wait for that.
    await clock.advance(60);
    first.sent();
    const secondPermit = await clock.run(limiter.acquire());
    expect(t()).toBe(160);
    // The third queues while the second has its slot but has not left yet (150 ms late): it may
    // not go a window after the grant, only a window after the second really left.
    const third = take();
    await clock.advance(150);
    secondPermit.sent();
    expect(await clock.run(third)).toBe(160 + 150 + 100);
  });

  it('counts the wall time callers waited, not the sum over concurrent waiters', async () => {
    const { clock, limiter, take } = setUp({ limit: 1, windowMs: 100, marginMs: 0 });
    await take();
    // Three wait together: 100, 200 and 300 ms each (600 summed), but the wall time is 300 ms.
    expect(await clock.run(Promise.all([take(), take(), take()]))).toEqual([100, 200, 300]);
    expect(limiter.waitedMs).toBe(300);
    // Time with nobody waiting does not count.
    await clock.advance(1000);
    await clock.run(take());
    expect(limiter.waitedMs).toBe(300);
  });

  it('drops a queued request when its signal aborts, without using a slot, and stops its timer', async () => {
    const { clock, limiter, take } = setUp({ limit: 1, windowMs: 100, marginMs: 0 });
    await take();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    await clock.advance(10);
    expect(clock.sleepers).toBe(1);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(limiter.queued).toBe(0);
    await clock.advance(0);
    // Nobody waits, so nothing sleeps: a stopping process is not held up by the window.
    expect(clock.sleepers).toBe(0);
    expect(await clock.run(take())).toBe(100);
  });

  it('margin is 1% of the window, between 20 ms and 1 s', () => {
    expect(defaultMarginMs(60_000)).toBe(600);
    expect(defaultMarginMs(1000)).toBe(20);
    expect(defaultMarginMs(3_600_000)).toBe(1000);
  });

  it('widens its margin after the server refuses a request it allowed, up to 5% of the window', async () => {
    const { clock, limiter, take } = setUp({ limit: 2, windowMs: 400, marginMs: 10 });
    await clock.run(Promise.all([take(), take()]));
    limiter.widenMargin();
    expect(limiter.marginMs).toBe(20);
    // The third request waits for the first plus the window plus the widened margin.
    expect(await clock.run(Promise.all([take(), take()]))).toEqual([420, 420]);
    for (let i = 0; i < 5; i++) limiter.widenMargin();
    expect(limiter.marginMs).toBe(20);
  });

  it('a request cancelled while it waits takes no slot; the window handed on holds the requests really sent', async () => {
    const { clock, limiter, t0 } = setUp({ limit: 3, windowMs: 200 });
    const slowSend = async (permit: Permit) => {
      await clock.sleep(100);
      permit.sent();
    };
    // The first three leave the process late (a slow connection): the next ones must wait for that.
    await clock.run(Promise.all([1, 2, 3].map(() => limiter.acquire().then(slowSend))));
    const cancel = new AbortController();
    const cancelled = [1, 2, 3].map(() =>
      limiter.acquire(cancel.signal).then(
        () => 'sent',
        () => 'cancelled',
      ),
    );
    await clock.advance(60);
    cancel.abort();
    expect(await clock.run(Promise.all(cancelled))).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(limiter.queued).toBe(0);
    // The run that follows (maybe another process) continues from the three that went out.
    expect(limiter.recentStarts()).toEqual([t0 + 100, t0 + 100, t0 + 100]);
    const next = createRateLimiter({ limit: 3, windowMs: 200, clock });
    next.preload(limiter.recentStarts());
    await clock.run(next.acquire());
    expect(clock.now() - t0).toBe(100 + 200 + defaultMarginMs(200));
  });

  it('keeps every request a full window after the one `limit` places back, over many windows with a widened margin', async () => {
    // Regression: a first gate that kept the initial margin while a second used the widened one
    // let grants drift ahead by the difference each window, until requests went at once (429s).
    const { clock, limiter, take } = setUp({ limit: 3, windowMs: 100, marginMs: 1 });
    for (let i = 0; i < 3; i++) limiter.widenMargin();
    expect(limiter.marginMs).toBe(5);
    const sends = await clock.run(Promise.all(Array.from({ length: 3 * 32 }, () => take())));
    const gaps = sends.slice(3).map((s, i) => s - sends[i]!);
    expect(new Set(gaps)).toEqual(new Set([105]));
    expect(maxInSlidingWindow(sends, 100)).toBeLessThanOrEqual(3);
  });

  it('bounds a request on a new connection by its answer: the server may count it late, up to 5% of the window', async () => {
    const { clock, limiter, t } = setUp({ limit: 1, windowMs: 400, marginMs: 0 });
    // Reused connection: the write time is the arrival.
    const reused = await limiter.acquire();
    reused.sent({ reusedSocket: true });
    await clock.advance(7);
    reused.answered();
    const answeredLate = await clock.run(limiter.acquire());
    expect(t()).toBe(400);
    // New connection answered 15 ms after the write: the next request waits for the answer's time.
    answeredLate.sent({ reusedSocket: false });
    await clock.advance(15);
    answeredLate.answered();
    const neverAnswered = await clock.run(limiter.acquire());
    expect(t()).toBe(400 + 15 + 400);
    // New connection never answered (a slow server): bounded at 5% of the window, not held up for good.
    neverAnswered.sent({ reusedSocket: false });
    await clock.run(limiter.acquire());
    expect(t()).toBe(815 + 20 + 400);
  });
});

describe('rate limiter: a window handed on, a server pause, priorities', () => {
  it('a preloaded time counts exactly like a request that arrived then: 10 requests 100 ms ago leave 900 ms to wait', async () => {
    const { clock, limiter, t, t0, take } = setUp({ limit: 10, windowMs: 1000 });
    const previous = Array.from({ length: 10 }, () => t0 - 100);
    limiter.preload(previous);
    // A fresh limiter hands on what it was given, unchanged (no clamping to when it started).
    expect(limiter.recentStarts()).toEqual(previous);
    expect(await clock.run(take())).toBe(900 + defaultMarginMs(1000));
    expect(t()).toBe(920);
  });

  it('a preloaded time from a clock running hours ahead costs at most the widest margin, not hours', async () => {
    const { clock, limiter, t0, take } = setUp({ limit: 2, windowMs: 1000 });
    limiter.preload([t0 + 2 * 3_600_000, t0 + 2 * 3_600_000]);
    // Counted as arriving 5% of the window from now: the wait is a window and that much, not two hours.
    expect(await clock.run(take())).toBe(50 + 1000 + defaultMarginMs(1000));
  });

  it('a preloaded window that has passed costs no wait at all', async () => {
    const { clock, limiter, t0, take } = setUp({ limit: 3, windowMs: 1000 });
    limiter.preload([t0 - 5000, t0 - 4000, t0 - 1100, Number.NaN]);
    expect(await clock.run(Promise.all([take(), take(), take()]))).toEqual([0, 0, 0]);
  });

  it('journals each grant, bounded late, before the request may go; a failed journal fails the request and takes no slot', async () => {
    const { clock, limiter, t0 } = setUp({ limit: 1, windowMs: 1000 });
    const written: number[][] = [];
    let release!: () => void;
    limiter.setJournal(async (recent) => {
      written.push(recent);
      await new Promise<void>((resolve) => (release = resolve));
    });
    let granted = false;
    const first = limiter.acquire().then((p) => {
      granted = true;
      return p;
    });
    await clock.advance(0);
    // Not sent yet: it may arrive as late as the widest margin (5% of the window) after its grant.
    expect(written).toEqual([[t0 + 50]]);
    expect(granted).toBe(false);
    release();
    (await first).sent();
    expect(limiter.recentStarts()).toEqual([t0]);

    limiter.setJournal(async () => {
      throw new Error('database gone');
    });
    await clock.advance(2000);
    await expect(limiter.acquire()).rejects.toThrow('database gone');
    limiter.setJournal(undefined);
    // The refused grant took no slot: the next request goes at once.
    const at = clock.now();
    await clock.run(limiter.acquire());
    expect(clock.now()).toBe(at);
  });

  it('a server pause holds every grant until it ends, and only ever lengthens', async () => {
    const { clock, limiter, take } = setUp({ limit: 10, windowMs: 1000 });
    expect(await clock.run(take())).toBe(0);
    limiter.pauseUntil(clock.now() + 500);
    limiter.pauseUntil(clock.now() + 200);
    const waiting = Promise.all([take(), take(), take()]);
    await clock.advance(300);
    // Extended while the grants sleep: they wake, look again, and sleep on.
    limiter.pauseUntil(clock.now() + 400);
    expect(await clock.run(waiting)).toEqual([700, 700, 700]);
  });

  it('queues `first` requests ahead of ordinary ones; a cancelled permit gives its slot back', async () => {
    const { clock, limiter, t, t0, take } = setUp({ limit: 1, windowMs: 100, marginMs: 0 });
    await take();
    const order: string[] = [];
    const ordinary = limiter.acquire().then((p) => {
      order.push(`ordinary at ${t()}`);
      p.sent();
    });
    const urgent = limiter.acquire(undefined, { first: true }).then((p) => {
      order.push(`first at ${t()}`);
      return p;
    });
    (await clock.run(urgent)).cancel();
    await clock.run(ordinary);
    // The cancelled slot never reached the server: the ordinary request went at once after it.
    expect(order).toEqual(['first at 100', 'ordinary at 100']);
    expect(limiter.recentStarts()).toEqual([t0 + 100]);
  });
});
