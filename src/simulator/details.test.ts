import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, DETAILS_PATH, DEVICES_PATH } from './simulator.ts';
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

async function details(sim: Simulator, hwid: string, params: Record<string, string> = {}) {
  const query = new URLSearchParams({ access_token: 'T', ...params });
  const res = await fetch(`${sim.url}${DETAILS_PATH}${encodeURIComponent(hwid)}?${query.toString()}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function page(sim: Simulator, params: Record<string, string | number>): Promise<RawDevice[]> {
  const query = new URLSearchParams({ access_token: 'T', ...params } as Record<string, string>);
  const res = await fetch(`${sim.url}${DEVICES_PATH}?${query.toString()}`);
  expect(res.status).toBe(200);
  return (await res.json()) as RawDevice[];
}

/** The raw exchange, without fetch's decompression: headers and bytes as the server sent them. */
function rawGet(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const hwids = (devices: RawDevice[]): unknown[] => devices.map((d) => d.hwid);

describe('device details', () => {
  it('answers a listed device as the details page names it, and 404 for one that is not there', async () => {
    const sim = await startSim({ mobileShare: 0 });
    const device = sim.list()[3]!;
    const found = await details(sim, String(device.hwid));
    expect(found.status).toBe(200);
    const { critical_status: critical, ...rest } = device;
    expect(found.body).toEqual({ ...rest, critical_issue: critical });
    expect(found.body).not.toHaveProperty('critical_status');

    const missing = await details(sim, 'NO-SUCH-DEVICE');
    expect(missing).toEqual({ status: 404, body: { result: 404, msg: 'Not found' } });
    expect((await details(sim, String(device.hwid), { opt: '1' })).status).toBe(404);
  });

  it('keeps answering for hidden (archived) devices that left the list, not for removed ones', async () => {
    const sim = await startSim();
    const hidden = sim.hideDevices(3);
    const removed = sim.removeDevices(2);
    expect(hidden).toHaveLength(3);
    const listed = hwids(await page(sim, { limit: 50, order: 'asc' }));
    expect(listed).toHaveLength(15);
    for (const hwid of [...hidden, ...removed]) expect(listed).not.toContain(hwid);
    for (const hwid of hidden) expect((await details(sim, hwid)).status).toBe(200);
    for (const hwid of removed) expect((await details(sim, hwid)).status).toBe(404);
  });

  it('requires the token, counts against the rate window and logs the decoded hwid', async () => {
    const sim = await startSim({ auth: { token: 'good' }, rateLimit: { limit: 2, windowMs: 60_000 } });
    const hwid = String(sim.list()[0]!.hwid);
    expect(await details(sim, hwid, { access_token: 'bad' })).toEqual({ status: 401, body: { error: 'invalid_token' } });
    expect((await details(sim, 'a/b c', { access_token: 'good' })).status).toBe(404);
    expect((await details(sim, hwid, { access_token: 'good' })).status).toBe(429);
    expect(sim.log.map((e) => [e.path, e.hwid, e.status])).toEqual([
      ['details', hwid, 401],
      ['details', 'a/b c', 404],
      ['details', hwid, 429],
    ]);
    expect(sim.maxInWindow()).toBe(3);
  });

  it('matches faults by the details path and hwid', async () => {
    const sim = await startSim();
    const [a, b] = sim.list().map((d) => String(d.hwid));
    sim.injectFault({ match: { path: 'details', hwid: b! }, kind: 'status', status: 503 });
    sim.injectFault({ match: { path: 'details' }, kind: 'garbage', body: '<html>maintenance</html>' });
    expect((await page(sim, { limit: 5 })).length).toBe(5);
    expect((await details(sim, b!)).status).toBe(503);
    const garbage = await fetch(`${sim.url}${DETAILS_PATH}${a}?access_token=T`);
    expect(await garbage.text()).toBe('<html>maintenance</html>');
    expect((await details(sim, a!)).status).toBe(200);
  });

  it('works on a static fleet, whose hwids name their index', async () => {
    const sim = await startSim({ staticFleet: true, devices: 500 });
    const device = sim.list('asc')[321]!;
    const found = await details(sim, String(device.hwid));
    expect(found.status).toBe(200);
    expect(found.body.hwid).toBe(device.hwid);
    expect(found.body.critical_issue).toBe(device.critical_status);
    const forged = `${String(device.hwid).slice(0, -6)}0000ZZ`;
    for (const hwid of [forged, 'X', `A${String(device.hwid)}`]) expect((await details(sim, hwid)).status).toBe(404);
    expect(() => sim.hideDevices(1)).toThrow(/static fleet/);
  });
});

describe('body faults', () => {
  it('truncates a page (short) or answers an empty list (empty), then serves normally', async () => {
    const sim = await startSim();
    const all = hwids(sim.list());
    sim.injectFault({ match: { path: 'devices', page: 1 }, kind: 'short', drop: 3 });
    expect(hwids(await page(sim, { limit: 10, page: 1, order: 'asc' }))).toEqual(all.slice(0, 7));
    expect(hwids(await page(sim, { limit: 10, page: 1, order: 'asc' }))).toEqual(all.slice(0, 10));
    sim.injectFault({ kind: 'short' });
    expect(await page(sim, { limit: 10, page: 2, order: 'asc' })).toHaveLength(9);
    sim.injectFault({ kind: 'empty' });
    expect(await page(sim, { limit: 10, page: 1 })).toEqual([]);
  });

  it('sends a small gzip body that inflates to the given size of valid JSON', async () => {
    const sim = await startSim();
    const bytes = 5 * 1024 * 1024 + 7;
    sim.injectFault({ kind: 'gzip-bomb', bytes });
    const res = await rawGet(`${sim.url}${DEVICES_PATH}?access_token=T&limit=5`);
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.length).toBeLessThan(bytes / 500);
    const inflated = gunzipSync(res.body);
    expect(inflated.length).toBe(bytes);
    expect(JSON.parse(inflated.toString('utf8'))).toEqual([]);
    expect(sim.log.at(-1)).toMatchObject({ path: 'devices', status: 200 });
  });

  it('streams an oversized body in chunks, without a content-length', async () => {
    const sim = await startSim();
    const bytes = 3 * 64 * 1024 + 11;
    sim.injectFault({ kind: 'oversized', bytes });
    const res = await rawGet(`${sim.url}${DEVICES_PATH}?access_token=T&limit=5`);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.body.length).toBe(bytes);
    expect(JSON.parse(res.body.toString('utf8'))).toEqual([]);
  });

  it('refuses a size fault without a usable size', async () => {
    const sim = await startSim();
    expect(() => sim.injectFault({ kind: 'gzip-bomb' })).toThrow(/bytes >= 2/);
    expect(() => sim.injectFault({ kind: 'oversized', bytes: 1 })).toThrow(/bytes >= 2/);
    expect(() => sim.injectFault({ kind: 'short', drop: -1 })).toThrow(/drop >= 0/);
  });
});
