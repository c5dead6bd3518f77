import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/openDatabase.ts';
import type { DayChanges } from '../src/simulator/drift.ts';
import { createSimulator, type RawDevice } from '../src/simulator/simulator.ts';
import { runCli } from './helpers/cli.ts';
import { cleanUpAfterEach } from './helpers/harness.ts';
import { createTestDatabase, type TestDatabase } from './helpers/testDatabase.ts';

const cleanUp = cleanUpAfterEach();
const DAYS = 10;
const DEVICES = 200;
const SEED = 4;

async function freshDatabase(): Promise<TestDatabase> {
  const tdb = await createTestDatabase();
  cleanUp(() => tdb.drop());
  return tdb;
}

const demoDays = (tdb: TestDatabase, days = DAYS) =>
  runCli(
    ['demo', '--days', String(days), '--devices', String(DEVICES), '--seed', String(SEED)],
    { DATABASE_URL: tdb.url },
    { timeoutMs: 180_000 },
  );

/** The simulator's model of the account, day by day, computed here without any sync. */
function model(): { lists: RawDevice[][]; nights: DayChanges[] } {
  const sim = createSimulator({ seed: SEED, devices: DEVICES });
  const lists: RawDevice[][] = [];
  const nights: DayChanges[] = [];
  for (let day = 0; day < DAYS; day++) {
    nights.push(...sim.goToDay(day));
    lists.push(sim.list());
  }
  return { lists, nights };
}

const daily = (tdb: TestDatabase) =>
  queryRows<Record<string, unknown>>(
    tdb.database.db,
    sql`
  select day::text as day, devices, compliant, non_compliant, in_progress, critical, exempt, active
  from metaaccess.compliance_daily order by day`,
  );

/** Code-point order, as the database's collation may differ from it. */
const byHwid = (a: { hwid: string }, b: { hwid: string }) => (a.hwid < b.hwid ? -1 : a.hwid > b.hwid ? 1 : 0);

/** The last `n` nights at 02:00 UTC as of `at`: today's too once 02:00 has passed. */
function lastNights(at: number, n: number): string[] {
  const last = at - (new Date(at).getUTCHours() < 2 ? 86_400_000 : 0);
  return Array.from({ length: n }, (_, k) => new Date(last + (k + 1 - n) * 86_400_000).toISOString().slice(0, 10));
}

