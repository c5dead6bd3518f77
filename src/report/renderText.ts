/**
 * The report for a terminal, within 80 columns. Strings from the database (hostnames, OS names)
 * are untrusted: control and format characters are replaced, so a hostname cannot move the
 * cursor, recolour the terminal or reorder the line around it.
 */
import type { Report, TrendPoint } from './model.ts';
import { daysFrom, formatTime } from './period.ts';
import { meter, paint, sparkline, stackedBar, type Segment } from './terminalChart.ts';

export interface TextOptions {
  /** ANSI colours: only when stdout is a terminal. */
  colour: boolean;
}

const TREND_BAR = 40;
const OS_BAR = 28;

/** Control (C0, C1), format (bidi overrides, zero-width) and line/paragraph separator characters. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** A string from the database, made safe for a terminal and cut to `width` characters. */
export function printable(value: string | null, width: number, empty = '(none)'): string {
  const chars = [...(value ?? empty).replace(UNPRINTABLE, '?')];
  return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : chars.join('');
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

function padStart(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - [...text].length)) + text;
}

function pct(value: number | null): string {
  return value === null ? '–' : `${value.toFixed(1)}%`;
}

function header(r: Report): string[] {
  const run = r.lastRun ? `run ${r.lastRun.id}, finished ${formatTime(new Date(r.lastRun.finishedAt), r.timezone)}` : 'none yet';
  return [
    'MetaAccess compliance report',
    `  database               ${r.database}`,
    `  generated              ${formatTime(new Date(r.generatedAt), r.timezone)} (${r.timezone})`,
    `  last succeeded run     ${run}`,
  ];
}

function summary(r: Report, colour: boolean): string[] {
  const s = r.summary;
  const row = (label: string, n: number, p: number | null, c?: 'green' | 'red' | 'yellow') =>
    `  ${pad(label, 20)} ${padStart(String(n), 8)}  ${paint(padStart(pct(p), 6), c, colour)}`;
  return [
    `Devices present        ${padStart(String(s.devices), 8)}`,
    row('compliant', s.compliant, s.percent.compliant, 'green'),
    row('non-compliant', s.nonCompliant, s.percent.nonCompliant, 'red'),
    row('still reporting', s.inProgress, s.percent.inProgress, 'yellow'),
    row('critical', s.critical, s.percent.critical, 'red'),
    row('exempt', s.exempt, s.percent.exempt),
    row('active (connected)', s.active, s.percent.active),
  ];
}

function trendBar(p: TrendPoint, colour: boolean): string {
  const segments: Segment[] = [
    { value: p.compliant, char: '█', colour: 'green' },
    { value: p.nonCompliant, char: '▒', colour: 'red' },
    { value: p.inProgress, char: '░', colour: 'yellow' },
  ];
  return stackedBar(segments, p.devices, TREND_BAR, colour);
}

function trend(r: Report, colour: boolean): string[] {
  const byDay = new Map(r.trend.map((p) => [p.day, p]));
  const days = daysFrom(r.period.from, r.period.to);
  const lines = [
    `Compliance, last ${r.period.days} days (${r.period.from} to ${r.period.to}, ${r.timezone})`,
    `  ${paint('█', 'green', colour)} compliant  ${paint('▒', 'red', colour)} non-compliant  ${paint('░', 'yellow', colour)} still reporting   (share of devices present)`,
    `${pad('day', 10)}  ${pad('', TREND_BAR)}  ${padStart('compl.', 6)}  ${padStart('devices', 7)}`,
  ];
  for (let i = 0; i < days.length; i++) {
    const p = byDay.get(days[i]!);
    if (p) {
      lines.push(`${p.day}  ${trendBar(p, colour)}  ${padStart(pct(p.compliantPct), 6)}  ${padStart(String(p.devices), 7)}`);
      continue;
    }
    // Days in a row without a run share one line: a new database would otherwise print a page of them.
    let last = i;
    while (last + 1 < days.length && !byDay.has(days[last + 1]!)) last++;
    const span = last - i >= 2 ? ` through ${days[last]} (${last - i + 1} days)` : '';
    for (const day of span ? [days[i]!] : days.slice(i, last + 1))
      lines.push(`${day}  ${paint(`· no succeeded run${span}`, 'dim', colour)}`);
    i = last;
  }
  const values = days.map((d) => byDay.get(d)?.compliantPct ?? null);
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) lines.push(`  no compliance figure in the last ${r.period.days} days`);
  else {
    // Scaled to the period's own range (the bars above are on 0-100%), so a drift of a few points shows.
    const [low, high] = [Math.min(...known), Math.max(...known)];
    lines.push(`compliant % ${sparkline(fitWidth(values, SPARK_WIDTH), low, high)}  (${pct(low)} to ${pct(high)})`);
  }
  return lines;
}

/** Columns the sparkline may take: the line stays within 80 (12 before it, 20 after). */
const SPARK_WIDTH = 48;

/** At most `width` values: longer periods averaged over equal spans of days (a day without a run counts for nothing). */
export function fitWidth(values: (number | null)[], width: number): (number | null)[] {
  if (values.length <= width) return values;
  return Array.from({ length: width }, (_, i) => {
    const span = values
      .slice(Math.floor((i * values.length) / width), Math.floor(((i + 1) * values.length) / width))
      .filter((v): v is number => v !== null);
    return span.length ? span.reduce((a, b) => a + b, 0) / span.length : null;
  });
}

function operatingSystems(r: Report): string[] {
  const rows = r.os.map((o) => ({ label: o.os === null ? '(no OS reported)' : printable(o.os, 26), devices: o.devices, pct: o.pct }));
  if (r.osOther) rows.push({ label: `other (${r.osOther.names} names)`, devices: r.osOther.devices, pct: r.osOther.pct });
  const max = Math.max(0, ...rows.map((o) => o.devices));
  const lines = ['Operating systems (devices present)'];
  if (rows.length === 0) lines.push('  no devices');
  for (const o of rows)
    lines.push(
      `  ${pad(o.label, 26)} ${padStart(String(o.devices), 8)}  ${padStart(pct(o.pct), 6)}  ${meter(o.devices, max, OS_BAR)}`.trimEnd(),
    );
  return lines;
}

function longest(r: Report): string[] {
  const list = r.longestNonCompliant;
  const lines = [`Non-compliant longest (${list.length} of ${r.summary.nonCompliant} non-compliant)`];
  if (list.length === 0) return [...lines, '  none'];
  lines.push(`  ${pad('hostname', 20)}  ${pad('hwid', 36)}  ${pad('since', 10)}  ${padStart('days', 5)}`);
  for (const d of list) {
    const since = formatTime(new Date(d.since), r.timezone).slice(0, 10);
    const days = d.sinceHistoryStart ? `${d.days}+` : String(d.days);
    lines.push(`  ${pad(printable(d.hostname, 20), 20)}  ${pad(printable(d.hwid, 36), 36)}  ${since}  ${padStart(days, 5)}`);
  }
  if (list.some((d) => d.sinceHistoryStart)) lines.push('  + non-compliant since the history began: at least that long');
  return lines;
}

export function renderText(report: Report, options: TextOptions): string {
  const sections = [
    header(report),
    summary(report, options.colour),
    trend(report, options.colour),
    operatingSystems(report),
    longest(report),
  ];
  return sections.map((lines) => lines.join('\n')).join('\n\n') + '\n';
}
