import { createServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/openDatabase.ts';
import { selectLastCompleteRun, selectLastSucceededRun } from '../db/runs.ts';
import type { Clock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import type { WorkerMetrics } from './metrics.ts';
import type { Scheduler } from './scheduler.ts';

export interface HealthDeps {
  database: Database;
  metrics: WorkerMetrics;
  scheduler: Scheduler;
  clock: Clock;
  startedAt: number;
}

export interface Health {
  ok: boolean;
  reasons: string[];
  lastSucceededAt: string | null;
}

/**
 * Healthy while the database answers, the last succeeded run is not older than two schedule
 * periods, and the latest run that read the whole list was not incomplete (a tripped removal
 * guard stays visible until a complete run follows).
 */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const reasons: string[] = [];
  let lastSucceededAt: Date | undefined;
  try {
    await queryRows(deps.database.db, sql`select 1`);
    lastSucceededAt = (await selectLastSucceededRun(deps.database.db))?.finishedAt ?? undefined;
    const lastComplete = await selectLastCompleteRun(deps.database.db);
    if (lastComplete?.status === 'incomplete') reasons.push(`run ${lastComplete.id} was incomplete: ${lastComplete.notes ?? 'the removal guard tripped'}`);
  } catch (err) {
    reasons.push(`database unreachable: ${errorMessage(err)}`);
  }
  const maxAgeMs = 2 * deps.scheduler.periodMs();
  const since = lastSucceededAt?.getTime() ?? deps.startedAt;
  if (deps.clock.now() - since > maxAgeMs && !reasons.some((r) => r.startsWith('database'))) {
    reasons.push(lastSucceededAt ? `last succeeded run finished ${lastSucceededAt.toISOString()}, more than two schedule periods ago` : 'no run has succeeded within two schedule periods of start');
  }
  return { ok: reasons.length === 0, reasons, lastSucceededAt: lastSucceededAt?.toISOString() ?? null };
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
        ? deps.metrics.registry.metrics().then((text) => respond(200, deps.metrics.registry.contentType, text))
        : Promise.resolve(respond(404, 'text/plain', 'not found\n'));
    work.catch((err: unknown) => respond(503, 'application/json', JSON.stringify({ ok: false, reasons: [errorMessage(err)] })));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
