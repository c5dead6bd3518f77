// Scenario "requests" (issue 10): every row of the issue's table, "requests today → what it
// should cost", re-measured. The real sync runs as the built CLI in child processes
// (`node dist/cli.js sync --json`: its defaults, its process start, SIGKILL where a row needs one)
// against the simulator in this process: a strict sliding window, shortened so the suite runs
// fast (10 requests / 1 s; 10 / 2 s for the rows about restarts, so a new process starts well
// inside the window). Counts are what the server saw (its log), unless no server answered.
// Usage: node bench/requests.mjs [--quick]   (`npm run build` first)
import { createDatabase, dropDatabase, emitResult, isQuick, log, median } from './lib/common.mjs';
import { closedPort, journaledTimes, runCliSync, runCliSyncRetryingLock, served, startSimulator, syncEnv } from './lib/cliSync.mjs';

const quick = isQuick();
const LIMIT = 10;
const WINDOW_MS = quick ? 500 : 1000;
/** Rows (c) and (d): a window comfortably longer than a CLI process takes to start (~0.4 s). */
const RESTART_WINDOW_MS = quick ? 1200 : 2000;
const LATENCY = { latencyMs: 30, jitterMs: 20 };
const PAGE = 50;
/** Rows whose figure is a time, or a race (c, d): repeated; request counts are deterministic. */
const RUNS = quick ? 1 : 3;
const SIZE = quick
  ? { removal: 500, failPage: 8, kill: 300, oauth: 500, first: 250, maxRetries: 0 }
  : { removal: 2000, failPage: 35, kill: 600, oauth: 2000, first: 1000, maxRetries: undefined };
/** Issue 10's figures, measured on main before the change ("requests today"). */
const WAS = {
  a: '80 requests for 40 pages (the whole list twice)',
  b: '40 again, from page 1',
  c: '10 × 429',
  d: 'a full window from process start (60 s a run in production)',
  e: '10 requests (a whole window)',
  fDown: '110 requests, 11 min 6 s',
  f503: '103 requests (each of 20 prefetched pages retried 5 times)',
  g: '10 of 63 requests answered 401',
  h: '30 requests for 20 pages',
};

const rows = [];
const started = performance.now();
let dbCounter = 0;
const pagesOf = (devices) => Math.ceil(devices / PAGE);

function addRow(measure, values, unit, { target = null, met = null, was, note = '' }) {
  rows.push({ measure, values, median: median(values), unit, target, met, note: `before: ${was}. ${note}`.trim() });
  log(
    `  [${((performance.now() - started) / 1000).toFixed(0)} s] ${measure}: ${values.join(' / ')} ${unit}${met === false ? '  (target missed)' : ''}`,
  );
}

/** A simulator and a fresh database (named bench_requests_*), for the length of `fn`. */
async function account(simOptions, fn) {
  const sim = await startSimulator({ seed: 100 + dbCounter, rateLimit: { limit: LIMIT, windowMs: WINDOW_MS }, ...LATENCY, ...simOptions });
  const name = `bench_requests_${dbCounter++}`;
  const dbUrl = await createDatabase(name);
  try {
    return await fn({
      sim,
      dbUrl,
      env: (extra = {}, opts = {}) => syncEnv({ dbUrl, url: sim.url, limit: LIMIT, windowMs: WINDOW_MS, ...opts, extra }),
    });
  } finally {
    await sim.close();
    await dropDatabase(name);
  }
}

/** One CLI sync; what the server saw during it. */
async function sync(sim, env, options) {
  const from = sim.log.length;
  const result = await (options?.retryLock ? runCliSyncRetryingLock(env, options) : runCliSync(env, options));
  return { ...result, served: served(sim, from) };
}

function expectStatus(run, status, what) {
  const got = run.summary?.status ?? `exit ${run.code}${run.signal ? ` (${run.signal})` : ''}`;
  if (got !== status)
    throw new Error(
      `${what}: expected ${status}, got ${got}: ${run.summary?.error ?? run.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`,
    );
}

