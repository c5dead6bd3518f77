import { sql } from 'drizzle-orm';
import { queryRows, type Database } from '../db/openDatabase.ts';
import { DatabaseError, errorMessage } from '../lib/errors.ts';
import { redactText } from '../lib/redact.ts';

/**
 * How long /healthz and /metrics wait for PostgreSQL. A scraper gives up after 10 s by default,
 * and a connection attempt alone may take CONNECT_TIMEOUT_MS: the answer must come well before.
 */
export const PROBE_TIMEOUT_MS = 2_000;

export type ProbeResult = { up: true } | { up: false; reason: string };

export interface DatabaseProbe {
  /** `select 1`, within the timeout. Never rejects. */
  check(): Promise<ProbeResult>;
  /** Bounds any other read of the endpoints by the same timeout (none when unbounded). */
  bound<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * `timeoutMs` undefined waits as long as the statement takes: for the embedded database, which
 * cannot be unreachable but answers one statement at a time, so a read queues behind the sync's
 * transaction and a timeout would report a busy database as down.
 */
export function createDatabaseProbe(database: Database, options: { timeoutMs?: number } = {}): DatabaseProbe {
  const { timeoutMs } = options;
  // One select at a time: scrapes of a silent server share it instead of piling up connections.
  const select1 = singleFlight(() => queryRows(database.db, sql`select 1`));
  const bound = <T>(work: () => Promise<T>) => (timeoutMs === undefined ? work() : withTimeout(work(), timeoutMs));
  return {
    check: () =>
      bound(select1).then(
        (): ProbeResult => ({ up: true }),
        (err: unknown): ProbeResult => ({ up: false, reason: databaseReason(err) }),
      ),
    bound,
  };
}

/** What failed, in the driver's or PostgreSQL's words (drizzle's "Failed query: …" wrapper unwrapped), no secrets. */
export function databaseReason(err: unknown): string {
  return redactText(errorMessage(err));
}

/** `fn`'s promise, shared by every call made while it is pending. */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= fn().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseError('DB_UNREACHABLE', `no answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  // The work goes on after a timeout; its late failure must not surface as an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
