/**
 * `demo --days N`: N nights of history written through the real sync. One simulator serves every
 * night and lives a day between two syncs; each sync runs on a clock shifted to its night, so its
 * run row, snapshot, daily figures and removals carry that night's date.
 */
import { count, gte, min, sql } from 'drizzle-orm';
import { readEnvironment, type Config } from '../config/config.ts';
import { selectRunTriggers, truncateSyncedData } from '../db/demoData.ts';
import { queryRows, type Database } from '../db/openDatabase.ts';
import { syncRuns } from '../db/schema.ts';
import { shiftedClock } from '../lib/clock.ts';
import { AppError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import type { RunSummary } from '../jobs/runSync.ts';
import { instantAt, nightlyRuns, type NightlyRun } from '../simulator/calendar.ts';
import { startSimulatorThread } from '../simulator/simulatorThread.ts';
import type { SimulatorOptions } from '../simulator/simulatorTypes.ts';
import type { CliContext } from './context.ts';
import { describeDatabase, loadCommandConfig, withDatabase } from './context.ts';
import { formatDuration } from './format.ts';
import { exitCodeOf, syncOnce } from './syncCommand.ts';

/** Two years of nights. */
export const MAX_DEMO_DAYS = 730;
export const DEMO_DAYS_TRIGGER = 'demo-days';
const DEMO_TRIGGERS = new Set(['demo', DEMO_DAYS_TRIGGER]);
const NIGHTLY_HOUR = 2;
const PROGRESS_EVERY = 10;
const DEMO_AUTH = { clientId: 'demo-client', clientSecret: 'demo-secret-do-not-log' } as const;

/**
 * The simulator every demo starts; `rateLimit` is the simulator's own. A plain demo answers like a
 * server across a network; --days, which syncs 90 nights in a row, like one next door.
 */
export function demoSimulatorOptions(
  options: { devices: number; seed: number; rateLimit: { limit: number; windowMs: number } },
  quick = false,
): SimulatorOptions {
  return { ...options, latencyMs: quick ? 2 : 15, jitterMs: quick ? 2 : 10, auth: { ...DEMO_AUTH } };
}

/** The configuration a demo syncs with: the simulator's URL, its demo credentials, the client's rate limit. */
export function demoConfig(config: Config, url: string, rateLimit: number, rateWindowMs: number): Config {
  return { ...config, api: { ...config.api, url, rateLimit, rateWindowMs, credentials: { kind: 'oauth', ...DEMO_AUTH } } };
}

export interface DemoDaysOptions {
  days: number;
  devices: number;
  seed: number;
  /** Requests per window, the client's and the simulator's. */
  limit: number;
  windowMs: number;
  json: boolean;
}

interface Night {
  night: NightlyRun;
  summary: RunSummary;
  incident: boolean;
}

export async function runDemoDays(options: DemoDaysOptions, ctx: CliContext): Promise<number> {
  const began = Date.now();
  const { config } = loadCommandConfig(ctx, false);
  // One line per night from the sync would bury the progress: warnings only, unless LOG_LEVEL says otherwise.
  const explicitLevel = readEnvironment(ctx.env).LOG_LEVEL !== undefined;
  const logger = createLogger({
    level: explicitLevel ? config.logLevel : 'warn',
    format: config.logFormat,
    stream: ctx.stderr,
    env: ctx.env,
  });
  const timezone = config.sync.timezone;
  const nights = nightlyRuns(began, options.days, timezone, NIGHTLY_HOUR);
  const first = nights[0]!;
  const last = nights[nights.length - 1]!;
  const say = (line: string) => ctx.stderr.write(`demo --days: ${line}\n`);
  return withDatabase(config, async (database) => {
    await refuseOverlap(database, first, timezone, say);
    // The simulator's rate window moves on a day with each night, as the client's clock does: the
    // nights meet a strict window each, as they would 24 hours apart, not the last night's requests.
    const simulator = await startSimulatorThread(
      demoSimulatorOptions(
        {
          devices: options.devices,
          seed: options.seed,
          rateLimit: { limit: options.limit, windowMs: options.windowMs },
        },
        true,
      ),
      0,
    );
    const done: Night[] = [];
    let failed: RunSummary | undefined;
    try {
      const runConfig = demoConfig(config, simulator.url, options.limit, options.windowMs);
      say(
        `${options.days} nights, ${first.date} to ${last.date} at ${String(NIGHTLY_HOUR).padStart(2, '0')}:00 ${timezone}; ${options.devices} devices (seed ${options.seed}); ${describeDatabase(config)}`,
      );
      for (const night of nights) {
        if (ctx.signal.aborted) break;
        const report = await simulator.goToDay(night.index, night.startAt);
        const clock = shiftedClock(night.startAt - Date.now());
        const summary = await syncOnce(runConfig, database, logger, { ...ctx, isTty: false }, DEMO_DAYS_TRIGGER, clock);
        if (summary.status !== 'succeeded') {
          failed = summary;
          break;
        }
        done.push({ night, summary, incident: report.nights.some((n) => n.incident) });
        if ((night.index + 1) % PROGRESS_EVERY === 0 || night === last) say(await progressLine(database, done, options.days, began));
      }
    } finally {
      await simulator.close();
    }
    if (!failed && done.length < nights.length) {
      say(`stopped by a signal after ${done.length} nights`);
      return (ctx.signal.reason as { signal?: string } | undefined)?.signal === 'SIGINT' ? 130 : 143;
    }
    if (failed) {
      say(
        `night ${done.length + 1} (${nights[done.length]!.date}): run ${failed.runId} ${failed.status}${failed.error ? `: ${failed.errorCode}: ${failed.error}` : ''}; stopped after ${done.length} nights`,
      );
      return exitCodeOf(failed, ctx.signal);
    }
    const summary = await historySummary(database, done, options, Date.now() - began);
    ctx.stdout.write(
      options.json
        ? JSON.stringify({ ...summary, database: describeDatabase(config) }, null, 2) + '\n'
        : historyText(summary, describeDatabase(config)),
    );
    return 0;
  });
}

/** Runs that started at or after `since`: how many, and the earliest start. */
async function runsSince(database: Database, since: Date): Promise<{ n: number; first: Date | null }> {
  const [row] = await database.db
    .select({ n: count(), first: min(syncRuns.startedAt) })
    .from(syncRuns)
    .where(gte(syncRuns.startedAt, since));
  return { n: row?.n ?? 0, first: row?.first ?? null };
}

/**
 * Histories are not interleaved: a run on or after the first night's day means another history
 * is there. A database that holds only the simulator's data (demo runs, e.g. the Quick start's)
 * is emptied instead, so the README's two demo commands work one after the other.
 */
async function refuseOverlap(database: Database, first: NightlyRun, timezone: string, say: (line: string) => void): Promise<void> {
  const since = new Date(instantAt(first.date, 0, 0, timezone));
  const existing = await runsSince(database, since);
  if (existing.n === 0) return;
  const triggers = await selectRunTriggers(database.db);
  if (triggers.every((t) => DEMO_TRIGGERS.has(t.trigger))) {
    const runs = triggers.reduce((n, t) => n + t.n, 0);
    say(`the database holds only simulated data (${runs} demo run(s)): replacing it with the new history`);
    await truncateSyncedData(database.db);
    return;
  }
  throw new AppError(
    'DEMO_HISTORY_OVERLAP',
    `the database already has ${existing.n} run(s) on or after ${first.date} (the first day to write; `
      + `the earliest started ${existing.first?.toISOString() ?? '?'}), and demo --days does not mix histories: use a fresh database `
      + '(e.g. PGLITE_DIR=./data/demo-90 for the embedded one, or another DATABASE_URL)',
    { exitCode: 1 },
  );
}

interface DayFigures {
  day: string;
  devices: number;
  compliant: number;
}

async function dailyFigures(database: Database, runIds: number[]): Promise<DayFigures[]> {
  if (runIds.length === 0) return [];
  return queryRows<DayFigures>(
    database.db,
    sql`
    select day::text as day, devices::int as devices, compliant::int as compliant from metaaccess.compliance_daily
    where run_id = any(${sql.param(runIds)}::int[]) order by day`,
  );
}

const pct = (f: DayFigures | undefined) => (f && f.devices > 0 ? (100 * f.compliant) / f.devices : 0);

async function progressLine(database: Database, done: Night[], days: number, began: number): Promise<string> {
  const { night, summary } = done[done.length - 1]!;
  const [figures] = await dailyFigures(database, [summary.runId]);
  const c = summary.counters;
  return (
    `night ${night.index + 1}/${days} (${night.date}): ${figures?.devices ?? c.devicesSeen} devices, ${pct(figures).toFixed(1)} % compliant; `
    + `run ${summary.runId}: +${c.devicesAdded} -${c.devicesRemoved}, ${c.devicesChanged} changed; ${formatDuration(Date.now() - began)}`
  );
}

export interface HistorySummary {
  days: number;
  firstDay: string;
  lastDay: string;
  runs: number;
  firstRunId: number;
  lastRunId: number;
  devicesNow: number;
  devicesAdded: number;
  devicesRemoved: number;
  compliantPercent: { min: number; max: number; first: number; last: number };
  incidentDays: string[];
  durationMs: number;
}

async function historySummary(database: Database, done: Night[], options: DemoDaysOptions, durationMs: number): Promise<HistorySummary> {
  const figures = await dailyFigures(
    database,
    done.map((n) => n.summary.runId),
  );
  const [present] = await queryRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from metaaccess.devices where removed_at is null`,
  );
  const percents = figures.map(pct);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    days: options.days,
    firstDay: done[0]!.night.date,
    lastDay: done[done.length - 1]!.night.date,
    runs: done.length,
    firstRunId: done[0]!.summary.runId,
    lastRunId: done[done.length - 1]!.summary.runId,
    devicesNow: present?.n ?? 0,
    // The first night enrols the whole account: what came and went afterwards is the history's.
    devicesAdded: done.slice(1).reduce((n, d) => n + d.summary.counters.devicesAdded, 0),
    devicesRemoved: done.reduce((n, d) => n + d.summary.counters.devicesRemoved, 0),
    compliantPercent: {
      min: round(Math.min(...percents)),
      max: round(Math.max(...percents)),
      first: round(percents[0] ?? 0),
      last: round(percents[percents.length - 1] ?? 0),
    },
    incidentDays: done.filter((n) => n.incident).map((n) => n.night.date),
    durationMs,
  };
}

function historyText(s: HistorySummary, database: string): string {
  const c = s.compliantPercent;
  return (
    [
      `demo --days ${s.days}: wrote ${s.days} days, ${s.firstDay} to ${s.lastDay}, in ${formatDuration(s.durationMs)}`,
      `  runs ${s.runs} succeeded (ids ${s.firstRunId}–${s.lastRunId}); devices now ${s.devicesNow} (after the first night: ${s.devicesAdded} enrolled, ${s.devicesRemoved} removed)`,
      `  compliant ${c.first} % on the first day, ${c.last} % on the last, between ${c.min} and ${c.max} %`
        + (s.incidentDays.length ? `; bad patch days: ${s.incidentDays.join(', ')}` : ''),
      `  database: ${database}`,
      '  next: `node dist/cli.js report --html report.html` charts the history; `node dist/cli.js runs` lists the runs',
    ].join('\n') + '\n'
  );
}
