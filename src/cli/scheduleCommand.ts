import type { Server } from 'node:http';
import { systemClock } from '../lib/clock.ts';
import { startHealthServer } from '../scheduler/healthServer.ts';
import { createMetrics } from '../scheduler/metrics.ts';
import { startScheduler } from '../scheduler/scheduler.ts';
import type { Command } from './command.ts';
import { loadCommandConfig, withDatabase } from './context.ts';
import { parseFlags } from './flags.ts';
import { syncOnce } from './syncCommand.ts';

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
                 two schedule periods, else 503 with the reasons as JSON
  GET /livez     200 while the process answers (for liveness probes)
  GET /metrics   Prometheus text: runs by status, last run's duration and counts, API
                 requests/retries/429s and rate-limiter wait of this process, time of the last
                 success, devices by compliance status

SIGINT/SIGTERM: the run in flight stores the pages it holds, stops and is recorded cancelled, then the worker
exits 0. A second signal exits at once.
`,
  async run(args, ctx) {
    parseFlags(args, {});
    const { config, logger } = loadCommandConfig(ctx, true);
    await withDatabase(config, async (database) => {
      const metrics = createMetrics(database);
      const scheduler = startScheduler({
        cron: config.sync.cron, timezone: config.sync.timezone, onStart: config.sync.onStart, logger,
        runOnce: async (trigger) => {
          const summary = await syncOnce(config, database, logger, ctx, trigger);
          metrics.recordRun(summary);
          return summary;
        },
      });
      let server: Server | undefined;
      try {
        if (config.httpPort !== 0) {
          server = await startHealthServer(config.httpPort, { database, metrics, scheduler, clock: systemClock, startedAt: systemClock.now() });
          logger.info('health and metrics listening', { port: config.httpPort });
        }
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        logger.info('stopping: waiting for the run in flight to finish its page');
      } finally {
        await scheduler.stop();
        if (server) {
          const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
          server.closeAllConnections();
          await closed;
        }
      }
    });
    logger.info('stopped cleanly');
    return 0;
  },
};
