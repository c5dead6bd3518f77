import { describe, expect, it } from 'vitest';
import { estimateRemainingMs, progressLine } from './progress.ts';
import { evaluateRemovalGuard } from './removalGuard.ts';

describe('progress', () => {
  it("estimates the time left from the pace so far and the last run's device count", () => {
    expect(estimateRemainingMs(500, 2000, 60_000)).toBe(180_000);
    expect(estimateRemainingMs(2500, 2000, 60_000)).toBe(0);
    expect(estimateRemainingMs(500, null, 60_000)).toBeUndefined();
    expect(estimateRemainingMs(0, 2000, 60_000)).toBeUndefined();
  });

  it('renders one terminal line with page, devices, limiter wait and ETA', () => {
    expect(progressLine(7, 350, 2000, 61_000, 198_000)).toBe('page 7 · 350/2000 devices · rate-limit wait 61s · ETA 3m18s');
    expect(progressLine(1, 50, null, 0, undefined)).toBe('page 1 · 50 devices · rate-limit wait 0s');
  });
});

describe('removal guard', () => {
  const guard = (presentBefore: number, seen: number, missing: number, guardPercent = 50) =>
    evaluateRemovalGuard({ presentBefore, seen, missing, guardPercent });

  it('allows ordinary removals', () => {
    expect(guard(1000, 990, 10).allowed).toBe(true);
    expect(guard(0, 50, 0).allowed).toBe(true);
  });

  it('blocks a run that saw too few devices or would remove too many', () => {
    expect(guard(1000, 400, 600)).toMatchObject({ allowed: false, reason: expect.stringMatching(/saw 400 devices, fewer than 50%/) });
    // Enough seen (many new devices), but still more than half of the old inventory missing.
    expect(guard(100, 100, 60)).toMatchObject({ allowed: false, reason: expect.stringMatching(/60 of 100 present devices are missing/) });
    expect(guard(100, 99, 1, 100).allowed).toBe(false);
    expect(guard(100, 0, 100, 0).allowed).toBe(true);
  });
});
