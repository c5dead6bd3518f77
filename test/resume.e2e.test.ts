import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { cleanUpAfterEach, harnessPerTest, TEST_TOKEN, type Harness } from './helpers/harness.ts';
import { createSimulator } from '../src/simulator/simulator.ts';
import { createTestDatabase } from './helpers/testDatabase.ts';
import { queryRows } from '../src/db/openDatabase.ts';

const t = harnessPerTest();
const cleanUp = cleanUpAfterEach();
const RESUME = { resumeWithinMs: 6 * 3_600_000 };
/** One request at a time, so a fault lands exactly on the page it names. */
const SEQUENTIAL = { rateLimit: 1, rateWindowMs: 5, maxRetries: 1 };

/** What a user would compare: the current tables and the history the sync left behind. */
async function inventory(h: Harness) {
  const q = <T>(query: ReturnType<typeof sql>) => queryRows<T>(h.tdb.database.db, query);
  return {
    devices: await q(sql`select hwid, content_hash, removed_at is not null as removed from metaaccess.devices order by hwid`),
    adapters: await q(sql`select hwid, position, mac_addr::text from metaaccess.network_adapters order by hwid, position`),
    snapshot: await q(sql`select hwid, status, total_issue from metaaccess.device_snapshots order by hwid`),
    daily: await q(sql`select devices, compliant, non_compliant, in_progress, critical, exempt, active from metaaccess.compliance_daily`),
  };
}

const pagesServed = (h: Harness, from: number) =>
  h.sim.log
    .slice(from)
    .filter((e) => e.path === 'devices')
    .map((e) => e.page);

