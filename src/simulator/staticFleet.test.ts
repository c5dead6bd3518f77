import { afterEach, describe, expect, it } from 'vitest';
import { normalizeDevice } from '../normalize/normalizeDevice.ts';
import { createSimulator, DEVICES_PATH, type RawDevice, type Simulator } from './simulator.ts';
import { createStaticFleet } from './staticFleet.ts';

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

async function pageOf(sim: Simulator, page: number, order: 'asc' | 'des', limit = 50): Promise<{ status: number; devices: RawDevice[] }> {
  const res = await fetch(`${sim.url}${DEVICES_PATH}?access_token=T&limit=${limit}&page=${page}&order=${order}`);
  return { status: res.status, devices: res.ok ? ((await res.json()) as RawDevice[]) : [] };
}

describe('static fleet', () => {
  it('serves every device once per direction, pages cut from one fixed list, then 413', async () => {
    const sim = createSimulator({ devices: 230, seed: 5, staticFleet: true });
    running.push(sim);
    await sim.start();
    const asc: RawDevice[] = [];
    const des: RawDevice[] = [];
    for (let page = 1; page <= 5; page++) {
      asc.push(...(await pageOf(sim, page, 'asc')).devices);
      des.push(...(await pageOf(sim, page, 'des')).devices);
    }
    expect(asc).toHaveLength(230);
    expect(des).toEqual([...asc].reverse());
    expect(asc).toEqual(sim.list('asc'));
    expect(new Set(asc.map((d) => d.hwid)).size).toBe(230);
    expect((await pageOf(sim, 6, 'asc')).status).toBe(413);
    // Asking again gives the same bytes: devices are a function of (seed, index).
    expect((await pageOf(sim, 3, 'asc', 7)).devices).toEqual(asc.slice(14, 21));
  });

  it('makes realistic, normalizable devices, deterministic per seed and different across seeds', () => {
    const fleet = createStaticFleet({ seed: 9, devices: 2000, mobileShare: 0.15 });
    const list = fleet.list('asc');
    expect(list).toEqual(createStaticFleet({ seed: 9, devices: 2000, mobileShare: 0.15 }).list('asc'));
    expect(list[0]).not.toEqual(createStaticFleet({ seed: 10, devices: 1, mobileShare: 0.15 }).list('asc')[0]);
    expect(list.every((raw) => normalizeDevice(raw).ok)).toBe(true);
    const mobiles = list.filter((d) => d.machine_type === 'phone' || d.machine_type === 'tablet').length;
    expect(mobiles / list.length).toBeGreaterThan(0.1);
    expect(mobiles / list.length).toBeLessThan(0.2);
    expect(list.filter((d) => String(d.hwid).length === 16).length).toBe(list.length - mobiles);
    expect(new Set(list.map((d) => d.hostname)).size).toBeGreaterThan(1000);
  });

  it('holds a million devices without generating them, and refuses to change', () => {
    const started = performance.now();
    const fleet = createStaticFleet({ seed: 1, devices: 1_000_000, mobileShare: 0.15 });
    const last = JSON.parse(fleet.page('asc', 999_950, 50)) as RawDevice[];
    expect(performance.now() - started).toBeLessThan(1000);
    expect(last).toHaveLength(50);
    expect(String(last[49]!.hwid).endsWith((999_999).toString(36).toUpperCase().padStart(6, '0'))).toBe(true);
    expect(fleet.size).toBe(1_000_000);
    expect(() => fleet.add(1)).toThrow(/static fleet cannot add devices/);
    expect(() => fleet.replace([])).toThrow(/static fleet/);
  });
});
