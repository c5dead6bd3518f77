/**
 * Shared set-up and invariant checks for the fault-matrix tests: a simulator, a fresh test
 * database, the CLI's environment, and one assertion helper that checks what every faulty run
 * must leave behind (nothing falsely removed, no trend rows from an unfinished run, the run row's
 * status and error in PostgreSQL's words, the exit code, no secret anywhere).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import pg from 'pg';
import { expect } from 'vitest';
import { createSimulator, type RateLimit, type Simulator } from '../../src/simulator/simulator.ts';
import { createRng, deriveSeed, randomChars, UPPER_ALNUM } from '../../src/simulator/rng.ts';
import { CLI, runCli, type CliResult } from './cli.ts';
import { TEST_CLIENT, TEST_TOKEN } from './harness.ts';
import { createTestDatabase, type TestDatabase } from './testDatabase.ts';

export { TEST_CLIENT, TEST_TOKEN };

export interface CaseOptions {
  devices: number;
  seed: number;
  /** OAuth client credentials instead of the static token. */
  oauth?: boolean;
  /** A strict sliding window on the simulator (429 beyond it). */
  rateLimit?: RateLimit;
  /** The CLI's METAACCESS_RATE_LIMIT / METAACCESS_RATE_WINDOW_MS (default 20 per 1000 ms). */
  cliRate?: { limit: number; windowMs: number };
  /** Open a database (default true). */
  database?: boolean;
}

export interface FaultCase {
  sim: Simulator;
  tdb: TestDatabase | undefined;
  /** The CLI's environment: DATABASE_URL, METAACCESS_URL, credentials, rate settings. */
  env: Record<string, string>;
  /** Whether `query` reaches a database (its tables are searched for secrets). */
  hasDatabase: boolean;
  /** Strings that must appear nowhere: the static token or the client secret and the tokens the simulator issued. */
  secrets: string[];
  /** Queries the test database on the test's own connections (application_name `faultmatrix-test`). */
  query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  sync(extraEnv?: Record<string, string>, options?: Parameters<typeof runCli>[2]): Promise<CliResult>;
}

type CleanUp = (task: () => Promise<unknown>) => void;

/** The first access tokens a simulator with this seed issues (its token generator is seeded). */
function issuedTokens(seed: number, n = 5): string[] {
  const rng = createRng(deriveSeed(seed, 'tokens'));
  return Array.from({ length: n }, () => randomChars(rng, 48, UPPER_ALNUM));
}