describe('demo --days', () => {
  it('writes one succeeded run per night on consecutive days, through the real sync, as the model says', async () => {
    const tdb = await freshDatabase();
    const started = Date.now();
    const result = await demoDays(tdb);
    expect(result.stderr).not.toContain('demo-secret');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/night 10\/10 \(\d{4}-\d{2}-\d{2}\): \d+ devices, [\d.]+ % compliant/);
    expect(result.stdout).toMatch(/demo --days 10: wrote 10 days/);
    const db = tdb.database.db;

    // Ten runs, each at 02:00 UTC (SYNC_TIMEZONE's default), on the last ten nights.
    const runs = await queryRows<{
      id: number;
      status: string;
      trigger: string;
      started: string;
      finished: string;
      added: number;
      removed: number;
      seen: number;
      refused: number;
    }>(
      db,
      sql`
      select id, status, trigger, to_char(started_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as started,
        (finished_at at time zone 'UTC')::date::text as finished, devices_added as added, devices_removed as removed, devices_seen as seen,
        rate_limited as refused
      from metaaccess.sync_runs order by id`,
    );
    const days = lastNights(started, DAYS);
    expect(runs.map((r) => [r.status, r.trigger, r.started, r.finished])).toEqual(
      days.map((d) => ['succeeded', 'demo-days', `${d} 02:00`, d]),
    );
    expect((await daily(tdb)).map((r) => r.day)).toEqual(days);
    // Nights replayed a fraction of a second apart still meet a strict window each: no 429.
    expect(runs.map((r) => r.refused)).toEqual(days.map(() => 0));

    // Who came and went each night is what the model says; departed devices were removed (Device
    // Details answered 404), not kept.
    const { lists, nights } = model();
    expect(runs.map((r) => r.seen)).toEqual(lists.map((l) => l.length));
    expect(runs.map((r) => r.added)).toEqual([DEVICES, ...nights.map((n) => n.added.length)]);
    expect(runs.map((r) => r.removed)).toEqual([0, ...nights.map((n) => n.removed.length)]);
    const departed = nights.flatMap((n) => n.removed);
    expect(departed.length).toBeGreaterThan(0);
    expect(nights.flatMap((n) => n.added).length).toBeGreaterThan(0);
    const removedRows = await queryRows<{ hwid: string; day: string }>(
      db,
      sql`
      select hwid, (removed_at at time zone 'UTC')::date::text as day from metaaccess.devices where removed_at is not null`,
    );
    expect(removedRows.sort(byHwid)).toEqual(nights.flatMap((n) => n.removed.map((hwid) => ({ hwid, day: days[n.day]! }))).sort(byHwid));
    const present = await queryRows<{ hwid: string }>(db, sql`select hwid from metaaccess.devices where removed_at is null`);
    expect(present.map((p) => p.hwid).sort()).toEqual(lists[DAYS - 1]!.map((d) => String(d.hwid)).sort());

    // Every night's snapshot holds each device's status of that day.
    const snapshots = await queryRows<{ run: number; hwid: string; status: number }>(
      db,
      sql`
      select run_id as run, hwid, status from metaaccess.device_snapshots`,
    );
    const inOrder = (a: { run: number; hwid: string }, b: { run: number; hwid: string }) => a.run - b.run || byHwid(a, b);
    expect(snapshots.sort(inOrder)).toEqual(
      lists.flatMap((list, k) => list.map((d) => ({ run: runs[k]!.id, hwid: String(d.hwid), status: d.status }))).sort(inOrder),
    );
    const [moved] = await queryRows<{ status: number }>(
      db,
      sql`
      select count(*)::int as status from (select device_id from metaaccess.device_snapshots group by device_id having count(distinct status) > 1) s`,
    );
    expect(moved!.status).toBeGreaterThan(5);

    // Addresses as on the last day; some changed since the first.
    const ipv4 = (list: RawDevice[]) =>
      new Map(list.map((d) => [String(d.hwid), ((d.network_info ?? []) as RawDevice[]).map((a) => a.ipv4_addr).join(',')]));
    const stored = await queryRows<{ hwid: string; ips: string }>(
      db,
      sql`
      select d.hwid, coalesce(string_agg(host(a.ipv4_addr), ',' order by a.position), '') as ips
      from metaaccess.devices d left join metaaccess.network_adapters a on a.hwid = d.hwid where d.removed_at is null group by d.hwid`,
    );
    expect(new Map(stored.map((s) => [s.hwid, s.ips]))).toEqual(ipv4(lists[DAYS - 1]!));
    const first = ipv4(lists[0]!);
    expect(stored.filter((s) => first.has(s.hwid) && first.get(s.hwid) !== s.ips).length).toBeGreaterThan(0);
  }, 240_000);

  it('gives the same daily figures for the same seed; replaces a demo-only history, refuses one with real runs', async () => {
    const [a, b] = [await freshDatabase(), await freshDatabase()];
    expect((await demoDays(a)).code).toBe(0);
    expect((await demoDays(b)).code).toBe(0);
    const figures = await daily(a);
    expect(figures).toHaveLength(DAYS);
    expect(await daily(b)).toEqual(figures);
    // The compliance trend moves.
    expect(new Set(figures.map((f) => f.compliant)).size).toBeGreaterThan(1);

    // Only simulated data there (the README's Quick start demo, then --days): replaced.
    const again = await demoDays(a, 3);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/holds only simulated data \(\d+ demo run\(s\)\): replacing it/);
    expect(await daily(a)).toHaveLength(3);
    // A run that synced a real account: refused, nothing touched.
    await queryRows(
      a.database.db,
      sql`insert into metaaccess.sync_runs (started_at, finished_at, status, trigger) values (now(), now(), 'succeeded', 'cli')`,
    );
    const refused = await demoDays(a, 3);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already has 4 run\(s\) on or after .*use a fresh database/);
    expect(await daily(a)).toHaveLength(3);
    const tooMany = await runCli(['demo', '--days', '731'], { DATABASE_URL: a.url });
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/--days: "731" must be a whole number in 1\.\.730/);
  }, 240_000);
});
