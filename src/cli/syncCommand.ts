import type { Config } from '../config/config.ts';
import type { Database } from '../db/openDatabase.ts';
import { pruneSnapshots } from '../jobs/pruneSnapshots.ts';
import { runSync, type RunSummary } from '../jobs/runSync.ts';
import { errorMessage, toAppError } from '../lib/errors.ts';
import { redactText } from '../lib/redact.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { createSource } from '../source/createSource.ts';
import type { Command } from './command.ts';
import { describeDatabase, loadCommandConfig, withDatabase, type CliContext } from './context.ts';
import { parseFlags } from './flags.ts';
import { summaryJson, summaryText } from './format.ts';

export const syncCommand: Command = {
  name: 'sync',
  summary: 'run one complete sync now',
  help: `Usage: metaaccess-sync sync [--json]

Applies pending migrations, then reads every device page from the MetaAccess API
(METAACCESS_URL) within the rate limit and stores devices, OS rows, network adapters and a
snapshot in the database. Credentials: METAACCESS_ACCESS_TOKEN, or METAACCESS_CLIENT_ID and
METAACCESS_CLIENT_SECRET (each also as *_FILE). Devices the list no longer shows are confirmed
gone with Device Details before they are marked removed (REMOVAL_CONFIRM). A run interrupted
less than SYNC_RESUME_WITHIN (6h) ago is resumed from its first uncommitted page.
SIGINT/SIGTERM stores the pages the run holds, stops, and records the run as cancelled.

Options:
  --json   print the run summary as JSON to stdout; when no run was made (exit 2 bad configuration,
           3 lock held) an object {runId: null, status: "not started", exitCode, errorCode, error}
           instead, and the same with status "error" for any other failure without a summary. A
           usage error (an unknown flag) prints nothing to stdout: only its line on stderr

Exit codes: 0 succeeded, 1 failed, 2 bad configuration or usage, 3 another run holds the lock,
4 incomplete (the list looked truncated: nothing was removed and no snapshot added; see the
run's notes), 130/143 stopped by SIGINT/SIGTERM (the run is recorded cancelled).
`,
  async run(args, ctx) {
    const flags = parseFlags(args, { json: { type: 'boolean' } });
    let summary: RunSummary;
    try {
      const { config, logger } = loadCommandConfig(ctx, true);
      summary = await withDatabase(config, (database) => syncOnce(config, database, logger, ctx, 'cli'));
    } catch (err) {
      // No run summary to print: a script reading --json still gets one object saying why (main writes the stderr line).
      if (flags.json) ctx.stdout.write(JSON.stringify(notStartedJson(err), null, 2) + '\n');
      throw err;
    }
    writeSummary(ctx, summary, Boolean(flags.json));
    return exitCodeOf(summary, ctx.signal);
  },
};

/**
 * One run. Every time it reads (the run row, the snapshot's day, removals, the resume window, runs
 * marked abandoned, the rate window, retention) comes from `clock`: `demo --days` passes a shifted one.
 */
export async function syncOnce(
  config: Config,
  database: Database,
  logger: Logger,
  ctx: CliContext,
  trigger: string,
  clock: Clock = systemClock,
): Promise<RunSummary> {
  logger.info('database', { database: describeDatabase(config) });
  if (config.api.insecure)
    logger.warn(
      'METAACCESS_URL is plain http:// to a host that is not loopback (METAACCESS_ALLOW_INSECURE=true): the access token and client secret travel unencrypted',
    );
  const source = createSource(config.api, { clock, logger });
  const summary = await runSync({
    database,
    source,
    clock,
    logger,
    trigger,
    signal: ctx.signal,
    ...(ctx.isTty && config.logFormat === 'pretty' ? { terminal: ctx.stderr } : {}),
    settings: {
      removalGuardPercent: config.sync.removalGuardPercent,
      removalConfirm: config.sync.removalConfirm,
      timezone: config.sync.timezone,
      resumeWithinMs: config.sync.resumeWithinMs,
    },
    // Retention is housekeeping, under the run lock so two processes never prune at once: a failed
    // prune is logged and retried after the next run.
    afterSucceeded: () =>
      pruneSnapshots({ database, clock, logger, retentionDays: config.sync.snapshotRetentionDays, timezone: config.sync.timezone }).then(
        () => undefined,
        (err: unknown) => void logger.warn('snapshot prune failed', { error: errorMessage(err) }),
      ),
  });
  return summary;
}

/**
 * `sync --json` when no run was made: another run holds the lock (exit 3), bad configuration (2),
 * or the database could not be opened or migrated (1). `runId` null tells it apart from a run.
 */
function notStartedJson(err: unknown): {
  runId: null;
  status: 'not started' | 'error';
  exitCode: number;
  errorCode: string;
  error: string;
} {
  const error = toAppError(err);
  // Lock held and bad configuration are known to stop before any run; anything else may have come later.
  const status = error.code === 'LOCK_HELD' || error.code === 'CONFIG_INVALID' ? 'not started' : 'error';
  return { runId: null, status, exitCode: error.exitCode, errorCode: error.code, error: redactText(error.message) };
}

/** 0 succeeded, 4 incomplete, 1 failed; a run stopped by a signal is not a success: 128 + the signal number. */
export function exitCodeOf(summary: RunSummary, signal: AbortSignal): number {
  if (summary.status === 'succeeded') return 0;
  if (summary.status === 'incomplete') return 4;
  if (summary.status === 'cancelled') return (signal.reason as { signal?: string } | undefined)?.signal === 'SIGINT' ? 130 : 143;
  return 1;
}

export function writeSummary(ctx: CliContext, summary: RunSummary, json: boolean): void {
  ctx.stdout.write(json ? JSON.stringify(summaryJson(summary), null, 2) + '\n' : summaryText(summary));
}
