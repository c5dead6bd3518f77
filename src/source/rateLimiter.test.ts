import { describe, expect, it } from 'vitest';
import { createRateLimiter, defaultMarginMs } from './rateLimiter.ts';

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

describe('rate limiter (sliding window)', () => {
  it('never grants more than the limit in any window, and is no slower than the limit forces', async () => {
    const limit = 5;
    const windowMs = 200;
    const limiter = createRateLimiter({ limit, windowMs });
    const start = performance.now();
    const grants: number[] = [];
    await Promise.all(Array.from({ length: 23 }, () => limiter.acquire().then(() => grants.push(performance.now()))));
    const elapsed = performance.now() - start;
    expect(maxInSlidingWindow(grants, windowMs)).toBeLessThanOrEqual(limit);
    // 23 grants at 5 per window need 4 full windows after the first burst: no more than that plus the margin.
    const minimal = 4 * windowMs;
    expect(elapsed).toBeGreaterThanOrEqual(minimal);
    expect(elapsed).toBeLessThan(4 * (windowMs + defaultMarginMs(windowMs)) + 150);
  });

  it('keeps the window across bursts: a late burst waits for old grants to age out', async () => {
    const limiter = createRateLimiter({ limit: 3, windowMs: 150 });
    const grants: number[] = [];
    const take = () => limiter.acquire().then(() => grants.push(performance.now()));
    await Promise.all([take(), take()]);
    await new Promise((r) => setTimeout(r, 100));
    // A fixed window would reset here and allow 3 more at once; a sliding one allows 1 now, 2 later.
    await Promise.all([take(), take(), take()]);
    expect(maxInSlidingWindow(grants, 150)).toBeLessThanOrEqual(3);
    expect(grants[4]! - grants[0]!).toBeGreaterThanOrEqual(150);
  });

  it('spaces requests by when they were really sent, not only when they were granted', async () => {
    const limiter = createRateLimiter({ limit: 2, windowMs: 100, marginMs: 0 });
    const first = await limiter.acquire();
    await limiter.acquire();
    // The first request leaves 60 ms after its grant (a new connection, a busy event loop):
    // a server counting arrivals sees it then, so the third request must wait for that.
    await new Promise((r) => setTimeout(r, 60));
    first.sent();
    const sentAt = performance.now();
    await limiter.acquire();
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(95);
  });

  it('counts the time callers waited', async () => {
    const limiter = createRateLimiter({ limit: 1, windowMs: 100, marginMs: 0 });
    await limiter.acquire();
    await limiter.acquire();
    expect(limiter.waitedMs).toBeGreaterThanOrEqual(90);
  });

  it('drops a queued request when its signal aborts, without using a slot', async () => {
    const limiter = createRateLimiter({ limit: 1, windowMs: 100, marginMs: 0 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(limiter.queued).toBe(0);
  });

  it('margin is 1% of the window, between 20 ms and 1 s', () => {
    expect(defaultMarginMs(60_000)).toBe(600);
    expect(defaultMarginMs(1000)).toBe(20);
    expect(defaultMarginMs(3_600_000)).toBe(1000);
  });

  it('widens its margin after the server refuses a request it allowed, up to 5% of the window', async () => {
    const limiter = createRateLimiter({ limit: 2, windowMs: 400, marginMs: 10 });
    const grants: number[] = [];
    const take = () => limiter.acquire().then((permit) => { permit.sent(); grants.push(performance.now()); });
    await Promise.all([take(), take()]);
    limiter.widenMargin();
    expect(limiter.marginMs).toBe(20);
    await Promise.all([take(), take()]);
    // The third request waits for the first plus the window plus the widened margin.
    expect(grants[2]! - grants[0]!).toBeGreaterThanOrEqual(400 + 15);
    for (let i = 0; i < 5; i++) limiter.widenMargin();
    expect(limiter.marginMs).toBe(20);
  });

  it('a request cancelled while it waits takes no slot; the window handed on holds the requests really sent', async () => {
    const limit = 3;
    const windowMs = 200;
    const limiter = createRateLimiter({ limit, windowMs });
    const take = (signal?: AbortSignal, sendDelayMs = 0) => limiter.acquire(signal).then(async (p) => {
      if (sendDelayMs) await new Promise((r) => setTimeout(r, sendDelayMs));
      p.sent();
    });
    // The first three leave the process late (a slow connection): the next ones must wait for that.
    await Promise.all([take(undefined, 100), take(undefined, 100), take(undefined, 100)]);
    const sentAt = Date.now();
    const cancel = new AbortController();
    const cancelled = [take(cancel.signal), take(cancel.signal), take(cancel.signal)].map((p) => p.then(() => 'sent', () => 'cancelled'));
    setTimeout(() => cancel.abort(), 60);
    expect(await Promise.all(cancelled)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(limiter.queued).toBe(0);
    // The run that follows (maybe another process) continues from the three that went out.
    const handedOn = limiter.recentStarts();
    expect(handedOn).toHaveLength(limit);
    for (const t of handedOn) expect(t).toBeGreaterThanOrEqual(sentAt - 5);
    const next = createRateLimiter({ limit, windowMs });
    next.preload(handedOn);
    await next.acquire();
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(windowMs - 5);
  });

  it('keeps every request a full window after the one `limit` places back, over many windows with a widened margin', async () => {
    // Regression: the first gate (p-queue's own interval) kept the initial margin while the second
    // used the widened one, so grants drifted ahead by the difference each window; once a window
    // ahead, requests found no recorded start to wait for and went at once (429 bursts).
    const limit = 3;
    const windowMs = 100;
    const limiter = createRateLimiter({ limit, windowMs, marginMs: 1 });
    for (let i = 0; i < 3; i++) limiter.widenMargin();
    expect(limiter.marginMs).toBe(5);
    const sends: number[] = [];
    await Promise.all(Array.from({ length: limit * 32 }, () => limiter.acquire().then((p) => {
      p.sent();
      sends.push(performance.now());
    })));
    const gaps = sends.slice(limit).map((t, i) => t - sends[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(windowMs);
    expect(maxInSlidingWindow(sends, windowMs)).toBeLessThanOrEqual(limit);
  });

  it('bounds a request on a new connection by its answer: the server may count it late, up to 5% of the window', async () => {
    const windowMs = 400;
    const limiter = createRateLimiter({ limit: 1, windowMs, marginMs: 0 });
    // Reused connection: the write time is the arrival.
    const reused = await limiter.acquire();
    let sentAt = performance.now();
    reused.sent({ reusedSocket: true });
    reused.answered();
    const answeredLate = await limiter.acquire();
    expect(performance.now() - sentAt).toBeLessThan(windowMs + 15);
    // New connection answered 15 ms after the write: the next request waits for the answer's time.
    sentAt = performance.now();
    answeredLate.sent({ reusedSocket: false });
    await new Promise((r) => setTimeout(r, 15));
    answeredLate.answered();
    const neverAnswered = await limiter.acquire();
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(windowMs + 14);
    // New connection never answered (a slow server): bounded at 5% of the window, not held up for good.
    sentAt = performance.now();
    neverAnswered.sent({ reusedSocket: false });
    await limiter.acquire();
    const waited = performance.now() - sentAt;
    expect(waited).toBeGreaterThanOrEqual(windowMs + 0.05 * windowMs - 1);
    expect(waited).toBeLessThan(windowMs + 0.05 * windowMs + 15);
  });
});