export async function openCase(cleanUp: CleanUp, options: CaseOptions): Promise<FaultCase> {
  const sim = createSimulator({
    devices: options.devices,
    seed: options.seed,
    auth: options.oauth ? TEST_CLIENT : { token: TEST_TOKEN },
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  await sim.start();
  cleanUp(() => sim.close());
  let tdb: TestDatabase | undefined;
  if (options.database !== false) {
    const database = await createTestDatabase();
    tdb = database;
    cleanUp(() => database.drop());
    // The helper's own pool is closed right away: its connections carry the product's
    // application_name, and the tests terminate backends by that name.
    await database.database.close();
  }
  const rate = options.cliRate ?? { limit: 20, windowMs: 1000 };
  const env: Record<string, string> = {
    METAACCESS_URL: sim.url,
    METAACCESS_RATE_LIMIT: String(rate.limit),
    METAACCESS_RATE_WINDOW_MS: String(rate.windowMs),
    ...(tdb ? { DATABASE_URL: tdb.url } : {}),
    ...(options.oauth
      ? { METAACCESS_CLIENT_ID: TEST_CLIENT.clientId, METAACCESS_CLIENT_SECRET: TEST_CLIENT.clientSecret }
      : { METAACCESS_ACCESS_TOKEN: TEST_TOKEN }),
  };
  const secrets = options.oauth ? [TEST_CLIENT.clientSecret, ...issuedTokens(options.seed)] : [TEST_TOKEN];
  return {
    sim,
    tdb,
    env,
    secrets,
    hasDatabase: tdb !== undefined,
    query: async <T extends pg.QueryResultRow>(text: string, params?: unknown[]) => {
      if (!tdb) throw new Error('this case has no database');
      return queryOnce<T>(tdb.url, text, params);
    },
    sync: (extraEnv = {}, runOptions = {}) => runCli(['sync', '--json'], { ...env, ...extraEnv }, { timeoutMs: 60_000, ...runOptions }),
  };
}

/**
 * One statement on a connection of its own, immune to the timeouts the tests set on the database
 * (idle_session_timeout, statement_timeout) and named apart from the product's connections.
 */
export async function queryOnce<T extends pg.QueryResultRow>(url: string, text: string, params?: unknown[]): Promise<T[]> {
  const client = new pg.Client({
    connectionString: url,
    application_name: 'faultmatrix-test',
    options: '-c idle_session_timeout=0 -c statement_timeout=0 -c lock_timeout=0',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What a run that does not complete must leave as it was. */
export interface Baseline {
  daily: string;
  runs: number;
}

export async function captureBaseline(c: FaultCase): Promise<Baseline> {
  const [daily] = await c.query<{ t: string | null }>(
    `select string_agg(d::text, E'\\n' order by day) as t from metaaccess.compliance_daily d`,
  );
  const [runs] = await c.query<{ n: number }>(`select count(*)::int as n from metaaccess.sync_runs`);
  return { daily: daily?.t ?? '', runs: runs!.n };
}

export interface RunRow {
  id: number;
  status: string;
  error_code: string | null;
  error: string | null;
  notes: string | null;
  pages: number;
  rate_limited: number;
  devices_seen: number;
  devices_removed: number;
}

export async function runRow(c: FaultCase, id?: number): Promise<RunRow> {
  const rows = await c.query<RunRow>(
    `select id, status, error_code, error, notes, pages, rate_limited, devices_seen, devices_removed from metaaccess.sync_runs
     where id = coalesce($1::int, (select max(id) from metaaccess.sync_runs))`,
    [id ?? null],
  );
  expect(rows, `sync_runs row ${id ?? '(latest)'}`).toHaveLength(1);
  return rows[0]!;
}

export const DB_ERROR_CODES = ['DB_STATEMENT_TIMEOUT', 'DB_CONNECTION_LOST', 'DB_UNREACHABLE', 'DB_QUERY_FAILED'];

/** SQL, or drizzle's wrapper around it: never in an error the operator reads. */
const SQL_TEXT = /Failed query|params:|\binsert\s+into\b|\bselect\s.+\bfrom\b|\bupdate\s+"?metaaccess|"metaaccess"\."|\bdelete\s+from\b/i;

export function expectNoSqlText(text: string | null | undefined, what = 'error text'): void {
  expect(text ?? '', `${what} holds SQL`).not.toMatch(SQL_TEXT);
}

/** The process ended on its own terms: no crash stack, no abort, a summary or a one-line error. */
export function expectNoCrash(result: CliResult): void {
  expect(result.signal, 'killed by a signal').toBeNull();
  expect(result.code, 'aborted (134: out of memory / abort)').not.toBe(134);
  expect(result.stderr).not.toMatch(/Unhandled 'error' event|UnhandledPromiseRejection|uncaughtException|FATAL ERROR|heap out of memory/);
  // A Node stack trace printed by a crash: lines of "    at fn (file:line:col)".
  expect(result.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  const summary = parseSummary(result);
  const errorLine = /^metaaccess-sync sync: error: .+$/m.test(result.stderr);
  expect(
    summary !== undefined || errorLine,
    `neither a summary on stdout nor a one-line error on stderr:\n${result.stdout}\n${result.stderr}`,
  ).toBe(true);
}

export function parseSummary(result: CliResult): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(result.stdout) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface Expectation {
  result: CliResult;
  exitCode: number;
  /** The run under test (default: the latest). */
  runId?: number;
  status: string | string[];
  errorCode?: string | string[] | null;
  /** Each must occur in the run row's error. */
  errorIncludes?: (string | RegExp)[];
  /** Set for a run that must leave the trend as it was (not succeeded). */
  baseline?: Baseline;
}

/**
 * The invariants of every case: (1) no device present in the simulator's list is marked removed;
 * (2) a run that did not succeed added no snapshot and changed no compliance_daily row;
 * (3) the run row's status, error code, and error in PostgreSQL's words (never SQL);
 * (4) the exit code; (5) no secret in stdout, stderr or any table.
 */
export async function expectInvariants(c: FaultCase, e: Expectation): Promise<RunRow> {
  const context = `exit ${e.result.code}\nstdout: ${e.result.stdout.slice(0, 3000)}\nstderr: ${e.result.stderr.slice(-3000)}`;
  // (4)
  expect(e.result.code, context).toBe(e.exitCode);
  // (1)
  await expectNoPresentDeviceRemoved(c);
  // (3)
  const row = await runRow(c, e.runId);
  expect([e.status].flat(), `run ${row.id}: ${JSON.stringify(row)}`).toContain(row.status);
  if (e.errorCode !== undefined) {
    if (e.errorCode === null) expect(row.error_code).toBeNull();
    else expect([e.errorCode].flat(), `run ${row.id}: ${JSON.stringify(row)}`).toContain(row.error_code);
  }
  for (const part of e.errorIncludes ?? []) {
    if (typeof part === 'string') expect(row.error ?? '').toContain(part);
    else expect(row.error ?? '').toMatch(part);
  }
  expectNoSqlText(row.error);
  expect(e.result.stdout + e.result.stderr, 'drizzle\'s "Failed query" wrapper in the output').not.toMatch(/Failed query|params:/);
  expect(row.error_code ?? '').not.toBe('INTERNAL');
  // (2)
  if (e.baseline) await expectTrendUnchanged(c, row.id, e.baseline);
  // (5)
  await expectNoSecrets(c, [e.result.stdout, e.result.stderr]);
  return row;
}

export async function expectNoPresentDeviceRemoved(c: FaultCase): Promise<void> {
  const present = new Set(c.sim.list().map((d) => String(d.hwid)));
  const removed = await c.query<{ hwid: string }>(`select hwid from metaaccess.devices where removed_at is not null`);
  expect(
    removed.map((r) => r.hwid).filter((h) => present.has(h)),
    'present devices marked removed',
  ).toEqual([]);
}

export async function expectTrendUnchanged(c: FaultCase, runId: number, baseline: Baseline): Promise<void> {
  const [snaps] = await c.query<{ n: number }>(`select count(*)::int as n from metaaccess.snapshots where run_id = $1`, [runId]);
  expect(snaps!.n, `snapshot rows of run ${runId}`).toBe(0);
  const [view] = await c.query<{ n: number }>(`select count(*)::int as n from metaaccess.device_snapshots where run_id = $1`, [runId]);
  expect(view!.n, `device_snapshots rows of run ${runId}`).toBe(0);
  const [daily] = await c.query<{ n: number }>(`select count(*)::int as n from metaaccess.compliance_daily where run_id = $1`, [runId]);
  expect(daily!.n, `compliance_daily rows of run ${runId}`).toBe(0);
  const now = await captureBaseline(c);
  expect(now.daily, 'compliance_daily changed').toBe(baseline.daily);
}

export async function expectNoSecrets(c: FaultCase, outputs: string[]): Promise<void> {
  const texts = [...outputs];
  if (c.hasDatabase) {
    for (const table of ['sync_runs', 'rejected_records']) {
      const [row] = await c.query<{ t: string | null }>(`select string_agg(x::text, E'\\n') as t from metaaccess.${table} x`);
      texts.push(row?.t ?? '');
    }
    const [raw] = await c.query<{ t: string | null }>(`select string_agg(raw::text, E'\\n') as t from metaaccess.devices`);
    texts.push(raw?.t ?? '');
  }
  for (const secret of c.secrets) {
    texts.forEach((text, i) => expect(text.includes(secret), `secret ${secret.slice(0, 6)}… found in output/table #${i}`).toBe(false));
  }
}

/** Devices pages the simulator answered with 200, optionally only those after log index `from`. */
export function servedPages(sim: Simulator, from = 0): number[] {
  return sim.log
    .slice(from)
    .filter((e) => e.path === 'devices' && e.status === 200)
    .map((e) => e.page!);
}

/** Terminates the product's backends on this test database; returns how many. */
export async function terminateBackends(c: FaultCase, appName: string | RegExp, exceptPids: number[] = []): Promise<number> {
  const rows = await c.query<{ pid: number; application_name: string }>(
    `select pid, application_name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
  );
  const targets = rows.filter(
    (r) => (typeof appName === 'string' ? r.application_name === appName : appName.test(r.application_name)) && !exceptPids.includes(r.pid),
  );
  for (const t of targets) await c.query(`select pg_terminate_backend($1)`, [t.pid]);
  return targets.length;
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether `unshare --pid --fork` works here (root, or user namespaces allowed). */
export function unshareWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('unshare', ['--pid', '--fork', 'true'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

export interface UnsharedCli {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** The host PID of the CLI (PID 1 inside its namespace), once forked. */
  cliPid(): number | undefined;
}

/** `unshare --pid --fork node dist/cli.js <args>`: the CLI runs as PID 1 of a new PID namespace. */
export function runUnsharedCli(args: string[], env: Record<string, string>, options: { cwd: string; timeoutMs?: number }): UnsharedCli {
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child=SIGKILL', process.execPath, CLI, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    cliPid: () => {
      try {
        const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number);
        return children[0];
      } catch {
        return undefined;
      }
    },
  };
}

/** The NSpid line of /proc/PID/status: the PID as seen from each namespace, outermost first. */
export function namespacePids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('NSpid:'));
  return line ? line.slice('NSpid:'.length).trim().split(/\s+/).map(Number) : [];
}
