/**
 * One night in the life of a simulated account, for `demo --days`: devices drift in and out of
 * compliance towards the day's target (driftPlan.ts), a bad patch day turns many critical at once,
 * devices enrol and leave, change IP address, install OS and agent updates in waves, go quiet and
 * come back, and now and then get renamed. Day k's account is a function of (seed, k): every step
 * draws from streams named after its day, over a list kept in enrolment order.
 */
import { createRng, deriveSeed, int, randomChars, UPPER_ALNUM, type Rng } from './rng.ts';
import { isoSeconds, REFERENCE_TIME, textOf, type RawDevice } from './devices.ts';
import { adoptionDay, agentWaves, incidents, nonCompliantTarget, osWaves, type Wave } from './driftPlan.ts';
import { nextOs, trackOf } from './osUpdates.ts';

/** Daily chances, per device. */
const DRIFT_RATES = {
  /** Enrolments per present device (~0.3 %). */
  enrol: 0.003,
  /** Leaving: decommissioned machines are mostly those already quiet (~0.2 % overall). */
  leaveActive: 0.0012,
  leaveInactive: 0.0055,
  /** Both ways at once, on top of the pull towards the target (~1 % flips before that). */
  statusChurn: 0.005,
  /** Share of the gap to the day's target closed each night: an incident recovers over a few days. */
  pull: 0.4,
  /** A compliant or non-compliant device starts re-evaluating (status 3)… */
  startReporting: 0.002,
  /** …and a re-evaluating one (or a new one) settles. */
  settle: 0.7,
  /** A non-compliant device finds or fixes an issue or two. */
  issueWobble: 0.05,
  /** A new DHCP lease or another office. */
  ipChange: 0.01,
  /** Reimaged or renamed by its owner (computers). */
  rename: 0.0005,
  deactivate: 0.006,
  reactivate: 0.025,
  /** A device turning non-compliant has a critical issue… */
  critical: 0.45,
  /** …and critical devices are this many times likelier to be fixed first (about 30 % of non-compliant devices stay critical)… */
  criticalFixedFirst: 2,
  /** …or, in the week after a bad patch day, while its fix is rolled out. */
  criticalFixedFirstAfterIncident: 8,
} as const;

const HOUR = 3_600_000;
export const DAY_MS = 24 * HOUR;

export interface DriftState {
  readonly seed: number;
  /** Share of non-compliant devices on day 0: the target starts there. */
  readonly baseline: number;
  /** The day the list now shows. */
  day: number;
}

/** What one night did (hwids for devices in and out; counts of devices per kind of change). */
export interface DayChanges {
  day: number;
  added: string[];
  removed: string[];
  statusChanged: number;
  ipChanged: number;
  renamed: number;
  osUpdated: number;
  agentUpdated: number;
  activeChanged: number;
  incident: boolean;
  /** The day's target share of non-compliant devices. */
  target: number;
}

function shiftLastSeen(devices: RawDevice[], byMs: number): void {
  for (const device of devices) {
    const seen = typeof device.last_seen === 'string' ? Date.parse(device.last_seen) : Number.NaN;
    if (!Number.isNaN(seen)) device.last_seen = isoSeconds(seen + byMs);
  }
}

/**
 * Day 0: the generated account with its first evaluations settled (a freshly generated account
 * has more devices "still reporting" than one that has lived), so the history does not open with
 * a jump. Its share of non-compliant devices is where the target starts. With `day0AnchorMs`
 * (when day 0's sync runs), last_seen times move with it, keeping their spread.
 */
export function startDrift(seed: number, devices: RawDevice[], day0AnchorMs?: number): DriftState {
  // Generated last_seen times are relative to a fixed reference: move them to the history's start.
  if (day0AnchorMs !== undefined) shiftLastSeen(devices, day0AnchorMs - REFERENCE_TIME);
  const rng = createRng(deriveSeed(seed, 'day 0 settle'));
  const before = devices.filter((d) => d.status === 1).length / Math.max(1, devices.length);
  for (const device of devices) {
    if (device.status !== 3 || rng() >= DRIFT_RATES.settle) continue;
    const bad = rng() < before;
    setCompliance(device, bad ? 1 : 0, bad && rng() < DRIFT_RATES.critical, rng);
  }
  const nonCompliant = devices.filter((d) => d.status === 1).length;
  return { seed, baseline: devices.length ? nonCompliant / devices.length : 0.4, day: 0 };
}

/** Makes a new device of the account (its hwid never used before) from this stream. */
export type Enrol = (rng: Rng) => RawDevice;

const hwidOf = (device: RawDevice): string => textOf(device.hwid);
const isMobile = (device: RawDevice): boolean => device.machine_type === 'phone' || device.machine_type === 'tablet';

