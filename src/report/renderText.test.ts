import { describe, expect, it } from 'vitest';
import { sampleInput } from '../../test/helpers/reportFixture.ts';
import { toReport } from './model.ts';
import { fitWidth, printable, renderText } from './renderText.ts';

const report = toReport(sampleInput());
const plain = renderText(report, { colour: false });

describe('renderText', () => {
  it('fits 80 columns, whatever the length of hostnames, hwids and OS names', () => {
    const long = toReport(
      sampleInput({
        os: [{ os: 'Microsoft Windows Server 2022 Datacenter Azure Edition', devices: 40 }],
        longest: [{ hwid: 'F'.repeat(64), hostname: 'h'.repeat(200), since: new Date('2025-01-01T00:00:00Z') }],
      }),
    );
    for (const text of [plain, renderText(long, { colour: false })]) {
      const wide = text.split('\n').filter((line) => [...line].length > 80);
      expect(wide).toEqual([]);
    }
  });

  it('shows the summary, the last run and the database it read', () => {
    expect(plain).toContain('database               PostgreSQL (DATABASE_URL)');
    expect(plain).toContain('last succeeded run     run 9, finished 2026-03-10 02:30');
    expect(plain).toMatch(/^Devices present +40$/m);
    expect(plain).toMatch(/^ {2}non-compliant +7 +17\.5%$/m);
    expect(plain).toMatch(/^ {2}still reporting +3 +7\.5%$/m);
  });

  it('draws one row per day of the period, and says which days had no succeeded run', () => {
    const rows = plain.split('\n').filter((line) => /^2026-03-\d\d /.test(line));
    expect(rows.map((r) => r.slice(0, 10))).toEqual([
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
    expect(rows[3]).toBe('2026-03-07  · no succeeded run');
    // 2026-03-04: 18 compliant, 12 non-compliant, 6 still reporting of 36 → 20 + 13 + 7 cells of 40.
    expect(rows[0]).toBe(`2026-03-04  ${'█'.repeat(20)}${'▒'.repeat(13)}${'░'.repeat(7)}   50.0%       36`);
    expect(plain).toContain('compliant % ▁▂▅ ▇▇█  (50.0% to 75.0%)');
  });

  it('folds three or more days in a row without a run into one line', () => {
    const sparse = toReport(sampleInput({ days: 30 }));
    const text = renderText(sparse, { colour: false });
    const rows = text.split('\n').filter((line) => /^2026-0\d-\d\d /.test(line));
    expect(rows[0]).toBe('2026-02-09  · no succeeded run through 2026-02-28 (20 days)');
    // Two days in a row keep a line each.
    expect(rows.slice(2, 4)).toEqual(['2026-03-02  · no succeeded run', '2026-03-03  · no succeeded run']);
    expect(rows.map((r) => r.slice(0, 10))).toEqual([
      '2026-02-09',
      '2026-03-01',
      '2026-03-02',
      '2026-03-03',
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
  });

  it('lists the top OS names and the rest as other, and the longest non-compliant devices', () => {
    expect(plain).toMatch(/^ {2}Windows 11 Enterprise +15 +37\.5% +█+$/m);
    expect(plain).toMatch(/^ {2}other \(3 names\) +9 +22\.5% /m);
    expect(plain).toContain('Non-compliant longest (3 of 7 non-compliant)');
    expect(plain).toMatch(/^ {2}finance-laptop-with… +A1B2C3D4E5F60718293A4B5C6D7E8F90-LO… +2026-02-01 +37$/m);
    expect(plain).toMatch(/^ {2}\(none\) +HW-3 +2026-03-09 +0$/m);
  });

  it('no escape sequence reaches the terminal unless it is one, and never one from a hostname', () => {
    expect(plain).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    const coloured = renderText(report, { colour: true });
    expect(coloured).toContain('\x1b[32m');
    // The hostile hostname's ESC and right-to-left override are replaced even with colour on.
    const hostile = renderText(
      toReport(sampleInput({ longest: [{ hwid: 'HW', hostname: '\x1b[2Jx\u202Ey', since: new Date('2026-03-01T00:00:00Z') }] })),
      { colour: true },
    );
    expect(hostile).not.toContain('\x1b[2J');
    expect(hostile).toContain('?[2Jx?y');
    expect(printable('a\nb\tc\u2028d', 20)).toBe('a?b?c?d');
  });

  it('an empty database reads as such, not as zeros with NaN%', () => {
    const empty = { devices: 0, compliant: 0, nonCompliant: 0, inProgress: 0, critical: 0, exempt: 0, active: 0 };
    const text = renderText(toReport(sampleInput({ current: empty, os: [], longest: [], daily: [], lastRun: null })), { colour: false });
    expect(text).toContain('last succeeded run     none yet');
    expect(text).toContain('no compliance figure in the last 7 days');
    expect(text).toMatch(/^ {2}compliant +0 +–$/m);
    expect(text).not.toMatch(/NaN|undefined|null/);
  });
});

describe('fitWidth', () => {
  it('keeps short series and averages long ones into the width, days without a run left out', () => {
    expect(fitWidth([1, null, 3], 5)).toEqual([1, null, 3]);
    expect(fitWidth([10, 20, 30, 40, null, null], 3)).toEqual([15, 35, null]);
    expect(
      fitWidth(
        Array.from({ length: 3660 }, (_, i) => i),
        48,
      ),
    ).toHaveLength(48);
  });
});
