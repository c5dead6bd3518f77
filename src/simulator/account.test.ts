import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT_PATH, createSimulator, DEVICES_PATH, type Simulator, type SimulatorOptions } from './simulator.ts';

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

async function startSim(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = createSimulator({ devices: 40, seed: 8, ...options });
  running.push(sim);
  await sim.start();
  return sim;
}

async function account(sim: Simulator, token = 'T') {
  const res = await fetch(`${sim.url}${ACCOUNT_PATH}?access_token=${token}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('account (Account v2)', () => {
  it('reports the listed devices as devices_used, with the compliance counts, as they change', async () => {
    const sim = await startSim();
    const list = sim.list();
    const { status, body } = await account(sim);
    expect(status).toBe(200);
    expect(body).toEqual({
      name: expect.any(String),
      email: expect.any(String),
      devices_allowed: 100,
      devices_used: 40,
      devices_uncompliant: list.filter((d) => d.status === 1).length,
      devices_critical: list.filter((d) => d.critical_status === 1).length,
    });
    sim.removeDevices(5);
    sim.hideDevices(2);
    expect((await account(sim)).body.devices_used).toBe(33);
    expect(sim.log.map((e) => [e.path, e.status])).toEqual([
      ['account', 200],
      ['account', 200],
    ]);
  });

  it('can report a figure that differs from the list, and counts a static fleet without generating it all', async () => {
    expect((await account(await startSim({ accountDevicesUsed: 55 }))).body.devices_used).toBe(55);
    const big = await startSim({ staticFleet: true, devices: 2_000_000 });
    const started = performance.now();
    const { body } = await account(big);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(body.devices_used).toBe(2_000_000);
    expect(body.devices_uncompliant).toBeGreaterThan(0);
  });

  it('requires the token, counts against the rate window, and can be faulted by path', async () => {
    const sim = await startSim({ auth: { token: 'good' }, rateLimit: { limit: 2, windowMs: 60_000 } });
    expect(await account(sim, 'bad')).toEqual({ status: 401, body: { error: 'invalid_token' } });
    sim.injectFault({ match: { path: 'account' }, kind: 'status', status: 503 });
    expect((await account(sim, 'good')).status).toBe(503);
    // Two arrivals already counted: the third request of the window is refused, whatever its path.
    expect((await fetch(`${sim.url}${DEVICES_PATH}?access_token=good&limit=5`)).status).toBe(429);
    expect(sim.log.map((e) => [e.path, e.status])).toEqual([
      ['account', 401],
      ['account', 503],
      ['devices', 429],
    ]);
  });
});
