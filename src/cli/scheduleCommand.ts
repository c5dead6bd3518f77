import type { Config } from '../config/config.ts';
import type { Database } from '../db/openDatabase.ts';
import { systemClock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { createDatabaseProbe, PROBE_TIMEOUT_MS } from '../scheduler/databaseProbe.ts';
import { listenHealthServer, type HealthServer } from '../scheduler/healthServer.ts';
import { createMetrics, type WorkerMetrics } from '../scheduler/metrics.ts';
import { startScheduler, type Scheduler } from '../scheduler/scheduler.ts';
import type { Command } from './command.ts';
import { loadCommandConfig, withDatabase, type CliContext } from './context.ts';
import { parseFlags } from './flags.ts';
import { syncOnce } from './syncCommand.ts';

// The worker of this process, while it runs: what the first signal's notice depends on.
let active: Scheduler | undefined;

export const scheduleCommand: Command = {
  name: 'schedule',
  summary: 'long-running worker: sync on SYNC_CRON, serve /healthz and /metrics',
  help: `Usage: metaaccess-sync schedule

Runs a sync on SYNC_CRON (5 or 6 fields; seconds optional) in SYNC_TIMEZONE, and once at start
when SYNC_ON_START=true. Never two runs at once: a tick during a run is skipped, and a tick that
finds another process's run lock waits for the next tick. A failed run is logged and the worker
keeps going.

While it runs, HTTP_PORT (default 9464; 0 turns it off) serves:
  GET /healthz   200 while the database answers and the last succeeded run is not older than
                 two schedule periods, else 503 with the reasons as JSON (a database that does
                 not answer is named with its cause, within ${PROBE_TIMEOUT_MS / 1000} s); 503 while starting
  GET /livez     200 while the process answers (for liveness probes)
  GET /metrics   always 200, Prometheus text: metaaccess_database_up (1/0), runs by status, last
                 run's duration and counts, time of the last success, devices by compliance
                 status (these keep their last values while the database is down); this
                 process's API requests/retries/429s and rate-limiter wait; Node's process metrics

SIGINT/SIGTERM: with no run in flight the worker stops at once; a run in flight stores the pages it
holds, stops and is recorded cancelled, then the worker exits 0. A second signal exits at once.

Exit codes: 0 stopped by a signal, 1 could not start (HTTP_PORT in use, database unreachable,
migrations failed), 2 bad configuration or usage, 3 the embedded database is in use by another
process, 130/143 a second SIGINT/SIGTERM.
`,
  async run(args, ctx) {
    parseFlags(args, {});
    const { config, logger } = loadCommandConfig(ctx, true);
    const metrics = createMetrics();
    // Bound before the database is opened: a port in use fails at once, before anything started.
    const server = config.httpPort === 0 ? undefined : await listenHealthServer(config.httpPort, metrics);
    if (server) logger.info('health and metrics listening', { port: server.port });
    try {
      await withDatabase(config, (database) => serveUntilStopped({ config, logger, ctx, database, metrics, server }));
    } finally {
      await server?.close();
    }
    logger.info('stopped cleanly');
    return 0;
  },
  stopNotice(signal) {
    return active?.state().running
      ? `${signal} received, waiting for the run in flight to store the pages it holds (again to exit now)`
      : `${signal} received, no run in flight: stopping now (again to exit now)`;
  },
};

interface Worker {
  config: Config;
  logger: Logger;
  ctx: CliContext;
  database: Database;
  metrics: WorkerMetrics;
  server: HealthServer | undefined;
}

/** Ticks until the first signal, then waits for the run in flight; the server closes before the database does. */
async function serveUntilStopped({ config, logger, ctx, database, metrics, server }: Worker): Promise<void> {
  // Stopped while the database was opened and migrated: nothing was started.
  if (ctx.signal.aborted) return;
  // The embedded database is in this process and answers in turn: no timeout (see createDatabaseProbe).
  const probe = createDatabaseProbe(database, config.databaseUrl ? { timeoutMs: PROBE_TIMEOUT_MS } : {});
  metrics.useDatabase(database, probe);
  const scheduler = startScheduler({
    cron: config.sync.cron,
    timezone: config.sync.timezone,
    onStart: config.sync.onStart,
    logger,
    runOnce: async (trigger) => {
      const summary = await syncOnce(config, database, logger, ctx, trigger);
      metrics.recordRun(summary);
      return summary;
    },
  });
  active = scheduler;
  server?.ready({ database, probe, scheduler, clock: systemClock, startedAt: systemClock.now() });
  try {
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.info(
      scheduler.state().running ? 'stopping: waiting for the run in flight to store the pages it holds' : 'stopping: no run in flight',
    );
  } finally {
    await scheduler.stop();
    active = undefined;
    await server?.close();
  }
}
