import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { harnessPerTest, type Harness } from './helpers/harness.ts';

const t = harnessPerTest();
const rows = t.rows;
let h: Harness | undefined;

/** One request at a time, so the list changes exactly between two pages. */
const SEQUENTIAL = { rateLimit: 1, rateWindowMs: 5 };
const LOOKUP = { removalConfirm: 'lookup' as const };

async function removedHwids(): Promise<string[]> {
  return (await rows<{ hwid: string }>(sql`select hwid from metaaccess.devices where removed_at is not null order by hwid`)).map(
    (r) => r.hwid,
  );
}

function requestsByPath(harness: Harness, from: number) {
  const log = harness.sim.log.slice(from);
  return { devices: log.filter((e) => e.path === 'devices').length, details: log.filter((e) => e.path === 'details').map((e) => e.hwid) };
}

/** Deletes the first `n` devices each time page `page` has been served: devices of the next page slip back unread. */
function shiftEveryRead(harness: Harness, page: number, n: number): string[] {
  const deleted: string[] = [];
  harness.sim.onPage((p) => {
    if (p !== page) return;
    const list = harness.sim.list();
    deleted.push(...list.slice(0, n).map((d) => String(d.hwid)));
    harness.sim.setDevices(list.slice(n));
  });
  return deleted;
}

