// Scenario "history" (issue 4, scenario 4): a year of daily snapshots of 100,000 devices
// (36.5 M device-snapshots) in the product's schema — bytes per device-snapshot, what retention
// costs (one day, one month), and the latencies BI users see: the 365-day trend, one device's
// whole history, the current inventory.
// Rows are generated in SQL, day after day with the indexes present, as the worker writes them;
// partitions come from the product's ensureSnapshotPartitions, the last day goes through the
// product's insertRunSnapshots, and monthly compaction and retention through its pruneSnapshots.
// Usage: node bench/history.mjs [--quick] [--keep]   (`npm run build` first; --keep leaves the database bench_history)
import pg from 'pg';
import { ensureSnapshotPartitions } from '../dist/db/partitions.js';
import { insertRunSnapshots } from '../dist/db/snapshotsStore.js';
import { pruneSnapshots } from '../dist/jobs/pruneSnapshots.js';
import { systemClock } from '../dist/lib/clock.js';
import { createSilentLogger } from '../dist/lib/logger.js';
import { dropDatabase, emitResult, freshDatabase, isQuick, log, median } from './lib/common.mjs';

const quick = isQuick();
const DEVICES = quick ? 5_000 : 100_000;
const DAYS = 365;
/** Distinct compliance states in the fleet (status × issues × agent version × OS …). */
const PROFILES = quick ? 1_000 : 4_000;
/** A device moves to another state every 20 days: ~5% of the fleet changes each day. */
const CHANGE_EVERY_DAYS = 20;
const FIRST_DAY = '2025-01-01';
const REPS = 20;
const DB = 'bench_history';
/** Short, so the prune clocks stay inside the loaded year: no month is closed (and compacted) by them. */
const RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

