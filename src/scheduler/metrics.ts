import { sql } from 'drizzle-orm';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { queryRows, type Database } from '../db/openDatabase.ts';
import { countRunsByStatus, selectLastCompleteRun, selectLastSucceededRun, selectRecentRuns, type RunRow } from '../db/runs.ts';
import type { RunSummary } from '../jobs/runSync.ts';
import { singleFlight, type DatabaseProbe } from './databaseProbe.ts';

const STATUSES = ['running', 'succeeded', 'incomplete', 'failed', 'cancelled', 'abandoned'];

export interface WorkerMetrics {
  registry: Registry;
  /** Counts what a finished run of this process spent (requests, retries, 429s, limiter wait). */
  recordRun(summary: RunSummary): void;
  /** The database the figures come from, once it is open and migrated (until then database_up is 0). */
  useDatabase(database: Database, probe: DatabaseProbe): void;
  /** The Prometheus text. Never rejects, whatever state the database is in. */
  scrape(): Promise<string>;
}

/** What the gauges show of sync_runs and devices, read in one go at scrape time. */
interface DatabaseFigures {
  runsByStatus: Record<string, number>;
  lastRun: RunRow | undefined;
  lastSucceeded: RunRow | undefined;
  lastComplete: RunRow | undefined;
  devices: Array<{ status: number | null; n: number }>;
}

/**
 * Prometheus metrics on the worker's own registry: this process's counters, Node's default
 * process metrics, `metaaccess_database_up`, and gauges read from the database at scrape time (so
 * they agree with sync_runs whichever process ran the syncs). While the database does not answer,
 * those gauges keep the values last read: an alert on an old last success keeps firing, where a
 * missing series would silence it. They appear from the first successful read on.
 */
export function createMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
  const runs = counter('metaaccess_worker_runs_total', 'Runs finished by this process, by status.', ['status']);
  const requests = counter('metaaccess_api_requests_total', 'API requests sent by this process (retries and token requests included).');
  const retries = counter('metaaccess_api_retries_total', 'API requests repeated after a 429, 5xx, timeout or reset.');
  const rateLimited = counter('metaaccess_api_rate_limited_total', 'HTTP 429 answers received.');
  const waited = counter('metaaccess_rate_limiter_wait_seconds_total', 'Time requests waited for a rate-limiter slot.');
  const databaseUp = new Gauge({
    name: 'metaaccess_database_up',
    help: 'Whether the database answered `select 1` at this scrape (1) or not (0); while 0, the gauges read from it keep their last values.',
    registers,
  });
  const gauges = databaseGauges();

  let source: { probe: DatabaseProbe; read: () => Promise<DatabaseFigures> } | undefined;
  let shown = false;
  const refresh = async (): Promise<void> => {
    const probe = await source?.probe.check();
    databaseUp.set(probe?.up ? 1 : 0);
    if (!source || !probe?.up) return;
    const figures = await source.probe.bound(source.read).catch(() => undefined);
    if (!figures) return;
    gauges.show(figures);
    if (!shown) for (const gauge of gauges.all) registry.registerMetric(gauge);
    shown = true;
  };

  return {
    registry,
    recordRun(summary) {
      runs.inc({ status: summary.status });
      requests.inc(summary.counters.requests);
      retries.inc(summary.counters.retries);
      rateLimited.inc(summary.counters.rateLimited);
      waited.inc(summary.rateLimitWaitMs / 1000);
    },
    useDatabase(database, probe) {
      // One read at a time: scrapes of a slow database share it instead of queueing more.
      source = { probe, read: singleFlight(() => readFigures(database.db)) };
    },
    async scrape() {
      await refresh();
      return registry.metrics();
    },
  };
}

async function readFigures(db: Database['db']): Promise<DatabaseFigures> {
  const [runsByStatus, [lastRun], lastSucceeded, lastComplete, devices] = await Promise.all([
    countRunsByStatus(db),
    selectRecentRuns(db, 1),
    selectLastSucceededRun(db),
    selectLastCompleteRun(db),
    queryRows<{ status: number | null; n: number }>(
      db,
      sql`select status, count(*)::int as n from metaaccess.devices where removed_at is null group by status`,
    ),
  ]);
  return { runsByStatus, lastRun, lastSucceeded, lastComplete, devices };
}

/** The gauges read from the database; registered only once they hold a value read from it. */
function databaseGauges() {
  const registers: Registry[] = [];
  const syncRuns = new Gauge({
    name: 'metaaccess_sync_runs',
    help: 'Runs recorded in sync_runs, by status.',
    labelNames: ['status'],
    registers,
  });
  const lastRun = new Gauge({
    name: 'metaaccess_last_run',
    help: 'Figures of the most recent run, by field.',
    labelNames: ['field'],
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'metaaccess_last_success_timestamp_seconds',
    help: 'When the last succeeded run finished (0: never).',
    registers,
  });
  const lastIncomplete = new Gauge({
    name: 'metaaccess_last_run_incomplete',
    help: '1 while the latest run that read the whole list ended incomplete (the removal guard tripped: the list looked truncated), else 0.',
    registers,
  });
  const devices = new Gauge({
    name: 'metaaccess_devices',
    help: 'Present devices by compliance status (0 compliant, 1 not compliant, 3 still reporting).',
    labelNames: ['status'],
    registers,
  });

  const show = (f: DatabaseFigures) => {
    for (const status of STATUSES) syncRuns.set({ status }, f.runsByStatus[status] ?? 0);
    const last = f.lastRun;
    if (last) {
      lastRun.set({ field: 'duration_seconds' }, last.finishedAt ? (last.finishedAt.getTime() - last.startedAt.getTime()) / 1000 : 0);
      for (const [field, value] of Object.entries({
        devices_seen: last.devicesSeen,
        devices_added: last.devicesAdded,
        devices_changed: last.devicesChanged,
        devices_removed: last.devicesRemoved,
        records_rejected: last.recordsRejected,
        requests: last.requests,
        retries: last.retries,
        rate_limited: last.rateLimited,
        pages: last.pages,
      }))
        lastRun.set({ field }, value);
    }
    lastSuccess.set(f.lastSucceeded?.finishedAt ? f.lastSucceeded.finishedAt.getTime() / 1000 : 0);
    lastIncomplete.set(f.lastComplete?.status === 'incomplete' ? 1 : 0);
    devices.reset();
    for (const r of f.devices) devices.set({ status: r.status === null ? 'unknown' : String(r.status) }, r.n);
  };
  return { all: [syncRuns, lastRun, lastSuccess, lastIncomplete, devices], show };
}
