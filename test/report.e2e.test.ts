import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Report } from '../src/report/model.ts';
import { admin } from './globalSetup.ts';
import { runCli } from './helpers/cli.ts';
import { queryOnce } from './helpers/faultMatrix.ts';
import { cleanUpAfterEach, harnessPerTest } from './helpers/harness.ts';
import { buildKnownHistory, countsAtRun, HOSTILE, hwidOf, RUN_TIMES, runTime, utcDay } from './helpers/reportHistory.ts';
import { createEmptyDatabase } from './helpers/testDatabase.ts';

const t = harnessPerTest();
const cleanUp = cleanUpAfterEach();
const DAY = 86_400_000;

async function knownHistory() {
  const h = await t.start({ simulator: { devices: 1, seed: 111 } });
  const runs = await buildKnownHistory(h);
  return { h, runs, env: { DATABASE_URL: h.tdb.url } };
}

/** An empty database of its own (not the migrated template), dropped after the test. */
async function emptyDatabase(): Promise<string> {
  const empty = await createEmptyDatabase();
  cleanUp(() => empty.drop());
  return empty.url;
}

describe('report', () => {
  it('--json: the figures of the known history, day by day, and the devices non-compliant longest', async () => {
    const { runs, env } = await knownHistory();
    const result = await runCli(['report', '--json', '--days', '7', '--top', '3'], env);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report).toMatchObject({
      database: 'PostgreSQL (DATABASE_URL)',
      timezone: 'UTC',
      lastRun: { id: runs[4]!.runId, finishedAt: runs[4]!.finishedAt.toISOString() },
    });
    // Now: D was removed by run 5, so 11 devices; A, B, C non-compliant; K still reporting.
    expect(report.summary).toEqual({
      ...countsAtRun(4),
      percent: { compliant: 63.6, nonCompliant: 27.3, inProgress: 9.1, critical: 9.1, exempt: 9.1, active: 90.9 },
    });
    expect(countsAtRun(4)).toEqual({ devices: 11, compliant: 7, nonCompliant: 3, inProgress: 1, critical: 1, exempt: 1, active: 10 });
    // One row per day with a run; the day of runs 4 and 5 shows run 5 (the day's last).
    expect(report.trend).toEqual(
      [0, 1, 2, 4].map((i) => ({
        day: utcDay(runs[i]!.finishedAt),
        runId: runs[i]!.runId,
        capturedAt: runs[i]!.finishedAt.toISOString(),
        ...countsAtRun(i),
        compliantPct: Math.round((1000 * countsAtRun(i).compliant) / countsAtRun(i).devices) / 10,
      })),
    );
    expect(report.trend.map((p) => p.compliant)).toEqual([7, 8, 8, 7]);
    expect(report.period).toEqual({
      from: utcDay(Date.parse(report.generatedAt) - 6 * DAY),
      to: utcDay(Date.parse(report.generatedAt)),
      days: 7,
    });
    expect(report.os).toEqual([
      { os: 'Windows 11 Pro', devices: 4, pct: 36.4 },
      { os: 'macOS Sonoma', devices: 2, pct: 18.2 },
      { os: 'Windows 10 Pro', devices: 2, pct: 18.2 },
    ]);
    expect(report.osOther).toEqual({ names: 3, devices: 3, pct: 27.3 });
    // A has been non-compliant since run 1 (its critical issue at run 3 does not restart the clock), B since run 2, C since run 4.
    const generated = Date.parse(report.generatedAt);
    expect(report.longestNonCompliant).toEqual(
      [
        ['A', 0],
        ['B', 1],
        ['C', 3],
      ].map(([key, run]) => ({
        hwid: hwidOf(key as string),
        hostname: key === 'B' ? HOSTILE : expect.any(String),
        since: runs[run as number]!.finishedAt.toISOString(),
        days: Math.floor((generated - runs[run as number]!.finishedAt.getTime()) / DAY),
        // A has been non-compliant since the first run: at least that long.
        sinceHistoryStart: run === 0,
      })),
    );
    expect(report.longestNonCompliant[0]!.days).toBeGreaterThanOrEqual(5);
  });

  it('--html without --days charts the whole history (from its first day), --days still chooses', async () => {
    const { runs, env } = await knownHistory();
    const file = join(mkdtempSync(join(tmpdir(), 'metaaccess-report-')), 'r.html');
    const whole = JSON.parse((await runCli(['report', '--html', file, '--json'], env)).stdout) as Report;
    const first = utcDay(runs[0]!.finishedAt);
    expect(whole.period).toMatchObject({ from: first, to: utcDay(Date.parse(whole.generatedAt)) });
    expect(whole.trend[0]!.day).toBe(first);
    const chosen = JSON.parse((await runCli(['report', '--html', file, '--json', '--days', '2'], env)).stdout) as Report;
    expect(chosen.period.days).toBe(2);
    const text = JSON.parse((await runCli(['report', '--json'], env)).stdout) as Report;
    expect(text.period.days).toBe(30);
  });

  it('a migrated database without a succeeded run: one line, exit 1', async () => {
    const h = await t.start({ simulator: { devices: 1, seed: 112 } });
    const result = await runCli(['report'], { DATABASE_URL: h.tdb.url });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `metaaccess-sync report: error: PostgreSQL ${h.tdb.url} has no succeeded run yet: run \`metaaccess-sync sync\` (or \`demo\`) first`,
    );
  });

  it('text: the summary, a row per day with its bar, the days without a run, and hostnames that cannot drive the terminal', async () => {
    const { runs, env } = await knownHistory();
    const result = await runCli(['report', '--days', '7'], env);
    expect(result.code, result.stderr).toBe(0);
    const text = result.stdout;
    expect(text).toContain('database               PostgreSQL (DATABASE_URL)');
    expect(text).toContain(`last succeeded run     run ${runs[4]!.runId}, finished`);
    expect(text).toMatch(/^Devices present +11$/m);
    expect(text).toMatch(/^ {2}compliant +7 +63\.6%$/m);
    expect(text).toMatch(/^ {2}non-compliant +3 +27\.3%$/m);
    expect(text).toMatch(/^ {2}still reporting +1 +9\.1%$/m);
    const day = (daysAgo: number) => utcDay(runTime(daysAgo, 0));
    // Run 1: 7 compliant, 3 non-compliant, 2 still reporting of 12 devices on a 40-cell bar.
    expect(text).toContain(`${day(6)}  ${'█'.repeat(23)}${'▒'.repeat(10)}${'░'.repeat(7)}   58.3%       12`);
    expect(text).toMatch(new RegExp(`^${day(1)}  █+▒+░+ +63\\.6% +11$`, 'm'));
    for (const gap of [5, 3]) expect(text).toContain(`${day(gap)}  · no succeeded run\n`);
    expect(text).toMatch(/^ {2}Windows 11 Pro +4 +36\.4% +█+$/m);
    const longest = text.slice(text.indexOf('Non-compliant longest'));
    expect(
      longest
        .split('\n')
        .slice(2, 5)
        .map((l) => l.trim().split(/\s{2,}/)[1]),
    ).toEqual([hwidOf('A'), hwidOf('B'), hwidOf('C')]);
    expect(text).not.toContain('\x1b');
    expect(text).toContain('  ?[2J<img src=x oner…  ');
    expect(Math.max(...text.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(80);
    expect(RUN_TIMES).toHaveLength(runs.length);
  });

  it('needs nothing but reading: a login holding only metaaccess_reader gets the same report', async () => {
    const { env } = await knownHistory();
    const login = `report_reader_${randomBytes(4).toString('hex')}`;
    await admin(inject('adminUrl'), (c) => c.query(`create role ${login} login in role metaaccess_reader`));
    cleanUp(() => admin(inject('adminUrl'), (c) => c.query(`drop role if exists ${login}`)));
    const asReader = new URL(env.DATABASE_URL);
    asReader.username = login;
    const [owner, reader] = await Promise.all(
      [env.DATABASE_URL, asReader.toString()].map((url) => runCli(['report', '--json'], { DATABASE_URL: url })),
    );
    expect(reader!.code, reader!.stderr).toBe(0);
    const withoutTime = (out: string) => ({ ...(JSON.parse(out) as Report), generatedAt: undefined });
    expect(withoutTime(reader!.stdout)).toEqual(withoutTime(owner!.stdout));
  });

  it('an empty database: one clear line, exit 1, and nothing created in it', async () => {
    const url = await emptyDatabase();
    for (const args of [['report'], ['report', '--json'], ['report', '--html', join(tmpdir(), 'never-written.html')]]) {
      const result = await runCli(args, { DATABASE_URL: url });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      // The same words as `runs`, naming the database read.
      expect(result.stderr).toBe(
        `metaaccess-sync report: error: PostgreSQL ${url} has no metaaccess schema: run \`migrate\` or \`sync\` first\n`,
      );
    }
    expect(existsSync(join(tmpdir(), 'never-written.html'))).toBe(false);
    const schemas = await queryOnce<{ nspname: string }>(
      url,
      `select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by 1`,
    );
    expect(schemas.map((s) => s.nspname)).toEqual(['public']);
    const tables = await queryOnce(
      url,
      `select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'`,
    );
    expect(tables).toEqual([]);
  });

  it('a database migrated before the status intervals existed is named as not migrated, and left so', async () => {
    const h = await t.start({ simulator: { devices: 5, seed: 112 } });
    await h.sync();
    await queryOnce(h.tdb.url, 'drop table metaaccess.device_status_intervals cascade');
    const result = await runCli(['report'], { DATABASE_URL: h.tdb.url });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /is not migrated to this version \(missing metaaccess\.device_status_intervals\): run `migrate` as the schema owner\n$/,
    );
    const [row] = await queryOnce<{ present: boolean }>(
      h.tdb.url,
      `select to_regclass('metaaccess.device_status_intervals') is not null as present`,
    );
    expect(row!.present).toBe(false);
  });

  it('an embedded database that is not there is not created', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'metaaccess-report-'));
    const result = await runCli(['report'], {}, { cwd });
    expect(result.code).toBe(1);
    // Running `migrate` there would create an empty database in the wrong place: not suggested.
    expect(result.stderr).toContain(`no embedded database in ${join(cwd, 'data', 'pglite')}: nothing has been synced here yet`);
    expect(result.stderr).not.toContain('migrate');
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it('bad flags: exit 2 with the reason, before the database is opened', async () => {
    const unreachable = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' };
    const cases: [string[], RegExp][] = [
      [['report', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['report', '--days', '0'], /--days: "0" must be a whole number in 1\.\.3660/],
      [['report', '--days', 'week'], /--days: "week" must be a whole number/],
      [['report', '--top', '1.5'], /--top: "1\.5" must be a whole number/],
      [['report', '--html'], /--html.*argument missing/],
      [['report', 'extra'], /Unexpected argument 'extra'/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, unreachable);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    const help = await runCli(['report', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/longestNonCompliant: \[\{hwid, hostname, since, days, sinceHistoryStart\}\]/);
  });
});
