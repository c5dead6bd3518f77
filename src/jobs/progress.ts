import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { RateLimiter } from '../source/rateLimiter.ts';

export interface ProgressOptions {
  clock: Clock;
  logger: Logger;
  /** Devices the last succeeded run saw: the basis of the ETA. */
  expected: number | null;
  limiter: RateLimiter;
}

/** Per-page progress lines: page, devices so far, expected total, limiter wait and an ETA. */
export function createProgress(options: ProgressOptions) {
  const startedAt = options.clock.now();
  return {
    page(page: number, devicesSoFar: number, extra: Record<string, unknown>) {
      const elapsedMs = options.clock.now() - startedAt;
      const etaMs = estimateRemainingMs(devicesSoFar, options.expected, elapsedMs);
      options.logger.info(`page ${page} stored`, {
        page, devices: devicesSoFar, expected: options.expected, rateLimitWaitMs: Math.round(options.limiter.waitedMs),
        ...(etaMs === undefined ? {} : { etaSeconds: Math.round(etaMs / 1000) }), ...extra,
      });
    },
  };
}

export function estimateRemainingMs(done: number, expected: number | null, elapsedMs: number): number | undefined {
  if (!expected || done <= 0 || elapsedMs <= 0) return undefined;
  return Math.max(0, ((expected - done) * elapsedMs) / done);
}
