import { createServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/openDatabase.ts';
import { countRunsByStatus, selectLastSucceededRun, selectRecentRuns } from '../db/runs.ts';
import type { Clock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Scheduler } from './scheduler.ts';

export interface HealthDeps {
  database: Database;
  scheduler: Scheduler;
  clock: Clock;
  startedAt: number;
}

export interface Health {
  ok: boolean;
  reasons: string[];
  lastSucceededAt: string | null;
}

/** Healthy while the database answers and the last succeeded run is not older than two schedule periods. */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const reasons: string[] = [];
  let lastSucceededAt: Date | undefined;
  try {
    await queryRows(deps.database.db, sql`select 1`);
    lastSucceededAt = (await selectLastSucceededRun(deps.database.db))?.finishedAt ?? undefined;
  } catch (err) {
    reasons.push(`database unreachable: ${errorMessage(err)}`);
  }
  const maxAgeMs = 2 * deps.scheduler.periodMs();
  const since = lastSucceededAt?.getTime() ?? deps.startedAt;
  if (reasons.length === 0 && deps.clock.now() - since > maxAgeMs) {
    reasons.push(lastSucceededAt ? `last succeeded run finished ${lastSucceededAt.toISOString()}, more than two schedule periods ago` : 'no run has succeeded within two schedule periods of start');
  }
  return { ok: reasons.length === 0, reasons, lastSucceededAt: lastSucceededAt?.toISOString() ?? null };
}

/** Prometheus text format, read from the database so the figures agree with sync_runs. */
export async function renderMetrics(deps: HealthDeps): Promise<string> {
  const db = deps.database.db;
  const byStatus = await countRunsByStatus(db);
  const [last] = await selectRecentRuns(db, 1);
  const lastOk = await selectLastSucceededRun(db);
  const compliance = await queryRows<{ status: number | null; n: number }>(db,
    sql`select status, count(*)::int as n from metaaccess.devices where removed_at is null group by status`);
  const lines: string[] = [];
  const metric = (name: string, help: string, type: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([labels, v]) => `${name}${labels} ${v}`));
  };
  metric('metaaccess_sync_runs', 'Sync runs recorded in sync_runs, by status.', 'gauge',
    ['running', 'succeeded', 'failed', 'cancelled', 'abandoned'].map((s) => [`{status="${s}"}`, byStatus[s] ?? 0]));
  if (last) {
    const duration = last.finishedAt ? (last.finishedAt.getTime() - last.startedAt.getTime()) / 1000 : 0;
    metric('metaaccess_last_run_duration_seconds', 'Duration of the most recent run.', 'gauge', [['', duration]]);
    for (const [key, name] of [['devicesSeen', 'seen'], ['devicesAdded', 'added'], ['devicesRemoved', 'removed'], ['recordsRejected', 'rejected']] as const) {
      metric(`metaaccess_last_run_devices_${name}`, `Devices ${name} in the most recent run.`, 'gauge', [['', last[key]]]);
    }
    for (const [key, name] of [['requests', 'requests'], ['retries', 'retries'], ['rateLimited', 'rate_limited']] as const) {
      metric(`metaaccess_last_run_api_${name}`, `API ${name.replace('_', ' ')} in the most recent run.`, 'gauge', [['', last[key]]]);
    }
  }
  metric('metaaccess_last_success_timestamp_seconds', 'When the last succeeded run finished (0: never).', 'gauge',
    [['', lastOk?.finishedAt ? lastOk.finishedAt.getTime() / 1000 : 0]]);
  metric('metaaccess_devices', 'Present devices by compliance status.', 'gauge',
    compliance.map((r) => [`{status="${r.status ?? 'unknown'}"}`, r.n]));
  return lines.join('\n') + '\n';
}

export function startHealthServer(port: number, deps: HealthDeps): Promise<Server> {
  const server = createServer((req, res) => {
    const respond = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    // /livez: the process answers (for liveness probes: restarting cannot fix a stale run or a down database).
    const work = path === '/livez'
      ? Promise.resolve(respond(200, 'application/json', JSON.stringify({ ok: true, running: deps.scheduler.state().running })))
      : path === '/healthz'
      ? checkHealth(deps).then((h) => respond(h.ok ? 200 : 503, 'application/json', JSON.stringify(h)))
      : path === '/metrics'
        ? renderMetrics(deps).then((text) => respond(200, 'text/plain; version=0.0.4', text))
        : Promise.resolve(respond(404, 'text/plain', 'not found\n'));
    work.catch((err: unknown) => respond(503, 'application/json', JSON.stringify({ ok: false, reasons: [errorMessage(err)] })));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
