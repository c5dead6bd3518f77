// One throttled sync, measured: node bench/lib/rateChild.mjs '<json>' → one JSON line on stdout.
// { strategy: 'ours' | 'fixed-window' | 'naive', limit, windowMs, pages, latencyMs, jitterMs, db }
import PQueue from 'p-queue';
import { runSync } from '../../dist/jobs/runSync.js';
import { systemClock } from '../../dist/lib/clock.js';
import { createSilentLogger } from '../../dist/lib/logger.js';
import { createSource } from '../../dist/source/createSource.js';
import { dropDatabase, freshDatabase } from './common.mjs';
import { startSimulatorProcess } from './simProcess.mjs';

const p = JSON.parse(process.argv[2]);
const TOKEN = 'bench-token';

/** p-queue's default: at most `limit` starts per fixed interval, which bursts at a boundary. */
function fixedWindowLimiter(limit, windowMs) {
  const queue = new PQueue({ concurrency: Number.POSITIVE_INFINITY, intervalCap: limit, interval: windowMs });
  return limiterShape(async (signal) => queue.add(() => undefined, signal ? { signal } : {}));
}
/** No limiter: one request after another, slowed only by 429s and their Retry-After. */
function noLimiter() {
  return limiterShape(async () => undefined);
}
/** The RateLimiter interface around `wait`; a server's pause (the sender's pauseUntil on a 429) is honoured. */
function limiterShape(wait) {
  let pausedUntil = 0;
  return {
    acquire: async (signal) => {
      const pause = pausedUntil - Date.now();
      if (pause > 0) await systemClock.sleep(pause, signal);
      await wait(signal);
      return { sent() {}, answered() {}, cancel() {} };
    },
    pauseUntil(epochMs) {
      pausedUntil = Math.max(pausedUntil, epochMs);
    },
    waitedMs: 0,
    queued: 0,
    recentStarts: () => [],
    preload() {},
    setJournal() {},
    widenMargin() {},
    marginMs: 0,
  };
}

// The last page is short (10 devices fewer); the request after it answers 413 and confirms the end.
const sim = await startSimulatorProcess({
  // seed 7: rateBudget.mjs draws the same latency stream to compute the theoretical minimum.
  devices: p.pages * 50 - 10,
  seed: 7,
  auth: { token: TOKEN },
  latencyMs: p.latencyMs,
  jitterMs: p.jitterMs,
  rateLimit: { limit: p.limit, windowMs: p.windowMs },
});
const { database } = await freshDatabase(p.db);
const logger = createSilentLogger();
const limiter = p.strategy === 'fixed-window' ? fixedWindowLimiter(p.limit, p.windowMs) : p.strategy === 'naive' ? noLimiter() : undefined;
const source = createSource(
  {
    url: sim.url,
    credentials: { kind: 'token', accessToken: TOKEN },
    rateLimit: p.limit,
    rateWindowMs: p.windowMs,
    pageSize: 50,
    timeoutMs: 30_000,
    maxRetries: 10,
  },
  { clock: systemClock, logger, ...(limiter ? { limiter } : {}) },
);
if (p.strategy === 'naive') source.prefetch = 1;
const started = performance.now();
const summary = await runSync({
  database,
  source,
  clock: systemClock,
  logger,
  trigger: 'bench',
  settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: 'UTC' },
});
const wallMs = performance.now() - started;
const stats = await sim.stats();
const maxInWindow = await sim.maxInWindow();
if (process.env.BENCH_DUMP_LOG) (await import('node:fs')).writeFileSync(process.env.BENCH_DUMP_LOG, JSON.stringify(await sim.log()));
// Each 429, with the arrivals the server counted in the window before it and the simulator's
// event-loop stalls in that window: a client that sent too early, or a server that counted late.
const explained = [];
if (stats.rateLimited > 0 && (p.strategy === 'ours' || process.env.BENCH_EXPLAIN_429)) {
  const entries = await sim.log();
  const stalls = await sim.stalls();
  entries.forEach((e, i) => {
    if (e.status !== 429) return;
    const before = entries
      .slice(0, i)
      .filter((x) => e.epoch - x.epoch < p.windowMs)
      .map((x) => Math.round(x.epoch - e.epoch));
    const near = stalls
      .filter((s) => s.epoch <= e.epoch + 5 && e.epoch - s.epoch < p.windowMs)
      .map((s) => `${Math.round(s.ms)} ms ending at ${Math.round(s.epoch - e.epoch)}`);
    explained.push(
      `${e.path}${e.page ? ` ${e.page}` : ''} (request ${i + 1}): ${before.length} counted in the window before it, the earliest at ${before[0]} ms; simulator stalls: ${near.join(', ') || 'none over 5 ms'}`,
    );
  });
}
await database.close();
await sim.close();
await dropDatabase(p.db);
process.stdout.write(
  `${JSON.stringify({
    ...p,
    status: summary.status,
    error: summary.error ?? null,
    wallMs,
    requests: stats.requests,
    rateLimited: stats.rateLimited,
    maxInWindow,
    devicesSeen: summary.counters.devicesSeen,
    explained,
  })}\n`,
);
