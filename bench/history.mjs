// Scenario "history" (issue 4, scenario 4; issue 11): a year of daily snapshots of 100,000 devices
// (36.5 M device-snapshots) in the product's schema — bytes per device-snapshot, what retention
// costs (one day, one month), and the latencies BI users see: the 365-day trend, one device's
// whole history, the current inventory. Issue 11 adds the analysts' history: status intervals,
// the change log and device_state for the same year, the cookbook queries of docs/schema.md on it,
// one night's recordRunHistory next to that night's insertRunSnapshots, their bytes per
// device-day, and what migration 0007's backfill costs on such a year.
//
// The year (bench/lib/fleetYear.mjs) is closed-form SQL of (device, day): compliance states that
// move every 20 days (~5 % a day) and 1 % flappers, agent rollouts, monthly OS update waves,
// renames, IP renewals (1 % a day). Rows are generated in SQL, day after day with the indexes
// present, as the worker writes them: each day, one statement creates the day's new snapshot
// profiles and writes what the product's recordRunHistory would write — the change log rows of the
// devices whose tracked fields differ from the day before (ordered by device and change), the
// status intervals closed and opened for those whose (status, critical_status, exempt) moved —
// then one statement inserts the day's snapshots. Partitions come from the product's
// ensureSnapshotPartitions; after each month the product's pruneSnapshots compacts it and the
// intervals table is vacuumed (autovacuum's part: the nightly UPDATE leaves dead versions).
// The generating connection skips foreign-key checks (consistent by construction). device_state is
// written once, as the run before the last logged it. The last day goes through the product:
// insertRunSnapshots, upsertComplianceDaily and recordRunHistory in one transaction, as its
// success transaction does (timed, repeated and rolled back, the last one committed; once more
// before, rolled back, under auto_explain, so the log shows where recordRunHistory's time goes).
// Why not recordRunHistory day by day: it diffs the current tables (devices, device_os,
// network_adapters) against device_state, so each of 364 days would need those tables rewritten to
// that day's state (100,000-row updates of three tables) before a 5–8 s diff: about an hour at
// 100,000 devices. Generating in SQL takes 3–5 minutes (most of it inserting the change rows with
// their indexes) and stays honest: the product's own recordRunHistory on the last night must log
// exactly what the generator predicts for that night (kinds, counts, devices, intervals, new
// profiles), or the scenario fails; and the upgrade measurement below compares 0007's backfill of
// the same devices with the generated relations, row for row.
// Upgrade cost: a database migrated to 0006 only (a truncated journal, as
// test/historyMigration.e2e.test.ts does), the same year loaded (snapshots only; 0006 has no
// history relations), then the product's runMigrations timed to the latest (0007's backfill).
// On the whole fleet it takes over ten minutes, so the full run measures it at 12,500 and 25,000
// devices and extrapolates (quick skips it); --upgrade-devices=a,b picks the sizes.
// Usage: node bench/history.mjs [--quick] [--keep] [--verify] [--db=bench_…] [--upgrade-devices=N,…] [--no-upgrade] [--doc-wait-s=S]
//   (`npm run build` first; --keep leaves the databases, bench_history and bench_history_upgrade by default)
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { recordRunHistory } from '../dist/db/historyStore.js';
import { MIGRATIONS_FOLDER, runMigrations } from '../dist/db/migrate.js';
import { openDatabase } from '../dist/db/openDatabase.js';
import { ensureSnapshotPartitions } from '../dist/db/partitions.js';
import { insertRunSnapshots, upsertComplianceDaily } from '../dist/db/snapshotsStore.js';
import { pruneSnapshots } from '../dist/jobs/pruneSnapshots.js';
import { systemClock } from '../dist/lib/clock.js';
import { createSilentLogger } from '../dist/lib/logger.js';
import { createDatabase, dropDatabase, emitResult, freshDatabase, isQuick, log, median } from './lib/common.mjs';
import { planSummary, readCookbook } from './lib/cookbook.mjs';
import { fleetYear } from './lib/fleetYear.mjs';

const quick = isQuick();
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const DEVICES = quick ? 5_000 : 100_000;
const DAYS = 365;
/** Distinct compliance states (status × critical × exempt × active × issue counts); profiles multiply them by agent and OS. */
const STATES = 150;
const FIRST_DAY = '2025-01-01';
const REPS = 20;
/** Nights through the product: all but the last rolled back. */
const NIGHTS = quick ? 3 : 5;
/** --db=bench_…: another name, so a run kept for inspection is not dropped by someone else's run of the suite. */
const DB = arg('db') ?? 'bench_history';
if (!DB.startsWith('bench_')) throw new Error('--db: a bench_ database, please');
const DB_UPGRADE = `${DB}_upgrade`;
/**
 * Fleet sizes the upgrade is measured at. 0007's backfill sorts the whole history by device (window
 * functions over every snapshot): at 100,000 devices it took 707 s (2026-12-01, a busy machine), so
 * the full run measures an eighth and a quarter of the fleet and extrapolates to the whole with the
 * exponent the two sizes show (or linearly from one size). Quick skips it (it would double the
 * scenario's time in CI); `--quick --upgrade-devices=500` proves the path in about 10 s.
 */
const UPGRADE_SIZES = process.argv.includes('--no-upgrade')
  ? []
  : (arg('upgrade-devices')?.split(',').map(Number) ?? (quick ? [] : [DEVICES / 8, DEVICES / 4]));
/** Short, so the prune clocks stay inside the loaded year: no month is closed (and compacted) by them. */
const RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;
/** The cookbook queries timed (docs/schema.md headings) and their target. */
const COOKBOOK = ['Non-compliant now, and since when', 'Top flappers (last 30 days)', 'What changed last week'];
const QUERY_TARGET_MS = 50;
/** How long to wait for docs/schema.md (another engineer writes it) before giving up on the queries. */
const DOC_WAIT_MS = Number(arg('doc-wait-s') ?? 0) * 1000;
/** --verify: check each day's candidate devices against a scan of all of them (slow: for quick runs). */
const VERIFY = process.argv.includes('--verify');
const HISTORY_RELATIONS = ['device_status_intervals', 'device_changes', 'device_state'];
/** The change kinds 0007's backfill derives from snapshots (the others are not in snapshots). */
const SNAPSHOT_KINDS = ['added', 'status', 'critical_status', 'exempt', 'os_name', 'os_version', 'agent_version'];