/** Sets the compliance fields consistently: issues only where the status says so. */
function setCompliance(device: RawDevice, status: 0 | 1 | 3, critical: boolean, rng: Rng): void {
  const totalCritical = status === 1 && critical ? int(rng, 1, 4) : 0;
  const totalIssue = status === 1 ? totalCritical + int(rng, 1, 12) : status === 3 ? int(rng, 0, 3) : rng() < 0.7 ? 0 : int(rng, 1, 2);
  Object.assign(device, {
    status,
    critical_status: totalCritical > 0 ? 1 : 0,
    total_critical_issue: totalCritical,
    total_issue: totalIssue,
  });
}

/** n distinct items, each item's chance of coming first scaled by `weight` (1: uniform). */
function sample<T>(rng: Rng, items: readonly T[], n: number, weight: (item: T) => number = () => 1): T[] {
  return items
    .map((item) => ({ item, key: rng() ** (1 / weight(item)) }))
    .sort((a, b) => b.key - a.key)
    .slice(0, Math.max(0, n))
    .map((k) => k.item);
}

function binomial(rng: Rng, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rng() < p) k++;
  return k;
}

/**
 * Moves the account from `state.day` to the next day. Devices change in place; the returned list
 * (enrolment order, newcomers last) replaces the old one.
 */
export function driftDay(state: DriftState, list: RawDevice[], enrol: Enrol): { devices: RawDevice[]; changes: DayChanges } {
  const day = state.day + 1;
  const { seed } = state;
  const rngOf = (aspect: string): Rng => createRng(deriveSeed(seed, `day ${day} ${aspect}`));
  const target = nonCompliantTarget(seed, state.baseline, day);
  const changes: DayChanges = {
    day,
    added: [],
    removed: [],
    statusChanged: 0,
    ipChanged: 0,
    renamed: 0,
    osUpdated: 0,
    agentUpdated: 0,
    activeChanged: 0,
    incident: false,
    target,
  };
  const touched = new Set<RawDevice>();

  const leave = rngOf('leave');
  const devices = list.filter((d) => {
    const stays = leave() >= (d.active === 1 ? DRIFT_RATES.leaveActive : DRIFT_RATES.leaveInactive);
    if (!stays) changes.removed.push(hwidOf(d));
    return stays;
  });

  settleReporting(devices, rngOf('settle'), target, touched);
  const recent = incidents(seed, day);
  const recovering = recent.some((i) => i.day < day && day - i.day <= 7);
  pullTowards(
    devices,
    rngOf('status'),
    target,
    recovering ? DRIFT_RATES.criticalFixedFirstAfterIncident : DRIFT_RATES.criticalFixedFirst,
    touched,
  );
  const incident = recent.find((i) => i.day === day);
  if (incident) {
    changes.incident = true;
    strike(devices, rngOf('incident'), incident.share, touched);
  }
  changes.statusChanged = touched.size;
  wobbleIssues(devices, rngOf('issues'));
  changes.activeChanged = toggleActive(devices, rngOf('active'));
  changes.ipChanged = moveAddresses(devices, rngOf('ip'));
  changes.renamed = rename(devices, rngOf('rename'));
  changes.osUpdated = updateOs(seed, day, devices);
  changes.agentUpdated = updateAgents(seed, day, devices);

  const newcomers = rngOf('enrol');
  const count = binomial(newcomers, devices.length, DRIFT_RATES.enrol);
  for (let i = 0; i < count; i++) {
    const device = enrol(newcomers);
    // A new agent reports in before its first evaluation completes: "still reporting".
    setCompliance(device, 3, false, newcomers);
    device.active = 1;
    devices.push(device);
    changes.added.push(hwidOf(device));
  }
  state.day = day;
  return { devices, changes };
}

/** Re-evaluations settle (to non-compliant with the target's odds) and a few new ones start. */
function settleReporting(devices: RawDevice[], rng: Rng, target: number, touched: Set<RawDevice>): void {
  for (const device of devices) {
    if (device.status === 3) {
      if (rng() >= DRIFT_RATES.settle) continue;
      const bad = rng() < target;
      setCompliance(device, bad ? 1 : 0, bad && rng() < DRIFT_RATES.critical, rng);
      touched.add(device);
    } else if (rng() < DRIFT_RATES.startReporting) {
      setCompliance(device, 3, false, rng);
      touched.add(device);
    }
  }
}

/**
 * Churn both ways, plus a share of the gap to the day's target: the share of non-compliant
 * devices follows the target with a lag of a couple of days. Fixes go to critical devices first.
 */
function pullTowards(devices: RawDevice[], rng: Rng, target: number, criticalWeight: number, touched: Set<RawDevice>): void {
  const good = devices.filter((d) => d.status === 0);
  const bad = devices.filter((d) => d.status === 1);
  const move = Math.round(DRIFT_RATES.pull * (target * devices.length - bad.length));
  const churn = binomial(rng, devices.length, DRIFT_RATES.statusChurn);
  const breaking = sample(rng, good, churn + Math.max(0, move));
  const fixed = sample(rng, bad, churn + Math.max(0, -move), (d) => (d.critical_status === 1 ? criticalWeight : 1));
  for (const device of breaking) setCompliance(device, 1, rng() < DRIFT_RATES.critical, rng);
  for (const device of fixed) setCompliance(device, 0, false, rng);
  for (const device of [...breaking, ...fixed]) touched.add(device);
}

