import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { RateLimiter } from '../source/rateLimiter.ts';

export interface ProgressOptions {
  clock: Clock;
  logger: Logger;
  /** Devices the last succeeded run saw: the basis of the ETA. */
  expected: number | null;
  limiter: RateLimiter;
  /** A terminal: one line updated in place instead of a log line per page. */
  terminal?: NodeJS.WritableStream;
}

/** Per-page progress lines: page, devices so far, expected total, limiter wait and an ETA. */
export function createProgress(options: ProgressOptions) {
  const startedAt = options.clock.now();
  return {
    page(page: number, devicesSoFar: number, extra: Record<string, unknown>) {
      const elapsedMs = options.clock.now() - startedAt;
      const etaMs = estimateRemainingMs(devicesSoFar, options.expected, elapsedMs);
      if (options.terminal)
        options.terminal.write(`\r${progressLine(page, devicesSoFar, options.expected, options.limiter.waitedMs, etaMs)}\x1b[K`);
      options.logger.log(options.terminal ? 'debug' : 'info', `page ${page} stored`, {
        page,
        devices: devicesSoFar,
        expected: options.expected,
        rateLimitWaitMs: Math.round(options.limiter.waitedMs),
        ...(etaMs === undefined ? {} : { etaSeconds: Math.round(etaMs / 1000) }),
        ...extra,
      });
    },
  };
}

export function progressLine(page: number, devices: number, expected: number | null, waitedMs: number, etaMs: number | undefined): string {
  const total = expected ? `/${expected}` : '';
  const eta = etaMs === undefined ? '' : ` · ETA ${formatSeconds(etaMs)}`;
  return `page ${page} · ${devices}${total} devices · rate-limit wait ${formatSeconds(waitedMs)}${eta}`;
}

function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function estimateRemainingMs(done: number, expected: number | null, elapsedMs: number): number | undefined {
  if (!expected || done <= 0 || elapsedMs <= 0) return undefined;
  return Math.max(0, ((expected - done) * elapsedMs) / done);
}
