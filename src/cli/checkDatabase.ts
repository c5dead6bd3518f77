import { resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import type { Config } from '../config/config.ts';
import { readMigrationState, shippedMigrations } from '../db/migrate.ts';
import { describeUrl } from '../db/pgConnection.ts';
import { openDatabase, queryRows, type Database } from '../db/openDatabase.ts';
import { selectLastSucceededRun, selectRecentRuns } from '../db/runs.ts';
import { AppError, LockHeldError, toDatabaseError } from '../lib/errors.ts';

export interface DatabaseFacts {
  ok: boolean;
  location: string;
  /** Opened (or, for an embedded database not created yet, nothing to open: see `exists`). */
  reachable: boolean;
  exists: boolean;
  migrations: { applied: number; shipped: number; latest: string; pending: string[] } | null;
  lastRun: { id: number; status: string; startedAt: string } | null;
  /** Devices the last succeeded run saw: what the rate estimate is based on. */
  lastDeviceCount: number | null;
  /** A sync holds the run lock now: check then spends no API request. */
  runInProgress: boolean;
  /** The runs were read: without that, lastDeviceCount says nothing (see `unread`). */
  runsRead: boolean;
  /** Why the runs were not read, for the rate estimate. */
  unread: string | null;
  /** One line each, for the screen. */
  lines: string[];
  problem: string | null;
}

/**
 * The database as `check` sees it, creating nothing: an embedded database is opened only if it
 * exists, nothing is migrated, and the run lock is looked at, never taken (taking it, however
 * briefly, could turn away a sync starting at that moment).
 */
export async function checkDatabase(config: Config): Promise<DatabaseFacts> {
  const url = config.databaseUrl;
  const embedded = url === undefined;
  const facts: DatabaseFacts = {
    ok: true,
    location: url === undefined ? `embedded PGlite in ${resolve(config.pgliteDir)}` : `PostgreSQL ${describeUrl(url)}`,
    reachable: false,
    exists: true,
    migrations: null,
    lastRun: null,
    lastDeviceCount: null,
    runInProgress: false,
    runsRead: false,
    unread: null,
    lines: [],
    problem: null,
  };
  let database: Database;
  try {
    // A held embedded database is reported as in use after a short wait, not after its stale period.
    database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir, mustExist: true, fileLock: { waitMs: 2_000 } });
  } catch (err) {
    return openFailed(facts, err, url);
  }
  try {
    facts.location = database.location;
    facts.reachable = true;
    if (!(await readMigrations(database, facts))) return facts;
    await readRuns(database, facts, embedded);
  } catch (err) {
    fail(facts, `cannot read it: ${withoutLocation(errorText(err), url)}`);
  } finally {
    await database.close();
  }
  return facts;
}

function errorText(err: unknown): string {
  return toDatabaseError(err)?.message ?? (err instanceof Error ? err.message : String(err));
}

/** The header line names the database: its causes need not name it again. */
function withoutLocation(message: string, url: string | undefined): string {
  return url === undefined ? message : message.replace(`cannot connect to DATABASE_URL ${describeUrl(url)}: `, 'cannot connect: ');
}

function fail(facts: DatabaseFacts, problem: string): DatabaseFacts {
  facts.ok = false;
  facts.problem = problem;
  facts.unread ??= 'the database could not be read';
  facts.lines.push(problem);
  return facts;
}

function openFailed(facts: DatabaseFacts, err: unknown, url: string | undefined): DatabaseFacts {
  if (err instanceof AppError && err.code === 'DB_NOT_FOUND') {
    facts.exists = false;
    facts.unread = 'no database yet';
    facts.lines.push('does not exist yet: the first `sync` or `demo` creates it');
    return facts;
  }
  if (err instanceof LockHeldError) {
    facts.reachable = true;
    facts.runInProgress = true;
    facts.unread = 'the embedded database is in use (a sync running?), so not read';
    facts.lines.push('in use by another process (a sync or schedule running?): not opened, migrations not read');
    return facts;
  }
  // The server answered, but has no database of that name: sync would not create it either.
  if (toDatabaseError(err)?.sqlstate === '3D000') {
    facts.reachable = true;
    facts.exists = false;
    facts.unread = 'the database does not exist';
    return fail(facts, 'no such database on that server (SQLSTATE 3D000): create it (createdb), or fix the name in DATABASE_URL');
  }
  facts.unread = 'the database could not be reached';
  // The db layer's messages name DATABASE_URL without its password, and give the cause.
  return fail(facts, withoutLocation(errorText(err), url));
}

/** False when the schema is missing or behind: reading runs would then say nothing useful. */
async function readMigrations(database: Database, facts: DatabaseFacts): Promise<boolean> {
  const shipped = shippedMigrations().length;
  let state;
  try {
    state = await readMigrationState(database);
  } catch (err) {
    // A login holding only metaaccess_reader may not read the migration bookkeeping.
    if (toDatabaseError(err)?.sqlstate !== '42501') throw err;
    facts.lines.push('migrations: this login may not read metaaccess.__drizzle_migrations (a reader?): not checked');
    return true;
  }
  facts.migrations = { applied: state.applied, shipped, latest: state.latest, pending: state.pending };
  // Like an embedded database not created yet: README runs check before the first sync.
  if (!state.initialized) {
    facts.unread = 'not migrated yet';
    facts.lines.push('not migrated yet: the first `sync` (or `migrate`) creates the schema; that login needs CREATE on the database');
    return false;
  }
  if (state.pending.length) {
    facts.unread = 'migrations pending';
    fail(
      facts,
      `migrations pending: ${state.pending.join(', ')} (${state.applied} of ${shipped} applied): run \`migrate\` as the schema owner`,
    );
    return false;
  }
  facts.lines.push(`migrated: ${state.applied} of ${shipped} migrations applied (latest ${state.latest})`);
  return true;
}

// locks.ts's run lock: pg_try_advisory_lock(0x6d657461 'meta', 1). Read from pg_locks, never taken.
const RUN_LOCK_HELD = sql`select exists (select 1 from pg_locks where locktype = 'advisory' and classid = ${0x6d657461}
  and objid = 1 and objsubid = 2 and granted) as held`;

async function readRuns(database: Database, facts: DatabaseFacts, embedded: boolean): Promise<void> {
  const [last] = await selectRecentRuns(database.db, 1);
  const succeeded = await selectLastSucceededRun(database.db);
  facts.lastDeviceCount = succeeded?.devicesSeen ?? null;
  facts.runsRead = true;
  if (last) facts.lastRun = { id: last.id, status: last.status, startedAt: last.startedAt.toISOString() };
  // Embedded: this process holds the directory's lock, so no sync can be running.
  facts.runInProgress = !embedded && Boolean((await queryRows<{ held: boolean }>(database.db, RUN_LOCK_HELD))[0]?.held);
  const lastText = last ? `last run ${last.id}: ${last.status}, started ${last.startedAt.toISOString()}` : 'no runs yet';
  const seen = succeeded ? `; last succeeded run saw ${succeeded.devicesSeen} devices` : '';
  facts.lines.push(`${lastText}${seen}`);
  if (facts.runInProgress) facts.lines.push('a sync is running now (it holds the run lock)');
  else if (last?.status === 'running')
    facts.lines.push(`run ${last.id} is marked running but holds no lock: it was interrupted (the next sync marks it abandoned)`);
}