/** A bad patch day: a share of the account, compliant computers first, turns critical at once. */
function strike(devices: RawDevice[], rng: Rng, share: number, touched: Set<RawDevice>): void {
  const candidates = devices.filter((d) => d.status === 0 && !isMobile(d));
  for (const device of sample(rng, candidates, Math.round(share * devices.length))) {
    setCompliance(device, 1, true, rng);
    touched.add(device);
  }
}

function wobbleIssues(devices: RawDevice[], rng: Rng): void {
  for (const device of devices) {
    if (device.status !== 1 || rng() >= DRIFT_RATES.issueWobble) continue;
    const critical = Number(device.total_critical_issue) || 0;
    const issues = (Number(device.total_issue) || 0) + (rng() < 0.5 ? -1 : 1) * int(rng, 1, 2);
    device.total_issue = Math.max(critical + 1, issues);
  }
}

function toggleActive(devices: RawDevice[], rng: Rng): number {
  let n = 0;
  for (const device of devices) {
    const active = device.active === 1;
    if (rng() < (active ? DRIFT_RATES.deactivate : DRIFT_RATES.reactivate)) {
      device.active = active ? 0 : 1;
      n++;
    }
  }
  return n;
}

/** A new address on the same network (the first two octets kept), on one of the device's adapters. */
function moveAddresses(devices: RawDevice[], rng: Rng): number {
  let n = 0;
  for (const device of devices) {
    const adapters = Array.isArray(device.network_info) ? (device.network_info as RawDevice[]) : [];
    if (adapters.length === 0 || rng() >= DRIFT_RATES.ipChange) continue;
    const adapter = adapters[int(rng, 0, adapters.length - 1)]!;
    const [a = '10', b = '0'] = textOf(adapter.ipv4_addr).split('.');
    const next = `${a}.${b}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`;
    if (next === adapter.ipv4_addr) continue;
    adapter.ipv4_addr = next;
    n++;
  }
  return n;
}

/** Windows names are regenerated (a reimage); others get a numbered suffix (`-2`, then `-3`), as macOS does on a clash. */
function rename(devices: RawDevice[], rng: Rng): number {
  let n = 0;
  for (const device of devices) {
    if (isMobile(device) || rng() >= DRIFT_RATES.rename) continue;
    const old = textOf(device.hostname);
    const windows = /^(DESKTOP|LAPTOP|WIN-VM)-/.exec(old);
    const renamed = /^(.+)-(\d)$/.exec(old);
    const hostname = windows
      ? `${windows[1]}-${randomChars(rng, 7, UPPER_ALNUM)}`
      : renamed
        ? `${renamed[1]}-${Number(renamed[2]) + 1}`
        : `${old}-2`;
    if (device.nickname === old) device.nickname = hostname;
    device.hostname = hostname;
    n++;
  }
  return n;
}

function updateOs(seed: number, day: number, devices: RawDevice[]): number {
  const running = osWaves(seed, day).filter((w) => w.start <= day && day < w.end);
  let n = 0;
  for (const wave of running) {
    for (const device of devices) {
      const os = device.os_info as Record<string, unknown> | undefined;
      if (!os || trackOf(os) !== wave.track || adoptionDay(seed, 'os', wave, hwidOf(device)) !== day) continue;
      const next = nextOs(os, createRng(deriveSeed(seed, `os ${wave.index} ${hwidOf(device)} which`)));
      if (!next) continue;
      Object.assign(os, next);
      n++;
    }
  }
  return n;
}

/** Wave i installs one release on every agent it reaches, whatever version it had. */
function agentRelease(wave: Pick<Wave, 'index'>, mobile: boolean): string {
  return mobile ? `7.${3 + wave.index}.${100 + ((37 * wave.index) % 300)}.0` : `4.3.${3611 + 83 * (wave.index + 1)}.0`;
}

function updateAgents(seed: number, day: number, devices: RawDevice[]): number {
  const running = agentWaves(seed, day).filter((w) => w.start <= day && day < w.end);
  let n = 0;
  for (const wave of running) {
    for (const device of devices) {
      const release = agentRelease(wave, isMobile(device));
      if (device.agent_version === release || adoptionDay(seed, 'agent', wave, hwidOf(device)) !== day) continue;
      device.agent_version = release;
      n++;
    }
  }
  return n;
}

/**
 * Agents of active devices report in the hours before `anchorMs` (the night's sync); quiet ones
 * keep their last time. Only `last_seen` moves, which the sync does not count as a change.
 */
export function reportIn(seed: number, day: number, devices: readonly RawDevice[], anchorMs = REFERENCE_TIME + day * DAY_MS): void {
  const rng = createRng(deriveSeed(seed, `day ${day} report`));
  for (const device of devices) {
    const ago = int(rng, 5 * 60, 20 * 3600) * 1000;
    if (device.active === 1) device.last_seen = isoSeconds(anchorMs - ago);
  }
}