const breakdown = (s) =>
  [
    `${s.devices} list requests (${s.past} × 413)`,
    s.details ? `${s.details} lookups` : '',
    s.account ? `${s.account} account` : '',
    s.tokens ? `${s.tokens} token` : '',
    `${s.status(429)} × 429`,
  ]
    .filter(Boolean)
    .join(', ');

log(
  `requests: issue 10's table against a strict sliding window of ${LIMIT} requests / ${WINDOW_MS} ms (${RESTART_WINDOW_MS} ms for restarts), the CLI in child processes${quick ? ' (quick)' : ''}`,
);

// (a) and (b): one account of SIZE.removal devices, synced once; then deletions, then a failure.
await account({ devices: SIZE.removal }, async ({ sim, env }) => {
  const setup = await sync(sim, env({ REMOVAL_CONFIRM: 'recheck' }));
  expectStatus(setup, 'succeeded', '(a) first run');
  const pages = pagesOf(SIZE.removal);

  sim.removeDevices(3);
  const recheck = await sync(sim, env({ REMOVAL_CONFIRM: 'recheck' }));
  expectStatus(recheck, 'succeeded', '(a) recheck');
  addRow(
    `(a) 3 of ${SIZE.removal.toLocaleString('en-US')} devices deleted since the last run, REMOVAL_CONFIRM=recheck: requests`,
    [recheck.served.requests],
    'requests',
    {
      was: WAS.a,
      note: `recheck reads the list again until it ends, by design: ${breakdown(recheck.served)}; removed ${recheck.summary.devicesRemoved}`,
    },
  );

  sim.removeDevices(3);
  const lookup = await sync(sim, env({ REMOVAL_CONFIRM: 'lookup' }));
  expectStatus(lookup, 'succeeded', '(a) lookup');
  const lookupTarget = pagesOf(SIZE.removal - 6) + 1 + 3;
  addRow(`(a) the same, REMOVAL_CONFIRM=lookup (the default): requests`, [lookup.served.requests], 'requests', {
    target: `${lookupTarget} (${pagesOf(SIZE.removal - 6)} pages + 1 + 3 lookups)`,
    met: lookup.served.requests <= lookupTarget && lookup.summary.devicesRemoved === 3,
    was: WAS.a,
    note: `${breakdown(lookup.served)}; removed ${lookup.summary.devicesRemoved}`,
  });

  // (b) failure at page failPage of `pages`: a body that is not JSON fails the run at once.
  const whole = await sync(sim, env());
  expectStatus(whole, 'succeeded', '(b) uninterrupted run');
  sim.injectFault({ match: { path: 'devices', page: SIZE.failPage }, kind: 'garbage' });
  const failed = await sync(sim, env());
  expectStatus(failed, 'failed', '(b) failing run');
  const next = await sync(sim, env());
  expectStatus(next, 'succeeded', '(b) next run');
  const stored = failed.summary.pages;
  const bTarget = pages - stored + 1 + LIMIT;
  addRow(
    `(b) failure at page ${SIZE.failPage} of ${pages}, then the next run: requests of the next run`,
    [next.served.requests],
    'requests',
    {
      target: `≤ ${bTarget} (${pages - stored} pages not stored + 1, plus at most a window of ${LIMIT})`,
      met: next.served.requests <= bTarget && next.summary.resumedFrom === failed.summary.runId,
      was: WAS.b,
      note:
        `resumed run ${next.summary.resumedFrom} from page ${next.summary.resumePage}: ${breakdown(next.served)}; the failed run stored ${stored} pages in ${failed.served.requests} requests; `
        + `failed + next = ${failed.served.requests + next.served.requests} against ${whole.served.requests} for an uninterrupted run (${((failed.served.requests + next.served.requests) / whole.served.requests).toFixed(3)}×)`,
    },
  );
});

