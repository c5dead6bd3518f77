import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Database } from '../db/openDatabase.ts';
import { selectLastCompleteRun, selectLastSucceededRun } from '../db/runs.ts';
import type { Clock } from '../lib/clock.ts';
import { AppError, errorMessage } from '../lib/errors.ts';
import { databaseReason, type DatabaseProbe } from './databaseProbe.ts';
import type { WorkerMetrics } from './metrics.ts';
import type { Scheduler } from './scheduler.ts';

export interface HealthDeps {
  database: Database;
  probe: DatabaseProbe;
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
 * guard stays visible until a complete run follows). A database that does not answer is named
 * with the driver's or PostgreSQL's reason, within the probe's timeout.
 */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const reasons: string[] = [];
  let lastSucceededAt: Date | undefined;
  const probe = await deps.probe.check();
  if (!probe.up) reasons.push(`database unreachable: ${probe.reason}`);
  else {
    try {
      const db = deps.database.db;
      const [lastSucceeded, lastComplete] = await deps.probe.bound(() =>
        Promise.all([selectLastSucceededRun(db), selectLastCompleteRun(db)]),
      );
      lastSucceededAt = lastSucceeded?.finishedAt ?? undefined;
      if (lastComplete?.status === 'incomplete')
        reasons.push(`run ${lastComplete.id} was incomplete: ${lastComplete.notes ?? 'the removal guard tripped'}`);
    } catch (err) {
      reasons.push(`database unreachable: ${databaseReason(err)}`);
    }
  }
  const maxAgeMs = 2 * deps.scheduler.periodMs();
  const since = lastSucceededAt?.getTime() ?? deps.startedAt;
  if (deps.clock.now() - since > maxAgeMs && !reasons.some((r) => r.startsWith('database'))) {
    reasons.push(
      lastSucceededAt
        ? `last succeeded run finished ${lastSucceededAt.toISOString()}, more than two schedule periods ago`
        : 'no run has succeeded within two schedule periods of start',
    );
  }
  return { ok: reasons.length === 0, reasons, lastSucceededAt: lastSucceededAt?.toISOString() ?? null };
}

export interface HealthServer {
  /** The port bound (HTTP_PORT, or the one the system chose for 0 in tests). */
  port: number;
  /** From now on /healthz checks the database and the schedule (until then: 503, starting). */
  ready(deps: HealthDeps): void;
  /** Stops listening and ends open connections; calling it again does nothing. */
  close(): Promise<void>;
}

/**
 * Binds the port before anything else starts, so a port in use is one clear error with nothing to
 * undo. /metrics answers from the start; /healthz says "starting" while the database is opened
 * and migrated.
 */
export async function listenHealthServer(port: number, metrics: WorkerMetrics): Promise<HealthServer> {
  let deps: HealthDeps | undefined;
  const server = createServer((req, res) => {
    handle(req, metrics, deps).then(
      (r) => res.writeHead(r.status, { 'content-type': r.type }).end(r.body),
      (err: unknown) =>
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, reasons: [errorMessage(err)] })),
    );
  });
  await listen(server, port);
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as { port: number }).port,
    ready(d) {
      deps = d;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

async function handle(req: IncomingMessage, metrics: WorkerMetrics, deps: HealthDeps | undefined): Promise<Reply> {
  const json = (status: number, value: unknown): Reply => ({ status, type: 'application/json', body: JSON.stringify(value) });
  switch ((req.url ?? '/').split('?')[0]) {
    // The process answers (for liveness probes: restarting cannot fix a stale run or a down database).
    case '/livez':
      return json(200, { ok: true, running: deps?.scheduler.state().running ?? false });
    case '/healthz': {
      if (!deps) return json(503, { ok: false, reasons: ['starting: opening and migrating the database'], lastSucceededAt: null });
      const health = await checkHealth(deps);
      return json(health.ok ? 200 : 503, health);
    }
    case '/metrics':
      return { status: 200, type: metrics.registry.contentType, body: await metrics.scrape() };
    default:
      return { status: 404, type: 'text/plain', body: 'not found\n' };
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(portError(port, err));
    server.once('error', fail);
    server.listen(port, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

function portError(port: number, err: NodeJS.ErrnoException): AppError {
  const fix = 'set HTTP_PORT to a free port or 0 to turn the endpoints off';
  const what =
    err.code === 'EADDRINUSE'
      ? 'is already in use (EADDRINUSE)'
      : err.code === 'EACCES'
        ? 'needs privileges this process does not have (EACCES)'
        : `cannot be opened: ${err.message}`;
  return new AppError('HTTP_PORT_UNAVAILABLE', `HTTP_PORT ${port} ${what}; ${fix}`, { cause: err, exitCode: 1 });
}
