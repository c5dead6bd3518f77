import { sql } from 'drizzle-orm';
import { Counter, Gauge, Registry } from 'prom-client';
import { queryRows, type Database } from '../db/openDatabase.ts';
import { countRunsByStatus, selectLastCompleteRun, selectLastSucceededRun, selectRecentRuns } from '../db/runs.ts';
import type { RunSummary } from '../jobs/runSync.ts';

const STATUSES = ['running', 'succeeded', 'incomplete', 'failed', 'cancelled', 'abandoned'];

export interface WorkerMetrics {
  registry: Registry;
  /** Counts what a finished run of this process spent (requests, retries, 429s, limiter wait). */
  recordRun(summary: RunSummary): void;
}

/**
 * Prometheus metrics. Counters are this process's own; gauges are read from the database at
 * scrape time, so they agree with sync_runs whichever process ran the syncs.
 */
export function createMetrics(database: Database): WorkerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const db = database.db;
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
  const runs = counter('metaaccess_worker_runs_total', 'Runs finished by this process, by status.', ['status']);
  const requests = counter('metaaccess_api_requests_total', 'API requests sent by this process (retries and token requests included).');
  const retries = counter('metaaccess_api_retries_total', 'API requests repeated after a 429, 5xx, timeout or reset.');
  const rateLimited = counter('metaaccess_api_rate_limited_total', 'HTTP 429 answers received.');
  const waited = counter('metaaccess_rate_limiter_wait_seconds_total', 'Time requests waited for a rate-limiter slot.');

  new Gauge({
    name: 'metaaccess_sync_runs', help: 'Runs recorded in sync_runs, by status.', labelNames: ['status'], registers,
    async collect() {
      const counts = await countRunsByStatus(db);
      for (const status of STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  const lastRun = new Gauge({ name: 'metaaccess_last_run', help: 'Figures of the most recent run, by field.', labelNames: ['field'], registers,
    async collect() {
      const [last] = await selectRecentRuns(db, 1);
      if (!last) return;
      const duration = last.finishedAt ? (last.finishedAt.getTime() - last.startedAt.getTime()) / 1000 : 0;
      lastRun.set({ field: 'duration_seconds' }, duration);
      for (const [field, value] of Object.entries({
        devices_seen: last.devicesSeen, devices_added: last.devicesAdded, devices_changed: last.devicesChanged,
        devices_removed: last.devicesRemoved, records_rejected: last.recordsRejected, requests: last.requests,
        retries: last.retries, rate_limited: last.rateLimited, pages: last.pages,
      })) lastRun.set({ field }, value);
    },
  });
  new Gauge({ name: 'metaaccess_last_success_timestamp_seconds', help: 'When the last succeeded run finished (0: never).', registers,
    async collect() {
      const ok = await selectLastSucceededRun(db);
      this.set(ok?.finishedAt ? ok.finishedAt.getTime() / 1000 : 0);
    },
  });
  new Gauge({
    name: 'metaaccess_last_run_incomplete',
    help: '1 while the latest run that read the whole list ended incomplete (the removal guard tripped: the list looked truncated), else 0.',
    registers,
    async collect() {
      this.set((await selectLastCompleteRun(db))?.status === 'incomplete' ? 1 : 0);
    },
  });
  new Gauge({ name: 'metaaccess_devices', help: 'Present devices by compliance status (0 compliant, 1 not compliant, 3 still reporting).', labelNames: ['status'], registers,
    async collect() {
      this.reset();
      const rows = await queryRows<{ status: number | null; n: number }>(db,
        sql`select status, count(*)::int as n from metaaccess.devices where removed_at is null group by status`);
      for (const r of rows) this.set({ status: r.status === null ? 'unknown' : String(r.status) }, r.n);
    },
  });

  return {
    registry,
    recordRun(summary) {
      runs.inc({ status: summary.status });
      requests.inc(summary.counters.requests);
      retries.inc(summary.counters.retries);
      rateLimited.inc(summary.counters.rateLimited);
      waited.inc(summary.rateLimitWaitMs / 1000);
    },
  };
}
