import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { normalizeDevice } from '../src/normalize/normalizeDevice.ts';
import { startHarness, TEST_CLIENT, type Harness } from './helpers/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function rows<T>(q: ReturnType<typeof sql>): Promise<T[]> {
  return (await h!.tdb.database.db.execute(q)).rows as T[];
}

describe('end-to-end sync against the simulator', () => {
  it('stores every device, OS row and adapter exactly, within the rate limit, then tracks changes', async () => {
    h = await startHarness({
      simulator: { devices: 2400, seed: 7, rateLimit: { limit: 10, windowMs: 1000 }, latencyMs: 5, jitterMs: 5, auth: TEST_CLIENT },
      api: { rateLimit: 10, rateWindowMs: 1000, credentials: { kind: 'oauth', ...TEST_CLIENT } },
    });
    const first = await h.sync();
    expect(first.status).toBe('succeeded');
    expect(h.sim.stats().rateLimited).toBe(0);
    expect(h.sim.maxInWindow(1000)).toBeLessThanOrEqual(10);

    const source = h.sim.list();
    const expected = source.map((raw) => normalizeDevice(raw)).flatMap((r) => (r.ok ? [r.value] : []));
    expect(expected).toHaveLength(2400);
    const stored = await rows<{ hwid: string; hostname: string | null; status: number | null; active: boolean | null; last_seen: Date | null; raw: unknown }>(
      sql`select hwid, hostname, status, active, last_seen, raw from metaaccess.devices order by hwid`);
    expect(stored).toHaveLength(2400);
    const byHwid = new Map(stored.map((d) => [d.hwid, d]));
    for (const raw of source) {
      const d = byHwid.get(String(raw.hwid))!;
      expect(d.raw).toEqual(raw);
      expect(d.hostname).toBe(raw.hostname ?? null);
      expect(d.status).toBe(raw.status ?? null);
      expect(d.active).toBe(raw.active === undefined ? null : raw.active === 1);
      expect(d.last_seen?.toISOString()).toBe(new Date(String(raw.last_seen)).toISOString());
    }
    const osCount = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.device_os`);
    expect(osCount[0]!.n).toBe(expected.filter((e) => e.os).length);
    const adapters = await rows<{ hwid: string; position: number; mac_addr: string | null; ipv4_addr: string | null; ipv6_addr: string | null }>(
      sql`select hwid, position, mac_addr::text, host(ipv4_addr) as ipv4_addr, host(ipv6_addr) as ipv6_addr from metaaccess.network_adapters order by hwid, position`);
    const expectedAdapters = expected.flatMap((e) => e.adapters).sort((a, b) => (a.hwid < b.hwid ? -1 : a.hwid > b.hwid ? 1 : a.position - b.position));
    expect(adapters).toEqual(expectedAdapters);
    const sourceAdapterCount = source.reduce((n, raw) => n + (Array.isArray(raw.network_info) ? raw.network_info.length : 0), 0);
    expect(adapters).toHaveLength(sourceAdapterCount);

    const run1 = (await rows<Record<string, unknown>>(sql`select * from metaaccess.sync_runs where id = ${first.runId}`))[0]!;
    expect(run1).toMatchObject({ status: 'succeeded', devices_seen: 2400, devices_added: 2400, devices_changed: 0, devices_removed: 0, rate_limited: 0 });
    expect(run1.pages).toBe(48);
    expect(run1.requests).toBe(h.sim.stats().requests);

    const added = h.sim.addDevices(30);
    const removed = h.sim.removeDevices(20);
    const changed = h.sim.changeDevices(40).filter((hw) => !removed.includes(hw));
    const second = await h.sync();
    expect(second.status).toBe('succeeded');
    expect(second.counters).toMatchObject({ devicesSeen: 2410, devicesAdded: 30, devicesChanged: changed.length, devicesRemoved: 20 });
    const gone = await rows<{ hwid: string }>(sql`select hwid from metaaccess.devices where removed_at is not null order by hwid`);
    expect(gone.map((g) => g.hwid)).toEqual([...removed].sort());
    const current = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices_current`);
    expect(current[0]!.n).toBe(2410);
    const newOnes = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices where first_run_id = ${second.runId}`);
    expect(newOnes[0]!.n).toBe(added.length);

    const snaps = await rows<{ run_id: number; n: number }>(sql`select run_id, count(*)::int as n from metaaccess.device_snapshots group by run_id order by run_id`);
    expect(snaps).toEqual([{ run_id: first.runId, n: 2400 }, { run_id: second.runId, n: 2410 }]);
    const daily = await rows<{ devices: number; compliant: number; run_id: number }>(sql`select devices, compliant, run_id from metaaccess.compliance_daily`);
    expect(daily).toHaveLength(1);
    expect(daily[0]).toMatchObject({ devices: 2410, run_id: second.runId });
    const compliantNow = h.sim.list().filter((d) => d.status === 0).length;
    expect(daily[0]!.compliant).toBe(compliantNow);
    expect(h.sim.stats().rateLimited).toBe(0);
    expect(h.sim.maxInWindow(1000)).toBeLessThanOrEqual(10);
  });

  it('sees each device once when the list shifts between pages', async () => {
    h = await startHarness({ simulator: { devices: 300, seed: 3 } });
    let shifted = false;
    h.sim.onPage((page) => {
      if (page === 2 && !shifted) {
        shifted = true;
        // A device enrolled at the front pushes every later device one place back: the first
        // device of page 3 was the last of page 2, and would be stored twice without de-duplication.
        const [newcomer] = h!.sim.addDevices(1);
        const list = h!.sim.list();
        h!.sim.setDevices([list.find((d) => d.hwid === newcomer)!, ...list.filter((d) => d.hwid !== newcomer)]);
      }
    });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.devicesSeen).toBe(300);
    const n = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices`);
    expect(n[0]!.n).toBe(300);
  });
});
