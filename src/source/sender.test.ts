import { describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../lib/fakeClock.ts';
import { createSilentLogger } from '../lib/logger.ts';
import { createSource } from './createSource.ts';
import { createRateLimiter } from './rateLimiter.ts';
import { createSlotPool } from './slotPool.ts';
import type { Transport } from './transport.ts';

/** An OAuth API on fake time, answering at once: tokens expire after `ttlSeconds`. */
function fakeOAuthApi(clock: FakeClock, ttlSeconds: number) {
  const expiry = new Map<string, number>();
  const log: { at: number; path: 'token' | 'details'; status: number }[] = [];
  const transport: Transport = async (request) => {
    request.onSent?.({ reusedSocket: true });
    if (request.method === 'POST') {
      const token = `fake-token-${expiry.size + 1}-a1b2c3`;
      expiry.set(token, clock.now() + ttlSeconds * 1000);
      log.push({ at: clock.now(), path: 'token', status: 200 });
      return { status: 200, headers: {}, body: JSON.stringify({ access_token: token, expires_in: ttlSeconds }) };
    }
    const valid = (expiry.get(request.url.searchParams.get('access_token') ?? '') ?? 0) > clock.now();
    log.push({ at: clock.now(), path: 'details', status: valid ? 200 : 401 });
    return valid ? { status: 200, headers: {}, body: '{"hwid":"H1"}' } : { status: 401, headers: {}, body: '{"error":"invalid_token"}' };
  };
  return { transport, log };
}

function maxInWindow(times: number[], windowMs: number): number {
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

describe('sender on fake time: the token is renewed in a slot a waiting request gives up', () => {
  for (const [limit, ttlSeconds] of [
    [1, 3],
    [2, 2.5],
    [3, 1.5],
  ] as const) {
    it(`${limit} per second, tokens living ${ttlSeconds} s: no 401, no deadlock, never over the limit`, async () => {
      const clock = createFakeClock();
      const api = fakeOAuthApi(clock, ttlSeconds);
      const source = createSource(
        {
          url: 'https://api.invalid',
          credentials: { kind: 'oauth', clientId: 'c', clientSecret: 'fake-secret-1' },
          rateLimit: limit,
          rateWindowMs: 1000,
          pageSize: 50,
          timeoutMs: 1000,
          maxRetries: 2,
        },
        { clock, logger: createSilentLogger(), transport: api.transport },
      );
      const answers = await clock.run(Promise.all(Array.from({ length: 12 }, () => source.api.fetchDeviceDetails('H1'))));
      expect(answers).toEqual(Array(12).fill('present'));
      expect(api.log.filter((e) => e.status === 401)).toEqual([]);
      expect(
        maxInWindow(
          api.log.map((e) => e.at),
          1000,
        ),
      ).toBeLessThanOrEqual(limit);
      // One token per lifetime or so, not one per request.
      expect(api.log.filter((e) => e.path === 'token').length).toBeLessThanOrEqual(Math.ceil(12 / limit / (ttlSeconds * 0.9)) + 1);
    });
  }
});

describe('slot pool', () => {
  it('hands an offered slot to a token request waiting for one, which leaves the limiter queue', async () => {
    const clock = createFakeClock();
    const limiter = createRateLimiter({ limit: 1, windowMs: 1000, clock });
    const pool = createSlotPool(limiter);
    const held = await limiter.acquire();
    const taking = pool.take();
    await clock.advance(0);
    expect(limiter.queued).toBe(1);
    const takeBack = pool.offer(held);
    expect(await taking).toBe(held);
    expect(takeBack()).toBeUndefined();
    await clock.advance(0);
    expect(limiter.queued).toBe(0);
    expect(clock.sleepers).toBe(0);
  });

  it('keeps an offered slot for the next token request, or gives it back to the one that offered it', async () => {
    const clock = createFakeClock();
    const limiter = createRateLimiter({ limit: 2, windowMs: 1000, clock });
    const pool = createSlotPool(limiter);
    const [a, b] = [await limiter.acquire(), await limiter.acquire()];
    const takeBackA = pool.offer(a);
    const takeBackB = pool.offer(b);
    expect(await pool.take()).toBe(a);
    expect(takeBackA()).toBeUndefined();
    expect(takeBackB()).toBe(b);
    expect(takeBackB()).toBeUndefined();
  });
});
