// One sync in a process of its own, wired as `metaaccess-sync sync` wires it (the product's
// logger at info level, its source and runSync), so its memory is the worker's alone. Reports
// over IPC: the kernel's peak RSS (maxRSS), sampled RSS and heap, and the run's summary.
// Started by bench/memory.mjs with --expose-gc; argv[2] is JSON { simUrl, dbUrl, token }.
import { Writable } from 'node:stream';
import { openDatabase } from '../../dist/db/openDatabase.js';
import { runSync } from '../../dist/jobs/runSync.js';
import { systemClock } from '../../dist/lib/clock.js';
import { createLogger } from '../../dist/lib/logger.js';
import { createSource } from '../../dist/source/createSource.js';

const { simUrl, dbUrl, token } = JSON.parse(process.argv[2] ?? '{}');
const MB = 2 ** 20;

// The CLI logs a line per page; formatting them is part of the cost, printing them here is noise.
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const logger = createLogger({ level: 'info', format: 'json', stream: discard });
const database = await openDatabase({ url: dbUrl, pgliteDir: '' });
// The default METAACCESS_RATE_LIMIT (10, hence the default 20 pages prefetched, which is what
// holds memory) over a 10 ms window: no request ever waits for the limiter.
const source = createSource(
  {
    url: simUrl,
    credentials: { kind: 'token', accessToken: token },
    rateLimit: 10,
    rateWindowMs: 10,
    pageSize: 50,
    timeoutMs: 30_000,
    maxRetries: 5,
  },
  { clock: systemClock, logger },
);

globalThis.gc?.();
const baseline = process.memoryUsage();
let peakRss = baseline.rss;
let peakHeap = baseline.heapUsed;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 200);

const started = performance.now();
const summary = await runSync({
  database,
  source,
  clock: systemClock,
  logger,
  trigger: 'bench',
  settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: 'UTC' },
});
const ms = performance.now() - started;
clearInterval(sampler);
// What the run still holds once it is over (garbage collected): structures that grew with it.
globalThis.gc?.();
const after = process.memoryUsage();
await database.close();

process.send(
  {
    status: summary.status,
    error: summary.error,
    devicesSeen: summary.counters.devicesSeen,
    rateLimitWaitMs: summary.rateLimitWaitMs,
    ms,
    maxRssMb: (process.resourceUsage().maxRSS * 1024) / MB,
    sampledPeakRssMb: peakRss / MB,
    baselineRssMb: baseline.rss / MB,
    baselineHeapMb: baseline.heapUsed / MB,
    peakHeapMb: peakHeap / MB,
    heapAfterGcMb: after.heapUsed / MB,
    externalAfterGcMb: after.external / MB,
  },
  () => process.exit(0),
);
