import { describe, expect, it } from 'vitest';
import { addDays, instantAt, localDate, nightlyRuns } from './calendar.ts';

const hourIn = (ms: number, timeZone: string) =>
  Number(new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit' }).format(new Date(ms)));

describe('nightly runs of a simulated history', () => {
  it("puts the runs on the last N nights at 02:00 UTC, today's included once 02:00 has passed", () => {
    const after = Date.parse('2026-04-10T02:30:00Z');
    expect(nightlyRuns(after, 3, 'UTC')).toEqual([
      { index: 0, date: '2026-04-08', startAt: Date.parse('2026-04-08T02:00:00Z') },
      { index: 1, date: '2026-04-09', startAt: Date.parse('2026-04-09T02:00:00Z') },
      { index: 2, date: '2026-04-10', startAt: Date.parse('2026-04-10T02:00:00Z') },
    ]);
    const before = Date.parse('2026-04-10T01:30:00Z');
    expect(nightlyRuns(before, 3, 'UTC').map((r) => r.date)).toEqual(['2026-04-07', '2026-04-08', '2026-04-09']);
  });

  it('follows the time zone across DST changes, one run per local day', () => {
    const zone = 'Europe/Berlin';
    const runs = nightlyRuns(Date.parse('2026-04-05T12:00:00Z'), 14, zone);
    expect(runs.map((r) => r.date)).toEqual(Array.from({ length: 14 }, (_, i) => addDays('2026-03-23', i)));
    for (const run of runs) {
      expect(localDate(run.startAt, zone)).toBe(run.date);
      // 02:00 does not exist on 29 March (clocks jump from 02:00 to 03:00): an hour later that day.
      expect(hourIn(run.startAt, zone)).toBe(run.date === '2026-03-29' ? 3 : 2);
    }
    expect(instantAt('2026-03-28', 2, 0, zone)).toBe(Date.parse('2026-03-28T01:00:00Z'));
    expect(instantAt('2026-03-30', 2, 0, zone)).toBe(Date.parse('2026-03-30T00:00:00Z'));
  });

  it('takes today from the zone, not from UTC', () => {
    // 23:30 UTC on 9 April is 08:30 on 10 April in Tokyo: today's run there is done.
    const now = Date.parse('2026-04-09T23:30:00Z');
    expect(nightlyRuns(now, 1, 'Asia/Tokyo')[0]!.date).toBe('2026-04-10');
    expect(nightlyRuns(now, 1, 'UTC')[0]!.date).toBe('2026-04-09');
    for (const zone of ['Asia/Tokyo', 'America/Los_Angeles', 'UTC']) {
      for (const run of nightlyRuns(now, 30, zone)) expect(run.startAt).toBeLessThanOrEqual(now);
    }
  });
});
