import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../lib/clock.ts';
import { createSilentLogger } from '../lib/logger.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../simulator/simulator.ts';
import { createSource } from './createSource.ts';
import type { DevicePage, DevicesApi } from './devicesApi.ts';
import { iterateDevicePageGroups, iterateDevicePages, type PageBatch } from './pager.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function readAll(options: SimulatorOptions, pageSize = 50, expectedLastPage?: number) {
  sim = createSimulator({ auth: { token: 'pager-token' }, ...options });
  await sim.start();
  const source = createSource(
    {
      url: sim.url,
      credentials: { kind: 'token', accessToken: 'pager-token' },
      rateLimit: 4,
      rateWindowMs: 100,
      pageSize,
      timeoutMs: 5000,
      maxRetries: 0,
    },
    { clock: systemClock, logger: createSilentLogger() },
  );
  const batches: PageBatch[] = [];
  for await (const b of iterateDevicePages({
    api: source.api,
    pageSize,
    prefetch: source.prefetch,
    ...(expectedLastPage ? { expectedLastPage } : {}),
  }))
    batches.push(b);
  return { batches, requests: sim.stats().requests };
}

describe('pager', () => {
  it('stops at a 413 after the last full page', async () => {
    const { batches, requests } = await readAll({ devices: 150, endOfList: '413' });
    expect(batches.map((b) => [b.page, b.devices.length])).toEqual([
      [1, 50],
      [2, 50],
      [3, 50],
    ]);
    // Prefetching past the end may cost a few requests, bounded by the prefetch depth.
    expect(requests).toBeLessThanOrEqual(4 + 3);
  });

  it('stops at an empty page (APIs that answer 200 [] past the end)', async () => {
    const { batches } = await readAll({ devices: 100, endOfList: 'empty' });
    expect(batches.map((b) => b.page)).toEqual([1, 2]);
    expect(batches.flatMap((b) => b.devices)).toHaveLength(100);
  });

  it('confirms a short last page with one request for the next', async () => {
    const { batches, requests } = await readAll({ devices: 120 }, 50, 3);
    expect(batches.map((b) => [b.page, b.devices.length])).toEqual([
      [1, 50],
      [2, 50],
      [3, 20],
    ]);
    // The 413 for page 4 is what proves page 3 was the last: one request, nothing speculative.
    expect(requests).toBe(4);
  });

  it('spends no request past the end the previous run found', async () => {
    const { requests } = await readAll({ devices: 200, endOfList: '413' }, 50, 4);
    // Pages 1-4, then the 413 that proves page 4 was the last: nothing speculative.
    expect(requests).toBe(5);
  });

  it('returns every device of an account once, in list order', async () => {
    const { batches } = await readAll({ devices: 333, seed: 9 }, 25);
    const hwids = batches.flatMap((b) => b.devices.map((d) => (d as { hwid: string }).hwid));
    expect(hwids).toEqual(sim!.list().map((d) => d.hwid));
  });
});

describe('pager on a first run (no expected end)', () => {
  it('cancels queued requests as soon as the last page arrives, even while a slow consumer lags behind', async () => {
    sim = createSimulator({ auth: { token: 'pager-token' }, devices: 120 });
    await sim.start();
    const source = createSource(
      {
        url: sim.url,
        credentials: { kind: 'token', accessToken: 'pager-token' },
        rateLimit: 4,
        rateWindowMs: 200,
        pageSize: 50,
        timeoutMs: 5000,
        maxRetries: 0,
      },
      { clock: systemClock, logger: createSilentLogger() },
    );
    const pages: number[] = [];
    for await (const b of iterateDevicePages({ api: source.api, pageSize: 50, prefetch: 8 })) {
      pages.push(b.page);
      await systemClock.sleep(300);
    }
    expect(pages).toEqual([1, 2, 3]);
    // Pages 1-4 took the first window's slots; 5-8 waited for the next one and were never sent.
    expect(sim.stats().requests).toBe(4);
  });
});