const fleet = fleetYear({ states: STATES, days: DAYS });
const dayAt = (i) => new Date(Date.parse(`${FIRST_DAY}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10);
const finishedAt = (i) => new Date(`${dayAt(i)}T02:20:00Z`);
const round1 = (x) => Math.round(x * 10) / 10;
const round3 = (x) => Math.round(x * 1000) / 1000;
const en = (x) => Math.round(x).toLocaleString('en');

async function timed(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** Every device with its components on day `i`: `from ${fleetOn(i)}` gives f.d and c.k, c.a, … */
const fleetOn = (i) => `bench.fleet f cross join lateral ${fleet.components('f', i)} c`;
/** The devices whose components moved on day i (all of them: a full scan), with the previous day's as pk, pa, … */
const movedOn = (i) => `
  select f.d, c.k, c.a, c.n, c.v, c.r, c.e, p.k as pk, p.a as pa, p.n as pn, p.v as pv, p.r as pr, p.e as pe
  from ${fleetOn(i)} cross join lateral ${fleet.components('f', i - 1)} p
  where (c.k, c.a, c.n, c.v, c.r, c.e) is distinct from (p.k, p.a, p.n, p.v, p.r, p.e)`;

/** The generator's tables (schema bench): each device's constants, the days it may change. */
async function createFleet(client, n) {
  for (const statement of fleet.create(n)) await client.query(statement);
}

/** Runs, devices with their OS and adapter as the last run sees them, the daily figures: everything but the history. */
async function seed(client, n) {
  await client.query(`
    insert into metaaccess.sync_runs (started_at, finished_at, status, trigger, pages, requests, devices_seen)
    select d + time '02:00', d + time '02:20', 'succeeded', 'schedule', ${Math.ceil(n / 50)}, ${Math.ceil(n / 50)}, ${n}
    from generate_series(date '${FIRST_DAY}', date '${FIRST_DAY}' + ${DAYS - 1}, interval '1 day') d order by d`);
  // Devices as the last run left them: in their state of the last day, last_run_id = that run.
  const last = DAYS - 1;
  await client.query(`
    insert into metaaccess.devices (id, hwid, hostname, agent_type, agent_version, machine_type, country, active, status, critical_status,
      exempt, total_issue, total_critical_issue, last_seen, raw, content_hash, first_seen_at, last_synced_at, first_run_id, last_run_id)
    overriding system value
    select f.d, upper(substr(md5(f.d::text), 1, 16)), ${fleet.hostname('f.d', 'c')}, 'persistent', ${fleet.agent('c')}, ${fleet.machineType('f.d')},
      'US', ${fleet.active('c')}, ${fleet.status('c')}, ${fleet.critical('c')}, ${fleet.exempt('c')}, ${fleet.totalIssue('c')}, ${fleet.totalCritical('c')},
      date '${dayAt(last)}' + time '01:00' - (f.d % 1440) * interval '1 minute', '{}', md5(${fleet.profileKey('c')}::text),
      date '${FIRST_DAY}', date '${dayAt(last)}', 1, ${DAYS}
    from ${fleetOn(last)}`);
  await client.query(`select setval(pg_get_serial_sequence('metaaccess.devices', 'id'), ${n})`);
  await client.query(`
    insert into metaaccess.device_os (hwid, family, name, vendor, version, architecture)
    select upper(substr(md5(f.d::text), 1, 16)), ${fleet.osFamily('c')}, ${fleet.osName('c')}, 'vendor', ${fleet.osVersion('c')}, '64-Bit'
    from ${fleetOn(last)}`);
  await client.query(`
    insert into metaaccess.network_adapters (hwid, position, mac_addr, ipv4_addr)
    select upper(substr(md5(f.d::text), 1, 16)), 0, ${fleet.mac('f.d')}::macaddr, ${fleet.ip('f.d', 'c.e')}::inet
    from ${fleetOn(last)}`);
  await client.query(`
    insert into metaaccess.compliance_daily (day, run_id, captured_at, devices, compliant, non_compliant, in_progress, critical, exempt, active)
    select date '${FIRST_DAY}' + i, i + 1, date '${FIRST_DAY}' + i + time '02:20', ${n},
      ${n} / 2 + i * ${n} / 14000, ${n} / 3 - i * ${n} / 20000, ${n} / 6 - i * ${n} / 50000, ${n} / 14, ${n} / 50, ${n} - ${n} / 9
    from generate_series(0, ${DAYS - 1}) i`);
}

/**
 * Day `i`'s new profiles and, with `history`, its change log rows and status intervals: what
 * recordRunHistory writes for run i + 1 (every device is in every run). Returns counts.
 */
function daySql(i, { history, since }) {
  const run = i + 1;
  const at = `timestamptz '${finishedAt(i).toISOString()}'`;
  // New states become profiles (a key seen before conflicts on the primary key and is skipped).
  const profiles = (from, where) => `
    prof as (
      insert into metaaccess.snapshot_profiles (id, fingerprint, status, critical_status, exempt, active, total_issue, total_critical_issue,
        agent_version, os_name, os_version)
      overriding system value
      select distinct on (1) ${fleet.profileKey('s')}, ${fleet.fingerprint('s')}, ${fleet.profileValues('s').join(', ')}
      from ${from} ${where}
      order by 1
      on conflict do nothing
      returning 1)`;
  if (i === 0) {
    return `
      with st as materialized (select f.d, c.* from ${fleetOn(0)}),
      ${profiles('st s', '')}${
        history
          ? `,
      logged as (
        insert into metaaccess.device_changes (run_id, day, changed_at, device_id, change)
        select ${run}, date '${dayAt(i)}', ${at}, s.d, 'added' from st s order by s.d
        returning device_id, change),
      opened as (
        insert into metaaccess.device_status_intervals (device_id, valid_from, status, critical_status, exempt, first_run_id${since ? ', status_since' : ''})
        select s.d, ${at}, ${fleet.status('s')}, ${fleet.critical('s')}, ${fleet.exempt('s')}, ${run}${since ? `, ${at}` : ''} from st s order by s.d
        returning 1)`
          : ''
      }
      select (select count(*) from prof)::int as profiles${
        history
          ? `,
        (select json_object_agg(change, n) from (select change, count(*)::int as n from logged group by change) z) as kinds,
        (select count(distinct device_id) from logged)::int as devices, 0 as closed, (select count(*) from opened)::int as opened`
          : ''
      }`;
  }
  // st: the devices whose components moved since the day before; p: their previous components.
  const prev = `cross join lateral (select s.pk as k, s.pa as a, s.pn as n, s.pv as v, s.pr as r, s.pe as e) p`;
  return `
    with st as materialized (
      select f.d, c.k, c.a, c.n, c.v, c.r, c.e, p.k as pk, p.a as pa, p.n as pn, p.v as pv, p.r as pr, p.e as pe
      from bench.events ev join bench.fleet f on f.d = ev.d
      cross join lateral ${fleet.components('f', i)} c cross join lateral ${fleet.components('f', i - 1)} p
      where ev.day = ${i} and (c.k, c.a, c.n, c.v, c.r, c.e) is distinct from (p.k, p.a, p.n, p.v, p.r, p.e)),
    ${profiles(`st s ${prev}`, `where ${fleet.profileKey('s')} <> ${fleet.profileKey('p')}`)},
    rekey as (
      update bench.fleet f set key = ${fleet.profileKey('s')} from st s where f.d = s.d and f.key <> ${fleet.profileKey('s')}
      returning 1)${
        history
          ? `,
    logged as (
      insert into metaaccess.device_changes (run_id, day, changed_at, device_id, change, old_value, new_value)
      select ${run}, date '${dayAt(i)}', ${at}, x.device_id, x.change, x.old_value, x.new_value
      from st s ${prev} cross join lateral (${fleet.changeRows('s.d', 'p', 's')}) x
      order by x.device_id, x.change
      returning device_id, change),
    moved as (select s.d, s.k, s.pk from st s ${prev} where ${fleet.statusTuple('s')} is distinct from ${fleet.statusTuple('p')}),
    closed as (
      update metaaccess.device_status_intervals i set valid_to = ${at}, last_run_id = ${run - 1}
      where i.valid_to is null and i.device_id in (select d from moved)
      returning i.device_id${since ? ', i.status_since' : ''}),
    opened as (
      insert into metaaccess.device_status_intervals (device_id, valid_from, status, critical_status, exempt, first_run_id${since ? ', status_since' : ''})
      select m.d, ${at}, ${fleet.status('m')}, ${fleet.critical('m')}, ${fleet.exempt('m')}, ${run}${
        since
          ? // status_since: carried over from the interval closed when the status itself stayed (critical or exempt moved).
            `, case when ${fleet.status('m')} = ${fleet.status('mp')} then x.status_since else ${at} end
      from moved m cross join lateral (select m.pk as k) mp left join closed x on x.device_id = m.d`
          : `
      from moved m`
      }
      order by m.d
      returning 1)`
          : ''
      }
    select (select count(*) from prof)::int as profiles, (select count(*) from st)::int as moved, (select count(*) from rekey)::int as rekeyed${
      history
        ? `,
      (select json_object_agg(change, n) from (select change, count(*)::int as n from logged group by change) z) as kinds,
      (select count(distinct device_id) from logged)::int as devices,
      (select count(*) from closed)::int as closed, (select count(*) from opened)::int as opened`
        : ''
    }`;
}

/** What the generator says run i + 1 logs, without writing it: per kind, devices changed, intervals moved, new profiles. */
async function predictDay(client, i) {
  const {
    rows: [r],
  } = await client.query(`
    with st as materialized (${movedOn(i)}),
    changes as (select x.* from st s cross join lateral (select s.pk as k, s.pa as a, s.pn as n, s.pv as v, s.pr as r, s.pe as e) p
      cross join lateral (${fleet.changeRows('s.d', 'p', 's')}) x)
    select (select json_object_agg(change, n) from (select change, count(*)::int as n from changes group by change) z) as kinds,
      (select count(distinct device_id) from changes)::int as devices,
      (select count(*) from st s cross join lateral (select s.pk as k, s.pa as a, s.pn as n, s.pv as v, s.pr as r, s.pe as e) p
        where ${fleet.statusTuple('s')} is distinct from ${fleet.statusTuple('p')})::int as moved,
      (select count(distinct ${fleet.profileKey('c')}) from ${fleetOn(i)}
        where not exists (select 1 from metaaccess.snapshot_profiles p where p.fingerprint = ${fleet.fingerprint('c')}))::int as new_profiles`);
  return r;
}

/**
 * Days 0 .. days-1 generated in SQL, one statement per day for the profiles and history (with
 * `history`) and one for the snapshots (as a run writes them). After a month's last day, the
 * product's housekeeping compacts it, as the first run of the next month does in production.
 */
async function loadYear(client, database, { days, history }) {
  const since = history && (await hasStatusSince(client));
  const started = performance.now();
  const compactMs = [];
  let snapshotMs = 0;
  let historyMs = 0;
  const kinds = {};
  const perDay = { devices: [], closed: 0, opened: 0, profiles: 0 };
  // Foreign keys unchecked on this connection while it generates (consistent by construction; the
  // product's own statements below run with them): they doubled the cost of a change row.
  await client.query('set session_replication_role = replica');
  for (let i = 0; i < days; i++) {
    // The product calls it each run; the bench when a month starts (it makes this month and the next).
    if (i === 0 || dayAt(i).endsWith('-01')) await ensureSnapshotPartitions(database.db, dayAt(i));
    const h = await timed(() => client.query(daySql(i, { history, since })));
    historyMs += h.ms;
    const r = h.value.rows[0];
    perDay.profiles += r.profiles;
    if (VERIFY && i > 0) {
      // The candidates of bench.events against a scan of every device: the same devices moved.
      const {
        rows: [{ n: all }],
      } = await client.query(`select count(*)::int as n from (${movedOn(i)}) x`);
      if (all !== r.moved) throw new Error(`day ${i}: ${r.moved} devices moved among the candidates, ${all} in a full scan`);
    }
    if (history) {
      for (const [k, v] of Object.entries(r.kinds ?? {})) kinds[k] = (kinds[k] ?? 0) + v;
      if (i > 0) perDay.devices.push(r.devices);
      perDay.closed += r.closed;
      perDay.opened += r.opened;
      if (r.closed !== (i === 0 ? 0 : r.opened)) throw new Error(`day ${i}: closed ${r.closed} intervals, opened ${r.opened}`);
    }
    const s = await timed(() =>
      client.query(`
      insert into metaaccess.snapshots (last_seen, day, run_id, device_id, profile_id)
      select date '${dayAt(i)}' + time '01:00' - (f.d % 1440) * interval '1 minute', date '${dayAt(i)}', ${i + 1}, f.d, f.key
      from bench.fleet f`),
    );
    snapshotMs += s.ms;
    if (dayAt(i + 1).endsWith('-01')) {
      const clock = { now: () => finishedAt(i + 1).getTime(), sleep: systemClock.sleep };
      const r = await timed(() => pruneSnapshots({ database, clock, logger: createSilentLogger(), retentionDays: 0 }));
      if (r.value.compactedPartitions.length !== 1) throw new Error(`compaction after ${dayAt(i)}: ${JSON.stringify(r.value)}`);
      compactMs.push(r.ms);
      // What autovacuum does to the table the nightly UPDATE leaves dead row versions in.
      if (history) await client.query('vacuum metaaccess.device_status_intervals');
    }
    if (i % 30 === 29) {
      const sec = (performance.now() - started) / 1000;
      log(
        `  day ${i + 1}/${days}: ${sec.toFixed(0)} s, snapshots ${(snapshotMs / 1000).toFixed(0)} s, `
          + `profiles${history ? ' + history' : ''} ${(historyMs / 1000).toFixed(0)} s`,
      );
    }
  }
  await client.query('reset session_replication_role');
  // bench.fleet.key, carried from day to day, against the state computed afresh.
  const {
    rows: [{ n: stale }],
  } = await client.query(`select count(*)::int as n from ${fleetOn(days - 1)} where f.key <> ${fleet.profileKey('c')}`);
  if (stale) throw new Error(`${stale} devices' carried profile differs from their state on day ${days - 1}`);
  return { snapshotMs, historyMs, compactMs, kinds, perDay };
}

/** device_state as run `days - 1` (day days - 2) logged it; run_id: the run of the device's last change. */
async function writeDeviceState(client, n, i) {
  await client.query(`
    insert into metaaccess.device_state (device_id, present, run_id, status, critical_status, exempt, hostname, os_family, os_name, os_version,
      machine_type, agent_version, macs, ips)
    select f.d, true, coalesce(l.run_id, 1), ${fleet.status('c')}, ${fleet.critical('c')}, ${fleet.exempt('c')}, ${fleet.hostname('f.d', 'c')},
      ${fleet.osFamily('c')}, ${fleet.osName('c')}, ${fleet.osVersion('c')}, ${fleet.machineType('f.d')}, ${fleet.agent('c')},
      array[${fleet.mac('f.d')}], array[${fleet.ip('f.d', 'c.e')}]
    from ${fleetOn(i)}
    left join (select device_id, max(run_id) as run_id from metaaccess.device_changes group by device_id) l on l.device_id = f.d
    order by f.d`);
}

/** device_status_intervals.status_since (added to 0007 while this scenario was written): fill it when the schema has it. */
async function hasStatusSince(client) {
  const {
    rows: [{ has }],
  } = await client.query(`select exists (select 1 from information_schema.columns
    where table_schema = 'metaaccess' and table_name = 'device_status_intervals' and column_name = 'status_since') as has`);
  return has;
}

const ROLLBACK = new Error('rolled back on purpose');

/**
 * The last night through the product, in a transaction like its success transaction (snapshot,
 * daily figures, change log), NIGHTS times: all but the last rolled back (and the tables vacuumed,
 * as if the night had not happened), the last committed. Checks the product logged what the generator predicts.
 */
async function lastNight(client, database) {
  const last = DAYS - 1;
  const runId = DAYS;
  const at = finishedAt(last);
  const day = dayAt(last);
  await ensureSnapshotPartitions(database.db, day);
  const expected = await predictDay(client, last);
  const {
    rows: [{ n: profilesBefore }],
  } = await client.query('select count(*)::int as n from metaaccess.snapshot_profiles');
  const vacuumNight = () =>
    client.query(
      `vacuum metaaccess.snapshots_${day.slice(0, 4)}_${day.slice(5, 7)}, metaaccess.snapshot_profiles, `
        + `metaaccess.compliance_daily, ${HISTORY_RELATIONS.map((r) => `metaaccess.${r}`).join(', ')}`,
    );
  await explainNight(client, { runId, at, day });
  await vacuumNight();
  const nights = [];
  for (let rep = 0; rep < NIGHTS; rep++) {
    const commit = rep === NIGHTS - 1;
    const night = {};
    const started = performance.now();
    try {
      await database.db.transaction(async (tx) => {
        const snap = await timed(() => insertRunSnapshots(tx, runId, at, day));
        const daily = await timed(() => upsertComplianceDaily(tx, runId, at, day));
        const history = await timed(() => recordRunHistory(tx, { runId, attempts: [runId], finishedAt: at, day }));
        Object.assign(night, {
          snapshotMs: snap.ms,
          snapshots: snap.value,
          dailyMs: daily.ms,
          historyMs: history.ms,
          history: history.value,
        });
        if (!commit) throw ROLLBACK;
      });
    } catch (err) {
      if (err !== ROLLBACK) throw err;
    }
    night.transactionMs = performance.now() - started;
    if (night.snapshots !== DEVICES) throw new Error(`insertRunSnapshots stored ${night.snapshots} of ${DEVICES}`);
    const h = night.history;
    if (h.added !== 0 || h.removed !== 0 || h.changed !== expected.devices) {
      throw new Error(
        `recordRunHistory: ${JSON.stringify(h)}; the generator predicts ${expected.devices} changed devices, none added or removed`,
      );
    }
    nights.push(night);
    log(
      `  night ${rep + 1}/${NIGHTS}${commit ? ' (committed)' : ''}: insertRunSnapshots ${night.snapshotMs.toFixed(0)} ms, `
        + `upsertComplianceDaily ${night.dailyMs.toFixed(0)} ms, recordRunHistory ${night.historyMs.toFixed(0)} ms (${h.changed} changed), transaction ${night.transactionMs.toFixed(0)} ms`,
    );
    if (!commit) await vacuumNight();
  }
  // What the product logged for the night, against the generator's prediction.
  const { rows: logged } = await client.query(
    `select change, count(*)::int as n from metaaccess.device_changes where run_id = $1 group by change`,
    [runId],
  );
  const got = Object.fromEntries(logged.map((r) => [r.change, r.n]));
  const want = expected.kinds ?? {};
  const kinds = [...new Set([...Object.keys(got), ...Object.keys(want)])].sort();
  const wrong = kinds.filter((k) => got[k] !== want[k]);
  if (wrong.length) throw new Error(`recordRunHistory logged ${JSON.stringify(got)}; the generator predicts ${JSON.stringify(want)}`);
  const {
    rows: [iv],
  } = await client.query(
    `select count(*) filter (where valid_from = $1)::int as opened, count(*) filter (where valid_to = $1)::int as closed
    from metaaccess.device_status_intervals`,
    [at],
  );
  if (iv.opened !== expected.moved || iv.closed !== expected.moved)
    throw new Error(`intervals of the night: ${JSON.stringify(iv)}; predicted ${expected.moved} each`);
  const {
    rows: [{ n: profilesAfter }],
  } = await client.query('select count(*)::int as n from metaaccess.snapshot_profiles');
  if (profilesAfter - profilesBefore !== expected.new_profiles) {
    throw new Error(
      `the product's insert made ${profilesAfter - profilesBefore} new profiles, the generator predicts ${expected.new_profiles}: fingerprints disagree`,
    );
  }
  return { nights, expected };
}

/**
 * The night once more, rolled back, with the product's recordRunHistory under auto_explain
 * (ANALYZE, BUFFERS; the plans come back as notices): where its time goes, in the log. Run before
 * the timed nights.
 */
async function explainNight(client, { runId, at, day }) {
  const plans = [];
  const onNotice = (n) => plans.push(n.message);
  await client.query('begin');
  try {
    await client.query("load 'auto_explain'");
    for (const [name, value] of [
      ['log_min_duration', '0'],
      ['log_analyze', 'on'],
      ['log_buffers', 'on'],
      ['log_level', 'notice'],
    ]) {
      await client.query(`set local auto_explain.${name} = ${value}`);
    }
    const tx = drizzle(client);
    await client.query('set local auto_explain.log_min_duration = -1');
    await insertRunSnapshots(tx, runId, at, day);
    await upsertComplianceDaily(tx, runId, at, day);
    await client.query('set local auto_explain.log_min_duration = 0');
    client.on('notice', onNotice);
    const started = performance.now();
    await recordRunHistory(tx, { runId, attempts: [runId], finishedAt: at, day });
    log(
      `recordRunHistory under auto_explain (rolled back): ${(performance.now() - started).toFixed(0)} ms, ${plans.length} statement(s):\n${plans.join('\n')}`,
    );
  } catch (err) {
    log(`recordRunHistory's plan not logged: ${err.message}`);
  } finally {
    client.off('notice', onNotice);
    await client.query('rollback');
  }
}

async function storage(client) {
  const {
    rows: [s],
  } = await client.query(`
    select count(*)::int as partitions, sum(pg_total_relation_size(c.oid))::float8 as total, sum(pg_relation_size(c.oid))::float8 as heap,
      sum(pg_indexes_size(c.oid))::float8 as indexes, pg_total_relation_size('metaaccess.snapshot_profiles')::float8 as profiles,
      (select count(*) from metaaccess.snapshot_profiles)::int as profile_rows,
      (select count(*) from metaaccess.snapshots)::float8 as rows
    from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'metaaccess.snapshots'::regclass`);
  return { ...s, perRow: (s.total + s.profiles) / s.rows };
}

/** Table + indexes + TOAST of each history relation, and its rows. */
async function historyStorage(client) {
  const out = {};
  for (const rel of HISTORY_RELATIONS) {
    const {
      rows: [r],
    } = await client.query(
      `
      select pg_total_relation_size($1::regclass)::float8 as total, pg_relation_size($1::regclass)::float8 as heap,
        pg_indexes_size($1::regclass)::float8 as indexes, (select count(*) from metaaccess.${rel})::float8 as rows`,
      [`metaaccess.${rel}`],
    );
    out[rel] = r;
  }
  return out;
}

/** `name`: a named (server-side prepared) statement, planned once, as BI drivers do with repeated queries. */
async function latency(client, query, params = () => [], name = undefined) {
  const run = () => client.query(name ? { name, text: query, values: params() } : { text: query, values: params() });
  for (let i = 0; i < 3; i++) await run();
  const ms = [];
  let rows = 0;
  for (let i = 0; i < REPS; i++) {
    const r = await timed(run);
    ms.push(r.ms);
    rows = r.value.rowCount;
  }
  return { ms, rows };
}

const randomHwid = async (client) =>
  (await client.query(`select hwid from metaaccess.devices where id = $1`, [1 + Math.floor(Math.random() * DEVICES)])).rows[0].hwid;

/** Retention through the product, on a clock set so the cutoff day is `cutoffDay`. */
async function pruneTo(database, cutoffDay) {
  const clock = { now: () => Date.parse(`${cutoffDay}T12:00:00Z`) + RETENTION_DAYS * DAY_MS, sleep: systemClock.sleep };
  return timed(() => pruneSnapshots({ database, clock, logger: createSilentLogger(), retentionDays: RETENTION_DAYS }));
}

const row = (measure, values, unit, target, limit, note) => {
  const m = median(values);
  const r = unit === 'B' ? round1 : round3;
  return { measure, values: values.map(r), median: r(m), unit, target, met: limit === null ? null : m <= limit, note };
};

/** docs/schema.md's cookbook, waiting up to DOC_WAIT_MS for it to appear (polled). */
async function cookbook() {
  const until = Date.now() + DOC_WAIT_MS;
  for (;;) {
    try {
      return readCookbook(COOKBOOK);
    } catch (err) {
      if (Date.now() >= until) return { error: err.message };
      log(`  ${err.code === 'ENOENT' ? 'docs/schema.md not there yet' : err.message}; polling`);
      await new Promise((resolve) => setTimeout(resolve, 30_000));
    }
  }
}

/**
 * The cookbook's placeholder for "today" (its conventions, at the top of its section), replaced by
 * the generated year's last day. Returns the SQL to run and how "today" was bound.
 */
function bindToday(sql, today) {
  const literal = `date '${today}'`;
  let bound = sql;
  const how = [];
  // psql variables (:today, :'today'), named parameters, and current_date / now() for "today".
  for (const [pattern, replacement, name] of [
    [/:'today'/g, `'${today}'`, ":'today'"],
    [/:"today"|:today\b/g, literal, ':today'],
    [/\bcurrent_date\b/gi, literal, 'current_date'],
    [/\blocaltimestamp\b|\bcurrent_timestamp\b|\bnow\(\)/gi, `(${literal} + time '23:59:59')::timestamptz`, 'now()'],
  ]) {
    if (pattern.test(bound)) {
      bound = bound.replace(pattern, replacement);
      how.push(name);
    }
  }
  const positional = /\$1\b/.test(bound);
  return { sql: bound, values: positional ? [today] : [], how: positional ? [...how, '$1'] : how };
}

/** The three cookbook queries: REPS timed executions each (after 3 warm-ups), and EXPLAIN (ANALYZE, BUFFERS) of each. */
async function cookbookLatency(client, today) {
  const book = await cookbook();
  // The cookbook's convention: the session in SYNC_TIMEZONE (the generated runs' calendar is UTC).
  await client.query("set timezone = 'UTC'");
  if (book.error) {
    log(`cookbook queries not timed: ${book.error}`);
    return { error: book.error };
  }
  log(`cookbook section "${book.section?.heading}": ${book.section?.top.replace(/\s+/g, ' ').slice(0, 400)}`);
  const results = [];
  for (const heading of COOKBOOK) {
    const q = bindToday(book.queries[heading], today);
    log(`### ${heading} (today bound through ${q.how.join(', ') || 'nothing: the query names no day'})\n${q.sql}`);
    const lat = await latency(client, q.sql, () => q.values);
    const json = (await client.query(`explain (analyze, buffers, format json) ${q.sql}`, q.values)).rows[0]['QUERY PLAN'];
    const text = (await client.query(`explain (analyze, buffers) ${q.sql}`, q.values)).rows.map((r) => r['QUERY PLAN']);
    results.push({ heading, ...lat, plan: planSummary(json), planText: text, how: q.how });
  }
  const slowest = results.reduce((a, b) => (median(b.ms) > median(a.ms) ? b : a));
  for (const r of results) {
    log(
      `${r === slowest ? 'SLOWEST ' : ''}${r.heading}: median ${median(r.ms).toFixed(2)} ms, ${r.rows} rows; EXPLAIN (ANALYZE, BUFFERS):\n${r.planText.join('\n')}`,
    );
  }
  return { results, slowest };
}

/** Change rows of the kinds 0007 derives and status intervals of devices 1..m: counts and order-free checksums. */
async function historyFingerprint(client, m) {
  const since = await hasStatusSince(client);
  const {
    rows: [r],
  } = await client.query(
    `
    select (select json_object_agg(change, n order by change) from (
        select change, count(*)::int as n from metaaccess.device_changes where device_id <= $1 and change = any($2::text[]) group by change) z) as kinds,
      (select sum(hashtextextended(concat_ws('|', device_id, run_id, day, changed_at, change, old_value, new_value), 0))::text
        from metaaccess.device_changes where device_id <= $1 and change = any($2::text[])) as changes_hash,
      (select count(*)::int from metaaccess.device_status_intervals where device_id <= $1) as intervals,
      (select count(*)::int from metaaccess.device_status_intervals where device_id <= $1 and valid_to is null) as open,
      (select sum(hashtextextended(concat_ws('|', device_id, valid_from, valid_to, status, critical_status, exempt, first_run_id, last_run_id${since ? ', status_since' : ''}), 0))::text
        from metaaccess.device_status_intervals where device_id <= $1) as intervals_hash`,
    [m, SNAPSHOT_KINDS],
  );
  return r;
}

/** A copy of migrations/ whose journal stops at `lastTag`: the database as an older release left it. */
function migrationsUpTo(lastTag) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-migrations-'));
  cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8'));
  const last = journal.entries.findIndex((e) => e.tag === lastTag);
  if (last < 0) throw new Error(`no migration ${lastTag}`);
  journal.entries = journal.entries.slice(0, last + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

/** A year of `n` devices at migration 0006, then the product's runMigrations to the latest: 0007's backfill, timed. */
async function upgradeCost(n) {
  log(`upgrade: ${n.toLocaleString('en')} devices × ${DAYS} days at migration 0006, then runMigrations`);
  const url = await createDatabase(DB_UPGRADE);
  const dir = migrationsUpTo('0006_resume');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const database = await openDatabase({ url, pgliteDir: '' });
  try {
    await migrate(drizzle(client), { migrationsFolder: dir, migrationsSchema: 'metaaccess', migrationsTable: '__drizzle_migrations' });
    await createFleet(client, n);
    await seed(client, n);
    const load = await loadYear(client, database, { days: DAYS, history: false });
    await client.query('drop schema bench cascade');
    await client.query(
      'vacuum (analyze) metaaccess.snapshots, metaaccess.snapshot_profiles, metaaccess.devices, metaaccess.device_os, metaaccess.network_adapters, metaaccess.sync_runs, metaaccess.compliance_daily',
    );
    log(`  loaded in ${((load.snapshotMs + load.historyMs) / 1000).toFixed(0)} s; migrating`);
    const migrated = await timed(() => runMigrations(database));
    const {
      rows: [applied],
    } = await client.query(`select count(*)::int as n from metaaccess.__drizzle_migrations`);
    const fingerprint = await historyFingerprint(client, n);
    const sizes = await historyStorage(client);
    log(`  runMigrations (0007 backfill) took ${(migrated.ms / 1000).toFixed(1)} s; ${applied.n} migrations recorded`);
    return { ms: migrated.ms, n, fingerprint, sizes };
  } finally {
    await client.end().catch(() => undefined);
    await database.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (!process.argv.includes('--keep')) await dropDatabase(DB_UPGRADE);
  }
}

async function main() {
  log(`history: ${DEVICES.toLocaleString('en')} devices × ${DAYS} days${quick ? ' (quick)' : ''}`);
  const { database, url } = await freshDatabase(DB);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const rows = [];
  let params;
  let kept;
  try {
    await createFleet(client, DEVICES);
    await seed(client, DEVICES);
    log('seeded runs, devices, OS, adapters, daily figures; loading the year');
    const load = await loadYear(client, database, { days: DAYS - 1, history: true });
    await writeDeviceState(client, DEVICES, DAYS - 2);
    await client.query(`select setval(pg_get_serial_sequence('metaaccess.snapshot_profiles', 'id'), ${fleet.maxProfileKey + 1})`);
    log(
      `loaded in ${(load.snapshotMs / 1000).toFixed(0)} s of snapshots + ${(load.historyMs / 1000).toFixed(0)} s of profiles and history `
        + `+ compactions ${load.compactMs.map((x) => (x / 1000).toFixed(1)).join('/')} s; change log ${JSON.stringify(load.kinds)}`,
    );
    // What autovacuum would have done by now (this server runs with it off): visibility map, statistics.
    const vacuumAll = () =>
      client.query(`vacuum (analyze) metaaccess.snapshots, metaaccess.snapshot_profiles, metaaccess.devices, metaaccess.device_os,
      metaaccess.network_adapters, metaaccess.sync_runs, metaaccess.compliance_daily, ${HISTORY_RELATIONS.map((r) => `metaaccess.${r}`).join(', ')}`);
    const vac = await timed(vacuumAll);
    log(`vacuum analyze: ${(vac.ms / 1000).toFixed(0)} s`);

    const night = await lastNight(client, database);
    await client.query('drop schema bench cascade');
    await vacuumAll();
    const size = await storage(client);
    const hist = await historyStorage(client);
    const deviceDays = DEVICES * DAYS;
    const histTotal = HISTORY_RELATIONS.reduce((sum, r) => sum + hist[r].total, 0);
    log(
      `storage: ${size.perRow.toFixed(2)} B per device-snapshot over ${size.rows.toLocaleString('en')} rows in ${size.partitions} partitions; `
        + `history relations ${(histTotal / deviceDays).toFixed(2)} B per device-day (${HISTORY_RELATIONS.map((r) => `${r} ${(hist[r].total / deviceDays).toFixed(2)}`).join(', ')})`,
    );

    const trend = await latency(
      client,
      `select day, devices, compliant, non_compliant, in_progress, critical, exempt, active
      from metaaccess.compliance_daily where day > $1::date - 365 order by day`,
      () => [dayAt(DAYS - 1)],
    );
    if (trend.rows !== DAYS) throw new Error(`trend returned ${trend.rows} days`);
    const historySql = 'select * from metaaccess.device_snapshots where hwid = $1 order by captured_at';
    const hwids = [];
    for (let i = 0; i < REPS + 3; i++) hwids.push(await randomHwid(client));
    const history = await latency(client, historySql, () => [hwids.pop()]);
    if (history.rows !== DAYS) throw new Error(`history returned ${history.rows} rows`);
    const preparedHwids = [];
    for (let i = 0; i < REPS + 3; i++) preparedHwids.push(await randomHwid(client));
    const historyPrepared = await latency(client, historySql, () => [preparedHwids.pop()], 'device_history');
    if (historyPrepared.rows !== DAYS) throw new Error(`prepared history returned ${historyPrepared.rows} rows`);
    const plan = (
      await client.query(`explain (analyze, costs off, timing off, summary on) ${historySql}`, [await randomHwid(client)])
    ).rows.map((r) => r['QUERY PLAN']);
    log(plan.join('\n'));
    const server = { planning: [], execution: [] };
    for (let i = 0; i < 7; i++) {
      const lines = (await client.query(`explain (analyze, timing off) ${historySql}`, [await randomHwid(client)])).rows.map(
        (r) => r['QUERY PLAN'],
      );
      for (const [key, label] of [
        ['planning', 'Planning Time'],
        ['execution', 'Execution Time'],
      ]) {
        server[key].push(Number(/: ([\d.]+) ms/.exec(lines.find((l) => l.startsWith(label)))[1]));
      }
    }
    const seqScans = plan.filter((l) => /Seq Scan on snapshots_/.test(l)).length;
    const indexScans = plan.filter(
      (l) => /Index Scan.*on snapshots_\d{4}_\d{2}/.test(l) || /Bitmap Index Scan on snapshots_\d{4}_\d{2}_device_id_idx/.test(l),
    ).length;
    const current = await latency(client, 'select * from metaaccess.devices_current');
    if (current.rows !== DEVICES) throw new Error(`devices_current returned ${current.rows} rows`);

    const book = await cookbookLatency(client, dayAt(DAYS - 1));
    // The generated relations of the devices the upgrade measurement backfills, to compare with 0007's.
    const generated = [];
    for (const n of UPGRADE_SIZES) generated.push(await historyFingerprint(client, n));

    // Retention, destructive: last. One day = the oldest day of the oldest month, deleted in batches;
    // one month = a whole partition dropped (the first also holds what the day prunes left of January).
    const pruneDay = [];
    for (let i = 1; i <= 3; i++) {
      const r = await pruneTo(database, dayAt(i));
      if (r.value.deleted !== DEVICES || r.value.droppedPartitions.length || r.value.compactedPartitions.length)
        throw new Error(`day prune: ${JSON.stringify(r.value)}`);
      pruneDay.push(r.ms);
    }
    const pruneMonth = [];
    const monthRows = [];
    for (const cutoff of ['2025-02-01', '2025-03-01', '2025-04-01']) {
      const r = await pruneTo(database, cutoff);
      if (r.value.droppedPartitions.length !== 1 || r.value.compactedPartitions.length)
        throw new Error(`month prune: ${JSON.stringify(r.value)}`);
      pruneMonth.push(r.ms);
      monthRows.push(r.value.deleted);
    }
    log(`prune: day ${pruneDay.map((x) => x.toFixed(0)).join('/')} ms, month ${pruneMonth.map((x) => x.toFixed(0)).join('/')} ms`);

    const mb = (x) => `${(x / 2 ** 20).toFixed(0)} MiB`;
    const changeRows = Object.values(load.kinds).reduce((a, b) => a + b, 0);
    const kindsPerDay = Object.entries(load.kinds)
      .filter(([k]) => k !== 'added')
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${en(v / (DAYS - 2))}`)
      .join(', ');
    const nights = night.nights;
    const ratios = nights.map((x) => x.historyMs / x.snapshotMs);
    params = {
      devices: DEVICES,
      days: DAYS,
      rows: size.rows,
      partitions: size.partitions,
      states: STATES,
      profiles: size.profile_rows,
      statusMoveEvery: '20 days',
      firstDay: FIRST_DAY,
      repetitions: REPS,
      nights: NIGHTS,
      mode: quick ? 'quick' : 'full',
    };
    rows.push(
      row(
        'storage per device-snapshot (all partitions with indexes + profiles)',
        [size.perRow],
        'B',
        '≤ 64 B',
        64,
        `heap ${round1(size.heap / size.rows)} B + indexes ${round1(size.indexes / size.rows)} B per row + profiles ${round3(size.profiles / size.rows)} B `
          + `(${size.profile_rows.toLocaleString('en')} profiles); ${mb(size.total + size.profiles)} in all`,
      ),
      row(
        'history relations per device-day (device_status_intervals + device_changes + device_state: tables, indexes, TOAST)',
        [histTotal / deviceDays],
        'B',
        null,
        null,
        HISTORY_RELATIONS.map(
          (r) =>
            `${r} ${round1(hist[r].total / deviceDays)} B (${en(hist[r].rows)} rows, ${round1(hist[r].total / hist[r].rows)} B/row, `
            + `indexes ${Math.round((100 * hist[r].indexes) / hist[r].total)} %)`,
        ).join('; ') + `; ${mb(histTotal)} in all`,
      ),
      row(
        'whole history per device-day (snapshots + profiles + the three above)',
        [size.perRow + histTotal / deviceDays],
        'B',
        null,
        null,
        `${round1(size.perRow)} B of snapshots (target ≤ 64 B) + ${round1(histTotal / deviceDays)} B for the change log, intervals and state`,
      ),
      row(
        'change log written per day (generated year)',
        [changeRows / (DAYS - 1)],
        'rows',
        null,
        null,
        `${en(changeRows)} rows over ${DAYS - 1} runs (day 0: ${en(load.kinds.added ?? 0)} added); per day: ${kindsPerDay}; `
          + `devices changed per day median ${en(median(load.perDay.devices))} (${round1((100 * median(load.perDay.devices)) / DEVICES)} %); `
          + `${en(load.perDay.opened)} status intervals`,
      ),
      row(
        'load: daily snapshot inserts in SQL, indexes present',
        [load.snapshotMs / 1000],
        's',
        null,
        null,
        `${DAYS - 1} statements of ${DEVICES.toLocaleString('en')} rows: ${en(((DAYS - 1) * DEVICES) / (load.snapshotMs / 1000))} rows/s`,
      ),
      row(
        'load: daily profiles + change log + status intervals in SQL',
        [load.historyMs / 1000],
        's',
        null,
        null,
        `${DAYS - 1} statements: new profiles, the day's change rows, intervals closed (UPDATE) and opened`,
      ),
      row(
        'compaction of an ended month (CLUSTER by device, through pruneSnapshots)',
        load.compactMs,
        'ms',
        null,
        null,
        `${load.compactMs.length} months of ${DEVICES.toLocaleString('en')} devices, each rewritten once when the month has ended`,
      ),
      row(
        `one night's snapshot through insertRunSnapshots (${DEVICES.toLocaleString('en')} devices)`,
        nights.map((x) => x.snapshotMs),
        'ms',
        null,
        null,
        `in the night's transaction; ${NIGHTS} nights, ${NIGHTS - 1} rolled back; ${night.expected.new_profiles} new profiles`,
      ),
      row(
        `the same night's recordRunHistory (${round1((100 * night.expected.devices) / DEVICES)} % of devices changed)`,
        nights.map((x) => x.historyMs),
        'ms',
        null,
        null,
        `${en(night.expected.devices)} devices changed: ${Object.entries(night.expected.kinds ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}; ` + `${night.expected.moved} intervals closed and opened; exactly what the generator predicts`,
      ),
      row(
        'recordRunHistory ÷ insertRunSnapshots, same night',
        ratios,
        '×',
        null,
        null,
        `night i ÷ night i; upsertComplianceDaily ${round1(median(nights.map((x) => x.dailyMs)))} ms; `
          + `whole transaction ${en(median(nights.map((x) => x.transactionMs)))} ms (median)`,
      ),
      row(
        'prune one day (oldest; batched deletes in its month)',
        pruneDay,
        'ms',
        null,
        null,
        `${DEVICES.toLocaleString('en')} rows each from a compacted month: one pass over its pages, statements of ≤ 1,024 pages and ≤ 10,000 rows`,
      ),
      row(
        'prune one month (whole partition dropped)',
        pruneMonth,
        'ms',
        null,
        null,
        `${monthRows.map((x) => x.toLocaleString('en')).join(' / ')} rows; counted, then DROP TABLE`,
      ),
      row('365-day trend from compliance_daily', trend.ms, 'ms', '≤ 50 ms', 50, `${DAYS} rows`),
      row(
        "one device's full history from the device_snapshots view, by hwid",
        history.ms,
        'ms',
        '≤ 5 ms',
        5,
        `${DAYS} rows, a random device each time; plan: ${indexScans} device_id index scans, ${seqScans} sequential scans of partitions `
          + `(the empty next month); in the server: planning ${round3(median(server.planning))} ms + execution ${round3(median(server.execution))} ms (medians of 7)`,
      ),
      row(
        'the same, as a prepared statement (JDBC and Npgsql prepare a query they repeat)',
        historyPrepared.ms,
        'ms',
        '≤ 5 ms',
        5,
        'planned once; each execution still reads 365 rows from 13 monthly partitions',
      ),
      row('select * from devices_current (all devices)', current.ms, 'ms', null, null, `${DEVICES.toLocaleString('en')} rows fetched`),
    );
    if (book.error) {
      rows.push({
        measure: 'cookbook queries of docs/schema.md',
        values: [],
        median: 'not measured',
        unit: '',
        target: `≤ ${QUERY_TARGET_MS} ms`,
        met: null,
        note: book.error,
      });
    } else {
      for (const r of book.results) {
        rows.push(
          row(
            `cookbook: ${r.heading} (docs/schema.md)`,
            r.ms,
            'ms',
            `≤ ${QUERY_TARGET_MS} ms`,
            QUERY_TARGET_MS,
            `${r.rows.toLocaleString('en')} rows; today = ${dayAt(DAYS - 1)}${r.how.length ? ` (via ${r.how.join(', ')})` : ''}; plan: ${r.plan.text}`
              + `${r === book.slowest ? ' (the slowest: EXPLAIN (ANALYZE, BUFFERS) in the log)' : ''}`,
          ),
        );
      }
    }
    kept = { generated };
  } finally {
    await client.end().catch(() => undefined);
    await database.close().catch(() => undefined);
    if (!process.argv.includes('--keep')) await dropDatabase(DB);
  }

  // The upgrade, on its own database once the year above is gone (disk and cache to itself).
  const ups = [];
  for (const [k, n] of UPGRADE_SIZES.entries()) {
    const up = await upgradeCost(n);
    ups.push(up);
    const same = JSON.stringify(up.fingerprint) === JSON.stringify(kept.generated[k]);
    if (!same)
      log(`0007's backfill differs from the generated history: ${JSON.stringify(up.fingerprint)} vs ${JSON.stringify(kept.generated[k])}`);
    const backfilled = Object.values(up.fingerprint.kinds ?? {}).reduce((a, b) => a + b, 0);
    rows.push(
      row(
        `upgrade: runMigrations 0006 → 0007 on a year of ${n.toLocaleString('en')} devices (the backfill)`,
        [up.ms / 1000],
        's',
        null,
        null,
        `${en(n * DAYS)} snapshots → ${en(backfilled)} change rows and ${en(up.fingerprint.intervals)} status intervals; `
          + `${
            same
              ? 'the backfilled change rows (the kinds it derives) and intervals are the generated ones, row for row (checksums)'
              : '**differs from the generated history** (see the log)'
          }`,
      ),
    );
  }
  if (ups.length && ups.at(-1).n < DEVICES && !quick) {
    // T ∝ n^e between the two largest sizes (e = 1 with one), carried on to the whole fleet.
    const [a, b] = ups.length >= 2 ? ups.slice(-2) : [{ n: 0, ms: 0 }, ups[0]];
    const e = ups.length >= 2 ? Math.log(b.ms / a.ms) / Math.log(b.n / a.n) : 1;
    const at = (b.ms / 1000) * (DEVICES / b.n) ** e;
    rows.push(
      row(
        `upgrade at ${DEVICES.toLocaleString('en')} devices × ${DAYS} days (extrapolated, not measured)`,
        [at],
        's',
        null,
        null,
        `from ${b.n.toLocaleString('en')} devices (${round1(b.ms / 1000)} s) with the exponent the two sizes show: time ∝ devices^${round3(e)} `
          + `(linear would be ${en(((b.ms / 1000) * DEVICES) / b.n)} s)`,
      ),
    );
  }
  emitResult({ scenario: 'history', title: 'History at scale', params, rows });
}

await main();
