// Scenario "ingest" (issue 4, scenario 2): what one device costs through the whole pipeline
// (HTTP pages → normalize → one transaction per group of arrived pages), next to the raw floor (COPY of the same
// normalized rows) and a naive row-at-a-time ORM insert. The simulator runs unthrottled in its own
// process, so its JSON generation does not share this process's event loop.
// Usage: node bench/ingest.mjs [--quick]   (`npm run build` first)
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getTableColumns } from 'drizzle-orm';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { runSync } from '../dist/jobs/runSync.js';
import { systemClock } from '../dist/lib/clock.js';
import { createSilentLogger } from '../dist/lib/logger.js';
import { normalizeDevice } from '../dist/normalize/normalizeDevice.js';
import { deviceOs, devices, networkAdapters } from '../dist/db/schema.js';
import { createSource } from '../dist/source/createSource.js';
import { openDatabase } from '../dist/db/openDatabase.js';
import { ADMIN_URL, dbName, dbUrl, dropDatabase, emitResult, freshDatabase, isQuick, log, median } from './lib/common.mjs';
import { startSimulatorProcess } from './lib/simProcess.mjs';

const quick = isQuick();
const DEVICES = quick ? 10_000 : 100_000;
/** Row-at-a-time inserts are slow by design: a subset keeps the scenario within its time budget. */
const NAIVE_DEVICES = Math.min(DEVICES, quick ? 500 : 4_000);
const RUNS = 3;
const TOKEN = 'bench-token';
const DB_PIPELINE = 'bench_ing_pipeline';
const DB_COPY = 'bench_ing_copy';
const DB_NAIVE = 'bench_ing_naive';
const DB_TEMPLATE = 'bench_ing_template';
const NOW = new Date();
const RUN_ID = 1;

const perSecond = (n, ms) => n / (ms / 1000);

/** A fresh migrated database, cloned from a template migrated once (a clone takes a fraction of a migration). */
async function cloneDatabase(name) {
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${dbName(name)} with (force)`);
    await admin.query(`create database ${dbName(name)} template ${dbName(DB_TEMPLATE)}`);
  } finally {
    await admin.end();
  }
  const url = dbUrl(name);
  return { database: await openDatabase({ url, pgliteDir: '' }), url };
}
const round = (x) => Math.round(x);

/** One complete run into a fresh database, as `metaaccess-sync sync` would do it. */
async function pipelineRun(url) {
  const { database } = await cloneDatabase(DB_PIPELINE);
  const logger = createSilentLogger();
  // Unthrottled: the default limit of 10 (so the default prefetch of 20 pages) over a 10 ms
  // window, which this machine never reaches: the limiter does not make a request wait.
  const source = createSource(
    {
      url,
      credentials: { kind: 'token', accessToken: TOKEN },
      rateLimit: 10,
      rateWindowMs: 10,
      pageSize: 50,
      timeoutMs: 30_000,
      maxRetries: 5,
    },
    { clock: systemClock, logger },
  );
  const started = performance.now();
  const summary = await runSync({
    database,
    source,
    clock: systemClock,
    logger,
    trigger: 'bench',
    settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: 'UTC' },
  });
  const ms = performance.now() - started;
  await database.close();
  if (summary.status !== 'succeeded') throw new Error(`pipeline run ${summary.status}: ${summary.error}`);
  if (summary.counters.devicesSeen !== DEVICES) throw new Error(`pipeline saw ${summary.counters.devicesSeen} of ${DEVICES}`);
  return { ms, waitMs: summary.rateLimitWaitMs };
}

/** The raw devices exactly as the pipeline receives them: every page, fetched from the same simulator. */
async function fetchAllDevices(url) {
  const all = [];
  for (let page = 1; all.length < DEVICES; page++) {
    const res = await fetch(`${url}/o/api/v2.3/devices?access_token=${TOKEN}&limit=50&page=${page}&order=asc&GroupBy=none`);
    if (!res.ok) throw new Error(`page ${page}: HTTP ${res.status}`);
    all.push(...(await res.json()));
  }
  return all;
}

/** Rows as the pipeline would store them for a first sight of each device. */
function toRows(raw) {
  const rows = { devices: [], os: [], adapters: [] };
  for (const r of raw) {
    const result = normalizeDevice(r);
    if (!result.ok) throw new Error(`simulator device rejected: ${result.reason}`);
    const { device, os, adapters } = result.value;
    rows.devices.push({
      ...device,
      firstSeenAt: NOW,
      lastSyncedAt: NOW,
      removedAt: null,
      firstRunId: RUN_ID,
      lastRunId: RUN_ID,
      missedRuns: 0,
    });
    if (os) rows.os.push(os);
    rows.adapters.push(...adapters);
  }
  return rows;
}

function csvField(value) {
  if (value === null || value === undefined) return '';
  let text;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') text = JSON.stringify(value);
  else if (typeof value === 'string') text = value;
  else return String(value);
  return `"${text.replaceAll('"', '""')}"`;
}

/** COPY `rows` into `table` (CSV), serializing inside the timing: that text is part of the floor's cost. */
async function copyRows(client, table, rows) {
  if (rows.length === 0) return;
  const columns = Object.entries(getTableColumns(table)).filter(([key]) => key in rows[0]);
  const names = columns.map(([, c]) => `"${c.name}"`).join(', ');
  const keys = columns.map(([key]) => key);
  const qualified = `metaaccess."${table[Symbol.for('drizzle:Name')]}"`;
  function* chunks() {
    for (let i = 0; i < rows.length; i += 500) {
      let text = '';
      for (const row of rows.slice(i, i + 500)) text += `${keys.map((k) => csvField(row[k])).join(',')}\n`;
      yield text;
    }
  }
  await pipeline(Readable.from(chunks()), client.query(copyStreams.from(`COPY ${qualified} (${names}) FROM STDIN WITH (FORMAT csv)`)));
}

