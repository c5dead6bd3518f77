// The built CLI (`node dist/cli.js sync --json`) in a child process, as production runs it: its
// own configuration defaults (SYNC_RESUME_WITHIN=6h, METAACCESS_MAX_RETRIES=5, the real backoff),
// its own process start, and a process that can be SIGKILLed. Used by the scenarios that count
// requests (requests.mjs, churn.mjs, resume.mjs); they host the simulator in their own process,
// so a page hook can kill the sync at an exact page, and the server's log shares their clock.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createSimulator } from '../../dist/simulator/simulator.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const TOKEN = 'bench-token';

/** Epoch ms on the same clock as the simulator's log (performance.timeOrigin + entry.at). */
export const epochNow = () => performance.timeOrigin + performance.now();

/**
 * Runs `sync --json` with exactly `env` (plus PATH and JSON logs); resolves
 * { code, signal, summary (the --json object, or null), stderr, spawnedAt, endedAt } (epoch ms).
 * `onSpawn(child)` gets the process, to kill it.
 */
export function runCliSync(env, { onSpawn, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const spawnedAt = epochNow();
    const child = spawn(process.execPath, [CLI, 'sync', '--json'], {
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    // Only the tail (the error a failed run ends with): a run logs a line per page, and a growing
    // string in this process (the simulator's) is garbage its collector would have to mark.
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let summary = null;
      try {
        summary = stdout.trim() ? JSON.parse(stdout) : null;
      } catch {
        summary = null;
      }
      resolve({ code, signal, summary, stderr, spawnedAt, endedAt: epochNow() });
    });
    onSpawn?.(child);
  });
}

/**
 * A sync restarted "at once" after a kill may find the dead process's lock session not yet
 * ended by PostgreSQL (exit 3): it is started again after 50 ms, and the attempts are counted.
 */
export async function runCliSyncRetryingLock(env, options = {}) {
  for (let lockRefusals = 0; ; lockRefusals++) {
    const result = await runCliSync(env, options);
    if (result.code !== 3 || lockRefusals >= 40) return { ...result, lockRefusals };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A simulator in this process, on loopback. */
export async function startSimulator(options) {
  const sim = createSimulator({ auth: { token: TOKEN }, ...options });
  await sim.start();
  return sim;
}

/** What the server saw from log index `from` on: requests by path, statuses, arrival times (epoch). */
export function served(sim, from = 0, to = sim.log.length) {
  const entries = sim.log.slice(from, to);
  const count = (pred) => entries.filter(pred).length;
  return {
    entries,
    requests: entries.length,
    pages: count((e) => e.path === 'devices' && e.status === 200),
    devices: count((e) => e.path === 'devices'),
    past: count((e) => e.path === 'devices' && e.status === 413),
    details: count((e) => e.path === 'details'),
    account: count((e) => e.path === 'account'),
    tokens: count((e) => e.path === 'token'),
    status: (s) => count((e) => e.status === s),
    arrivals: entries.map((e) => performance.timeOrigin + e.at),
  };
}

/** A loopback port nothing listens on (bound, then closed). */
export function closedPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The rate window run `runId` left on its row (epoch ms): what the next run reads and continues. */
export async function journaledTimes(dbUrl, runId) {
  const client = new pg.Client(dbUrl);
  await client.connect();
  try {
    const { rows } = await client.query('select recent_requests from metaaccess.sync_runs where id = $1', [runId]);
    return (rows[0]?.recent_requests ?? []).map(Number);
  } finally {
    await client.end();
  }
}

/** Base environment of a CLI sync against `sim` (or `url`) into `dbUrl`. */
export function syncEnv({ dbUrl, url, limit, windowMs, token = TOKEN, extra = {} }) {
  return {
    DATABASE_URL: dbUrl,
    METAACCESS_URL: url,
    ...(token ? { METAACCESS_ACCESS_TOKEN: token } : {}),
    METAACCESS_RATE_LIMIT: String(limit),
    METAACCESS_RATE_WINDOW_MS: String(windowMs),
    ...extra,
  };
}

/**
 * The 429s the server answered from log index `from` on, each with the arrivals in the window
 * before it (ms before the refused one): enough to tell a client that sent too early from a
 * server that counted late.
 */
export function describe429s(sim, from = 0, to = sim.log.length, windowMs = Infinity, loop = undefined) {
  const out = [];
  for (let i = from; i < to; i++) {
    const e = sim.log[i];
    if (e.status !== 429) continue;
    const before = sim.log
      .slice(0, i)
      .filter((p) => e.at - p.at < windowMs)
      .map((p) => (p.at - e.at).toFixed(0));
    const stalls = loop ? loop.stallsBefore(e.at, windowMs).map((s) => `${s.ms.toFixed(0)} ms ending at ${(s.at - e.at).toFixed(0)}`) : [];
    out.push(
      `${e.path}${e.page ? ` ${e.page}` : ''} at +${((e.at - sim.log[from].at) / 1000).toFixed(2)} s, ${before.length} arrivals in the window before it (${before.join(', ')} ms)`
        + (loop ? `; simulator stalls in that window: ${stalls.join(', ') || 'none over 5 ms'}` : ''),
    );
  }
  return out;
}

/**
 * Event-loop delay of this process (the simulator's): a server that is late to handle a request
 * counts its arrival late. A 2 ms timer notes every stall over 5 ms (when, how long), so a 429 can
 * be matched with a stall just before it; the histogram gives the maximum and p99.
 */
export async function watchLoopDelay() {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const stalls = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - 2;
    last = now;
    if (late > 5) stalls.push({ at: now, ms: late });
    if (stalls.length > 10_000) stalls.splice(0, 5_000);
  }, 2);
  timer.unref();
  return {
    read: () => ({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 }),
    /** Stalls that ended within `windowMs` before `at` (the simulator's performance.now()). */
    stallsBefore: (at, windowMs) => stalls.filter((s) => s.at <= at + 5 && at - s.at < windowMs),
    stop: () => {
      clearInterval(timer);
      h.disable();
    },
  };
}