const dayAt = (i) => new Date(Date.parse(`${FIRST_DAY}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10);
const finishedAt = (i) => new Date(`${dayAt(i)}T02:20:00Z`);
const round1 = (x) => Math.round(x * 10) / 10;
const round3 = (x) => Math.round(x * 1000) / 1000;
/** The profile a device is in on day `i` (SQL; `d` and `i` are integer expressions). */
const profileOf = (d, i) => `((${d}::bigint * 7919 + ((${i} + ${d} % ${CHANGE_EVERY_DAYS}) / ${CHANGE_EVERY_DAYS})::bigint * 104729) % ${PROFILES} + 1)::int`;

async function timed(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** Profiles, runs, devices and their OS, the daily figures: everything but the snapshots. */
async function seed(client) {
  // States built from k's digits, so the first PROFILES values of k are all different.
  await client.query(`
    insert into metaaccess.snapshot_profiles (fingerprint, status, critical_status, exempt, active, total_issue, total_critical_issue, agent_version, os_name, os_version)
    select md5(row(status, critical_status, exempt, active, total_issue, total_critical_issue, agent_version, os_name, os_version)::text)::uuid, *
    from (
      select (array[0, 0, 0, 1, 1, 3])[k % 6 + 1]::smallint as status, (k % 7 = 0)::int::smallint as critical_status,
        k % 50 = 0 as exempt, k % 9 <> 0 as active, (k / 6 % 25)::int as total_issue, (k % 7 = 0)::int * (k % 3 + 1) as total_critical_issue,
        (array['4.3.3417.0', '4.3.3420.0', '4.3.3501.0', '4.4.112.0', '4.4.130.0', '4.4.201.0'])[k / 150 % 6 + 1]::text as agent_version,
        (array['Windows 10 Pro', 'Windows 11 Pro', 'Windows 11 Enterprise', 'macOS', 'Ubuntu', 'iOS', 'Android'])[k / 900 % 7 + 1]::text as os_name,
        (array['10.0.19045', '10.0.22631', '14.6.1', '22.04', '17.5'])[k % 5 + 1]::text as os_version
      from generate_series(0, ${PROFILES - 1}) k) s
    on conflict (fingerprint) do nothing`);
  const { rows: [{ n: profiles }] } = await client.query('select count(*)::int as n from metaaccess.snapshot_profiles');
  if (profiles !== PROFILES) throw new Error(`expected ${PROFILES} distinct profiles, made ${profiles}`);
  await client.query(`
    insert into metaaccess.sync_runs (started_at, finished_at, status, trigger, pages, requests, devices_seen)
    select d + time '02:00', d + time '02:20', 'succeeded', 'schedule', ${Math.ceil(DEVICES / 50)}, ${Math.ceil(DEVICES / 50)}, ${DEVICES}
    from generate_series(date '${FIRST_DAY}', date '${FIRST_DAY}' + ${DAYS - 1}, interval '1 day') d order by d`);
  // Devices as the last run left them: in their state of the last day, last_run_id = that run.
  const last = DAYS - 1;
  await client.query(`
    insert into metaaccess.devices (id, hwid, hostname, agent_type, agent_version, machine_type, country, active, status, critical_status,
      exempt, total_issue, total_critical_issue, last_seen, raw, content_hash, first_seen_at, last_synced_at, first_run_id, last_run_id)
    overriding system value
    select d, upper(substr(md5(d::text), 1, 16)), 'host-' || d, 'persistent', p.agent_version, (array['desktop', 'laptop', 'server', 'vm'])[d % 4 + 1],
      'US', p.active, p.status, p.critical_status, p.exempt, p.total_issue, p.total_critical_issue,
      date '${dayAt(last)}' + time '01:00' - (d % 1440) * interval '1 minute', '{}', md5(p.id::text), date '${FIRST_DAY}', date '${dayAt(last)}', 1, ${DAYS}
    from generate_series(1, ${DEVICES}) d join metaaccess.snapshot_profiles p on p.id = ${profileOf('d', last)}`);
  await client.query(`select setval(pg_get_serial_sequence('metaaccess.devices', 'id'), ${DEVICES})`);
  await client.query(`
    insert into metaaccess.device_os (hwid, family, name, vendor, version, architecture)
    select d.hwid, split_part(p.os_name, ' ', 1), p.os_name, 'vendor', p.os_version, '64-Bit'
    from metaaccess.devices d join metaaccess.snapshot_profiles p on p.id = ${profileOf('d.id', last)}`);
  await client.query(`
    insert into metaaccess.compliance_daily (day, run_id, captured_at, devices, compliant, non_compliant, in_progress, critical, exempt, active)
    select date '${FIRST_DAY}' + i, i + 1, date '${FIRST_DAY}' + i + time '02:20', ${DEVICES},
      ${DEVICES} / 2 + i * 7, ${DEVICES} / 3 - i * 5, ${DEVICES} / 6 - i * 2, ${DEVICES} / 14, ${DEVICES} / 50, ${DEVICES} - ${DEVICES} / 9
    from generate_series(0, ${DAYS - 1}) i`);
}

/**
 * Days 0 .. DAYS-2 generated in SQL, one statement per day (as a run writes them); the last day by
 * the product. After a month's last day, the product's housekeeping compacts it, as the first run
 * of the next month does in production.
 */
async function loadSnapshots(client, database) {
  const started = performance.now();
  const compactMs = [];
  for (let i = 0; i < DAYS - 1; i++) {
    await ensureSnapshotPartitions(database.db, finishedAt(i));
    await client.query(`
      insert into metaaccess.snapshots (last_seen, day, run_id, device_id, profile_id)
      select date '${dayAt(i)}' + time '01:00' - (d % 1440) * interval '1 minute', date '${dayAt(i)}', ${i + 1}, d, ${profileOf('d', i)}
      from generate_series(1, ${DEVICES}) d`);
    if (dayAt(i + 1).endsWith('-01')) {
      const clock = { now: () => finishedAt(i + 1).getTime(), sleep: systemClock.sleep };
      const r = await timed(() => pruneSnapshots({ database, clock, logger: createSilentLogger(), retentionDays: 0 }));
      if (r.value.compactedPartitions.length !== 1) throw new Error(`compaction after ${dayAt(i)}: ${JSON.stringify(r.value)}`);
      compactMs.push(r.ms);
    }
    if (i % 30 === 29) {
      const s = (performance.now() - started) / 1000;
      log(`  day ${i + 1}/${DAYS}: ${((i + 1) * DEVICES).toLocaleString('en')} rows in ${s.toFixed(0)} s (${Math.round((i + 1) * DEVICES / s).toLocaleString('en')} rows/s)`);
    }
  }
  const loadMs = performance.now() - started;
  const generatedMs = loadMs - compactMs.reduce((x, y) => x + y, 0);
  const last = DAYS - 1;
  await ensureSnapshotPartitions(database.db, finishedAt(last));
  const product = await timed(() => database.db.transaction((tx) => insertRunSnapshots(tx, DAYS, finishedAt(last))));
  if (product.value !== DEVICES) throw new Error(`insertRunSnapshots stored ${product.value} of ${DEVICES}`);
  const { rows: [{ n: profiles }] } = await client.query('select count(*)::int as n from metaaccess.snapshot_profiles');
  // Same fingerprint in the bench and the product: the last run finds every state on record.
  if (profiles !== PROFILES) throw new Error(`the product's insert made ${profiles - PROFILES} new profiles: fingerprints disagree`);
  return { generatedMs, compactMs, productMs: product.ms };
}

async function storage(client) {
  const { rows: [s] } = await client.query(`
    select count(*)::int as partitions, sum(pg_total_relation_size(c.oid))::float8 as total, sum(pg_relation_size(c.oid))::float8 as heap,
      sum(pg_indexes_size(c.oid))::float8 as indexes, pg_total_relation_size('metaaccess.snapshot_profiles')::float8 as profiles,
      (select count(*) from metaaccess.snapshots)::float8 as rows
    from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'metaaccess.snapshots'::regclass`);
  return { ...s, perRow: (s.total + s.profiles) / s.rows };
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

const randomHwid = async (client) => (await client.query(
  `select hwid from metaaccess.devices where id = $1`, [1 + Math.floor(Math.random() * DEVICES)])).rows[0].hwid;

/** Retention through the product, on a clock set so the cutoff day is `cutoffDay`. */
async function pruneTo(database, cutoffDay) {
  const clock = { now: () => Date.parse(`${cutoffDay}T12:00:00Z`) + RETENTION_DAYS * DAY_MS, sleep: systemClock.sleep };
  return timed(() => pruneSnapshots({ database, clock, logger: createSilentLogger(), retentionDays: RETENTION_DAYS }));
}

const row = (measure, values, unit, target, limit, note) => {
  const m = median(values);
  return { measure, values: values.map(unit === 'B' ? round1 : round3), median: unit === 'B' ? round1(m) : round3(m), unit, target, met: limit === null ? null : m <= limit, note };
};

async function main() {
  log(`history: ${DEVICES.toLocaleString('en')} devices × ${DAYS} days${quick ? ' (quick)' : ''}`);
  const { database, url } = await freshDatabase(DB);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await seed(client);
    log('seeded profiles, runs, devices, daily figures; loading snapshots');
    const load = await loadSnapshots(client, database);
    log(`loaded in ${(load.generatedMs / 1000).toFixed(0)} s + compactions ${load.compactMs.map((x) => (x / 1000).toFixed(1)).join('/')} s; product insert of the last run: ${load.productMs.toFixed(0)} ms`);
    // What autovacuum would have done by now (this server runs with it off): visibility map, statistics.
    const vac = await timed(() => client.query('vacuum (analyze) metaaccess.snapshots, metaaccess.snapshot_profiles, metaaccess.devices, metaaccess.device_os, metaaccess.sync_runs, metaaccess.compliance_daily'));
    log(`vacuum analyze: ${(vac.ms / 1000).toFixed(0)} s`);
    const size = await storage(client);
    log(`storage: ${size.perRow.toFixed(2)} B per device-snapshot over ${size.rows.toLocaleString('en')} rows in ${size.partitions} partitions`);

    const trend = await latency(client, `select day, devices, compliant, non_compliant, in_progress, critical, exempt, active
      from metaaccess.compliance_daily where day > $1::date - 365 order by day`, () => [dayAt(DAYS - 1)]);
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
    const plan = (await client.query(`explain (analyze, costs off, timing off, summary on) ${historySql}`, [await randomHwid(client)])).rows.map((r) => r['QUERY PLAN']);
    log(plan.join('\n'));
    const server = { planning: [], execution: [] };
    for (let i = 0; i < 7; i++) {
      const lines = (await client.query(`explain (analyze, timing off) ${historySql}`, [await randomHwid(client)])).rows.map((r) => r['QUERY PLAN']);
      for (const [key, label] of [['planning', 'Planning Time'], ['execution', 'Execution Time']]) {
        server[key].push(Number(/: ([\d.]+) ms/.exec(lines.find((l) => l.startsWith(label)))[1]));
      }
    }
    const seqScans = plan.filter((l) => /Seq Scan on snapshots_/.test(l)).length;
    const indexScans = plan.filter((l) => /Index Scan.*on snapshots_\d{4}_\d{2}/.test(l) || /Bitmap Index Scan on snapshots_\d{4}_\d{2}_device_id_idx/.test(l)).length;
    const current = await latency(client, 'select * from metaaccess.devices_current');
    if (current.rows !== DEVICES) throw new Error(`devices_current returned ${current.rows} rows`);

    // Retention, destructive: last. One day = the oldest day of the oldest month, deleted in batches;
    // one month = a whole partition dropped (the first also holds what the day prunes left of January).
    const pruneDay = [];
    for (let i = 1; i <= 3; i++) {
      const r = await pruneTo(database, dayAt(i));
      if (r.value.deleted !== DEVICES || r.value.droppedPartitions.length || r.value.compactedPartitions.length) throw new Error(`day prune: ${JSON.stringify(r.value)}`);
      pruneDay.push(r.ms);
    }
    const pruneMonth = [];
    const monthRows = [];
    for (const cutoff of ['2025-02-01', '2025-03-01', '2025-04-01']) {
      const r = await pruneTo(database, cutoff);
      if (r.value.droppedPartitions.length !== 1 || r.value.compactedPartitions.length) throw new Error(`month prune: ${JSON.stringify(r.value)}`);
      pruneMonth.push(r.ms);
      monthRows.push(r.value.deleted);
    }
    log(`prune: day ${pruneDay.map((x) => x.toFixed(0)).join('/')} ms, month ${pruneMonth.map((x) => x.toFixed(0)).join('/')} ms`);

    const mb = (x) => `${(x / 2 ** 20).toFixed(0)} MiB`;
    emitResult({
      scenario: 'history',
      title: 'History at scale',
      params: {
        devices: DEVICES, days: DAYS, rows: size.rows, partitions: size.partitions, profiles: PROFILES,
        dailyChangeShare: 1 / CHANGE_EVERY_DAYS, firstDay: FIRST_DAY, repetitions: REPS, mode: quick ? 'quick' : 'full',
      },
      rows: [
        row('storage per device-snapshot (all partitions with indexes + profiles)', [size.perRow], 'B', '≤ 64 B', 64,
          `heap ${round1(size.heap / size.rows)} B + indexes ${round1(size.indexes / size.rows)} B per row; ${mb(size.total + size.profiles)} in all`),
        row('load: daily snapshot inserts in SQL, indexes present', [load.generatedMs / 1000], 's', null, null,
          `${DAYS - 1} statements of ${DEVICES.toLocaleString('en')} rows: ${Math.round((DAYS - 1) * DEVICES / (load.generatedMs / 1000)).toLocaleString('en')} rows/s`),
        row('compaction of an ended month (CLUSTER by device, through pruneSnapshots)', load.compactMs, 'ms', null, null,
          `${load.compactMs.length} months of ${DEVICES.toLocaleString('en')} devices, each rewritten once when the month has ended`),
        row(`one run's snapshot through insertRunSnapshots (${DEVICES.toLocaleString('en')} devices)`, [load.productMs], 'ms', null, null,
          'profiles of new states, then one INSERT…SELECT, in one transaction'),
        row('prune one day (oldest; batched deletes in its month)', pruneDay, 'ms', null, null,
          `${DEVICES.toLocaleString('en')} rows each from a compacted month: one pass over its pages, statements of ≤ 1,024 pages and ≤ 10,000 rows`),
        row('prune one month (whole partition dropped)', pruneMonth, 'ms', null, null,
          `${monthRows.map((n) => n.toLocaleString('en')).join(' / ')} rows; counted, then DROP TABLE`),
        row('365-day trend from compliance_daily', trend.ms, 'ms', '≤ 50 ms', 50, `${DAYS} rows`),
        row('one device\'s full history from the device_snapshots view, by hwid', history.ms, 'ms', '≤ 5 ms', 5,
          `${DAYS} rows, a random device each time; plan: ${indexScans} device_id index scans, ${seqScans} sequential scans of partitions `
          + `(the empty next month); in the server: planning ${round3(median(server.planning))} ms + execution ${round3(median(server.execution))} ms (medians of 7)`),
        row('the same, as a prepared statement (JDBC and Npgsql prepare a query they repeat)', historyPrepared.ms, 'ms', '≤ 5 ms', 5,
          'planned once; each execution still reads 365 rows from 13 monthly partitions'),
        row('select * from devices_current (all devices)', current.ms, 'ms', null, null, `${DEVICES.toLocaleString('en')} rows fetched`),
      ],
    });
  } finally {
    await client.end().catch(() => undefined);
    await database.close().catch(() => undefined);
    if (!process.argv.includes('--keep')) await dropDatabase(DB);
  }
}

await main();
