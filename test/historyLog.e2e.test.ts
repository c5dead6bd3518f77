import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/lib/clock.ts';
import { systemClock } from '../src/lib/clock.ts';
import type { RawDevice } from '../src/simulator/devices.ts';
import { harnessPerTest } from './helpers/harness.ts';
import { recomputeFromSnapshots, storedHistory } from './helpers/recomputeHistory.ts';

const t = harnessPerTest();
const rows = t.rows;

/** Real time moved so that "now" is `at` when the clock is made: the run lands on that night. */
function clockAt(at: string): Clock {
  const offset = Date.parse(at) - Date.now();
  return { now: () => systemClock.now() + offset, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
}

const nights = (n: number, first = '2026-03-02') =>
  Array.from({ length: n }, (_, i) => clockAt(new Date(Date.parse(`${first}T07:00:00Z`) + i * 86_400_000).toISOString()));

function edit(list: RawDevice[], hwid: string, change: (d: RawDevice) => void): RawDevice[] {
  return list.map((d) => {
    if (d.hwid !== hwid) return d;
    const copy = structuredClone(d);
    change(copy);
    return copy;
  });
}

describe('change log and status intervals', () => {
  it('equal a plain recomputation from the snapshots, over flips, removals, returns and additions', async () => {
    const h = await t.start({ simulator: { devices: 120, seed: 111 } });
    const clocks = nights(6);
    expect((await h.sync({ clock: clocks[0] })).status).toBe('succeeded');
    h.sim.changeDevices(30);
    expect((await h.sync({ clock: clocks[1] })).status).toBe('succeeded');
    const before = h.sim.list();
    const leaving = before.slice(10, 14);
    h.sim.setDevices(before.filter((d) => !leaving.includes(d)));
    h.sim.changeDevices(20);
    h.sim.addDevices(5);
    const third = await h.sync({ clock: clocks[2] });
    expect(third.status).toBe('succeeded');
    h.sim.setDevices([...h.sim.list(), leaving[0]!, leaving[1]!]);
    h.sim.changeDevices(25);
    expect((await h.sync({ clock: clocks[3] })).status).toBe('succeeded');
    expect((await h.sync({ clock: clocks[4] })).status).toBe('succeeded');
    h.sim.changeDevices(15);
    expect((await h.sync({ clock: clocks[5] })).status).toBe('succeeded');

    const ids = await rows<{ id: number }>(sql`
      select id from metaaccess.devices where hwid = any(${sql.param(leaving.map((d) => String(d.hwid)))}::text[])`);
    expect(ids).toHaveLength(4);
    const expected = await recomputeFromSnapshots(
      h.tdb.database.db,
      ids.map((d) => ({ deviceId: d.id, runId: third.runId })),
    );
    const stored = await storedHistory(h.tdb.database.db);
    expect(stored.intervals).toEqual(expected.intervals);
    expect(stored.changes).toEqual(expected.changes);
    // The history is not trivial: every kind the snapshots can show happened.
    const kinds = new Set(stored.changes.map((c) => c.change));
    for (const kind of ['added', 'removed', 'returned', 'status']) expect(kinds).toContain(kind);
    expect(stored.intervals.filter((i) => i.toRun !== null).length).toBeGreaterThan(20);
    // Each device has exactly one open interval unless it is removed now.
    const open = await rows<{ n: number }>(sql`
      select count(*)::int as n from metaaccess.device_status_intervals i join metaaccess.devices d on d.id = i.device_id
      where i.valid_to is null and d.removed_at is null`);
    const present = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices_current`);
    expect(open[0]!.n).toBe(present[0]!.n);
    // Per-run counts come from the change log.
    const perRun = await rows<{
      id: number;
      devices_added: number;
      devices_removed: number;
      logged_added: number;
      logged_removed: number;
    }>(sql`
      select r.id, r.devices_added, r.devices_removed,
        (select count(*) from metaaccess.device_changes c where c.run_id = r.id and c.change in ('added', 'returned'))::int as logged_added,
        (select count(*) from metaaccess.device_changes c where c.run_id = r.id and c.change = 'removed')::int as logged_removed
      from metaaccess.sync_runs r order by r.id`);
    for (const r of perRun) expect([r.devices_added, r.devices_removed]).toEqual([r.logged_added, r.logged_removed]);
  });

  it('logs hostname, OS, machine type, agent and adapter changes with the old and new values', async () => {
    const h = await t.start({ simulator: { devices: 60, seed: 112 } });
    expect((await h.sync()).status).toBe('succeeded');
    const oneAdapter = await rows<{ hwid: string; mac: string; ip: string }>(sql`
      select a.hwid, a.mac_addr::text as mac, host(a.ipv4_addr) as ip from metaaccess.network_adapters a
      where a.mac_addr is not null and a.ipv4_addr is not null and a.ipv6_addr is null
        and (select count(*) from metaaccess.network_adapters x where x.hwid = a.hwid) = 1
      order by a.hwid limit 1`);
    const withOs = h.sim.list().find((d) => d.os_info && d.hwid !== oneAdapter[0]!.hwid)!;
    const os = withOs.os_info as Record<string, unknown>;
    const b = oneAdapter[0]!;
    let list = edit(h.sim.list(), String(withOs.hwid), (d) => {
      d.hostname = 'renamed-laptop';
      d.machine_type = 'server';
      d.os_info = { ...os, family: 'Linux', version: '99.1' };
      d.agent_version = '9.9.9.9';
    });
    list = edit(list, b.hwid, (d) => {
      d.network_info = [{ ...(d.network_info as Record<string, unknown>[])[0], ipv4_addr: '10.99.0.7', mac_addr: '02:00:00:00:00:99' }];
    });
    h.sim.setDevices(list);
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.devicesChanged).toBe(2);
    const logged = await rows<{ hwid: string; change: string; old_value: string | null; new_value: string | null }>(sql`
      select d.hwid, c.change, c.old_value, c.new_value from metaaccess.device_changes c join metaaccess.devices d on d.id = c.device_id
      where c.run_id = ${run.runId} order by d.hwid = ${b.hwid}, c.change`);
    // As the change log stores a scalar field: its text; absent or null is null.
    const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);
    expect(logged).toEqual([
      { hwid: withOs.hwid, change: 'agent_version', old_value: text(withOs.agent_version), new_value: '9.9.9.9' },
      { hwid: withOs.hwid, change: 'hostname', old_value: text(withOs.hostname), new_value: 'renamed-laptop' },
      { hwid: withOs.hwid, change: 'machine_type', old_value: text(withOs.machine_type), new_value: 'server' },
      { hwid: withOs.hwid, change: 'os_family', old_value: text(os.family), new_value: 'Linux' },
      { hwid: withOs.hwid, change: 'os_version', old_value: text(os.version), new_value: '99.1' },
      { hwid: b.hwid, change: 'ip_added', old_value: null, new_value: '10.99.0.7' },
      { hwid: b.hwid, change: 'ip_removed', old_value: b.ip, new_value: null },
      { hwid: b.hwid, change: 'mac_added', old_value: null, new_value: '02:00:00:00:00:99' },
      { hwid: b.hwid, change: 'mac_removed', old_value: b.mac, new_value: null },
    ]);
    // A calm night writes nothing.
    const calm = await h.sync();
    expect(calm.counters).toMatchObject({ devicesAdded: 0, devicesChanged: 0, devicesRemoved: 0 });
    expect(await rows(sql`select 1 from metaaccess.device_changes where run_id = ${calm.runId}`)).toEqual([]);
  });

  it('logs what a cancelled run changed in the next run that succeeds', async () => {
    const h = await t.start({ simulator: { devices: 200, seed: 113 }, api: { rateLimit: 2, rateWindowMs: 200 } });
    expect((await h.sync()).status).toBe('succeeded');
    const firstPage = h.sim.list().slice(0, 50);
    const flipped = firstPage
      .filter((d) => d.status === 0)
      .slice(0, 8)
      .map((d) => String(d.hwid));
    expect(flipped).toHaveLength(8);
    let list = h.sim.list();
    for (const hwid of flipped) list = edit(list, hwid, (d) => void (d.status = 1));
    h.sim.setDevices(list);
    const stop = new AbortController();
    h.sim.onPage((page) => {
      if (page >= 3) stop.abort(new Error('test stop'));
    });
    const cancelled = await h.sync({ signal: stop.signal });
    h.sim.onPage(null);
    expect(cancelled.status).toBe('cancelled');
    // The cancelled run did write the new status to the current tables…
    const written = await rows<{ n: number }>(sql`
      select count(*)::int as n from metaaccess.devices where hwid = any(${sql.param(flipped)}::text[]) and status = 1`);
    expect(written[0]!.n).toBe(8);
    expect(await rows(sql`select 1 from metaaccess.device_changes where run_id = ${cancelled.runId}`)).toEqual([]);
    // …and the next succeeded run logs it, counts it, and moves the intervals.
    const next = await h.sync();
    expect(next.status).toBe('succeeded');
    expect(next.counters.devicesChanged).toBe(8);
    const logged = await rows<{ hwid: string; old_value: string; new_value: string }>(sql`
      select d.hwid, c.old_value, c.new_value from metaaccess.device_changes c join metaaccess.devices d on d.id = c.device_id
      where c.run_id = ${next.runId} and c.change = 'status' order by d.hwid`);
    expect(logged).toEqual([...flipped].sort().map((hwid) => ({ hwid, old_value: '0', new_value: '1' })));
    const since = await rows<{ n: number }>(sql`
      select count(*)::int as n from metaaccess.device_status_intervals i join metaaccess.devices d on d.id = i.device_id
      where d.hwid = any(${sql.param(flipped)}::text[]) and i.valid_to is null and i.status = 1 and i.first_run_id = ${next.runId}`);
    expect(since[0]!.n).toBe(8);
  });

  it('keeps intervals ordered when two runs finish at the same instant (a clock stepped back)', async () => {
    const h = await t.start({ simulator: { devices: 30, seed: 115 } });
    const frozen = Date.parse('2026-04-01T02:00:00Z');
    const clock: Clock = { now: () => frozen, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
    expect((await h.sync({ clock })).status).toBe('succeeded');
    h.sim.changeDevices(10);
    const second = await h.sync({ clock });
    expect(second.status).toBe('succeeded');
    expect(second.counters.devicesChanged).toBeGreaterThan(0);
    const bad = await rows(sql`select 1 from metaaccess.device_status_intervals where valid_to <= valid_from`);
    expect(bad).toEqual([]);
  });

  it('puts a run on the day in SYNC_TIMEZONE on which it finished, in every table and view', async () => {
    const h = await t.start({ simulator: { devices: 40, seed: 114 }, settings: { timezone: 'America/New_York' } });
    // 03:30 UTC on 10 March is 23:30 on 9 March in New York (UTC-4 after the DST change of 8 March).
    const run = await h.sync({ clock: clockAt('2026-03-10T03:30:00Z') });
    expect(run.status).toBe('succeeded');
    const days = await rows<{ daily: string; snapshots: string; changes: string }>(sql`
      select (select string_agg(distinct day::text, ',') from metaaccess.compliance_daily) as daily,
        (select string_agg(distinct day::text, ',') from metaaccess.device_snapshots) as snapshots,
        (select string_agg(distinct day::text, ',') from metaaccess.device_changes) as changes`);
    expect(days).toEqual([{ daily: '2026-03-09', snapshots: '2026-03-09', changes: '2026-03-09' }]);
    // The join an analyst writes returns the run's devices.
    const joined = await rows<{ n: number; devices: number }>(sql`
      select count(*)::int as n, max(c.devices) as devices from metaaccess.compliance_daily c
      join metaaccess.device_snapshots s on s.day = c.day and s.run_id = c.run_id`);
    expect(joined).toEqual([{ n: 40, devices: 40 }]);
  });
});
