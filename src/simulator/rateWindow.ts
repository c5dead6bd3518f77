import type { RateLimit } from './simulatorTypes.ts';

/** Strict sliding window over arrival times. Refused arrivals count too: the stricter server. */
export function createRateWindow(initial: RateLimit | null) {
  const arrivals: number[] = [];
  const firstAfter = (t: number): number => {
    let lo = 0;
    let hi = arrivals.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((arrivals[mid] ?? 0) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    rule: initial,
    /** Records an arrival; `retryMs` is set when it must be refused. */
    arrive(now: number): { limit: number; remaining: number; retryMs?: number } | null {
      arrivals.push(now);
      if (!this.rule) return null;
      const { limit, windowMs } = this.rule;
      const first = firstAfter(now - windowMs);
      const inWindow = arrivals.length - first;
      if (inWindow <= limit) return { limit, remaining: limit - inWindow };
      // A next request fits once enough arrivals have aged out to leave fewer than `limit`.
      const freeing = arrivals[first + inWindow - limit] ?? now;
      return { limit, remaining: 0, retryMs: Math.max(1, freeing + windowMs - now) };
    },
    maxIn(windowMs: number): number {
      let best = 0;
      for (let i = 0, j = 0; j < arrivals.length; j++) {
        while ((arrivals[j] ?? 0) - (arrivals[i] ?? 0) >= windowMs) i++;
        best = Math.max(best, j - i + 1);
      }
      return best;
    },
  };
}
