import { queryRows } from '../src/db/openDatabase.ts';
import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { normalizeDevice } from '../src/normalize/normalizeDevice.ts';
import { deviceOs, devices } from '../src/db/schema.ts';
import { createSimulator } from '../src/simulator/simulator.ts';
import type { RunJson } from '../src/cli/format.ts';
import { runCli } from './helpers/cli.ts';
import { countTrackedChanges } from './helpers/tracked.ts';
import { cleanUpAfterEach, harnessPerTest, TEST_CLIENT, type Harness } from './helpers/harness.ts';
import { createTestDatabase } from './helpers/testDatabase.ts';

const t = harnessPerTest();
const rows = t.rows;
const cleanUp = cleanUpAfterEach();
let h: Harness | undefined;

describe('end-to-end sync against the simulator', () => {
  it('stores every device, OS row and adapter exactly, within the rate limit, then tracks changes (CLI sync)', async () => {
    // The sync runs in its own process, as in production: the simulator's clock then sees
    // arrivals when they happen, not when this process's event loop gets round to them.
    const sim = createSimulator({
      devices: 2400,
      seed: 7,
      rateLimit: { limit: 10, windowMs: 1000 },
      latencyMs: 5,
      jitterMs: 5,
      auth: TEST_CLIENT,
    });
    await sim.start();
    const tdb = await createTestDatabase();
    cleanUp(() => tdb.drop());
    cleanUp(() => sim.close());
    const env = {
      DATABASE_URL: tdb.url,
      METAACCESS_URL: sim.url,
      METAACCESS_CLIENT_ID: TEST_CLIENT.clientId,
      METAACCESS_CLIENT_SECRET: TEST_CLIENT.clientSecret,
      METAACCESS_RATE_LIMIT: '10',
      METAACCESS_RATE_WINDOW_MS: '1000',
    };
    const q = <T>(query: ReturnType<typeof sql>) => queryRows<T>(tdb.database.db, query);

    const first = await runCli(['sync', '--json'], env);
    expect(first.code).toBe(0);
    const firstSummary = JSON.parse(first.stdout) as RunJson;
    expect(firstSummary).toMatchObject({ status: 'succeeded', devicesSeen: 2400, devicesAdded: 2400, pages: 48, rateLimited: 0 });
    expect(sim.stats().rateLimited).toBe(0);
    expect(sim.maxInWindow(1000)).toBeLessThanOrEqual(10);
    expect(firstSummary.requests).toBe(sim.stats().requests);
    expect(first.stderr).toMatch(/"message":"page 48 stored"/);
    expect(first.stdout + first.stderr).not.toContain(TEST_CLIENT.clientSecret);

    const source = sim.list();
    const expected = source.map((raw) => normalizeDevice(raw)).flatMap((r) => (r.ok ? [r.value] : []));
    expect(expected).toHaveLength(2400);
    const stored = await q<{
      hwid: string;
      hostname: string | null;
      status: number | null;
      active: boolean | null;
      last_seen: string | null;
      raw: unknown;
    }>(sql`select hwid, hostname, status, active, last_seen, raw from metaaccess.devices`);
    expect(stored).toHaveLength(2400);
    const byHwid = new Map(stored.map((d) => [d.hwid, d]));
    for (const raw of source) {
      const d = byHwid.get(String(raw.hwid))!;
      expect(d.raw).toEqual(raw);
      expect(d.hostname).toBe(raw.hostname ?? null);
      expect(d.status).toBe(raw.status ?? null);
      expect(d.active).toBe(raw.active === undefined ? null : raw.active === 1);
      expect(d.last_seen === null ? null : new Date(d.last_seen).toISOString()).toBe(new Date(String(raw.last_seen)).toISOString());
    }
    // Every typed column of every device and OS row equals what the normalizer makes of the source.
    const byKey = <T extends { hwid: string }>(list: T[]) => [...list].sort((a, b) => (a.hwid < b.hwid ? -1 : 1));
    const deviceRows = await tdb.database.db.select().from(devices);
    const storedDevices = deviceRows.map((row) =>
      Object.fromEntries(Object.keys(expected[0]!.device).map((k) => [k, row[k as keyof typeof row]])),
    );
    expect(byKey(storedDevices as { hwid: string }[])).toEqual(byKey(expected.map((e) => e.device)));
    const osRows = await tdb.database.db.select().from(deviceOs);
    expect(byKey(osRows)).toEqual(byKey(expected.flatMap((e) => (e.os ? [e.os] : []))));
    const adapters = await q<{ hwid: string; position: number; macAddr: string | null; ipv4Addr: string | null; ipv6Addr: string | null }>(
      sql`select hwid, position, mac_addr::text as "macAddr", host(ipv4_addr) as "ipv4Addr", host(ipv6_addr) as "ipv6Addr" from metaaccess.network_adapters`,
    );
    const key = (a: { hwid: string; position: number }) => `${a.hwid}/${String(a.position).padStart(3, '0')}`;
    const sortAdapters = <T extends { hwid: string; position: number }>(list: T[]) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(sortAdapters(adapters)).toEqual(sortAdapters(expected.flatMap((e) => e.adapters)));
    const sourceAdapterCount = source.reduce((n, raw) => n + (Array.isArray(raw.network_info) ? raw.network_info.length : 0), 0);
    expect(adapters).toHaveLength(sourceAdapterCount);

    const before = structuredClone(sim.list());
    const removed = sim.removeDevices(20);
    const added = sim.addDevices(30);
    sim.changeDevices(40);
    // "Changed" counts what the change log tracks (status, OS, adapters, ...), not every field.
    const changed = { length: countTrackedChanges(before, sim.list()) };
    expect(changed.length).toBeGreaterThan(10);
    const second = await runCli(['sync', '--json'], env);
    expect(second.code).toBe(0);
    const secondSummary = JSON.parse(second.stdout) as RunJson;
    expect(secondSummary).toMatchObject({
      status: 'succeeded',
      devicesSeen: 2410,
      devicesAdded: 30,
      devicesChanged: changed.length,
      devicesRemoved: 20,
      rateLimited: 0,
    });
    const gone = await q<{ hwid: string }>(sql`select hwid from metaaccess.devices where removed_at is not null order by hwid`);
    expect(gone.map((g) => g.hwid)).toEqual([...removed].sort());
    const current = await q<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices_current`);
    expect(current[0]!.n).toBe(2410);
    const newOnes = await q<{ n: number }>(
      sql`select count(*)::int as n from metaaccess.devices where first_run_id = ${secondSummary.runId}`,
    );
    expect(newOnes[0]!.n).toBe(added.length);
    const runRows = await q<Record<string, unknown>>(
      sql`select id, status, devices_added, devices_changed, devices_removed from metaaccess.sync_runs order by id`,
    );
    expect(runRows).toEqual([
      { id: firstSummary.runId, status: 'succeeded', devices_added: 2400, devices_changed: 0, devices_removed: 0 },
      { id: secondSummary.runId, status: 'succeeded', devices_added: 30, devices_changed: changed.length, devices_removed: 20 },
    ]);

    const snaps = await q<{ run_id: number; n: number }>(
      sql`select run_id, count(*)::int as n from metaaccess.device_snapshots group by run_id order by run_id`,
    );
    expect(snaps).toEqual([
      { run_id: firstSummary.runId, n: 2400 },
      { run_id: secondSummary.runId, n: 2410 },
    ]);
    // The view hides no stored row (every snapshot has its profile, device and run).
    const storedSnapshots = await q<{ n: number }>(sql`select count(*)::int as n from metaaccess.snapshots`);
    expect(storedSnapshots[0]!.n).toBe(2400 + 2410);
    const daily = await q<{ devices: number; compliant: number; run_id: number }>(
      sql`select devices, compliant, run_id from metaaccess.compliance_daily`,
    );
    expect(daily).toEqual([{ devices: 2410, run_id: secondSummary.runId, compliant: sim.list().filter((d) => d.status === 0).length }]);
    expect(sim.stats().rateLimited).toBe(0);
    expect(sim.maxInWindow(1000)).toBeLessThanOrEqual(10);
  });

  it('sees each device once when the list shifts between pages', async () => {
    h = await t.start({ simulator: { devices: 300, seed: 3 } });
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

  it('takes no 429 when the server counts requests on new connections late (a handshake the client cannot see)', async () => {
    // 40 ms of unseen delay is twice the limiter's margin for this window: a limiter that trusted
    // the write time of the first, new-connection burst would send the second burst too early.
    h = await t.start({
      simulator: { devices: 50 * 12 - 10, seed: 5, rateLimit: { limit: 4, windowMs: 1000 }, newConnectionDelayMs: 40 },
      api: { rateLimit: 4, rateWindowMs: 1000 },
    });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.devicesSeen).toBe(50 * 12 - 10);
    expect(h.sim.stats().rateLimited).toBe(0);
    expect(h.sim.maxInWindow()).toBeLessThanOrEqual(4);
  });

  it('a first run asks the account how many devices it has, and requests no page past the end', async () => {
    // Slow answers and a wide prefetch: without an estimate, a window's worth of requests for
    // pages past the end would already be on their way when the last page comes back.
    h = await t.start({
      simulator: { devices: 1000, seed: 8, rateLimit: { limit: 10, windowMs: 400 }, latencyMs: 60, jitterMs: 10 },
      api: { rateLimit: 10, rateWindowMs: 400 },
    });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    const byPath = (path: string) => h!.sim.log.filter((e) => e.path === path);
    expect(byPath('account')).toHaveLength(1);
    // 20 pages and the 413 that confirms page 20 was the last: nothing more.
    expect(
      byPath('devices')
        .map((e) => e.page!)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(run.counters.requests).toBe(22);
  });
});
