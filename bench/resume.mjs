// Scenario "resume" (issue 10): crash and resume. A nightly run is SIGKILLed when the server
// receives the request for the page at 50 % (then 95 %) of the list, and restarted at once; the
// restart resumes it. Total requests of the killed run and its restart ÷ an uninterrupted run's
// (target ≤ 1.05), and the 429s of both (target 0: the window survives the kill).
// The window is scaled down to 10 requests / 100 ms (2,000 pages take 3 h 20 min at the real
// 10 a minute); the restart still starts inside the killed run's last window. The sync is the
// built CLI in child processes; the simulator runs in this process, so a page hook kills at an
// exact page.
// The simulator generates each page from (seed, index) (a static fleet): with 100,000 devices
// held in its heap, a full collection stalled it 115 ms in a trial, and the requests it then
// handled at once were counted into one window: 429s that say nothing about the client.
// Usage: node bench/resume.mjs [--quick]   (`npm run build` first)
import { createDatabase, dropDatabase, emitResult, isQuick, log } from './lib/common.mjs';
import { describe429s, runCliSync, runCliSyncRetryingLock, served, startSimulator, syncEnv, watchLoopDelay } from './lib/cliSync.mjs';

const quick = isQuick();
const DEVICES = quick ? 3_000 : 100_000;
const PAGE = 50;
const PAGES = DEVICES / PAGE;
const LIMIT = 10;
const WINDOW_MS = 100;
const LATENCY = { latencyMs: 20, jitterMs: 10 };
const KILL_AT = [0.5, 0.95];
const DB = 'bench_resume';

const fail = (what, r) =>
  new Error(
    `${what}: ${r.summary?.status ?? `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}`} ${r.summary?.error ?? r.stderr.slice(-500)}`,
  );

log(
  `resume: ${DEVICES.toLocaleString('en-US')} devices (${PAGES} pages), SIGKILL at ${KILL_AT.map((f) => `${f * 100} %`).join(' and ')}, window ${LIMIT} / ${WINDOW_MS} ms${quick ? ' (quick)' : ''}`,
);
const started = performance.now();
const sim = await startSimulator({
  devices: DEVICES,
  seed: 62,
  staticFleet: true,
  rateLimit: { limit: LIMIT, windowMs: WINDOW_MS },
  ...LATENCY,
});
const dbUrl = await createDatabase(DB);
const env = syncEnv({ dbUrl, url: sim.url, limit: LIMIT, windowMs: WINDOW_MS });
const rows = [];
const loop = await watchLoopDelay();
/** Logs each 429 with the arrivals before it, and how late the simulator's event loop ran. */
const explain429s = (what, from, to) => {
  for (const line of describe429s(sim, from, to, WINDOW_MS, loop)) log(`    429 in ${what}: ${line}`);
};
try {
  const first = await runCliSync(env);
  if (first.summary?.status !== 'succeeded') throw fail('first run', first);
  // The reference: a nightly run nothing interrupts (the list unchanged: no lookups).
  let from = sim.log.length;
  const whole = await runCliSync(env);
  if (whole.summary?.status !== 'succeeded') throw fail('uninterrupted run', whole);
  const reference = served(sim, from);
  explain429s('the uninterrupted run', from, sim.log.length);
  log(`  uninterrupted: ${reference.requests} requests, ${reference.status(429)} × 429, ${(whole.summary.durationMs / 1000).toFixed(1)} s`);

  for (const fraction of KILL_AT) {
    const killPage = Math.round(PAGES * fraction);
    let child;
    sim.onPage((page) => {
      if (page === killPage && child) {
        child.kill('SIGKILL');
        child = undefined;
      }
    });
    from = sim.log.length;
    const killed = await runCliSync(env, { onSpawn: (c) => (child = c) });
    sim.onPage(null);
    if (killed.signal !== 'SIGKILL') throw fail(`run to kill at page ${killPage}`, killed);
    const between = sim.log.length;
    explain429s(`the run killed at page ${killPage}`, from, between);
    const restart = await runCliSyncRetryingLock(env);
    explain429s('the restart', between, sim.log.length);
    if (restart.summary?.status !== 'succeeded') throw fail('restart', restart);
    const before = served(sim, from, between);
    const after = served(sim, between);
    const total = before.requests + after.requests;
    const ratio = total / reference.requests;
    const limited = before.status(429) + after.status(429);
    const r = restart.summary;
    const complete = r.resumedFrom !== null && r.devicesSeen === DEVICES && r.devicesRemoved === 0;
    log(
      `  killed at page ${killPage}: ${before.requests} requests; restart resumed run ${r.resumedFrom} from page ${r.resumePage}: ${after.requests} requests; `
        + `${total} in all = ${ratio.toFixed(4)}×, ${limited} × 429${restart.lockRefusals ? `; lock refused ${restart.lockRefusals}×` : ''}`,
    );
    rows.push({
      measure: `SIGKILL at ${fraction * 100} % (page ${killPage} of ${PAGES}), restarted at once: total requests ÷ an uninterrupted run`,
      values: [Number(ratio.toFixed(4))],
      median: Number(ratio.toFixed(4)),
      unit: '×',
      target: '≤ 1.05×',
      met: ratio <= 1.05 && complete,
      note:
        `${before.requests} before the kill + ${after.requests} after (resumed from page ${r.resumePage}: ${PAGES - r.resumePage + 1} pages + 1) = ${total}, against ${reference.requests} `
        + `(${reference.status(429)} × 429 among them; ${(total / (PAGES + 1)).toFixed(4)}× the ${PAGES + 1} an ideal run needs); `
        + `devices seen ${r.devicesSeen.toLocaleString('en-US')}, removed ${r.devicesRemoved}`,
    });
    rows.push({
      measure: `SIGKILL at ${fraction * 100} %: 429s (killed run + restart)`,
      values: [limited],
      median: limited,
      unit: '× 429',
      target: '0',
      met: limited === 0,
      note: `${before.status(429)} + ${after.status(429)}; busiest window of the whole session ${sim.maxInWindow()} of ${LIMIT}${restart.lockRefusals ? `; the restart found the lock still held ${restart.lockRefusals}× (retried after 50 ms)` : ''}`,
    });
  }
  const lag = loop.read();
  rows.push({
    measure: "the simulator's event-loop delay over the scenario (it counts an arrival when it handles the request)",
    values: [Number(lag.maxMs.toFixed(1))],
    median: Number(lag.maxMs.toFixed(1)),
    unit: 'ms (max)',
    target: null,
    met: null,
    note: `p99 ${lag.p99Ms.toFixed(1)} ms; the limiter's margin is 20 ms a window here (1 % of the window, at least 20 ms)`,
  });
} finally {
  loop.stop();
  await sim.close();
  await dropDatabase(DB);
}
log(`resume done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
emitResult({
  scenario: 'resume',
  title: 'Crash and resume: requests ÷ an uninterrupted run, and 429s',
  params: {
    devices: DEVICES,
    pages: PAGES,
    limit: LIMIT,
    windowMs: WINDOW_MS,
    latency: `${LATENCY.latencyMs} ± ${LATENCY.jitterMs} ms`,
    killAt: KILL_AT.map((f) => `${f * 100} %`).join(' and '),
    sync: 'built CLI',
    quick,
  },
  rows,
});
