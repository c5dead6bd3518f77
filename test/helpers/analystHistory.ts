import { runSync, type RunSummary } from '../../src/jobs/runSync.ts';
import { systemClock, type Clock } from '../../src/lib/clock.ts';
import type { RawDevice } from '../../src/simulator/devices.ts';
import { startHarness, type Harness } from './harness.ts';

/**
 * A known history for the analyst docs (docs/schema.md): fourteen devices whose every field the
 * test sets, served by the simulator to eight syncs through the real sync path. The runs are dated
 * by a clock at real now minus N days, so the history ends today and the cookbook's queries run as
 * written (`current_date`, `now()`). SYNC_TIMEZONE is UTC+7 and the runs finish at 03:00 there —
 * 20:00 UTC the day before — so a query or a writer that took the UTC day would be off by one.
 */
export const ZONE = 'Asia/Ho_Chi_Minh';
const ZONE_OFFSET_MS = 7 * 3_600_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The runs: days before today and the local hour they finish at (null: real now, today). */
export const RUN_PLAN: readonly { daysAgo: number; hour: number | null }[] = [
  { daysAgo: 30, hour: 3 }, // outside every "last 30 days" window (day > current_date - 30)
  { daysAgo: 12, hour: 3 },
  { daysAgo: 12, hour: 15 }, // a second run on the same day: compliance_daily keeps this one
  { daysAgo: 7, hour: 3 }, // outside "last week" (day > current_date - 7)
  { daysAgo: 6, hour: 3 },
  { daysAgo: 3, hour: 3 },
  { daysAgo: 1, hour: 3 },
  { daysAgo: 0, hour: null },
];
const RUNS = RUN_PLAN.length;

/** The calendar day of an instant in ZONE (computed here, not by the product's calendar). */
export function localDay(ms: number): string {
  return new Date(ms + ZONE_OFFSET_MS).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` ('YYYY-MM-DD'). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY);
}

function localInstant(day: string, hour: number): number {
  return Date.parse(`${day}T00:00:00Z`) + hour * HOUR - ZONE_OFFSET_MS;
}

const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

type Os = readonly [family: string, name: string, vendor: string, version: string];
const WIN11: Os = ['Windows', 'Windows 11 Pro', 'Microsoft Corp.', '10.0.22631'];
const WIN10: Os = ['Windows', 'Windows 10 Pro', 'Microsoft Corp.', '10.0.19044'];
const SRV2019: Os = ['Windows', 'Windows Server 2019 Standard', 'Microsoft Corp.', '10.0.17763'];
const SRV2022: Os = ['Windows', 'Windows Server 2022 Datacenter', 'Microsoft Corp.', '10.0.20348'];
const SONOMA: Os = ['MacOS', 'macOS Sonoma', 'Apple Inc.', '14.4.1'];
const UBUNTU: Os = ['Linux', 'Ubuntu 22.04.4 LTS', 'Canonical Ltd.', '22.04'];

/** A value per run (index 0..7), or the same in every run. */
interface Runs<T> {
  runs: readonly T[];
}
type PerRun<T> = T | Runs<T>;
const perRun = <T>(runs: readonly T[]): Runs<T> => ({ runs });
const at = <T>(v: PerRun<T>, run: number): T => (typeof v === 'object' && v !== null && 'runs' in v ? v.runs[run]! : v);
/** `first` up to run `change` (exclusive), then `then`. */
const from = <T>(change: number, first: T, then: T): Runs<T> => perRun(Array.from({ length: RUNS }, (_, r) => (r < change ? first : then)));

interface Spec {
  key: string;
  hostname: PerRun<string>;
  /** Runs that list it (default: all). */
  listed?: (run: number) => boolean;
  status: PerRun<number>;
  critical?: PerRun<number>;
  exempt?: boolean;
  active?: boolean;
  agent?: PerRun<string>;
  os: PerRun<Os>;
  ips: PerRun<string[]>;
  /** last_seen: this many days before real now (never after the run); default an hour before the run. */
  staleDays?: number;
}

const SPECS: readonly Spec[] = [
  // Flaps every run: seven status changes in the last 30 days.
  { key: 'A', hostname: 'FLAP-01', status: perRun([0, 1, 0, 1, 0, 1, 0, 1]), os: WIN11, ips: ['10.20.1.10'] },
  { key: 'B', hostname: 'FLAP-02', status: perRun([0, 0, 0, 1, 0, 1, 1, 1]), os: WIN10, ips: ['10.20.1.11'] },
  // Non-compliant throughout; gains critical issues at run 4 (a new interval, still status 1).
  { key: 'C', hostname: 'LAPTOP-ANNA', status: 1, critical: from(4, 0, 1), os: SONOMA, ips: ['192.168.1.30'] },
  { key: 'D', hostname: from(5, 'DESKTOP-OLDNAME', 'DESKTOP-NEWNAME'), status: 0, os: WIN11, ips: ['10.20.2.5'] },
  // A new address yesterday (last week), another device's the day before the week began.
  { key: 'E', hostname: 'LAPTOP-MOVER', status: 0, os: WIN11, ips: from(6, ['10.20.1.15'], ['10.20.2.40']) },
  { key: 'F', hostname: 'DESKTOP-MOVER', status: 0, os: WIN10, ips: from(3, ['192.168.1.20'], ['192.168.1.21']) },
  // Still reporting, then compliant; OS upgrade at run 4, agent upgrade at run 5; two adapters in one /24.
  {
    key: 'G',
    hostname: 'SRV-APP01',
    status: perRun([3, 3, 0, 0, 0, 0, 0, 0]),
    os: from(4, SRV2019, SRV2022),
    agent: from(5, '4.3.3417.0', '4.3.3502.0'),
    ips: ['10.30.0.5', '10.30.0.6'],
  },
  // Removed at run 5 (and stale before that: a removed device is not "not seen").
  { key: 'H', hostname: 'LEAVER-01', listed: (r) => r < 5, status: 1, os: WIN10, ips: ['10.20.1.12'], staleDays: 60 },
  { key: 'I', hostname: 'STALE-01', status: 0, active: false, os: UBUNTU, ips: ['172.16.5.9'], staleDays: 45 },
  { key: 'J', hostname: 'STALE-02', status: 1, active: false, os: WIN10, ips: ['172.16.5.10'], staleDays: 31 },
  { key: 'N', hostname: 'QUIET-01', status: 0, os: UBUNTU, ips: ['10.40.7.7'], staleDays: 29 },
  // Enrolled by the second run of a day, and by yesterday's run.
  { key: 'K', hostname: 'NEWCOMER-1', listed: (r) => r >= 2, status: 1, critical: 1, os: WIN11, agent: '4.3.3611.0', ips: ['10.20.2.6'] },
  { key: 'L', hostname: 'NEWCOMER-2', listed: (r) => r >= 6, status: 3, os: SONOMA, agent: '4.3.3611.0', ips: ['10.40.7.8'] },
  { key: 'M', hostname: 'EXEMPT-01', status: 1, exempt: true, os: WIN11, ips: [] },
];

export const hwidOf = (key: string) => `AH${key.padStart(14, '0')}`;

/** The device as the API shows it at `run` (finishing around `runAt`), `now` being real now. */
function rawDevice(spec: Spec, run: number, runAt: number, now: number): RawDevice {
  const status = at(spec.status, run);
  const critical = at(spec.critical ?? 0, run);
  const [family, name, vendor, version] = at(spec.os, run);
  const hwid = hwidOf(spec.key);
  const lastSeen = spec.staleDays === undefined ? runAt - HOUR : Math.min(runAt - HOUR, now - spec.staleDays * DAY);
  return {
    hwid,
    agent_type: 'managed',
    hostname: at(spec.hostname, run),
    nickname: at(spec.hostname, run),
    agent_version: at(spec.agent ?? '4.3.3589.0', run),
    critical_status: critical,
    total_critical_issue: critical,
    last_seen: isoSeconds(lastSeen),
    machine_type: 'laptop',
    country: 'Vietnam',
    active: spec.active === false ? 0 : 1,
    total_issue: status === 1 ? 2 + critical : 0,
    exempt: spec.exempt ? 1 : 0,
    user_info: { username: 'analyst', domain: 'CORP' },
    user: '',
    os_info: {
      family,
      name,
      vendor,
      version,
      service_pack_version: '0.0',
      architecture: '64-Bit',
      os_language: 'English',
      user_password_set: '1',
    },
    network_info: at(spec.ips, run).map((ip, i) => ({
      mac_addr: `00:0c:29:00:${spec.key.charCodeAt(0).toString(16)}:${String(i).padStart(2, '0')}`,
      ipv4_addr: ip,
      ipv6_addr: '',
    })),
    status,
    remediation_link: `https://gears.opswat.com/gears/remediation/0/${hwid}/x/remediation.html`,
  };
}

