import { loadConfig, readEnvironment, type Config } from '../config/config.ts';
import { runMigrations } from '../db/migrate.ts';
import { openDatabase, type Database } from '../db/openDatabase.ts';
import { createLogger, type Logger } from '../lib/logger.ts';

/** What every command gets: parsed configuration, a logger, and the process streams. */
export interface CliContext {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTty: boolean;
  /** Aborted on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export function loadCommandConfig(ctx: CliContext, requireCredentials: boolean): { config: Config; logger: Logger } {
  const config = loadConfig(readEnvironment(ctx.env), { requireCredentials, isTty: ctx.isTty });
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, stream: ctx.stderr });
  return { config, logger };
}

/** Opens the configured database (migrated unless told otherwise) for the length of `fn`. */
export async function withDatabase<T>(config: Config, fn: (database: Database) => Promise<T>, options: { migrate?: boolean } = {}): Promise<T> {
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir });
  try {
    if (options.migrate !== false) await runMigrations(database, { timezone: config.sync.timezone });
    return await fn(database);
  } finally {
    await database.close();
  }
}

export function describeDatabase(config: Config): string {
  return config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.pgliteDir}`;
}