describe('pager de-duplication', () => {
  async function pagesWithRepeat(confirmSeen?: (hwids: string[]) => Promise<Set<string>>) {
    sim = createSimulator({ auth: { token: 'pager-token' }, devices: 100, seed: 3 });
    await sim.start();
    const list = sim.list();
    // Page 2 repeats two devices of page 1, as a list that shifted mid-run does.
    sim.setDevices([...list.slice(0, 50), list[0]!, list[1]!, ...list.slice(50, 98)]);
    const source = createSource(
      {
        url: sim.url,
        credentials: { kind: 'token', accessToken: 'pager-token' },
        rateLimit: 10,
        rateWindowMs: 100,
        pageSize: 50,
        timeoutMs: 5000,
        maxRetries: 0,
      },
      { clock: systemClock, logger: createSilentLogger() },
    );
    const batches: PageBatch[] = [];
    for await (const b of iterateDevicePages({ api: source.api, pageSize: 50, prefetch: 2, ...(confirmSeen ? { confirmSeen } : {}) }))
      batches.push(b);
    return { batches, repeated: [list[0]!.hwid as string, list[1]!.hwid as string] };
  }

  it('drops a device a previous page already delivered, and counts it', async () => {
    const asked: string[][] = [];
    const { batches, repeated } = await pagesWithRepeat(async (hwids) => {
      asked.push(hwids);
      return new Set(hwids);
    });
    expect(batches.map((b) => b.duplicates)).toEqual([0, 2]);
    expect(batches.flatMap((b) => b.devices)).toHaveLength(98);
    // Only the probable repeats are confirmed, not every device.
    expect(asked.flat().sort()).toEqual([...repeated].sort());
  });

  it('keeps a probable repeat that the confirmation says was not stored (a hash collision)', async () => {
    const { batches } = await pagesWithRepeat(async () => new Set());
    expect(batches.map((b) => b.duplicates)).toEqual([0, 0]);
    expect(batches.flatMap((b) => b.devices)).toHaveLength(100);
  });
});

