import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import type { Config } from '../config/config.ts';
import type { Executor } from '../db/openDatabase.ts';
import {
  selectComplianceDaily,
  selectFirstDailyDay,
  selectHistoryStart,
  selectCurrentCounts,
  selectLastSucceededRun,
  selectLongestNonCompliant,
  selectOsCounts,
  selectReportSchemaState,
} from '../db/reportStore.ts';
import { systemClock } from '../lib/clock.ts';
import { AppError } from '../lib/errors.ts';
import { toReport, type ReportInput } from '../report/model.ts';
import { periodEnding } from '../report/period.ts';
import { renderHtml, type ChartLibrary } from '../report/renderHtml.ts';
import { renderText } from '../report/renderText.ts';
import type { Command } from './command.ts';
import { describeDatabase, loadCommandConfig, pendingNote, withExistingDatabase, type CliContext } from './context.ts';
import { intFlag, parseFlags } from './flags.ts';

const HELP = `Usage: metaaccess-sync report [--days N] [--top N] [--json] [--html FILE]

Reads the database (never creates, writes or migrates it: a login holding only
metaaccess_reader is enough; stderr names the database read) and shows:
  - the devices present now: compliant, non-compliant, still reporting (status 3), critical,
    exempt and active, as counts and % of the devices present; the last succeeded run
  - the compliance trend of the last N days (compliance_daily: each day's last succeeded run),
    one row per day, days in SYNC_TIMEZONE
  - the devices present per operating system (the top N, the rest as "other")
  - the top N devices non-compliant the longest: since the start of their unbroken run of
    non-compliance (device_status_intervals; a new critical issue does not restart it, being
    fixed or removed does), as far back as the history goes

Options:
  --days N     days of trend, ending today (1..3660; default 30, and with --html the whole
               history up to a year: a page of charts holds more than a terminal)
  --top N      OS names and devices listed (default 10, 1..1000)
  --json       print one JSON object to stdout instead of text:
                 {database, generatedAt, timezone, lastRun: {id, finishedAt} | null,
                  summary: {devices, compliant, nonCompliant, inProgress, critical, exempt, active,
                            percent: {compliant, nonCompliant, inProgress, critical, exempt, active}},
                  period: {from, to, days},
                  trend: [{day, runId, capturedAt, devices, compliant, nonCompliant, inProgress,
                           critical, exempt, active, compliantPct}],   (days with a run only)
                  os: [{os, devices, pct}], osOther: {names, devices, pct} | null,
                  longestNonCompliant: [{hwid, hostname, since, days, sinceHistoryStart}]}
               times are ISO 8601 UTC, days YYYY-MM-DD, percentages of the devices present
               (one decimal, null when there are none); os null = no OS reported
  --html FILE  write one self-contained HTML page with charts to FILE (opens offline); stdout
               then gets one line saying so (or, with --json, the JSON)

Exit codes: 0 ok, 1 failed (no database there, no metaaccess schema or no succeeded run in it, or
it cannot be read), 2 bad flags or configuration, 3 the embedded database is in use by another
process (a sync or schedule).
`;

export const reportCommand: Command = {
  name: 'report',
  summary: 'compliance summary, trend and longest non-compliant devices (text, --json, --html)',
  help: HELP,
  async run(args, ctx) {
    const flags = parseFlags(args, {
      days: { type: 'string' },
      top: { type: 'string' },
      json: { type: 'boolean' },
      html: { type: 'string' },
    });
    // A terminal chart reads well for a month; a page of real charts shows the history, up to a year.
    const days = flags.days === undefined && flags.html !== undefined ? 'history' : intFlag(flags.days, 'days', 30, 1, 3660);
    const top = intFlag(flags.top, 'top', 10, 1, 1000);
    if (flags.html !== undefined && flags.html.trim() === '')
      throw new AppError('USAGE', '--html needs a file name (see --help)', { exitCode: 2 });
    const { config } = loadCommandConfig(ctx, false);
    const report = toReport(await readReportInput(config, new Date(systemClock.now()), days, top, (line) => ctx.stderr.write(line)));
    if (flags.html !== undefined) {
      const bytes = writeHtml(flags.html, renderHtml(report, loadChartLibrary()));
      if (!flags.json) ctx.stdout.write(`wrote the HTML report (${bytes} bytes) to ${flags.html}\n`);
    }
    if (flags.json) ctx.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else if (flags.html === undefined) ctx.stdout.write(renderText(report, { colour: useColour(ctx) }));
    return 0;
  },
};

