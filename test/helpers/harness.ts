import type { SQL } from 'drizzle-orm';
import { afterEach } from 'vitest';
import type { Config } from '../../src/config/config.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { queryRows } from '../../src/db/openDatabase.ts';
import { runSync, type SyncSettings } from '../../src/jobs/runSync.ts';
import { systemClock, type Clock } from '../../src/lib/clock.ts';
import { createLogger, type Logger } from '../../src/lib/logger.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.ts';
import { createSource, type Source } from '../../src/source/createSource.ts';
import { createTestDatabase, type TestDatabase } from './testDatabase.ts';
import { Writable } from 'node:stream';

export const TEST_TOKEN = 'static-token-7f3a9c1e5b';
export const TEST_CLIENT = { clientId: 'client-abc', clientSecret: 'client-secret-5d8e2f' };

/** Collects log lines so tests can assert on them (and that no secret is among them). */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  }
  get text() {
    return this.lines.join('\n');
  }
}

export interface HarnessOptions {
  simulator?: SimulatorOptions;
  api?: Partial<Config['api']>;
  settings?: Partial<SyncSettings>;
}

export interface Harness {
  sim: Simulator;
  tdb: TestDatabase;
  logs: LogCapture;
  logger: Logger;
  apiConfig: Config['api'];
  /** A new source per run, as the CLI does. */
  makeSource(): Source;
  /** `clock`: the run's time (e.g. shifted to a given night); requests still go out in real time. */
  sync(options?: { settings?: Partial<SyncSettings>; signal?: AbortSignal; source?: Source; clock?: Clock }): ReturnType<typeof runSync>;
  close(): Promise<void>;
}

/** Simulator + fresh migrated database + a sync wired like the CLI's, with fast retries. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = createSimulator({ auth: { token: TEST_TOKEN }, ...options.simulator });
  await sim.start();
  const tdb = await createTestDatabase();
  await runMigrations(tdb.database);
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', format: 'json', stream: logs });
  const apiConfig: Config['api'] = {
    url: sim.url,
    credentials: { kind: 'token', accessToken: TEST_TOKEN },
    rateLimit: 1000,
    rateWindowMs: 1000,
    pageSize: 50,
    timeoutMs: 5000,
    maxRetries: 5,
    maxResponseBytes: 16 * 1024 * 1024,
    allowInsecure: false,
    insecure: false,
    ...options.api,
  };
  const makeSource = () => createSource(apiConfig, { clock: systemClock, logger, backoff: { baseMs: 5, capMs: 40 } });
  return {
    sim,
    tdb,
    logs,
    logger,
    apiConfig,
    makeSource,
    sync: (o = {}) =>
      runSync({
        database: tdb.database,
        source: o.source ?? makeSource(),
        clock: o.clock ?? systemClock,
        logger,
        trigger: 'test',
        settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: 'UTC', ...options.settings, ...o.settings },
        ...(o.signal ? { signal: o.signal } : {}),
      }),
    close: async () => {
      await sim.close();
      await tdb.drop();
    },
  };
}

/**
 * Cleanup that runs after each test, newest first: register what a test opens (a simulator, a
 * database) as it opens it, so a failing assertion never leaves it behind.
 */
export function cleanUpAfterEach(): (task: () => Promise<unknown>) => void {
  const tasks: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (tasks.length > 0) await tasks.pop()!();
  });
  return (task) => void tasks.push(task);
}

/**
 * One harness per test, closed after it: `const t = harnessPerTest()` at the top of a file, then
 * `h = await t.start(options)` in a test; `t.rows` queries the current test's database.
 */
export function harnessPerTest() {
  let current: Harness | undefined;
  const cleanUp = cleanUpAfterEach();
  return {
    async start(options?: HarnessOptions): Promise<Harness> {
      const harness = await startHarness(options);
      current = harness;
      cleanUp(() => harness.close());
      return harness;
    },
    rows: <T>(query: SQL): Promise<T[]> => queryRows<T>(current!.tdb.database.db, query),
  };
}