describe('resume', () => {
  it('continues an interrupted run from its first uncommitted page, and ends with what an uninterrupted run has', async () => {
    const whole = await t.start({ simulator: { devices: 1000, seed: 51 }, api: SEQUENTIAL, settings: RESUME });
    expect((await whole.sync()).status).toBe('succeeded');
    const expected = await inventory(whole);

    const h = await t.start({ simulator: { devices: 1000, seed: 51 }, api: SEQUENTIAL, settings: RESUME });
    h.sim.injectFault({ match: { path: 'devices', page: 12 }, kind: 'status', status: 503, times: 2 });
    const failed = await h.sync();
    expect(failed.status).toBe('failed');
    expect(failed.counters.pages).toBe(11);
    const before = h.sim.log.length;
    const resumed = await h.sync();
    expect(resumed.status).toBe('succeeded');
    expect(resumed.resumed).toEqual({ runId: failed.runId, page: 12 });
    expect(resumed.notes).toContain(`resumed run ${failed.runId} from page 12`);
    // Only the pages the first attempt had not stored, each once, and the 413 after the last one.
    const served = pagesServed(h, before);
    expect(Math.min(...served.map(Number))).toBe(12);
    expect(served.slice(0, 10)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
    expect(new Set(served).size).toBe(served.length);
    expect(resumed.counters).toMatchObject({ devicesSeen: 1000, devicesAdded: 1000, devicesRemoved: 0, pages: 20 });
    expect(await inventory(h)).toEqual(expected);
    const [row] = await queryRows<{ resumed_from: number; resume_page: number; attempt_of: number }>(
      h.tdb.database.db,
      sql`select resumed_from, resume_page, attempt_of from metaaccess.sync_runs where id = ${resumed.runId}`,
    );
    expect(row).toEqual({ resumed_from: failed.runId, resume_page: 12, attempt_of: failed.runId });
  });

  it('judges removals over everything both attempts saw', async () => {
    const h = await t.start({ simulator: { devices: 600, seed: 52 }, api: SEQUENTIAL, settings: { ...RESUME, removalConfirm: 'lookup' } });
    expect((await h.sync()).status).toBe('succeeded');
    const gone = h.sim.removeDevices(2);
    h.sim.injectFault({ match: { path: 'devices', page: 6 }, kind: 'status', status: 503, times: 2 });
    expect((await h.sync()).status).toBe('failed');
    const resumed = await h.sync();
    expect(resumed.status).toBe('succeeded');
    // Devices stored by the first attempt count as seen: only the deleted ones are looked up and removed.
    expect(
      h.sim.log
        .filter((e) => e.path === 'details')
        .map((e) => e.hwid)
        .sort(),
    ).toEqual([...gone].sort());
    expect(resumed.counters.devicesRemoved).toBe(2);
    const [present] = await queryRows<{ n: number }>(h.tdb.database.db, sql`select count(*)::int as n from metaaccess.devices_current`);
    expect(present!.n).toBe(598);
  });

  it('starts over when resuming is off, when the interrupted run is too old, or when it stored nothing', async () => {
    const h = await t.start({ simulator: { devices: 300, seed: 53 }, api: SEQUENTIAL, settings: RESUME });
    h.sim.injectFault({ match: { path: 'devices', page: 4 }, kind: 'status', status: 503, times: 2 });
    const failed = await h.sync();
    let before = h.sim.log.length;
    const off = await h.sync({ settings: { resumeWithinMs: 0 } });
    expect(off.resumed).toBeNull();
    expect(pagesServed(h, before)[0]).toBe(1);

    h.sim.injectFault({ match: { path: 'devices', page: 4 }, kind: 'status', status: 503, times: 2 });
    const again = await h.sync();
    expect(again.status).toBe('failed');
    await queryRows(
      h.tdb.database.db,
      sql`update metaaccess.sync_runs set finished_at = now() - interval '7 hours' where id = ${again.runId}`,
    );
    before = h.sim.log.length;
    expect((await h.sync()).resumed).toBeNull();
    expect(pagesServed(h, before)[0]).toBe(1);

    h.sim.injectFault({ match: { path: 'devices', page: 1 }, kind: 'status', status: 503, times: 2 });
    expect((await h.sync()).status).toBe('failed');
    expect((await h.sync()).resumed).toBeNull();
    expect(failed.status).toBe('failed');
  });
});

describe('resume, when the account or the clock moved on', () => {
  it('a crashed run is as old as its last request, not as the run that found it dead', async () => {
    const h = await t.start({ simulator: { devices: 300, seed: 55 }, api: SEQUENTIAL, settings: RESUME });
    h.sim.injectFault({ match: { path: 'devices', page: 4 }, kind: 'status', status: 503, times: 2 });
    const crashed = await h.sync();
    // As a process killed 7 hours ago leaves it: still `running`, its last request long past.
    const longAgo = Date.now() - 7 * 3_600_000;
    await queryRows(
      h.tdb.database.db,
      sql`update metaaccess.sync_runs set status = 'running', finished_at = null,
      started_at = ${new Date(longAgo - 60_000).toISOString()}::timestamptz, recent_requests = ${JSON.stringify([longAgo])}::jsonb where id = ${crashed.runId}`,
    );
    const before = h.sim.log.length;
    const next = await h.sync();
    expect(next.abandonedRuns).toEqual([crashed.runId]);
    expect(next.resumed).toBeNull();
    expect(pagesServed(h, before)[0]).toBe(1);
  });

  it('reads the list again from page 1 when it now ends before the resume page', async () => {
    const h = await t.start({ simulator: { devices: 1000, seed: 56 }, api: SEQUENTIAL, settings: RESUME });
    h.sim.injectFault({ match: { path: 'devices', page: 12 }, kind: 'status', status: 503, times: 2 });
    const failed = await h.sync();
    expect(failed.counters.pages).toBe(11);
    h.sim.removeDevices(600);
    const resumed = await h.sync();
    expect(resumed.status).toBe('succeeded');
    expect(resumed.notes).toMatch(/ended before resume page 12; read again from page 1/);
    // Every device still in the account was stored by the sync, and none of them is removed.
    const present = h.sim.list().map((d) => String(d.hwid));
    const rows = await queryRows<{ hwid: string; removed: boolean; run: number }>(
      h.tdb.database.db,
      sql`select hwid, removed_at is not null as removed, last_run_id as run from metaaccess.devices where hwid = any(${sql.param(present)}::text[])`,
    );
    expect(rows).toHaveLength(400);
    expect(rows.every((r) => !r.removed && [failed.runId, resumed.runId].includes(r.run))).toBe(true);
  });
});

describe('the rate window survives a kill', () => {
  it('a sync killed during its first burst and restarted at once gets no 429', async () => {
    const windowMs = 3000;
    const sim = createSimulator({ devices: 600, seed: 54, auth: { token: TEST_TOKEN }, rateLimit: { limit: 5, windowMs } });
    cleanUp(() => sim.close());
    await sim.start();
    const tdb = await createTestDatabase();
    cleanUp(() => tdb.drop());
    const env = {
      DATABASE_URL: tdb.url,
      METAACCESS_URL: sim.url,
      METAACCESS_ACCESS_TOKEN: TEST_TOKEN,
      METAACCESS_RATE_LIMIT: '5',
      METAACCESS_RATE_WINDOW_MS: String(windowMs),
    };
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    sim.onPage((page) => {
      if (page === 3) child?.kill('SIGKILL');
    });
    const killed = await runCli(['sync'], env, { onSpawn: (c) => (child = c) });
    expect(killed.signal).toBe('SIGKILL');
    sim.onPage(null);
    const sentBeforeKill = sim.stats().requests;
    expect(sentBeforeKill).toBeGreaterThanOrEqual(3);
    const restarted = await runCli(['sync', '--json'], env);
    expect(restarted.code).toBe(0);
    expect(JSON.parse(restarted.stdout)).toMatchObject({ status: 'succeeded', devicesSeen: 600, rateLimited: 0 });
    expect(sim.stats().rateLimited).toBe(0);
    expect(sim.maxInWindow()).toBeLessThanOrEqual(5);
  }, 60_000);
});