describe('removal confirmed by lookup (REMOVAL_CONFIRM=lookup)', () => {
  it('removes devices Device Details no longer knows, at the cost of one lookup each and no second read', async () => {
    h = await t.start({ simulator: { devices: 1000, seed: 31 }, settings: LOOKUP });
    expect((await h.sync()).status).toBe('succeeded');
    const gone = h.sim.removeDevices(3).sort();
    const before = h.sim.log.length;
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.devicesRemoved).toBe(3);
    expect(await removedHwids()).toEqual(gone);
    const spent = requestsByPath(h, before);
    // 20 pages (the last one short), the 413 that confirms it ended, and one lookup per missing device.
    expect(spent.devices).toBe(21);
    expect(spent.details.sort()).toEqual(gone);
  });

  it('keeps a device a short page left out: the list goes on past it, and the lookup finds the device', async () => {
    h = await t.start({ simulator: { devices: 1000, seed: 32 }, settings: LOOKUP });
    expect((await h.sync()).status).toBe('succeeded');
    const dropped = String(h.sim.list()[12 * 50 - 1]!.hwid);
    h.sim.injectFault({ match: { path: 'devices', page: 12 }, kind: 'short', drop: 1 });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.devicesSeen).toBe(999);
    expect(run.counters.devicesRemoved).toBe(0);
    expect(await removedHwids()).toEqual([]);
    const [device] = await rows<{ missed_runs: number; found: boolean }>(
      sql`select missed_runs, lookup_found_at is not null as found from metaaccess.devices where hwid = ${dropped}`,
    );
    expect(device).toEqual({ missed_runs: 1, found: true });
    // The snapshot holds every present device, the one the page left out included.
    const [snap] = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.device_snapshots where run_id = ${run.runId}`);
    expect(snap!.n).toBe(1000);
    // Seen again by the next run: its misses are forgotten.
    expect((await h.sync()).status).toBe('succeeded');
    const [after] = await rows<{ missed_runs: number; found: boolean }>(
      sql`select missed_runs, lookup_found_at is not null as found from metaaccess.devices where hwid = ${dropped}`,
    );
    expect(after).toEqual({ missed_runs: 0, found: false });
  });

  it('never removes a present device when the list shifts the same way in both reads', async () => {
    h = await t.start({ simulator: { devices: 600, seed: 33 }, api: SEQUENTIAL, settings: LOOKUP });
    expect((await h.sync()).status).toBe('succeeded');
    // More devices gone than a read of the list costs (13 requests): the list is read again,
    // and while each read passes page 3 two more devices are deleted at the front.
    const gone = h.sim.removeDevices(40);
    const deletedMidRun = shiftEveryRead(h, 3, 2);
    const run = await h.sync();
    h.sim.onPage(null);
    expect(run.status).toBe('succeeded');
    const present = new Set(h.sim.list().map((d) => String(d.hwid)));
    const removed = await removedHwids();
    expect(removed.filter((hwid) => present.has(hwid))).toEqual([]);
    expect(removed.every((hwid) => gone.includes(hwid))).toBe(true);
    // Calm runs then remove every device that is really gone, a lookup budget (13) at a time,
    // and nothing else.
    const reallyGone = [...gone, ...deletedMidRun].sort();
    for (let run = 0; run < 4 && (await removedHwids()).length < reallyGone.length; run++) {
      expect((await h.sync()).status).toBe('succeeded');
      expect((await removedHwids()).every((hwid) => reallyGone.includes(hwid))).toBe(true);
    }
    expect(await removedHwids()).toEqual(reallyGone);
  });

  it('never removes a device no lookup answered for, when a page keeps leaving out more devices than lookups can afford', async () => {
    h = await t.start({ simulator: { devices: 1000, seed: 36 }, settings: LOOKUP });
    expect((await h.sync()).status).toBe('succeeded');
    const hiddenByPage = h.sim
      .list()
      .slice(6 * 50 + 20, 7 * 50)
      .map((d) => String(d.hwid))
      .sort();
    h.sim.injectFault({ match: { path: 'devices', page: 7 }, kind: 'short', drop: 30, times: 1000 });
    const looked = new Set<string>();
    for (let run = 0; run < 2; run++) {
      const before = h.sim.log.length;
      const result = await h.sync();
      expect(result.status).toBe('succeeded');
      expect(result.counters.devicesRemoved).toBe(0);
      for (const e of h.sim.log.slice(before)) if (e.path === 'details') looked.add(String(e.hwid));
    }
    // 30 missing, 21 lookups a run: the second run looked up the ones the first could not.
    expect([...looked].sort()).toEqual(hiddenByPage);
    expect(await removedHwids()).toEqual([]);
  });

  it('removes a device the list hides but Device Details still returns after three complete runs, saying why', async () => {
    h = await t.start({ simulator: { devices: 200, seed: 34 }, settings: LOOKUP });
    expect((await h.sync()).status).toBe('succeeded');
    const hidden = h.sim.hideDevices(2).sort();
    const first = await h.sync();
    const second = await h.sync();
    expect([first.counters.devicesRemoved, second.counters.devicesRemoved]).toEqual([0, 0]);
    expect(await removedHwids()).toEqual([]);
    const third = await h.sync();
    expect(third.status).toBe('succeeded');
    expect(third.counters.devicesRemoved).toBe(2);
    expect(await removedHwids()).toEqual(hidden);
    expect(third.notes).toMatch(/2 devices removed as archived/);
    expect(third.notes).toContain(hidden[0]);
  });
});

describe('removal guard', () => {
  it('an empty first page for a populated account ends the run incomplete: nothing removed, no snapshot, no daily row', async () => {
    h = await t.start({ simulator: { devices: 500, seed: 35 }, settings: LOOKUP });
    const good = await h.sync();
    h.sim.injectFault({ match: { path: 'devices' }, kind: 'empty', times: 2 });
    const run = await h.sync();
    expect(run.status).toBe('incomplete');
    expect(run.notes).toMatch(/removal guard/);
    expect(await removedHwids()).toEqual([]);
    const [row] = await rows<{ status: string; notes: string }>(
      sql`select status, notes from metaaccess.sync_runs where id = ${run.runId}`,
    );
    expect(row!.status).toBe('incomplete');
    const runsWithSnapshots = await rows<{ run_id: number }>(sql`select distinct run_id from metaaccess.snapshots`);
    expect(runsWithSnapshots).toEqual([{ run_id: good.runId }]);
    const daily = await rows<{ devices: number }>(sql`select devices from metaaccess.compliance_daily`);
    expect(daily).toEqual([{ devices: 500 }]);
    // No lookups were spent on a list that looked truncated.
    expect(h.sim.log.filter((e) => e.path === 'details')).toEqual([]);
  });
});