describe('pager groups (pages that arrived together, stored in one transaction)', () => {
  /** An API whose pages all answer at once, after `holdMs`; page `failing` answers with an error. */
  function instantApi(list: { hwid: string }[], pageSize: number, options: { holdMs?: number; failing?: number } = {}): DevicesApi {
    return {
      fetchDeviceDetails: async () => 'present',
      fetchAccount: async () => ({ devicesUsed: undefined }),
      async fetchDevicePage(page): Promise<DevicePage> {
        await systemClock.sleep(options.holdMs ?? 0);
        if (page === options.failing) throw new Error(`page ${page} failed`);
        const devices = list.slice((page - 1) * pageSize, page * pageSize);
        return devices.length ? { kind: 'devices', page, devices } : { kind: 'end', page };
      },
    };
  }
  const listOf = (n: number) => Array.from({ length: n }, (_, i) => ({ hwid: `H${i}` }));
  async function collect(api: DevicesApi, options: { maxGroupRecords: number; confirmSeen?: (h: string[]) => Promise<Set<string>> }) {
    const groups: PageBatch[][] = [];
    let error: unknown;
    try {
      for await (const g of iterateDevicePageGroups({ api, pageSize: 10, prefetch: 6, ...options })) {
        groups.push(g);
        await systemClock.sleep(30); // storing takes a while: meanwhile the next pages arrive
      }
    } catch (err) {
      error = err;
    }
    return { groups, error };
  }

  it('hands over the pages that have arrived together, in order, at most maxGroupRecords at a time', async () => {
    const list = listOf(95);
    const { groups } = await collect(instantApi(list, 10, { holdMs: 20 }), { maxGroupRecords: 40 });
    expect(groups.flat().map((b) => b.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(groups.flatMap((g) => g.flatMap((b) => b.devices))).toEqual(list);
    expect(Math.max(...groups.map((g) => g.length))).toBeGreaterThan(1);
    expect(Math.max(...groups.map((g) => g.length))).toBeLessThanOrEqual(4);
  });

  it('hands over the pages before a failed one, then fails', async () => {
    const { groups, error } = await collect(instantApi(listOf(100), 10, { holdMs: 20, failing: 4 }), { maxGroupRecords: 100 });
    expect(groups.map((g) => g.map((b) => b.page))).toEqual([[1], [2, 3]]);
    expect(String(error)).toContain('page 4 failed');
  });

  it('drops a repeat of a device from an earlier page of the same group, which the database cannot confirm yet', async () => {
    const list = listOf(40);
    // Page 3 repeats the first two devices of page 2 (the list shifted by two); both arrive while page 1 is stored.
    const shifted = [...list.slice(0, 20), list[10]!, list[11]!, ...list.slice(20, 38)];
    const { groups } = await collect(instantApi(shifted, 10, { holdMs: 20 }), { maxGroupRecords: 100, confirmSeen: async () => new Set() });
    expect(groups.map((g) => g.map((b) => b.page))).toEqual([[1], [2, 3, 4]]);
    expect(groups.flat().map((b) => b.duplicates)).toEqual([0, 0, 2, 0]);
    const hwids = groups.flatMap((g) => g.flatMap((b) => b.devices.map((d) => (d as { hwid: string }).hwid)));
    expect(new Set(hwids).size).toBe(hwids.length);
    expect(hwids).toHaveLength(38);
  });
});

describe('pager: the end of the list is never guessed', () => {
  type Answer = { hwids: number } | 'end' | 'error';
  /** An API scripted per page (and per attempt): `script(page, attempt)`; the default is the real list. */
  function scriptedApi(total: number, pageSize: number, script: (page: number, attempt: number) => Answer | undefined = () => undefined) {
    const calls: number[] = [];
    const attempts = new Map<number, number>();
    const api: DevicesApi = {
      fetchDeviceDetails: async () => 'present',
      fetchAccount: async () => ({ devicesUsed: undefined }),
      async fetchDevicePage(page, signal): Promise<DevicePage> {
        await systemClock.sleep(5, signal);
        calls.push(page);
        const attempt = (attempts.get(page) ?? 0) + 1;
        attempts.set(page, attempt);
        const first = (page - 1) * pageSize;
        const answer = script(page, attempt) ?? { hwids: Math.max(0, Math.min(pageSize, total - first)) };
        if (answer === 'error') throw new Error(`page ${page} failed`);
        if (answer === 'end' || answer.hwids === 0) return { kind: 'end', page };
        return { kind: 'devices', page, devices: Array.from({ length: answer.hwids }, (_, i) => ({ hwid: `D${first + i}` })) };
      },
    };
    return { api, calls };
  }
  async function read(api: DevicesApi, options: { expectedLastPage?: number; prefetch?: number } = {}) {
    let endPage: number | undefined;
    const batches: PageBatch[] = [];
    for await (const b of iterateDevicePages({
      api,
      pageSize: 10,
      prefetch: options.prefetch ?? 4,
      onListEnd: (p) => (endPage = p),
      ...options,
    }))
      batches.push(b);
    return { batches, endPage, devices: batches.reduce((n, b) => n + b.devices.length, 0) };
  }

  it('reads on past a short page in the middle of the list (a truncated answer is not the end)', async () => {
    const { api } = scriptedApi(100, 10, (page) => (page === 4 ? { hwids: 9 } : undefined));
    const { batches, endPage, devices } = await read(api, { expectedLastPage: 10 });
    expect(batches.map((b) => b.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(devices).toBe(99);
    expect(endPage).toBe(11);
  });

  it('on a first run too: a short page mid-list is followed, and only an end after it ends the list', async () => {
    const { api } = scriptedApi(100, 10, (page) => (page === 3 ? { hwids: 5 } : undefined));
    const { devices, endPage } = await read(api);
    expect(devices).toBe(95);
    expect(endPage).toBe(11);
  });

  it('confirms an end that comes before the previous run\'s end, and asks again for a page that said "end" by mistake', async () => {
    const { api, calls } = scriptedApi(100, 10, (page, attempt) => (page === 4 && attempt === 1 ? 'end' : undefined));
    const { devices, endPage } = await read(api, { expectedLastPage: 10 });
    expect(devices).toBe(100);
    expect(endPage).toBe(11);
    expect(calls.filter((p) => p === 4)).toHaveLength(2);
  });

  it('accepts an early end when the page after it ends too (the list really shrank)', async () => {
    const { api } = scriptedApi(30, 10);
    const { devices, endPage } = await read(api, { expectedLastPage: 10, prefetch: 1 });
    expect(devices).toBe(30);
    expect(endPage).toBe(4);
  });

  it('an empty first page of an account that had devices is confirmed by the second, and ends the list with nothing read', async () => {
    const { api, calls } = scriptedApi(0, 10);
    const { devices, endPage } = await read(api, { expectedLastPage: 10, prefetch: 1 });
    expect(devices).toBe(0);
    expect(endPage).toBe(1);
    expect(calls).toEqual([1, 2]);
  });

  it('fails rather than skip a page that keeps answering "end" while the next one has devices', async () => {
    const { api } = scriptedApi(100, 10, (page) => (page === 4 ? 'end' : undefined));
    await expect(read(api, { expectedLastPage: 10 })).rejects.toMatchObject({ code: 'API_INCONSISTENT_LIST' });
  });

  it('an end after a full page is confirmed on a first run too, and a transient [] there does not end the read', async () => {
    const { api, calls } = scriptedApi(100, 10, (page, attempt) => (page === 5 && attempt === 1 ? 'end' : undefined));
    const { devices, endPage } = await read(api, { prefetch: 1 });
    expect(devices).toBe(100);
    expect(endPage).toBe(11);
    expect(calls.filter((p) => p === 5)).toHaveLength(2);
  });

  it('a transient [] past the previous end (the account grew) does not end the read either', async () => {
    const { api } = scriptedApi(200, 10, (page, attempt) => (page === 14 && attempt === 1 ? 'end' : undefined));
    const { devices, endPage } = await read(api, { expectedLastPage: 10, prefetch: 1 });
    expect(devices).toBe(200);
    expect(endPage).toBe(21);
  });
});
