/**
 * The report as data: what `report --json` prints and what the text and HTML renderers draw.
 * Pure: the rows come in already read (src/db/reportStore.ts), nothing here does I/O.
 */
import { periodEnding, wholeDaysBetween } from './period.ts';

/** Device counts by compliance state (status 0 / 1 / 3, critical_status 1, exempt, active). */
export interface Counts {
  devices: number;
  compliant: number;
  nonCompliant: number;
  /** Status 3: the agent is still reporting, compliance not known yet. */
  inProgress: number;
  critical: number;
  exempt: number;
  active: number;
}

export interface DailyRow extends Counts {
  day: string;
  runId: number;
  capturedAt: Date;
}

export interface OsRow {
  /** null: the device reported no OS name. */
  os: string | null;
  devices: number;
}

export interface NonCompliantRow {
  hwid: string;
  hostname: string | null;
  since: Date;
}

/** What the database said, plus when and where it was asked. */
export interface ReportInput {
  database: string;
  generatedAt: Date;
  timezone: string;
  days: number;
  top: number;
  lastRun: { id: number; finishedAt: Date } | null;
  current: Counts;
  /** compliance_daily rows of the period, any order. */
  daily: DailyRow[];
  /** Every OS name of the present devices with its count, any order. */
  os: OsRow[];
  /** The `top` devices non-compliant longest, longest first. */
  longest: NonCompliantRow[];
  /** When the history begins (the earliest interval): a device non-compliant since then may have been for longer. */
  historyStart?: Date | null;
}

export type Percentages = { [K in Exclude<keyof Counts, 'devices'>]: number | null };

export interface TrendPoint extends Counts {
  day: string;
  runId: number;
  capturedAt: string;
  compliantPct: number | null;
}

export interface OsShare {
  os: string | null;
  devices: number;
  pct: number | null;
}

/** The `report --json` document. Documented in the command's --help; fields are only ever added. */
export interface Report {
  database: string;
  generatedAt: string;
  timezone: string;
  lastRun: { id: number; finishedAt: string } | null;
  summary: Counts & { percent: Percentages };
  /** The calendar days the trend covers, in `timezone`, both ends included. */
  period: { from: string; to: string; days: number };
  /** Days of the period that have a succeeded run, oldest first; days without one are absent. */
  trend: TrendPoint[];
  /** The `top` most common OS names, most devices first. */
  os: OsShare[];
  /** Every OS name beyond the top ones, together; null when there are none. */
  osOther: { names: number; devices: number; pct: number | null } | null;
  /** sinceHistoryStart: non-compliant since the history began, so at least that long. */
  longestNonCompliant: { hwid: string; hostname: string | null; since: string; days: number; sinceHistoryStart: boolean }[];
}

/** Percent of `total`, one decimal; null when there is nothing to divide by. */
export function percent(part: number, total: number): number | null {
  return total > 0 ? Math.round((part * 1000) / total) / 10 : null;
}

function percentages(c: Counts): Percentages {
  return {
    compliant: percent(c.compliant, c.devices),
    nonCompliant: percent(c.nonCompliant, c.devices),
    inProgress: percent(c.inProgress, c.devices),
    critical: percent(c.critical, c.devices),
    exempt: percent(c.exempt, c.devices),
    active: percent(c.active, c.devices),
  };
}

function countsOf(c: Counts): Counts {
  return {
    devices: c.devices,
    compliant: c.compliant,
    nonCompliant: c.nonCompliant,
    inProgress: c.inProgress,
    critical: c.critical,
    exempt: c.exempt,
    active: c.active,
  };
}

/** Most devices first; equal counts by name (English collation, not the machine's) then unnamed last. */
function byDevicesThenName(a: OsRow, b: OsRow): number {
  if (b.devices !== a.devices) return b.devices - a.devices;
  if (a.os === null || b.os === null) return (a.os === null ? 1 : 0) - (b.os === null ? 1 : 0);
  return a.os.localeCompare(b.os, 'en');
}

function osShares(rows: OsRow[], top: number, total: number): Pick<Report, 'os' | 'osOther'> {
  const sorted = [...rows].sort(byDevicesThenName);
  const rest = sorted.slice(top);
  const other = rest.reduce((n, r) => n + r.devices, 0);
  return {
    os: sorted.slice(0, top).map((r) => ({ os: r.os, devices: r.devices, pct: percent(r.devices, total) })),
    osOther: rest.length ? { names: rest.length, devices: other, pct: percent(other, total) } : null,
  };
}

export function toReport(input: ReportInput): Report {
  const period = periodEnding(input.generatedAt, input.timezone, input.days);
  const trend = input.daily
    .filter((d) => d.day >= period.from && d.day <= period.to)
    .sort((a, b) => a.day.localeCompare(b.day))
    .map((d) => ({
      day: d.day,
      runId: d.runId,
      capturedAt: d.capturedAt.toISOString(),
      ...countsOf(d),
      compliantPct: percent(d.compliant, d.devices),
    }));
  return {
    database: input.database,
    generatedAt: input.generatedAt.toISOString(),
    timezone: input.timezone,
    lastRun: input.lastRun ? { id: input.lastRun.id, finishedAt: input.lastRun.finishedAt.toISOString() } : null,
    summary: { ...countsOf(input.current), percent: percentages(input.current) },
    period,
    trend,
    ...osShares(input.os, input.top, input.current.devices),
    longestNonCompliant: input.longest.slice(0, input.top).map((d) => ({
      hwid: d.hwid,
      hostname: d.hostname,
      since: d.since.toISOString(),
      days: wholeDaysBetween(d.since, input.generatedAt),
      sinceHistoryStart: input.historyStart != null && d.since.getTime() <= input.historyStart.getTime(),
    })),
  };
}
