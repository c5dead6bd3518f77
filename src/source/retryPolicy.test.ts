import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryableNetworkCode, isRetryableStatus, serverRetryDelay } from './retryPolicy.ts';

describe('retry policy', () => {
  it('retries 429, 5xx and timeouts, never 406, 413 or 401', () => {
    for (const s of [429, 500, 502, 503, 504, 408]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 406, 413]) expect(isRetryableStatus(s)).toBe(false);
    expect(isRetryableNetworkCode('ECONNRESET')).toBe(true);
    expect(isRetryableNetworkCode('ETIMEDOUT')).toBe(true);
    expect(isRetryableNetworkCode('HPE_INVALID_CONSTANT')).toBe(true);
    expect(isRetryableNetworkCode('ERR_INVALID_URL')).toBe(false);
    expect(isRetryableNetworkCode(undefined)).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    const opts = { baseMs: 100, capMs: 1000 };
    expect(backoffDelay(1, { ...opts, random: () => 0 })).toBe(50);
    expect(backoffDelay(1, { ...opts, random: () => 1 })).toBe(100);
    expect(backoffDelay(3, { ...opts, random: () => 1 })).toBe(400);
    expect(backoffDelay(10, { ...opts, random: () => 1 })).toBe(1000);
    expect(backoffDelay(10, { ...opts, random: () => 0 })).toBe(500);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(serverRetryDelay({ 'retry-after': '7' }, now)).toBe(7000);
    expect(serverRetryDelay({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
    expect(serverRetryDelay({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(serverRetryDelay({}, now)).toBeUndefined();
  });

  it('reads X-RateLimit-Reset-Time as seconds to wait or as an epoch time', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(serverRetryDelay({ 'x-ratelimit-reset-time': '0.25' }, now)).toBe(250);
    expect(serverRetryDelay({ 'x-ratelimit-reset-time': String(now / 1000 + 12) }, now)).toBe(12_000);
    expect(serverRetryDelay({ 'x-ratelimit-reset-time': String(now + 3000) }, now)).toBe(3000);
  });

  it('waits for the later hint when both headers are present (an epoch reset can look past with clock skew)', () => {
    expect(serverRetryDelay({ 'retry-after': '1', 'x-ratelimit-reset-time': '0.137' }, 0)).toBe(1000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(serverRetryDelay({ 'retry-after': '60', 'x-ratelimit-reset-time': String(now / 1000 - 5) }, now)).toBe(60_000);
  });
});