async function copyRun(rows) {
  const { database, url } = await cloneDatabase(DB_COPY);
  await database.close();
  const client = new pg.Client(url);
  await client.connect();
  try {
    const started = performance.now();
    await client.query('begin');
    await copyRows(client, devices, rows.devices);
    await copyRows(client, deviceOs, rows.os);
    await copyRows(client, networkAdapters, rows.adapters);
    await client.query('commit');
    return performance.now() - started;
  } finally {
    await client.end();
  }
}

/** One drizzle insert per row, each its own autocommit statement: what an unbatched loader does. */
async function naiveRun(rows) {
  const { database } = await cloneDatabase(DB_NAIVE);
  const { db } = database;
  const hwids = new Set(rows.devices.slice(0, NAIVE_DEVICES).map((d) => d.hwid));
  try {
    const started = performance.now();
    for (const row of rows.devices.slice(0, NAIVE_DEVICES)) await db.insert(devices).values(row);
    for (const row of rows.os) if (hwids.has(row.hwid)) await db.insert(deviceOs).values(row);
    for (const row of rows.adapters) if (hwids.has(row.hwid)) await db.insert(networkAdapters).values(row);
    return performance.now() - started;
  } finally {
    await database.close();
  }
}

log(`ingest: ${DEVICES} devices, ${RUNS} runs each${quick ? ' (quick)' : ''}`);
const template = await freshDatabase(DB_TEMPLATE);
await template.database.close();
const sim = await startSimulatorProcess({ devices: DEVICES, seed: 42, staticFleet: true, auth: { token: TOKEN }, rateLimit: null });
const pipelineRates = [];
const copyRates = [];
const naiveRates = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const { ms, waitMs } = await pipelineRun(sim.url);
    pipelineRates.push(perSecond(DEVICES, ms));
    log(
      `  pipeline run ${i + 1}: ${(ms / 1000).toFixed(2)} s, ${round(pipelineRates.at(-1))} devices/s (limiter wait summed over requests: ${waitMs} ms)`,
    );
  }
  const raw = await fetchAllDevices(sim.url);
  const rows = toRows(raw);
  log(`  normalized ${rows.devices.length} devices, ${rows.os.length} OS rows, ${rows.adapters.length} adapters`);
  for (let i = 0; i < RUNS; i++) {
    const ms = await copyRun(rows);
    copyRates.push(perSecond(DEVICES, ms));
    log(`  COPY run ${i + 1}: ${(ms / 1000).toFixed(2)} s, ${round(copyRates.at(-1))} devices/s`);
  }
  for (let i = 0; i < RUNS; i++) {
    const ms = await naiveRun(rows);
    naiveRates.push(perSecond(NAIVE_DEVICES, ms));
    log(`  naive run ${i + 1} (${NAIVE_DEVICES} devices): ${(ms / 1000).toFixed(2)} s, ${round(naiveRates.at(-1))} devices/s`);
  }
} finally {
  await sim.close();
  for (const name of [DB_PIPELINE, DB_COPY, DB_NAIVE, DB_TEMPLATE]) await dropDatabase(name);
}

const pipelineMedian = median(pipelineRates);
const copyMedian = median(copyRates);
const naiveMedian = median(naiveRates);
const vsCopy = pipelineRates.map((r, i) => r / copyRates[i]);
const vsNaive = pipelineRates.map((r, i) => r / naiveRates[i]);
const two = (x) => Number(x.toFixed(2));
emitResult({
  scenario: 'ingest',
  title: 'Ingest cost: devices/s through the whole pipeline vs COPY and row-at-a-time inserts',
  params: {
    devices: DEVICES,
    naiveDevices: NAIVE_DEVICES,
    runs: RUNS,
    pageSize: 50,
    prefetch: 20,
    simulator: 'child process, static fleet, unthrottled',
    quick,
  },
  rows: [
    {
      measure: 'pipeline (HTTP → normalize → one transaction per group of pages that arrived together, ≤ 1,000 records)',
      values: pipelineRates.map(round),
      median: round(pipelineMedian),
      unit: 'devices/s',
      target: null,
      met: null,
      note: 'runSync into a fresh database; snapshot and daily aggregate included',
    },
    {
      measure: 'COPY of the same normalized rows',
      values: copyRates.map(round),
      median: round(copyMedian),
      unit: 'devices/s',
      target: null,
      met: null,
      note: 'devices, device_os, network_adapters in one transaction; CSV serialization timed, normalization not',
    },
    {
      measure: 'naive: one drizzle insert per row',
      values: naiveRates.map(round),
      median: round(naiveMedian),
      unit: 'devices/s',
      target: null,
      met: null,
      note: `first ${NAIVE_DEVICES} devices, every statement its own autocommit`,
    },
    {
      measure: 'pipeline ÷ COPY',
      values: vsCopy.map(two),
      median: two(pipelineMedian / copyMedian),
      unit: '×',
      target: '≥ 0.5× COPY',
      met: pipelineMedian / copyMedian >= 0.5,
      note: 'median: ratio of the medians; values: run i ÷ run i',
    },
    {
      measure: 'pipeline ÷ naive',
      values: vsNaive.map(two),
      median: two(pipelineMedian / naiveMedian),
      unit: '×',
      target: null,
      met: null,
      note: 'median: ratio of the medians; values: run i ÷ run i',
    },
  ],
});