// (c) SIGKILL while the first requests are in flight (page 3 arriving), restarted at once.
{
  const limited = [];
  const notes = [];
  for (let run = 0; run < RUNS; run++) {
    await account(
      { devices: SIZE.kill, rateLimit: { limit: LIMIT, windowMs: RESTART_WINDOW_MS }, latencyMs: 300, jitterMs: 100 },
      async ({ sim, dbUrl }) => {
        const env = syncEnv({ dbUrl, url: sim.url, limit: LIMIT, windowMs: RESTART_WINDOW_MS });
        let child;
        sim.onPage((page) => {
          if (page === 3 && child) {
            child.kill('SIGKILL');
            child = undefined;
          }
        });
        const killed = await sync(sim, env, { onSpawn: (c) => (child = c) });
        sim.onPage(null);
        if (killed.signal !== 'SIGKILL') throw new Error(`(c) the first sync was not killed: exit ${killed.code}`);
        const restart = await sync(sim, env, { retryLock: true });
        expectStatus(restart, 'succeeded', '(c) restart');
        limited.push(restart.served.status(429));
        notes.push(
          `${killed.served.requests} sent before the kill, restart ${restart.served.requests} (${restart.served.status(429)} × 429${restart.lockRefusals ? `, lock refused ${restart.lockRefusals}×` : ''}), busiest window ${sim.maxInWindow()}`,
        );
      },
    );
  }
  addRow(`(c) SIGKILL while the first requests are in flight (page 3 arriving), restarted at once: 429s`, limited, '× 429', {
    target: '0',
    met: limited.every((n) => n === 0),
    was: WAS.c,
    note: `window ${LIMIT} / ${RESTART_WINDOW_MS} ms, latency 300 ± 100 ms, ${SIZE.kill} devices; ${notes.join('; ')}`,
  });
}

// (d) A new sync process right after a run: the time to its first request, against what the
// server's window forces (its 10th-latest arrival + the window) and what the previous run's row
// says (the journal the new process reads).
{
  const margin = Math.min(1000, Math.max(20, Math.ceil(RESTART_WINDOW_MS * 0.01)));
  const variants = [
    // 1,000 devices, a first run: 22 requests, so its last window holds 2 and forces nothing.
    { key: 'free', devices: 1000, label: "the previous run's last window nearly empty" },
    // 890 devices: 18 pages + the 413 + the estimate = 20 requests, two full windows.
    { key: 'full', devices: 890, label: "the previous run's last window full" },
  ];
  for (const variant of variants) {
    const waits = [];
    const forcedList = [];
    const journalList = [];
    for (let run = 0; run < RUNS; run++) {
      await account({ devices: variant.devices, rateLimit: { limit: LIMIT, windowMs: RESTART_WINDOW_MS } }, async ({ sim, dbUrl }) => {
        const env = syncEnv({ dbUrl, url: sim.url, limit: LIMIT, windowMs: RESTART_WINDOW_MS });
        const previous = await sync(sim, env);
        expectStatus(previous, 'succeeded', `(d) previous run (${variant.key})`);
        const arrivals = sim.log.map((e) => performance.timeOrigin + e.at).sort((x, y) => x - y);
        const forcedAt = arrivals.length >= LIMIT ? arrivals[arrivals.length - LIMIT] + RESTART_WINDOW_MS : -Infinity;
        let child;
        sim.onPage(() => {
          child?.kill('SIGKILL');
          child = undefined;
        });
        const next = await sync(sim, env, { onSpawn: (c) => (child = c) });
        sim.onPage(null);
        const first = next.served.arrivals[0];
        if (first === undefined) throw new Error(`(d) the new process sent nothing: exit ${next.code}`);
        const journal = (await journaledTimes(dbUrl, previous.summary.runId)).sort((x, y) => x - y);
        const journalAt = journal.length >= LIMIT ? journal[journal.length - LIMIT] + RESTART_WINDOW_MS + margin : -Infinity;
        waits.push((first - next.spawnedAt) / 1000);
        forcedList.push(Math.max(0, forcedAt - next.spawnedAt) / 1000);
        journalList.push(Math.max(0, journalAt - next.spawnedAt) / 1000);
      });
    }
    const excess = waits.map((w, i) => w - forcedList[i]);
    const r3 = (x) => Number(x.toFixed(3));
    if (variant.key === 'free') {
      addRow(
        `(d) a new sync process right after a run, ${variant.label}: time from process start to its first request`,
        waits.map(r3),
        's',
        {
          target: `no window wait (the window forces ${median(forcedList).toFixed(2)} s)`,
          met: median(forcedList) === 0 && median(waits) < RESTART_WINDOW_MS / 1000 / 2,
          was: `${WAS.d}: here ${RESTART_WINDOW_MS / 1000} s + the process start`,
          note: `window ${LIMIT} / ${RESTART_WINDOW_MS} ms; all of it is the process starting (Node, connection, migrations, the lock): the server's window and the journal force ${median(forcedList).toFixed(2)} / ${median(journalList).toFixed(2)} s`,
        },
      );
    } else {
      addRow(`(d) the same, ${variant.label}: wait beyond what the server's window forces`, excess.map(r3), 's', {
        target: `≤ the limiter's margin (${margin} ms) + 50 ms`,
        met: median(excess) <= (margin + 50) / 1000,
        was: `${WAS.d}: here ${RESTART_WINDOW_MS / 1000} s from process start`,
        note:
          `first request ${waits.map((w) => w.toFixed(2)).join(' / ')} s after the process started; the server's window forced ${forcedList.map((w) => w.toFixed(2)).join(' / ')} s, `
          + `the previous run's journal (+ margin) ${journalList.map((w) => w.toFixed(2)).join(' / ')} s`,
      });
    }
  }
}

