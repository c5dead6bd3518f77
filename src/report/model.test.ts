import { describe, expect, it } from 'vitest';
import { sampleInput } from '../../test/helpers/reportFixture.ts';
import { percent, toReport } from './model.ts';
import { dayIn } from '../lib/calendar.ts';
import { addDays, daysFrom, periodEnding, wholeDaysBetween } from './period.ts';

describe('toReport', () => {
  it('summarises the present devices with percentages of them, one decimal', () => {
    const r = toReport(sampleInput());
    expect(r.summary).toEqual({
      devices: 40,
      compliant: 30,
      nonCompliant: 7,
      inProgress: 3,
      critical: 4,
      exempt: 1,
      active: 38,
      percent: { compliant: 75, nonCompliant: 17.5, inProgress: 7.5, critical: 10, exempt: 2.5, active: 95 },
    });
    expect(percent(1, 3)).toBe(33.3);
    expect(percent(2, 3)).toBe(66.7);
  });

  it('an empty inventory has no percentages rather than 0% or NaN', () => {
    const empty = { devices: 0, compliant: 0, nonCompliant: 0, inProgress: 0, critical: 0, exempt: 0, active: 0 };
    const r = toReport(sampleInput({ current: empty, os: [], longest: [], daily: [], lastRun: null }));
    expect(Object.values(r.summary.percent)).toEqual([null, null, null, null, null, null]);
    expect(r).toMatchObject({ lastRun: null, trend: [], os: [], osOther: null, longestNonCompliant: [] });
    expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity/);
  });

  it('the trend covers the N days ending today, oldest first, days without a run absent', () => {
    const r = toReport(sampleInput());
    expect(r.period).toEqual({ from: '2026-03-04', to: '2026-03-10', days: 7 });
    expect(r.trend.map((p) => p.day)).toEqual(['2026-03-04', '2026-03-05', '2026-03-06', '2026-03-08', '2026-03-09', '2026-03-10']);
    expect(r.trend[0]).toEqual({
      day: '2026-03-04',
      runId: 3,
      capturedAt: '2026-03-04T02:30:00.000Z',
      devices: 36,
      compliant: 18,
      nonCompliant: 12,
      inProgress: 6,
      critical: 3,
      exempt: 1,
      active: 34,
      compliantPct: 50,
    });
  });

  it('"today" is the day in SYNC_TIMEZONE, not in UTC', () => {
    // 23:30 UTC on the 10th is already the 11th in Berlin (UTC+1 in March).
    const r = toReport(sampleInput({ generatedAt: new Date('2026-03-10T23:30:00Z'), timezone: 'Europe/Berlin' }));
    expect(r.period).toEqual({ from: '2026-03-05', to: '2026-03-11', days: 7 });
    expect(r.trend.map((p) => p.day)).toEqual(['2026-03-05', '2026-03-06', '2026-03-08', '2026-03-09', '2026-03-10']);
  });

  it('lists the top N OS names by devices (ties by name) and adds up the rest as other', () => {
    const r = toReport(sampleInput());
    expect(r.os).toEqual([
      { os: 'Windows 11 Enterprise', devices: 15, pct: 37.5 },
      { os: 'macOS Sonoma', devices: 8, pct: 20 },
      { os: 'Ubuntu 22.04', devices: 8, pct: 20 },
    ]);
    expect(r.osOther).toEqual({ names: 3, devices: 9, pct: 22.5 });
    const all = toReport(sampleInput({ top: 10 }));
    expect(all.osOther).toBeNull();
    expect(all.os.at(-1)).toEqual({ os: null, devices: 2, pct: 5 });
  });

  it('gives each long non-compliant device its whole days since, at most N of them, marking those since the history began', () => {
    const r = toReport(sampleInput({ top: 2, historyStart: new Date('2026-02-01T02:30:00.000Z') }));
    expect(r.longestNonCompliant).toEqual([
      {
        hwid: 'A1B2C3D4E5F60718293A4B5C6D7E8F90-LONGER-THAN-THE-COLUMN',
        hostname: 'finance-laptop-with-a-very-long-name',
        since: '2026-02-01T02:30:00.000Z',
        days: 37,
        sinceHistoryStart: true,
      },
      { hwid: 'HW-2', hostname: expect.stringContaining('<img'), since: '2026-03-04T02:30:00.000Z', days: 6, sinceHistoryStart: false },
    ]);
  });
});

describe('period', () => {
  it('counts calendar days across month ends and DST changes', () => {
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(daysFrom('2026-03-28', '2026-04-01')).toEqual(['2026-03-28', '2026-03-29', '2026-03-30', '2026-03-31', '2026-04-01']);
    expect(periodEnding(new Date('2026-03-30T00:30:00Z'), 'Europe/Berlin', 3)).toEqual({ from: '2026-03-28', to: '2026-03-30', days: 3 });
    expect(dayIn(new Date('2026-03-30T00:30:00Z'), 'America/Los_Angeles')).toBe('2026-03-29');
    expect(wholeDaysBetween(new Date('2026-03-01T10:00:00Z'), new Date('2026-03-03T09:59:59Z'))).toBe(1);
    expect(wholeDaysBetween(new Date('2026-03-03T10:00:00Z'), new Date('2026-03-01T10:00:00Z'))).toBe(0);
  });
});
