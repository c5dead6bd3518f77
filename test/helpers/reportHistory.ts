/**
 * A known compliance history, built through the real sync path: twelve devices whose status,
 * critical status and presence are set per run, five runs on four days of the last week (two on
 * the same day), each run's clock set to its night. The report tests compare what `report`
 * prints with what this table says.
 */
import { runSync, type RunSummary } from '../../src/jobs/runSync.ts';
import { systemClock, type Clock } from '../../src/lib/clock.ts';
import type { Counts } from '../../src/report/model.ts';
import type { Harness } from './harness.ts';

const DAY = 86_400_000;

/** When each run happens: whole days before today (UTC), hour of that day. Run 4 and 5 share a day. */
export const RUN_TIMES = [
  { daysAgo: 6, hour: 3 },
  { daysAgo: 4, hour: 3 },
  { daysAgo: 2, hour: 3 },
  { daysAgo: 1, hour: 3 },
  { daysAgo: 1, hour: 5 },
];

/** Clears the screen if printed raw; runs script if put into the page unescaped. */
export const HOSTILE = '\x1b[2J<img src=x onerror="document.title=\'pwned\'">';

interface DeviceSpec {
  key: string;
  hostname: string;
  os: string | null;
  /** Per run: 0 compliant, 1 not compliant, 3 still reporting; null: not in the list (removed). */
  status: (0 | 1 | 3 | null)[];
  critical?: (0 | 1)[];
  exempt?: boolean;
  active?: boolean;
}

export const DEVICES: DeviceSpec[] = [
  // Non-compliant throughout; gains a critical issue at run 3, which starts a new interval.
  { key: 'A', hostname: 'ws-alpha', os: 'Windows 11 Pro', status: [1, 1, 1, 1, 1], critical: [0, 0, 1, 1, 1] },
  { key: 'B', hostname: HOSTILE, os: 'Windows 11 Pro', status: [0, 1, 1, 1, 1] },
  // Non-compliant, fixed, non-compliant again: its clock restarts at run 4.
  { key: 'C', hostname: 'mac-gamma', os: 'macOS Sonoma', status: [1, 0, 0, 1, 1] },
  // Non-compliant, then removed from the account by run 5.
  { key: 'D', hostname: 'lnx-delta', os: 'Ubuntu 22.04', status: [1, 1, 1, 1, null] },
  { key: 'E', hostname: 'ws-echo', os: 'Windows 10 Pro', status: [3, 0, 0, 0, 0] },
  { key: 'F', hostname: 'ws-foxtrot', os: 'Windows 11 Pro', status: [0, 0, 0, 0, 0], exempt: true },
  { key: 'G', hostname: 'mac-golf', os: 'macOS Sonoma', status: [0, 0, 3, 0, 0], active: false },
  { key: 'H', hostname: 'kiosk-hotel', os: null, status: [0, 0, 0, 0, 0] },
  { key: 'I', hostname: 'ws-india', os: 'Windows 10 Pro', status: [0, 0, 0, 0, 0] },
  { key: 'J', hostname: 'ws-juliet', os: 'Windows 11 Pro', status: [0, 0, 0, 0, 0] },
  { key: 'K', hostname: 'phone-kilo', os: 'Android', status: [3, 3, 0, 0, 3] },
  { key: 'L', hostname: 'phone-lima', os: 'iOS', status: [0, 0, 0, 0, 0] },
];

export const hwidOf = (key: string) => `HW-REPORT-${key}`;

/** What compliance_daily must hold for run `i` (0-based): the devices it listed, counted. */
export function countsAtRun(i: number): Counts {
  const listed = DEVICES.filter((d) => d.status[i] !== null);
  const count = (pred: (d: DeviceSpec) => boolean) => listed.filter(pred).length;
  return {
    devices: listed.length,
    compliant: count((d) => d.status[i] === 0),
    nonCompliant: count((d) => d.status[i] === 1),
    inProgress: count((d) => d.status[i] === 3),
    critical: count((d) => d.critical?.[i] === 1),
    exempt: count((d) => d.exempt === true),
    active: count((d) => d.active !== false),
  };
}

function rawDevice(template: Record<string, unknown>, d: DeviceSpec, i: number): Record<string, unknown> {
  const { os_info: os, ...rest } = template;
  return {
    ...rest,
    hwid: hwidOf(d.key),
    hostname: d.hostname,
    nickname: d.hostname,
    status: d.status[i],
    critical_status: d.critical?.[i] ?? 0,
    exempt: d.exempt ? 1 : 0,
    active: d.active === false ? 0 : 1,
    ...(d.os === null ? {} : { os_info: { ...(os as object), name: d.os } }),
  };
}

/** The start of the UTC day `daysAgo` days before today, plus `hour` hours. */
export function runTime(daysAgo: number, hour: number, now = Date.now()): number {
  return Math.floor(now / DAY) * DAY - daysAgo * DAY + hour * 3_600_000;
}

/** Real time (rate windows, timeouts) moved back to the run's night: only the dates written change. */
function clockAt(at: number): Clock {
  const offset = at - Date.now();
  return { now: () => Date.now() + offset, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
}

/** Runs the five syncs; returns their summaries (each succeeded). */
export async function buildKnownHistory(h: Harness): Promise<RunSummary[]> {
  const template = h.sim.list()[0]!;
  const runs: RunSummary[] = [];
  for (const [i, at] of RUN_TIMES.entries()) {
    h.sim.setDevices(DEVICES.filter((d) => d.status[i] !== null).map((d) => rawDevice(template, d, i)));
    const run = await runSync({
      database: h.tdb.database,
      source: h.makeSource(),
      clock: clockAt(runTime(at.daysAgo, at.hour)),
      logger: h.logger,
      trigger: 'test',
      settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: 'UTC' },
    });
    if (run.status !== 'succeeded') throw new Error(`run ${i + 1} of the known history ${run.status}: ${run.error ?? run.notes}`);
    runs.push(run);
  }
  return runs;
}

/** The UTC day of an instant. */
export const utcDay = (at: Date | number) => new Date(at).toISOString().slice(0, 10);
