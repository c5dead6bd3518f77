import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../lib/clock.ts';
import { createFakeClock } from '../lib/fakeClock.ts';
import { createSilentLogger } from '../lib/logger.ts';
import { createSimulator, type Simulator } from '../simulator/simulator.ts';
import { createSource } from './createSource.ts';
import { createRequestStats, type Send, type SentResponse } from './sender.ts';
import { createOAuthTokenProvider } from './tokenProvider.ts';

const CLIENT = { clientId: 'ttl-client', clientSecret: 'ttl-secret-81f0' };

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('token after the slot', () => {
  it('a token lifetime shorter than the queue wait causes no 401: the token is read as the request leaves', async () => {
    // 40 requests queued at once, 10 per second: the last waits about 4 s for its slot, two
    // lifetimes of a 2 s token (renewed 0.2 s before it ends). A token taken before the wait would
    // be dead on arrival. (Lifetimes well above a loaded machine's event-loop stalls: a 0.5 s token
    // renewed 50 ms early met 401s when the CPU was busy.)
    sim = createSimulator({ devices: 30, seed: 4, auth: { ...CLIENT, tokenTtlSeconds: 2 }, rateLimit: { limit: 10, windowMs: 1000 } });
    await sim.start();
    const source = createSource(
      {
        url: sim.url,
        credentials: { kind: 'oauth', ...CLIENT },
        rateLimit: 10,
        rateWindowMs: 1000,
        pageSize: 50,
        timeoutMs: 5000,
        maxRetries: 3,
      },
      { clock: systemClock, logger: createSilentLogger() },
    );
    const hwid = String(sim.list()[0]!.hwid);
    const answers = await Promise.all(Array.from({ length: 40 }, () => source.api.fetchDeviceDetails(hwid)));
    expect(answers.every((a) => a === 'present')).toBe(true);
    const details = sim.log.filter((e) => e.path === 'details');
    expect(details).toHaveLength(40);
    expect(sim.stats().byStatus[401] ?? 0).toBe(0);
    expect(sim.stats().rateLimited).toBe(0);
    // Renewed as it ran out (about every 1.8 s over 4 s), not once per request.
    expect(sim.stats().tokenRequests).toBeGreaterThanOrEqual(2);
    expect(sim.stats().tokenRequests).toBeLessThanOrEqual(5);
  });
});

describe('shared OAuth token request', () => {
  /** A send that holds every token request until the test answers it. */
  function heldSend() {
    const requests: { signal: AbortSignal | undefined; answer(r: SentResponse): void }[] = [];
    const send: Send = (_build, _ctx, signal) => new Promise((resolve) => requests.push({ signal, answer: resolve }));
    const ok = (token: string): SentResponse => ({
      status: 200,
      headers: {},
      body: JSON.stringify({ access_token: token, expires_in: 3600 }),
    });
    return { send, requests, ok };
  }

  it('is not bound to the first caller: a cancelled prefetch leaves the token to the pages still waiting', async () => {
    const { send, requests, ok } = heldSend();
    const tokens = createOAuthTokenProvider({
      baseUrl: 'http://127.0.0.1:9',
      ...CLIENT,
      send,
      clock: createFakeClock(),
      stats: createRequestStats(),
    });
    const prefetch = new AbortController();
    const cancelled = tokens.getToken(prefetch.signal);
    const waiting = tokens.getToken(new AbortController().signal);
    prefetch.abort(new Error('prefetch cancelled'));
    await expect(cancelled).rejects.toThrow('prefetch cancelled');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.signal?.aborted).toBe(false);
    requests[0]!.answer(ok('token-one-5f2a'));
    expect(await waiting).toBe('token-one-5f2a');
    expect(tokens.peek()).toBe('token-one-5f2a');
  });

  it('is cancelled once every caller gave up, and the next caller starts a new one', async () => {
    const { send, requests, ok } = heldSend();
    const stats = createRequestStats();
    const tokens = createOAuthTokenProvider({ baseUrl: 'http://127.0.0.1:9', ...CLIENT, send, clock: createFakeClock(), stats });
    const a = new AbortController();
    const b = new AbortController();
    const both = [tokens.getToken(a.signal), tokens.getToken(b.signal)].map((p) => p.catch((e: Error) => e.message));
    a.abort(new Error('a stopped'));
    expect(requests[0]!.signal?.aborted).toBe(false);
    b.abort(new Error('b stopped'));
    expect(await Promise.all(both)).toEqual(['a stopped', 'b stopped']);
    expect(requests[0]!.signal?.aborted).toBe(true);
    const next = tokens.getToken();
    expect(requests).toHaveLength(2);
    requests[1]!.answer(ok('token-two-77c3'));
    expect(await next).toBe('token-two-77c3');
    expect(stats.tokenRequests).toBe(2);
  });

  it('peeks only at a token that is not due for renewal', async () => {
    const { send, requests } = heldSend();
    const clock = createFakeClock();
    const tokens = createOAuthTokenProvider({ baseUrl: 'http://127.0.0.1:9', ...CLIENT, send, clock, stats: createRequestStats() });
    expect(tokens.peek()).toBeUndefined();
    const got = tokens.getToken();
    requests[0]!.answer({ status: 200, headers: {}, body: JSON.stringify({ access_token: 'short-lived-1', expires_in: 10 }) });
    await got;
    expect(tokens.peek()).toBe('short-lived-1');
    // Renewed 10% of its lifetime before it expires.
    await clock.advance(8_999);
    expect(tokens.peek()).toBe('short-lived-1');
    await clock.advance(1);
    expect(tokens.peek()).toBeUndefined();
  });
});
