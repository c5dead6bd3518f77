/**
 * A fleet larger than the stack has room for arguments: an array spread into a call
 * (`push(...devices)`) throws RangeError from somewhere past about 120,000 elements. Sizing the
 * tool for a large fleet starts with `simulate --devices N` or `demo --devices N`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ACCOUNT_PATH, createSimulator, DEVICES_PATH, type RawDevice, type Simulator } from '../src/simulator/simulator.ts';

const DEVICES = 250_000;
const TOKEN = 'scale-token-5d1f';

let sim: Simulator | undefined;
afterAll(async () => {
  await sim?.close();
});

async function get<T>(path: string, query: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sim!.url}${path}?access_token=${TOKEN}&${query}`);
  return { status: res.status, body: (await res.json()) as T };
}

describe(`a fleet of ${DEVICES.toLocaleString('en')} devices`, () => {
  it('is served by the simulator: the account counts it, and the last page holds the newest devices', async () => {
    sim = createSimulator({ devices: DEVICES, seed: 9, auth: { token: TOKEN } });
    await sim.start();
    expect((await get<{ devices_used: number }>(ACCOUNT_PATH, '')).body.devices_used).toBe(DEVICES);
    const last = await get<RawDevice[]>(DEVICES_PATH, `limit=50&page=${DEVICES / 50}&order=asc`);
    const newest = await get<RawDevice[]>(DEVICES_PATH, 'limit=50&page=1&order=des');
    expect(last.status).toBe(200);
    expect(last.body).toHaveLength(50);
    expect(last.body.map((d) => d.hwid)).toEqual(newest.body.map((d) => d.hwid).reverse());
  });
});