// (e) and (f): a wrong token; the API host unreachable; a permanent 503. First runs (the first
// request is the Account estimate) and later runs (the first request is page 1).
{
  const retries = SIZE.maxRetries === undefined ? {} : { METAACCESS_MAX_RETRIES: String(SIZE.maxRetries) };
  const failing = {};
  const port = await closedPort();
  const downUrl = `http://127.0.0.1:${port}`;
  await account({ devices: 500 }, async ({ sim, dbUrl, env }) => {
    failing.tokenFirst = await sync(sim, env({}, { token: 'wrong-token' }));
    expectStatus(failing.tokenFirst, 'failed', '(e) wrong token, first run');
    expectStatus(await sync(sim, env()), 'succeeded', '(e) setup');
    failing.tokenLater = await sync(sim, env({}, { token: 'wrong-token' }));
    expectStatus(failing.tokenLater, 'failed', '(e) wrong token, later run');
    failing.downLater = await sync(sim, syncEnv({ dbUrl, url: downUrl, limit: LIMIT, windowMs: WINDOW_MS, extra: retries }));
    expectStatus(failing.downLater, 'failed', '(f) unreachable, later run');
    sim.injectFault({ kind: 'status', status: 503, times: 1e9 });
    failing.s503Later = await sync(sim, env(retries));
    expectStatus(failing.s503Later, 'failed', '(f) 503, later run');
  });
  await account({ devices: 500 }, async ({ sim, env }) => {
    sim.injectFault({ kind: 'status', status: 503, times: 1e9 });
    failing.s503First = await sync(sim, env(retries));
    expectStatus(failing.s503First, 'failed', '(f) 503, first run');
  });
  await account({ devices: 500 }, async ({ sim, dbUrl }) => {
    failing.downFirst = await sync(sim, syncEnv({ dbUrl, url: downUrl, limit: LIMIT, windowMs: WINDOW_MS, extra: retries }));
    expectStatus(failing.downFirst, 'failed', '(f) unreachable, first run');
  });
  const seen = (r) => r.served.requests;
  addRow(
    '(e) wrong token: requests before failing (first run / later run)',
    [seen(failing.tokenFirst), seen(failing.tokenLater)],
    'requests',
    {
      target: '1',
      met: seen(failing.tokenFirst) === 1 && seen(failing.tokenLater) === 1,
      was: WAS.e,
      note: `${failing.tokenFirst.summary.errorCode}: ${failing.tokenFirst.summary.error}`,
    },
  );
  const sec = (r) => (r.summary.durationMs ?? r.endedAt - r.spawnedAt) / 1000;
  const retryNote =
    SIZE.maxRetries === undefined
      ? 'METAACCESS_MAX_RETRIES=5 and the real backoff (1 s doubling, capped at 30 s, equal jitter)'
      : `METAACCESS_MAX_RETRIES=${SIZE.maxRetries} (quick)`;
  // No server answers an unreachable host: the count is the client's (sync --json `requests`).
  const downCounts = [failing.downFirst.summary.requests, failing.downLater.summary.requests];
  addRow('(f) API host unreachable (closed port): requests before failing (first run / later run)', downCounts, 'requests', {
    target: `≤ ${LIMIT} (about one window's budget)`,
    met: downCounts.every((n) => n <= LIMIT),
    was: WAS.fDown,
    note: `failed after ${sec(failing.downFirst).toFixed(1)} / ${sec(failing.downLater).toFixed(1)} s (${retryNote}); ${failing.downFirst.summary.errorCode}: ${failing.downFirst.summary.error}`,
  });
  const s503 = [seen(failing.s503First), seen(failing.s503Later)];
  addRow('(f) permanent 503: requests before failing (first run / later run)', s503, 'requests', {
    target: `≤ ${LIMIT} (about one window's budget)`,
    met: s503.every((n) => n <= LIMIT),
    was: WAS.f503,
    note: `failed after ${sec(failing.s503First).toFixed(1)} / ${sec(failing.s503Later).toFixed(1)} s; ${failing.s503Later.summary.errorCode}: ${failing.s503Later.summary.error}`,
  });
}

