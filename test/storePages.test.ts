import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate.ts';
import { openDatabase, queryRows, type Database } from '../src/db/openDatabase.ts';
import { insertRun, type RunCounters } from '../src/db/runs.ts';
import { emptyCounters } from '../src/jobs/runState.ts';
import { storePages } from '../src/jobs/storePages.ts';
import { createTestDatabase, type TestDatabase } from './helpers/testDatabase.ts';

const NOW = new Date('2025-03-01T02:00:00Z');
const ZERO: RunCounters = emptyCounters();

const adapter = (mac: string, ip: string) => ({ mac_addr: mac, ipv4_addr: ip, ipv6_addr: '' });
const win = { family: 'Windows', name: 'Windows 11 Pro', version: '10.0.22631', user_password_set: '1' };

/** One behavioural suite, run against both drivers the product supports. */
function pageSemantics(open: () => Promise<{ database: Database; close: () => Promise<void> }>) {
  let database: Database;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ database, close } = await open());
  });
  afterAll(async () => close());

  const q = <T>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);
  const store = async (runId: number, rawDevices: unknown[], page = 1) =>
    storePages(database, {
      runId,
      pages: [{ page, rawDevices }],
      now: NOW,
      counters: ZERO,
    });
  const osOf = async (hwid: string) => q<{ name: string | null }>(sql`select name from metaaccess.device_os where hwid = ${hwid}`);
  const adaptersOf = async (hwid: string) =>
    q<{ position: number; mac: string | null }>(
      sql`select position, mac_addr::text as mac from metaaccess.network_adapters where hwid = ${hwid} order by position`,
    );

  it('counts added and changed devices, replaces OS rows and adapter sets, and brings removed devices back as added', async () => {
    const run1 = await insertRun(database.db, 'test', NOW);
    const first = await store(run1, [
      {
        hwid: 'A',
        hostname: 'a',
        os_info: win,
        network_info: [adapter('00:0c:29:00:00:01', '10.0.0.1'), adapter('00:0c:29:00:00:02', '10.0.0.2')],
      },
      { hwid: 'B', hostname: 'b' },
      { hwid: 'C', hostname: 'c', status: 0, os_info: win, network_info: [adapter('00:0c:29:00:00:03', '10.0.0.3')] },
    ]);
    expect({ added: first.added, changed: first.changed, rejected: first.rejected }).toEqual({ added: 3, changed: 0, rejected: 0 });
    expect(await osOf('A')).toEqual([{ name: 'Windows 11 Pro' }]);
    expect(await osOf('B')).toEqual([]);
    expect((await adaptersOf('A')).map((a) => a.position)).toEqual([0, 1]);

    const run2 = await insertRun(database.db, 'test', NOW);
    const second = await store(run2, [
      // A stopped reporting os_info and lost an adapter; B gained both; C only checked in.
      { hwid: 'A', hostname: 'a', network_info: [adapter('00:0c:29:00:00:09', '10.0.0.9')] },
      {
        hwid: 'B',
        hostname: 'b',
        os_info: win,
        network_info: [adapter('00:0c:29:00:00:04', ''), 'junk', adapter('00:0c:29:00:00:05', '')],
      },
      {
        hwid: 'C',
        hostname: 'c',
        status: 0,
        last_seen: '2025-02-28T10:00:00Z',
        os_info: win,
        network_info: [adapter('00:0c:29:00:00:03', '10.0.0.3')],
      },
    ]);
    expect({ added: second.added, changed: second.changed }).toEqual({ added: 0, changed: 2 });
    expect(await osOf('A')).toEqual([]);
    expect(await osOf('B')).toEqual([{ name: 'Windows 11 Pro' }]);
    expect(await adaptersOf('A')).toEqual([{ position: 0, mac: '00:0c:29:00:00:09' }]);
    expect(await adaptersOf('B')).toEqual([
      { position: 0, mac: '00:0c:29:00:00:04' },
      { position: 2, mac: '00:0c:29:00:00:05' },
    ]);
    const [c] = await q<{ first_run_id: number; last_run_id: number }>(
      sql`select first_run_id, last_run_id from metaaccess.devices where hwid = 'C'`,
    );
    expect(c).toEqual({ first_run_id: run1, last_run_id: run2 });

    await database.db.execute(
      sql`update metaaccess.devices set removed_at = ${NOW.toISOString()}::timestamptz, missed_runs = 1 where hwid = 'C'`,
    );
    const back = await store(run2, [{ hwid: 'C', hostname: 'c', status: 1 }], 2);
    expect({ added: back.added, changed: back.changed }).toEqual({ added: 1, changed: 0 });
    const [returned] = await q<{ removed_at: unknown; missed_runs: number; status: number }>(
      sql`select removed_at, missed_runs, status from metaaccess.devices where hwid = 'C'`,
    );
    expect(returned).toEqual({ removed_at: null, missed_runs: 0, status: 1 });
    expect(await adaptersOf('C')).toEqual([]);
  });

  it('a device seen again keeps its identity and first sighting, and its removal, misses and lookup end', async () => {
    const run1 = await insertRun(database.db, 'test', NOW);
    await store(run1, [{ hwid: 'K', hostname: 'k', os_info: win, network_info: [adapter('00:0c:29:00:00:0a', '10.0.0.10')] }]);
    const [before] = await q<{ id: number }>(sql`select id from metaaccess.devices where hwid = 'K'`);
    // As if first seen long ago, then missed twice, found by a lookup, and finally removed.
    await database.db.execute(sql`update metaaccess.devices set first_seen_at = '2020-01-01T00:00:00Z', missed_runs = 2,
      lookup_found_at = ${NOW.toISOString()}::timestamptz, removed_at = ${NOW.toISOString()}::timestamptz where hwid = 'K'`);

    const later = new Date(NOW.getTime() + 86_400_000);
    const run2 = await insertRun(database.db, 'test', later);
    await storePages(database, {
      runId: run2,
      pages: [{ page: 1, rawDevices: [{ hwid: 'K', hostname: 'k2', os_info: win }] }],
      now: later,
      counters: ZERO,
    });
    const [after] = await q<Record<string, unknown>>(sql`
      select id, hostname, first_seen_at = '2020-01-01T00:00:00Z' as first_seen_kept, first_run_id, last_run_id,
        last_synced_at = ${later.toISOString()}::timestamptz as synced_now, removed_at, missed_runs, lookup_found_at
      from metaaccess.devices where hwid = 'K'`);
    expect(after).toEqual({
      id: before!.id,
      hostname: 'k2',
      first_seen_kept: true,
      first_run_id: run1,
      last_run_id: run2,
      synced_now: true,
      removed_at: null,
      missed_runs: 0,
      lookup_found_at: null,
    });
  });

  it('stores rejections and the run counters in the page transaction, also when no device of the page is usable', async () => {
    const runId = await insertRun(database.db, 'test', NOW);
    const outcome = await store(runId, [{ hostname: 'no hwid' }, 42], 7);
    expect({ stored: outcome.stored.length, added: outcome.added, rejected: outcome.rejected }).toEqual({
      stored: 0,
      added: 0,
      rejected: 2,
    });
    const rejected = await q<{ page: number; reason: string }>(
      sql`select page, reason from metaaccess.rejected_records where run_id = ${runId} order by id`,
    );
    expect(rejected).toEqual([
      { page: 7, reason: 'missing hwid' },
      { page: 7, reason: 'record is not an object (number)' },
    ]);
    const [run] = await q<{ pages: number; records_rejected: number }>(
      sql`select pages, records_rejected from metaaccess.sync_runs where id = ${runId}`,
    );
    expect(run).toEqual({ pages: 1, records_rejected: 2 });
  });

  it('stores a group of pages in one transaction, each rejection under its own page', async () => {
    const runId = await insertRun(database.db, 'test', NOW);
    const outcome = await storePages(database, {
      runId,
      now: NOW,
      counters: { ...ZERO, pages: 4, devicesSeen: 200 },
      pages: [
        { page: 5, rawDevices: [{ hwid: 'G1', os_info: win }, { hostname: 'no hwid' }] },
        { page: 6, rawDevices: [{ hwid: 'G2', network_info: [adapter('00:0c:29:00:00:07', '10.0.0.7')] }, 'junk'] },
      ],
    });
    expect({ stored: outcome.stored.map((d) => d.device.hwid), added: outcome.added, rejected: outcome.rejected }).toEqual({
      stored: ['G1', 'G2'],
      added: 2,
      rejected: 2,
    });
    expect(await osOf('G1')).toEqual([{ name: 'Windows 11 Pro' }]);
    expect((await adaptersOf('G2')).map((a) => a.mac)).toEqual(['00:0c:29:00:00:07']);
    const rejected = await q<{ page: number }>(sql`select page from metaaccess.rejected_records where run_id = ${runId} order by id`);
    expect(rejected.map((r) => r.page)).toEqual([5, 6]);
    const [run] = await q<{ pages: number; devices_seen: number; records_rejected: number }>(
      sql`select pages, devices_seen, records_rejected from metaaccess.sync_runs where id = ${runId}`,
    );
    expect(run).toEqual({ pages: 6, devices_seen: 202, records_rejected: 2 });
  });

  it('keeps raw and typed values exactly, whatever characters they hold', async () => {
    const runId = await insertRun(database.db, 'test', NOW);
    const raw = {
      hwid: 'Q"\\\'',
      hostname: 'tab\there "quoted" \\ back\u00e9 😀',
      nickname: 'nul\u0000gone',
      extra: { deep: [1, 'x', null] },
      status: '1',
    };
    await store(runId, [raw]);
    const [row] = await q<{ hostname: string; nickname: string; status: number; raw: unknown }>(
      sql`select hostname, nickname, status, raw from metaaccess.devices where hwid = ${raw.hwid}`,
    );
    expect(row).toEqual({ hostname: raw.hostname, nickname: 'nulgone', status: 1, raw: { ...raw, nickname: 'nulgone' } });
  });
}

describe('storePages on PostgreSQL', () => {
  pageSemantics(async () => {
    const tdb: TestDatabase = await createTestDatabase();
    return { database: tdb.database, close: () => tdb.drop() };
  });
});

describe('storePages on PGlite', () => {
  pageSemantics(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metaaccess-store-'));
    const database = await openDatabase({ pgliteDir: join(dir, 'pglite') });
    await runMigrations(database);
    return {
      database,
      close: async () => {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
