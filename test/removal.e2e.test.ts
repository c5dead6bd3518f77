import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { tryAcquireRunLock } from '../src/db/locks.ts';
import { LockHeldError } from '../src/lib/errors.ts';
import { harnessPerTest, type Harness } from './helpers/harness.ts';

const t = harnessPerTest();
const rows = t.rows;
let h: Harness | undefined;

async function removedHwids(): Promise<string[]> {
  return (await rows<{ hwid: string }>(sql`select hwid from metaaccess.devices where removed_at is not null order by hwid`)).map(
    (r) => r.hwid,
  );
}

/** One request at a time, so the list changes exactly between two pages. */
const SEQUENTIAL = { rateLimit: 1, rateWindowMs: 5 };

/** Deletes the first two devices once page 3 has been served: the list shifts back, two devices of page 4 slip onto page 3 unread. */
function deleteEarlyDevicesDuringRun(harness: Harness): string[] {
  const deleted: string[] = [];
  harness.sim.onPage((page) => {
    if (page === 3 && deleted.length === 0) {
      const list = harness.sim.list();
      deleted.push(String(list[0]!.hwid), String(list[1]!.hwid));
      harness.sim.setDevices(list.slice(2));
    }
  });
  return deleted;
}

describe('removal', () => {
  it('recheck: devices skipped by a shifting list are found again; only deleted ones are removed', async () => {
    h = await t.start({ simulator: { devices: 500, seed: 21 }, api: SEQUENTIAL });
    expect((await h.sync()).status).toBe('succeeded');
    const list = h.sim.list();
    const gone = String(list.at(-1)!.hwid);
    h.sim.setDevices(list.slice(0, -1));
    const deleted = deleteEarlyDevicesDuringRun(h);
    const second = await h.sync();
    h.sim.onPage(null);
    // Two devices slipped past unread; the recheck found them. Only the truly deleted one goes.
    expect(second.status).toBe('succeeded');
    expect(second.counters.devicesRemoved).toBe(1);
    expect(await removedHwids()).toEqual([gone]);
    // The two deleted mid-run had been read before they went: the next run confirms them gone.
    const third = await h.sync();
    expect(third.counters.devicesRemoved).toBe(2);
    expect(await removedHwids()).toEqual([gone, ...deleted].sort());
    const present = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices_current`);
    expect(present[0]!.n).toBe(497);
  });

  it('next-run: a device is removed only when a second complete run misses it too', async () => {
    h = await t.start({ simulator: { devices: 500, seed: 22 }, api: SEQUENTIAL, settings: { removalConfirm: 'next-run' } });
    const requestsBefore = h.sim.stats().requests;
    expect((await h.sync()).status).toBe('succeeded');
    const firstRunRequests = h.sim.stats().requests - requestsBefore;
    const list = h.sim.list();
    const gone = String(list.at(-1)!.hwid);
    h.sim.setDevices(list.slice(0, -1));
    deleteEarlyDevicesDuringRun(h);
    const second = await h.sync();
    h.sim.onPage(null);
    expect(second.counters.devicesRemoved).toBe(0);
    const missed = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices where missed_runs = 1`);
    expect(missed[0]!.n).toBe(3);
    const third = await h.sync();
    // The two skipped devices were seen again; only the one missed twice is removed.
    expect(third.counters.devicesRemoved).toBe(1);
    expect(await removedHwids()).toEqual([gone]);
    // next-run never re-reads the list: a run costs what a single pass costs.
    expect(third.counters.requests).toBeLessThanOrEqual(firstRunRequests);
  });

  it('the guard keeps every device when a run sees too few of them, and the run ends incomplete', async () => {
    h = await t.start({ simulator: { devices: 200, seed: 23 } });
    expect((await h.sync()).status).toBe('succeeded');
    h.sim.setDevices(h.sim.list().slice(0, 60));
    const run = await h.sync();
    expect(run.status).toBe('incomplete');
    expect(run.counters.devicesRemoved).toBe(0);
    expect(run.notes).toMatch(/removal guard/);
    expect(await removedHwids()).toEqual([]);
    const [row] = await rows<{ notes: string; status: string }>(
      sql`select notes, status from metaaccess.sync_runs where id = ${run.runId}`,
    );
    expect(row!.notes).toMatch(/removal guard/);
    expect(row!.status).toBe('incomplete');
    // A run that looked truncated adds nothing to the trend: the day keeps the full run's figures.
    const snaps = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.snapshots where run_id = ${run.runId}`);
    expect(snaps[0]!.n).toBe(0);
    const daily = await rows<{ devices: number }>(sql`select devices from metaaccess.compliance_daily`);
    expect(daily).toEqual([{ devices: 200 }]);
  });

  it('a device that comes back after removal is present again and counted as added', async () => {
    h = await t.start({ simulator: { devices: 120, seed: 24 } });
    await h.sync();
    const all = h.sim.list();
    h.sim.setDevices(all.slice(1));
    expect((await h.sync()).counters.devicesRemoved).toBe(1);
    h.sim.setDevices(all);
    const back = await h.sync();
    expect(back.counters.devicesAdded).toBe(1);
    expect(await removedHwids()).toEqual([]);
  });
});

describe('run bookkeeping', () => {
  it('stops writing and fails LOCK_LOST when another process marked the run abandoned meanwhile', async () => {
    h = await t.start({ simulator: { devices: 300, seed: 26 }, api: { rateLimit: 1, rateWindowMs: 5 } });
    h.sim.onPage((page) => {
      // Another worker, believing this run dead, takes over and marks it abandoned.
      if (page === 4)
        h!.tdb.database.db.execute(sql`update metaaccess.sync_runs set status = 'abandoned' where status = 'running'`).then(
          () => undefined,
          () => undefined,
        );
    });
    const run = await h.sync();
    expect(run.status).toBe('failed');
    expect(run.errorCode).toBe('LOCK_LOST');
    const snaps = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.snapshots`);
    expect(snaps[0]!.n).toBe(0);
    // The row says what happened, from the run that knows: it lost its lock.
    const [row] = await rows<{ status: string; error_code: string }>(
      sql`select status, error_code from metaaccess.sync_runs where id = ${run.runId}`,
    );
    expect(row).toEqual({ status: 'failed', error_code: 'LOCK_LOST' });
    // The fence: no page is stored once the run is no longer `running`.
    const [stored] = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices where last_run_id = ${run.runId}`);
    expect(stored!.n).toBeLessThanOrEqual(4 * 50);
  });

  it('continues the rate window of the previous run instead of starting a fresh one', async () => {
    h = await t.start({
      simulator: { devices: 150, seed: 27, rateLimit: { limit: 5, windowMs: 600 } },
      api: { rateLimit: 5, rateWindowMs: 600 },
    });
    expect((await h.sync()).status).toBe('succeeded');
    expect((await h.sync()).status).toBe('succeeded');
    expect(h.sim.stats().rateLimited).toBe(0);
    expect(h.sim.maxInWindow(600)).toBeLessThanOrEqual(5);
  });

  it('stores a device with thousands of adapters (more than one statement can carry)', async () => {
    h = await t.start({ simulator: { devices: 3, seed: 28 } });
    const [first, ...rest] = h.sim.list();
    const adapters = Array.from({ length: 14_000 }, (_, i) => ({
      mac_addr: `00:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      ipv4_addr: '',
      ipv6_addr: '',
    }));
    h.sim.setDevices([{ ...first!, network_info: adapters }, ...rest]);
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    const n = await rows<{ n: number }>(
      sql`select count(*)::int as n from metaaccess.network_adapters where hwid = ${String(first!.hwid)}`,
    );
    expect(n[0]!.n).toBe(14_000);
  });

  it('refuses to start while another run holds the lock', async () => {
    h = await t.start({ simulator: { devices: 10 } });
    const lock = await tryAcquireRunLock(h.tdb.database);
    try {
      await expect(h.sync()).rejects.toBeInstanceOf(LockHeldError);
    } finally {
      await lock.release();
    }
    expect((await h.sync()).status).toBe('succeeded');
  });

  it('marks a run left running by a dead process as abandoned', async () => {
    h = await t.start({ simulator: { devices: 10 } });
    const [dead] = await rows<{ id: number }>(
      sql`insert into metaaccess.sync_runs (started_at, status, trigger) values (now(), 'running', 'cli') returning id`,
    );
    const run = await h.sync();
    expect(run.abandonedRuns).toEqual([dead!.id]);
    const [row] = await rows<{ status: string; finished_at: Date | null }>(
      sql`select status, finished_at from metaaccess.sync_runs where id = ${dead!.id}`,
    );
    expect(row!.status).toBe('abandoned');
    expect(row!.finished_at).not.toBeNull();
  });

  it('stops once the pages received are stored when cancelled, recording the run cancelled', async () => {
    h = await t.start({ simulator: { devices: 600, seed: 25 }, api: { rateLimit: 5, rateWindowMs: 200 } });
    await h.sync();
    const controller = new AbortController();
    h.sim.onPage((page) => {
      if (page === 3) controller.abort(new Error('SIGTERM'));
    });
    const run = await h.sync({ signal: controller.signal });
    expect(run.status).toBe('cancelled');
    // Page 3 was being served when the signal came: at most the pages already fetched by then are stored.
    expect(run.counters.pages).toBeLessThanOrEqual(3);
    expect(run.counters.devicesRemoved).toBe(0);
    const snaps = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.snapshots where run_id = ${run.runId}`);
    expect(snaps[0]!.n).toBe(0);
  });
});
