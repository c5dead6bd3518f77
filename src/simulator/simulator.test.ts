import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, DEVICES_PATH, TOKEN_PATH } from './simulator.ts';
import type { RawDevice, Simulator, SimulatorOptions } from './simulator.ts';

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

async function startSim(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = createSimulator({ devices: 20, ...options });
  running.push(sim);
  await sim.start();
  return sim;
}

function devicesUrl(sim: Simulator, params: Record<string, string | number> = {}): string {
  const query = new URLSearchParams({ access_token: 'T', ...params } as Record<string, string>);
  return `${sim.url}${DEVICES_PATH}?${query.toString()}`;
}

async function get(sim: Simulator, params: Record<string, string | number> = {}) {
  const res = await fetch(devicesUrl(sim, params));
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

async function page(sim: Simulator, params: Record<string, string | number>): Promise<RawDevice[]> {
  const res = await get(sim, params);
  expect(res.status).toBe(200);
  return JSON.parse(res.text) as RawDevice[];
}

const hwids = (devices: RawDevice[]): unknown[] => devices.map((d) => d.hwid);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function requestToken(sim: Simulator, id: string, secret: string) {
  return fetch(`${sim.url}${TOKEN_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
}

describe('paging', () => {
  it('serves disjoint pages that cover every device in enrolment order, both directions', async () => {
    const sim = await startSim({ devices: 23 });
    const asc: RawDevice[] = [];
    const des: RawDevice[] = [];
    for (let p = 1; p <= 5; p++) {
      asc.push(...(await page(sim, { limit: 5, page: p, order: 'asc', GroupBy: 'none' })));
      des.push(...(await page(sim, { limit: 5, page: p })));
    }
    expect(hwids(asc)).toEqual(hwids(sim.list()));
    expect(hwids(des)).toEqual(hwids(sim.list('des')));
    expect(new Set(hwids(asc)).size).toBe(23);
    expect(await page(sim, { limit: 5, page: 5, order: 'asc' })).toHaveLength(3);
  });

  it('answers 413 past the last page, or 200 [] when configured so; an empty account is 200 []', async () => {
    const sim = await startSim({ devices: 10 });
    const past = await get(sim, { limit: 5, page: 3 });
    expect(past.status).toBe(413);
    expect(JSON.parse(past.text)).toEqual({ result: 413, msg: 'Requested page number exceeds limit' });
    expect((await get(sim, { limit: 5, page: 0 })).status).toBe(413);
    expect((await get(sim, { limit: 5, page: 'x' })).status).toBe(413);

    const lenient = await startSim({ devices: 10, endOfList: 'empty' });
    expect(await page(lenient, { limit: 5, page: 3 })).toEqual([]);
    const empty = await startSim({ devices: 0 });
    expect(await page(empty, { limit: 50, page: 1 })).toEqual([]);
  });

  it('refuses a limit outside [1, 50] with 406 and defaults the limit to 1', async () => {
    const sim = await startSim();
    for (const limit of [51, 0, -1, 'ten', 2.5]) expect((await get(sim, { limit })).status).toBe(406);
    expect(await page(sim, { limit: 50 })).toHaveLength(20);
    const single = await page(sim, {});
    expect(hwids(single)).toEqual(hwids(sim.list('des').slice(0, 1)));
    expect(sim.log.at(-1)).toMatchObject({ path: 'devices', page: 1, limit: 1, status: 200 });
  });

  it('cuts pages from the list as it is at each request, so a deletion mid-run skips a device', async () => {
    const sim = await startSim();
    const named = 'ABCDEFGHIJ'.split('').map((hwid) => ({ hwid }));
    sim.setDevices(named);
    sim.onPage((p) => {
      if (p === 1) sim.setDevices(named.slice(1));
    });
    const first = await page(sim, { limit: 3, page: 1, order: 'asc' });
    const second = await page(sim, { limit: 3, page: 2, order: 'asc' });
    expect(hwids(first)).toEqual(['A', 'B', 'C']);
    expect(hwids(second)).toEqual(['E', 'F', 'G']);
  });

  it('removes, adds and changes devices; hwids are never reused', async () => {
    const sim = await startSim({ devices: 30 });
    const removed = sim.removeDevices(10);
    expect(new Set(removed).size).toBe(10);
    const added = sim.addDevices(15);
    const now = hwids(sim.list());
    expect(now).toHaveLength(35);
    expect(removed.some((hwid) => now.includes(hwid))).toBe(false);
    expect(new Set(now).size).toBe(35);
    expect(now.slice(-15)).toEqual(added);

    const before = new Map(sim.list().map((d) => [d.hwid, d]));
    const changed = sim.changeDevices(5);
    for (const device of sim.list().filter((d) => changed.includes(String(d.hwid)))) {
      const old = before.get(device.hwid);
      expect([device.status, device.total_issue]).not.toEqual([old?.status, old?.total_issue]);
    }
  });
});

describe('devices', () => {
  it('are deterministic per seed', () => {
    const a = createSimulator({ devices: 50, seed: 7 });
    const b = createSimulator({ devices: 50, seed: 7 });
    const c = createSimulator({ devices: 50, seed: 8 });
    expect(a.list()).toEqual(b.list());
    expect(a.removeDevices(5)).toEqual(b.removeDevices(5));
    expect(a.addDevices(5)).toEqual(b.addDevices(5));
    expect(hwids(c.list())).not.toEqual(hwids(b.list()));
  });

  it('look like the vendor examples, computers and mobiles alike', () => {
    const devices = createSimulator({ devices: 400, mobileShare: 0.2 }).list();
    const mobiles = devices.filter((d) => d.machine_type === 'phone' || d.machine_type === 'tablet');
    const computers = devices.filter((d) => !mobiles.includes(d));
    expect(mobiles.length).toBeGreaterThan(40);
    for (const d of computers) {
      expect(d.hwid).toMatch(/^[A-Z0-9]{16}$/);
      expect(Object.keys(d.os_info as object)).toContain('user_password_set');
      expect(['0', '1']).toContain((d.os_info as Record<string, unknown>).user_password_set);
      expect(d.user_info).toEqual({ username: expect.any(String), domain: expect.any(String) });
    }
    for (const d of mobiles) {
      expect(d.hwid).toMatch(/^[A-Za-z0-9]{32}$/);
      for (const key of ['nickname', 'agent_type', 'country', 'user_info', 'exempt']) expect(d).not.toHaveProperty(key);
      expect(d.os_info).not.toHaveProperty('architecture');
    }
    for (const d of devices) {
      expect([0, 1, 3]).toContain(d.status);
      expect(d.last_seen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect((d.network_info as unknown[]).length).toBeLessThanOrEqual(3);
      expect(Number(d.total_issue)).toBeGreaterThanOrEqual(Number(d.total_critical_issue));
    }
  });
});

describe('authentication', () => {
  it('requires the configured static token', async () => {
    const sim = await startSim({ auth: { token: 'secret-token' } });
    expect((await fetch(`${sim.url}${DEVICES_PATH}?limit=5`)).status).toBe(401);
    const wrong = await get(sim, { limit: 5 });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text)).toEqual({ error: 'invalid_token' });
    expect((await get(sim, { limit: 5, access_token: 'secret-token' })).status).toBe(200);
  });

  it('issues OAuth tokens that work until revoked or expired', async () => {
    const sim = await startSim({ auth: { clientId: 'id', clientSecret: 's3cret', tokenTtlSeconds: 0.3 } });
    expect((await requestToken(sim, 'id', 'wrong')).status).toBe(401);
    const res = await requestToken(sim, 'id', 's3cret');
    const body = (await res.json()) as { access_token: string; expires_in: number; token_type: string };
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 0.3 });
    expect((await get(sim, { limit: 2, access_token: body.access_token })).status).toBe(200);
    sim.revokeTokens();
    expect((await get(sim, { limit: 2, access_token: body.access_token })).status).toBe(401);

    const fresh = ((await (await requestToken(sim, 'id', 's3cret')).json()) as { access_token: string }).access_token;
    expect(fresh).not.toBe(body.access_token);
    expect((await get(sim, { limit: 2, access_token: fresh })).status).toBe(200);
    await sleep(350);
    expect((await get(sim, { limit: 2, access_token: fresh })).status).toBe(401);
    expect(sim.stats().tokenRequests).toBe(3);
  });
});

describe('rate limit', () => {
  it('refuses arrivals beyond the limit in a sliding window, with reset headers', async () => {
    const sim = await startSim({ rateLimit: { limit: 5, windowMs: 500 } });
    const burst = await Promise.all(Array.from({ length: 8 }, () => get(sim, { limit: 1 })));
    const refused = burst.filter((r) => r.status === 429);
    expect(burst.filter((r) => r.status === 200)).toHaveLength(5);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(Number(r.headers.get('x-ratelimit-reset-time'))).toBeGreaterThan(0.3);
      expect(Number(r.headers.get('x-ratelimit-reset-time'))).toBeLessThanOrEqual(0.5);
      expect(r.headers.get('x-ratelimit-limit')).toBe('5');
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(JSON.parse(r.text)).toEqual({ result: 429, msg: 'The request exceeds the API rate limit' });
    }
    const waitS = Math.max(...refused.map((r) => Number(r.headers.get('x-ratelimit-reset-time'))));
    await sleep(waitS * 1000 + 10);
    expect((await get(sim, { limit: 1 })).status).toBe(200);
    expect(sim.stats().rateLimited).toBe(3);
    expect(sim.maxInWindow()).toBe(8);
    expect(sim.maxInWindow(1)).toBeLessThan(8);
  });

  it('reports the busiest window of paced traffic and honours the header and token options', async () => {
    const sim = await startSim({
      rateLimit: { limit: 3, windowMs: 200 },
      rateLimitHeaders: 'none',
      countTokenRequests: false,
    });
    for (let i = 0; i < 6; i++) {
      expect((await get(sim, { limit: 1 })).status).toBe(200);
      await sleep(70);
    }
    expect(sim.maxInWindow()).toBeLessThanOrEqual(3);
    for (let i = 0; i < 5; i++) expect((await requestToken(sim, 'any', 'thing')).status).toBe(200);
    await Promise.all([1, 2, 3].map(() => get(sim, { limit: 1 })));
    const refused = await get(sim, { limit: 1 });
    expect(refused.status).toBe(429);
    expect([...refused.headers.keys()].filter((k) => k.startsWith('x-ratelimit') || k === 'retry-after')).toEqual([]);
    sim.setRateLimit(null);
    expect((await get(sim, { limit: 1 })).status).toBe(200);
  });
});

describe('faults', () => {
  it('answers an injected status, then serves normally', async () => {
    const sim = await startSim();
    sim.injectFault({ kind: 'status', status: 503, times: 2, headers: { 'retry-after': '0' } });
    expect((await get(sim, { limit: 5 })).status).toBe(503);
    expect((await get(sim, { limit: 5 })).status).toBe(503);
    expect((await get(sim, { limit: 5 })).status).toBe(200);
    expect(sim.stats().byStatus).toEqual({ 503: 2, 200: 1 });
  });

  it('matches faults by path and page', async () => {
    const sim = await startSim({ auth: { clientId: 'id', clientSecret: 'pw' } });
    sim.injectFault({ kind: 'status', status: 500, match: { path: 'devices', page: 2 } });
    sim.injectFault({ kind: 'status', status: 502, match: { path: 'token' } });
    expect((await requestToken(sim, 'id', 'pw')).status).toBe(502);
    const token = ((await (await requestToken(sim, 'id', 'pw')).json()) as { access_token: string }).access_token;
    expect((await get(sim, { limit: 5, page: 1, access_token: token })).status).toBe(200);
    expect((await get(sim, { limit: 5, page: 2, access_token: token })).status).toBe(500);
    expect((await get(sim, { limit: 5, page: 2, access_token: token })).status).toBe(200);
  });

  it('resets the connection, answers garbage, or delays', async () => {
    const sim = await startSim();
    sim.injectFault({ kind: 'reset' });
    const failure = await fetch(devicesUrl(sim, { limit: 5 })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect(String((failure as TypeError).cause)).toMatch(/ECONNRESET|other side closed|socket/i);
    expect(sim.log.at(-1)?.status).toBe(0);

    sim.injectFault({ kind: 'garbage', body: '<html>maintenance</html>' });
    const garbage = await get(sim, { limit: 5 });
    expect(garbage.status).toBe(200);
    expect(garbage.text).toBe('<html>maintenance</html>');

    sim.injectFault({ kind: 'delay', delayMs: 150 });
    const started = performance.now();
    expect((await get(sim, { limit: 5 })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('lets a client time out on a delay, and close() does not wait for it', async () => {
    const sim = await startSim({ latencyMs: 20, jitterMs: 10 });
    sim.injectFault({ kind: 'delay', delayMs: 5_000 });
    const signal = AbortSignal.timeout(100);
    const aborted = await fetch(devicesUrl(sim, { limit: 1 }), { signal }).catch((e: unknown) => e);
    expect((aborted as Error).name).toBe('TimeoutError');
    const pending = fetch(devicesUrl(sim, { limit: 1 })).catch(() => 'closed');
    await sleep(5);
    const started = performance.now();
    await sim.close();
    expect(performance.now() - started).toBeLessThan(500);
    await pending;
  });
});

describe('server', () => {
  it('runs several simulators at once without shared state and logs every request', async () => {
    const [a, b] = await Promise.all([startSim({ seed: 1 }), startSim({ seed: 2 })]);
    expect(a.url).not.toBe(b.url);
    await get(a, { limit: 3 });
    await fetch(`${a.url}/nowhere`);
    expect(a.log.map((e) => [e.path, e.status])).toEqual([
      ['devices', 200],
      ['other', 404],
    ]);
    expect(b.log).toEqual([]);
    expect(a.stats()).toMatchObject({ requests: 2, tokenRequests: 0, rateLimited: 0 });
    expect(() => createSimulator().url).toThrow(/not started/);
  });
});
