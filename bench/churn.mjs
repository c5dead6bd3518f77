// Scenario "churn" (issue 10): a nightly run after a day of churn — 0.5 % of the devices deleted
// and 0.5 % enrolled since the last run. Requests ÷ the minimum an ideal client needs: every page,
// the one request that confirms the end (the 413 after the last page), and one Device Details
// lookup per deleted device. Target ≤ 1.01.
// At the real 10 requests a minute, 2,000 pages take 3 h 20 min; the window is scaled down to
// 10 requests / 100 ms (the request count does not depend on the window's length). The sync is
// the built CLI in a child process, with its defaults (REMOVAL_CONFIRM=lookup); the simulator runs
// in this process.
// Usage: node bench/churn.mjs [--quick]   (`npm run build` first)
import { createDatabase, dropDatabase, emitResult, isQuick, log } from './lib/common.mjs';
import { describe429s, runCliSync, served, startSimulator, syncEnv, watchLoopDelay } from './lib/cliSync.mjs';

const quick = isQuick();
const DEVICES = quick ? 3_000 : 100_000;
const LIMIT = 10;
const WINDOW_MS = 100;
const LATENCY = { latencyMs: 20, jitterMs: 10 };
const CHURN = 0.005;
const PAGE = 50;
const DB = 'bench_churn';

log(
  `churn: ${DEVICES.toLocaleString('en-US')} devices (${DEVICES / PAGE} pages), ${CHURN * 100} % deleted and ${CHURN * 100} % enrolled, window ${LIMIT} / ${WINDOW_MS} ms${quick ? ' (quick)' : ''}`,
);
const started = performance.now();
const sim = await startSimulator({ devices: DEVICES, seed: 61, rateLimit: { limit: LIMIT, windowMs: WINDOW_MS }, ...LATENCY });
const dbUrl = await createDatabase(DB);
const env = syncEnv({ dbUrl, url: sim.url, limit: LIMIT, windowMs: WINDOW_MS });
let rows;
try {
  const first = await runCliSync(env);
  if (first.summary?.status !== 'succeeded')
    throw new Error(`first run: ${first.summary?.status ?? `exit ${first.code}`} ${first.summary?.error ?? first.stderr.slice(-500)}`);
  log(`  first run: ${first.summary.requests} requests in ${(first.summary.durationMs / 1000).toFixed(1)} s`);

  const deleted = Math.round(DEVICES * CHURN);
  const enrolled = Math.round(DEVICES * CHURN);
  sim.removeDevices(deleted);
  sim.addDevices(enrolled);
  // The simulator keeps the whole fleet in this process's heap (deletions need it): a full
  // collection now, so that none falls inside the measured run (one stalled the simulator 115 ms
  // in a trial, and the requests it then counted at once were 429s; see BENCHMARKS.md).
  globalThis.gc?.();
  const loop = await watchLoopDelay();
  const from = sim.log.length;
  const night = await runCliSync(env);
  const lag = loop.read();
  for (const line of describe429s(sim, from, sim.log.length, WINDOW_MS, loop)) log(`    429: ${line}`);
  loop.stop();
  const s = served(sim, from);
  const c = night.summary;
  if (c?.status !== 'succeeded') throw new Error(`churn run: ${c?.status ?? `exit ${night.code}`} ${c?.error ?? night.stderr.slice(-500)}`);
  const pages = Math.ceil((DEVICES - deleted + enrolled) / PAGE);
  const minimum = pages + 1 + deleted;
  const ratio = s.requests / minimum;
  log(
    `  churn run: ${s.requests} requests (${s.devices} list, ${s.past} × 413, ${s.details} lookups, ${s.status(429)} × 429) in ${(c.durationMs / 1000).toFixed(1)} s; minimum ${minimum}: ${ratio.toFixed(4)}×`,
  );
  const correct = c.devicesRemoved === deleted && c.devicesAdded === enrolled && c.devicesSeen === DEVICES - deleted + enrolled;
  rows = [
    {
      measure: `nightly churn, ${(DEVICES / PAGE).toLocaleString('en-US')} pages: requests ÷ the minimum`,
      values: [Number(ratio.toFixed(4))],
      median: Number(ratio.toFixed(4)),
      unit: '×',
      target: '≤ 1.01×',
      met: ratio <= 1.01 && correct,
      note:
        `${s.requests} requests against ${minimum} = ${pages} pages + 1 (the 413) + ${deleted} lookups; `
        + `${s.devices} list requests (${s.past} × 413), ${s.details} lookups, ${s.account} account, ${s.status(429)} × 429; `
        + `removed ${c.devicesRemoved} of ${deleted}, added ${c.devicesAdded} of ${enrolled}`,
    },
    {
      measure: 'nightly churn: wall time of the run',
      values: [Number((c.durationMs / 1000).toFixed(1))],
      median: Number((c.durationMs / 1000).toFixed(1)),
      unit: 's',
      target: null,
      met: null,
      note:
        `at ${LIMIT} requests / ${WINDOW_MS} ms (margin 20 ms a window); the first run of the account: ${first.summary.requests} requests, ${(first.summary.durationMs / 1000).toFixed(1)} s; `
        + `the simulator's event loop ran up to ${lag.maxMs.toFixed(0)} ms late (p99 ${lag.p99Ms.toFixed(0)} ms) during the run`,
    },
  ];
} finally {
  await sim.close();
  await dropDatabase(DB);
}
log(`churn done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
emitResult({
  scenario: 'churn',
  title: 'Nightly churn: requests ÷ the minimum',
  params: {
    devices: DEVICES,
    pages: DEVICES / PAGE,
    deleted: `${CHURN * 100} %`,
    enrolled: `${CHURN * 100} %`,
    limit: LIMIT,
    windowMs: WINDOW_MS,
    latency: `${LATENCY.latencyMs} ± ${LATENCY.jitterMs} ms`,
    sync: 'built CLI',
    quick,
  },
  rows,
});
