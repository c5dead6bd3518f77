// Scenario 1, rate-budget efficiency: a strict sliding-window simulator (10 requests per 2 s),
// 300 pages, at three server latencies; wall time of the whole sync (a first run: the Account
// estimate, 300 pages, the 413 after the last) ÷ the theoretical minimum (idealEndMs), and
// the 429s received — ours beside p-queue's default fixed window and a naive sequential loop.
// Each sync runs in its own process against its own simulator process and database; several run
// at once (they mostly wait on the limit), so the suite fits in its time budget.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRng, deriveSeed } from '../dist/simulator/rng.js';
import { emitResult, isQuick, log, median } from './lib/common.mjs';

const quick = isQuick();
const LIMIT = 10;
const WINDOW_MS = 2000;
const PAGES = quick ? 20 : 300;
/**
 * What the contract requires of an ideal client on a first run (the bench's syncs are first
 * runs): the Account v2 estimate, every page, and the request after the last (short) page, whose
 * 413 confirms the end: the end of the list is never guessed.
 */
const REQUESTS = 1 + PAGES + 1;
const RUNS = quick ? 1 : 3;
// Three syncs at a time, starts staggered: nine at once, all bursting on the same window
// boundaries, starve the simulator processes of CPU and skew their arrival clocks by > 100 ms.
const STAGGER_MS = 700;
const LATENCIES = [
  [0, 0],
  [300, 100],
  [1500, 500],
];
const STRATEGIES_ARG = process.argv.find((a) => a.startsWith('--strategies='))?.split('=')[1] ?? 'ours,fixed-window,naive';
const STRATEGIES = STRATEGIES_ARG.split(',');
// Our syncs three at a time; the baselines alone (latency-bound) six at a time.
const PARALLEL = STRATEGIES.includes('ours') ? 3 : 6;
const CHILD = fileURLToPath(new URL('./lib/rateChild.mjs', import.meta.url));

/** Seed of the simulator in rateChild.mjs: its latencies are drawn from this stream, in arrival order. */
const SIM_SEED = 7;

/**
 * When an ideal client's run ends, each request answered after `latencyOf(i)` ms: it starts each
 * request as early as the sliding window allows (the i-th no sooner than a window after the
 * (i - limit)-th started), except that the first request of a run goes alone: it proves the
 * credentials, so the others start only once its answer is back.
 */
function idealEndMs(latencyOf) {
  const starts = [];
  let firstAnswer = 0;
  let end = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const latency = latencyOf(i);
    const start = i === 0 ? 0 : Math.max(firstAnswer, i >= LIMIT ? starts[i - LIMIT] + WINDOW_MS : 0);
    starts.push(start);
    if (i === 0) firstAnswer = latency;
    end = Math.max(end, start + latency);
  }
  return end;
}

/**
 * The theoretical minimum, with the latencies the simulator draws: every answer draws one, in
 * arrival order, from a seeded stream, so an ideal client making exactly REQUESTS requests would
 * get these. With jitter, the run ends with the slowest answer of the last window, not the mean.
 */
function minimalMs(latencyMs, jitterMs) {
  const rng = createRng(deriveSeed(SIM_SEED, 'latency'));
  const draws = Array.from({ length: REQUESTS }, () => Math.max(0, latencyMs + (rng() * 2 - 1) * jitterMs));
  return idealEndMs((i) => draws[i]);
}
/** The same with every answer taking the mean latency. */
const meanLatencyMinimalMs = (latencyMs) => idealEndMs(() => latencyMs);