export interface KnownRun {
  index: number;
  runId: number;
  /** The run's day in ZONE, as the plan meant it. */
  day: string;
  finishedAt: Date;
  /** What the simulator listed to this run. */
  served: RawDevice[];
}

export interface KnownHistory {
  harness: Harness;
  /** Today in ZONE, when the history was built. */
  today: string;
  /** Real now when the history was built (last_seen of stale devices counts back from it). */
  now: number;
  runs: KnownRun[];
}

/** Real time moved so that the clock reads `at` now. */
function clockAt(at: number): Clock {
  const offset = at - Date.now();
  return { now: () => systemClock.now() + offset, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
}

/** Builds the history (a harness of its own: close it with `history.harness.close()`). */
export async function buildKnownHistory(): Promise<KnownHistory> {
  const now = Date.now();
  const today = localDay(now);
  const harness = await startHarness({ simulator: { devices: 0, seed: 11 } });
  try {
    const runs: KnownRun[] = [];
    for (const [index, plan] of RUN_PLAN.entries()) {
      const day = addDays(today, -plan.daysAgo);
      const runAt = plan.hour === null ? Date.now() : localInstant(day, plan.hour);
      const served = SPECS.filter((s) => s.listed?.(index) ?? true).map((s) => rawDevice(s, index, runAt, now));
      harness.sim.setDevices(served);
      const summary: RunSummary = await runSync({
        database: harness.tdb.database,
        source: harness.makeSource(),
        clock: plan.hour === null ? systemClock : clockAt(runAt),
        logger: harness.logger,
        trigger: 'test',
        settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: ZONE },
      });
      if (summary.status !== 'succeeded') throw new Error(`known history: run ${index} ${summary.status}: ${summary.error ?? ''}`);
      if (localDay(summary.finishedAt.getTime()) !== day) {
        throw new Error(
          `known history: run ${index} finished on ${localDay(summary.finishedAt.getTime())}, not ${day} (the test crossed midnight in ${ZONE}: run it again)`,
        );
      }
      runs.push({ index, runId: summary.runId, day, finishedAt: summary.finishedAt, served });
    }
    return { harness, today, now, runs };
  } catch (error) {
    await harness.close();
    throw error;
  }
}