// (g) OAuth tokens living one window while prefetched requests queue up to two windows for a slot.
await account(
  { devices: SIZE.oauth, auth: { clientId: 'bench-client', clientSecret: 'bench-secret', tokenTtlSeconds: WINDOW_MS / 1000 } },
  async ({ sim, env }) => {
    const run = await sync(sim, env({ METAACCESS_CLIENT_ID: 'bench-client', METAACCESS_CLIENT_SECRET: 'bench-secret' }, { token: null }));
    expectStatus(run, 'succeeded', '(g) OAuth');
    addRow(
      `(g) OAuth token lifetime (${WINDOW_MS / 1000} s) shorter than the queue wait (up to ${(2 * WINDOW_MS) / 1000} s): requests answered 401`,
      [run.served.status(401)],
      '× 401',
      {
        target: '0',
        met: run.served.status(401) === 0,
        was: WAS.g,
        note: `${run.served.requests} requests: ${breakdown(run.served)}; ${pagesOf(SIZE.oauth)} pages`,
      },
    );
  },
);

// (h) The first run of an account: pages, the 413 after the last (full) page, the Account estimate.
await account({ devices: SIZE.first }, async ({ sim, env }) => {
  const run = await sync(sim, env());
  expectStatus(run, 'succeeded', '(h) first run');
  const target = pagesOf(SIZE.first) + 2;
  addRow(`(h) first run of a ${SIZE.first.toLocaleString('en-US')}-device account: requests`, [run.served.requests], 'requests', {
    target: `${target} (${pagesOf(SIZE.first)} pages + the 413 + the account estimate)`,
    met: run.served.requests <= target,
    was: WAS.h,
    note: breakdown(run.served),
  });
});

log(`requests done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
emitResult({
  scenario: 'requests',
  title: "Requests per situation (issue 10's table)",
  params: {
    limit: LIMIT,
    windowMs: WINDOW_MS,
    restartWindowMs: RESTART_WINDOW_MS,
    latency: `${LATENCY.latencyMs} ± ${LATENCY.jitterMs} ms`,
    runs: RUNS,
    sync: 'built CLI, one process per run',
    quick,
  },
  rows,
});