function runChild(job, index) {
  const params = {
    ...job,
    limit: LIMIT,
    windowMs: WINDOW_MS,
    pages: PAGES,
    db: `bench_rate_${STRATEGIES.join('_').replace(/-/g, '')}_${index}`,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(params)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${job.strategy} at ${job.latencyMs} ms exited with ${code}`));
      const result = JSON.parse(out.trim().split('\n').at(-1));
      if (result.status !== 'succeeded')
        return reject(new Error(`${job.strategy} at ${job.latencyMs} ms: ${result.status} ${result.error}`));
      const ratio = result.wallMs / minimalMs(job.latencyMs, job.jitterMs);
      log(
        `  ${job.strategy.padEnd(12)} latency ${String(job.latencyMs).padStart(4)}±${job.jitterMs} ms: ${(result.wallMs / 1000).toFixed(2)} s = ${ratio.toFixed(3)}× the minimum, ${result.rateLimited} × 429, ${result.requests} requests`,
      );
      for (const line of result.explained ?? []) log(`    429: ${line}`);
      resolve({ ...result, ratio });
    });
  });
}

async function pool(jobs, width) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async (w) => {
    await new Promise((r) => setTimeout(r, w * STAGGER_MS));
    while (next < jobs.length) {
      const i = next++;
      results[i] = await runChild(jobs[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, (_, w) => worker(w)));
  return results;
}

// Longest first, so the slow baselines overlap our repeated runs instead of trailing them.
const jobs = [];
for (const strategy of ['naive', 'fixed-window'].filter((s) => STRATEGIES.includes(s))) {
  for (const [latencyMs, jitterMs] of LATENCIES) jobs.push({ strategy, latencyMs, jitterMs });
}
if (STRATEGIES.includes('ours')) {
  for (let run = 0; run < RUNS; run++) for (const [latencyMs, jitterMs] of LATENCIES) jobs.push({ strategy: 'ours', latencyMs, jitterMs });
}

log(`rate budget: ${LIMIT} requests / ${WINDOW_MS} ms sliding window, ${PAGES} pages, ${jobs.length} syncs, ${PARALLEL} at a time`);
const started = performance.now();
const results = await pool(jobs, PARALLEL);

const rows = [];
for (const [latencyMs, jitterMs] of LATENCIES) {
  for (const strategy of ['ours', 'fixed-window', 'naive'].filter((s) => STRATEGIES.includes(s))) {
    const mine = results.filter((r) => r.strategy === strategy && r.latencyMs === latencyMs);
    const ratios = mine.map((r) => r.ratio);
    const limited = mine.reduce((n, r) => n + r.rateLimited, 0);
    const ok = median(ratios) <= 1.02 && limited === 0;
    rows.push({
      measure: `${strategy === 'ours' ? 'metaaccess-sync' : strategy === 'naive' ? 'naive sequential loop' : 'p-queue fixed window'}, latency ${latencyMs} ± ${jitterMs} ms: wall ÷ minimum`,
      values: ratios.map((x) => Number(x.toFixed(3))),
      median: Number(median(ratios).toFixed(3)),
      unit: '×',
      target: strategy === 'ours' ? '≤ 1.02×, 0 × 429' : null,
      met: strategy === 'ours' ? ok : null,
      note:
        `${limited} × 429; ${median(mine.map((r) => r.requests))} requests (the minimum's ${REQUESTS}); minimum ${(minimalMs(latencyMs, jitterMs) / 1000).toFixed(2)} s `
        + `(with every answer at the mean latency: ${(meanLatencyMinimalMs(latencyMs) / 1000).toFixed(2)} s, `
        + `${(median(mine.map((r) => r.wallMs)) / meanLatencyMinimalMs(latencyMs)).toFixed(3)}×); ${mine.map((r) => (r.wallMs / 1000).toFixed(1)).join(' / ')} s`
        + mine
          .flatMap((r) => r.explained ?? [])
          .map((line) => `; 429: ${line}`)
          .join(''),
    });
  }
}
log(`rate budget done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
emitResult({
  scenario: 'rate',
  title: 'Rate-budget efficiency',
  params: { limit: LIMIT, windowMs: WINDOW_MS, pages: PAGES, runs: RUNS, parallel: PARALLEL, quick },
  rows,
});
