import { afterEach, describe, expect, it } from 'vitest';
import type { DayChanges } from './drift.ts';
import { agentWaves, incidents, nonCompliantTarget, osWaves } from './driftPlan.ts';
import { createSimulator, DETAILS_PATH, DEVICES_PATH, type RawDevice, type Simulator } from './simulator.ts';

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

/** The account's days 0..days: a share per day, what each night did, and the lists kept when asked. */
function live(seed: number, devices: number, days: number) {
  const sim = createSimulator({ seed, devices });
  sim.goToDay(0);
  const shares = [shareOf(sim.list())];
  const nights: DayChanges[] = [];
  for (let day = 1; day <= days; day++) {
    nights.push(...sim.goToDay(day));
    shares.push(shareOf(sim.list()));
  }
  return { sim, shares, nights };
}

function shareOf(list: RawDevice[]) {
  const n = Math.max(1, list.length);
  return {
    devices: list.length,
    compliant: list.filter((d) => d.status === 0).length / n,
    nonCompliant: list.filter((d) => d.status === 1).length / n,
  };
}

/** Without last_seen: the one field that depends on when the account is looked at. */
const withoutLastSeen = (list: RawDevice[]) => list.map(({ last_seen: _seen, ...rest }) => rest);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('the simulated account over days', () => {
  it('is a function of (seed, day): same seed same account, however the days were reached; another seed another', () => {
    const stepped = createSimulator({ seed: 7, devices: 300 });
    for (let day = 0; day <= 30; day++) stepped.goToDay(day);
    const jumped = createSimulator({ seed: 7, devices: 300 });
    const nights = jumped.goToDay(30);
    expect(nights.map((n) => n.day)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(jumped.day).toBe(30);
    expect(withoutLastSeen(jumped.list())).toEqual(withoutLastSeen(stepped.list()));
    const other = createSimulator({ seed: 8, devices: 300 });
    other.goToDay(30);
    expect(withoutLastSeen(other.list())).not.toEqual(withoutLastSeen(jumped.list()));
    expect(() => jumped.goToDay(29)).toThrow(/before the account's day 30/);
  });

  it('changes at realistic daily rates: status flips, enrolments, departures, addresses, updates in waves', () => {
    const devices = 2000;
    const { nights, shares } = live(2026, devices, 90);
    const perDay = (pick: (n: DayChanges) => number) => mean(nights.map((n, i) => pick(n) / shares[i]!.devices));
    const quiet = nights.filter((n) => !n.incident);
    expect(mean(quiet.map((n) => n.statusChanged / devices))).toBeGreaterThan(0.01);
    expect(mean(quiet.map((n) => n.statusChanged / devices))).toBeLessThan(0.03);
    expect(perDay((n) => n.added.length)).toBeGreaterThan(0.002);
    expect(perDay((n) => n.added.length)).toBeLessThan(0.0045);
    expect(perDay((n) => n.removed.length)).toBeGreaterThan(0.0012);
    expect(perDay((n) => n.removed.length)).toBeLessThan(0.003);
    expect(perDay((n) => n.ipChanged)).toBeGreaterThan(0.006);
    expect(perDay((n) => n.ipChanged)).toBeLessThan(0.014);
    expect(nights.reduce((a, n) => a + n.renamed, 0)).toBeGreaterThan(0);
    // Waves: the busiest days update many times what a typical day does; agents not at all between waves.
    const osDays = nights.map((n) => n.osUpdated);
    const median = [...osDays].sort((x, y) => x - y)[Math.floor(osDays.length / 2)]!;
    expect(Math.max(...osDays)).toBeGreaterThan(Math.max(devices * 0.01, 4 * median));
    const agentDays = nights.map((n) => n.agentUpdated);
    expect(agentDays.filter((n) => n === 0).length).toBeGreaterThan(30);
    expect(Math.max(...agentDays)).toBeGreaterThan(devices * 0.05);
  });

  it('drifts: a slow trend with persistent noise, neither flat nor white noise', () => {
    for (const seed of [1, 2, 3, 2026]) {
      const { shares, nights } = live(seed, 1000, 90);
      const incidentDays = new Set(nights.filter((n) => n.incident).map((n) => n.day));
      // Days away from incidents: the trend alone.
      const calm = shares.map((s) => s.compliant).filter((_, day) => ![0, 1, 2, 3, 4, 5].some((k) => incidentDays.has(day - k)));
      const range = Math.max(...calm) - Math.min(...calm);
      expect(range).toBeGreaterThan(0.04);
      expect(range).toBeLessThan(0.25);
      // Tomorrow looks like today: day-to-day moves are small next to the range (white noise would not be).
      const steps = calm.slice(1).map((x, i) => Math.abs(x - calm[i]!));
      expect(mean(steps)).toBeLessThan(range / 4);
    }
  });

  it('has a couple of bad patch days in 90, each a jump that recovers within a few days', () => {
    for (const seed of [1, 2, 3, 4, 5, 2026]) {
      const days = incidents(seed, 89).map((i) => i.day);
      expect(days.length).toBeGreaterThanOrEqual(2);
      expect(days.length).toBeLessThanOrEqual(3);
      const { shares } = live(seed, 1000, 89);
      for (const day of days) {
        const before = shares[day - 1]!.nonCompliant;
        expect(shares[day]!.nonCompliant - before).toBeGreaterThan(0.04);
        if (day + 5 < shares.length) expect(Math.abs(shares[day + 5]!.nonCompliant - before)).toBeLessThan(0.03);
      }
    }
  });

  it('keeps its plan whatever the horizon, and starts the target where the account is', () => {
    expect(nonCompliantTarget(5, 0.4, 0)).toBe(0.4);
    expect(incidents(5, 400).filter((i) => i.day <= 60)).toEqual(incidents(5, 60));
    expect(osWaves(5, 400).filter((w) => w.start <= 60)).toEqual(osWaves(5, 60));
    expect(agentWaves(5, 400).filter((w) => w.start <= 60)).toEqual(agentWaves(5, 60));
  });

  it('never reuses a hwid; departed devices answer 404 on Device Details, present ones 200', async () => {
    const sim = createSimulator({ seed: 11, devices: 400, auth: { token: 'T' } });
    running.push(sim);
    await sim.start();
    const first = new Set(sim.list().map((d) => String(d.hwid)));
    const nights = sim.goToDay(60);
    const added = nights.flatMap((n) => n.added);
    const removed = nights.flatMap((n) => n.removed);
    expect(added.length).toBeGreaterThan(0);
    expect(removed.length).toBeGreaterThan(0);
    expect(new Set(added).size).toBe(added.length);
    for (const hwid of added) expect(first.has(hwid)).toBe(false);
    const now = new Set(sim.list().map((d) => String(d.hwid)));
    expect(now.size).toBe(first.size + added.length - removed.length);
    const status = async (hwid: string) => (await fetch(`${sim.url}${DETAILS_PATH}${encodeURIComponent(hwid)}?access_token=T`)).status;
    const departed = removed.find((hwid) => !added.includes(hwid))!;
    expect(now.has(departed)).toBe(false);
    expect(await status(departed)).toBe(404);
    expect(await status([...now][0]!)).toBe(200);
  });

  it('gives each day a rate window of its own, as nights 24 hours apart have', async () => {
    const sim = createSimulator({ seed: 2, devices: 10, auth: { token: 'T' }, rateLimit: { limit: 3, windowMs: 60_000 } });
    running.push(sim);
    await sim.start();
    const ask = async () => (await fetch(`${sim.url}${DEVICES_PATH}?access_token=T&limit=50&page=1`)).status;
    const burst = async () => [await ask(), await ask(), await ask(), await ask()];
    expect(await burst()).toEqual([200, 200, 200, 429]);
    sim.goToDay(1);
    expect(await burst()).toEqual([200, 200, 200, 429]);
  });

  it('moves last_seen of the devices that report to the hours before the anchor', () => {
    const sim = createSimulator({ seed: 3, devices: 100 });
    const anchor = Date.parse('2026-03-10T02:00:00Z');
    sim.goToDay(1, anchor);
    const day = 24 * 3_600_000;
    for (const device of sim.list()) {
      const seen = Date.parse(String(device.last_seen));
      expect(seen).toBeLessThan(anchor);
      // Quiet devices keep their last report, generated up to 120 days before day 0.
      expect(seen).toBeGreaterThan(anchor - (device.active === 1 ? day : 122 * day));
    }
  });
});