/** Colour only on a terminal, and not when NO_COLOR asks for none (no-color.org). */
function useColour(ctx: CliContext): boolean {
  return ctx.isTty && (ctx.stdout as { isTTY?: boolean }).isTTY === true && !ctx.env.NO_COLOR;
}

function noData(location: string, why: string, hint: string): AppError {
  return new AppError('REPORT_NO_DATA', `${location} ${why}: ${hint}`);
}

/** 'history': from the first day with figures, at most a year back. */
async function readReportInput(
  config: Config,
  now: Date,
  asked: number | 'history',
  top: number,
  say: (line: string) => void,
): Promise<ReportInput> {
  const timezone = config.sync.timezone;
  let period = periodEnding(now, timezone, asked === 'history' ? 365 : asked);
  let location = describeDatabase(config);
  // As `runs`: an embedded database that is not there, or a database without the schema, is
  // refused before anything could be created.
  const read = await withExistingDatabase(config, (database, schema) => {
    location = database.location;
    say(pendingNote('report', schema));
    // One snapshot for every figure, so a sync committing meanwhile cannot make them disagree;
    // read only, so nothing can be created even by mistake.
    return database.db.transaction(
      async (tx) => {
        if (asked === 'history') period = periodEnding(now, timezone, await historyDays(tx, period));
        return readRows(tx, location, period, top);
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  });
  // The report's own header says which kind of database, within 80 columns; stderr names it in full.
  say(`metaaccess-sync report: read ${location}\n`);
  const days = period.days;
  return { database: describeDatabase(config), generatedAt: now, timezone, days, top, ...read };
}

async function historyDays(tx: Executor, year: { from: string; to: string; days: number }): Promise<number> {
  const first = await selectReportSchemaState(tx).then((state) => (state.missing.length ? null : selectFirstDailyDay(tx, year.from)));
  if (!first) return 30;
  return Math.max(1, Math.round((Date.parse(`${year.to}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / 86_400_000) + 1);
}

async function readRows(tx: Executor, location: string, period: { from: string; to: string }, top: number) {
  const state = await selectReportSchemaState(tx);
  // A reader login may not see the migration table, so the schema is looked for here too.
  if (!state.schemaExists) throw noData(location, 'has no metaaccess schema', 'run `migrate` or `sync` first');
  if (state.missing.length)
    throw noData(location, `is not migrated to this version (missing ${state.missing.join(', ')})`, 'run `migrate` as the schema owner');
  const lastRun = await selectLastSucceededRun(tx);
  if (!lastRun) throw noData(location, 'has no succeeded run yet', 'run `metaaccess-sync sync` (or `demo`) first');
  return {
    current: await selectCurrentCounts(tx),
    lastRun,
    daily: await selectComplianceDaily(tx, period.from, period.to),
    os: await selectOsCounts(tx),
    longest: await selectLongestNonCompliant(tx, top),
    historyStart: await selectHistoryStart(tx),
  } satisfies Partial<ReportInput>;
}

/** Chart.js's browser build, read from node_modules each time: the page must not need a CDN. */
export function loadChartLibrary(): ChartLibrary {
  const dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
  const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string };
  return { name: 'Chart.js', version: pkg.version, source: readFileSync(join(dist, 'chart.umd.min.js'), 'utf8') };
}

/** Written beside the target and renamed over it: a reader never sees half a page. */
function writeHtml(file: string, html: string): number {
  const target = resolve(file);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, html);
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new AppError('REPORT_WRITE_FAILED', `cannot write ${file} (${reason}): does its folder exist, and may this user write there?`, {
      cause: err,
    });
  }
  return Buffer.byteLength(html);
}
