import { loadConfig, readEnvironment, type Config } from '../config/config.ts';
import { readMigrationState, runMigrations } from '../db/migrate.ts';
import { openDatabase, type Database } from '../db/openDatabase.ts';
import { AppError, toDatabaseError } from '../lib/errors.ts';
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

/** Opens the configured database (migrated unless told otherwise) for the length of `fn`: for commands that write. */
export async function withDatabase<T>(
  config: Config,
  fn: (database: Database) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir });
  try {
    if (options.migrate !== false) await runMigrations(database, { timezone: config.sync.timezone });
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** What a reading command learnt about the schema before reading. */
export interface ReadableSchema {
  /** Shipped migrations the database lacks; undefined when this login may not read the migration table (a reader). */
  pending: string[] | undefined;
}

/**
 * Opens the configured database for a command that only reads (`runs`, `report`): it must exist
 * (an embedded one is never created) and already hold the schema; nothing is migrated, so a
 * login granted only metaaccess_reader can read. With migrations pending the command still
 * reads what it can, and a query that fails then says that the database is behind.
 */
export async function withExistingDatabase<T>(config: Config, fn: (database: Database, schema: ReadableSchema) => Promise<T>): Promise<T> {
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir, mustExist: true });
  try {
    const schema = await readableSchema(database);
    try {
      return await fn(database, schema);
    } catch (err) {
      if (!schema.pending?.length || err instanceof AppError) throw err;
      const reason = toDatabaseError(err)?.message ?? (err instanceof Error ? err.message : String(err));
      throw new AppError(
        'DB_NOT_MIGRATED',
        `${database.location} is not migrated to this version (pending: ${schema.pending.join(', ')}): run \`migrate\` (${reason})`,
        { cause: err },
      );
    }
  } finally {
    await database.close();
  }
}

async function readableSchema(database: Database): Promise<ReadableSchema> {
  try {
    const state = await readMigrationState(database);
    if (!state.initialized) throw noSchema(database);
    return { pending: state.pending };
  } catch (err) {
    if (err instanceof AppError) throw err;
    // The reader role may not read the migration bookkeeping: it reads the relations meant for it.
    if (toDatabaseError(err)?.sqlstate === '42501') return { pending: undefined };
    throw toDatabaseError(err) ?? err;
  }
}

export function noSchema(database: Database): AppError {
  return new AppError('DB_NO_SCHEMA', `${database.location} has no metaaccess schema: run \`migrate\` or \`sync\` first`);
}

/** A note for stderr when the schema is behind this release; empty when it is not (or cannot be known). */
export function pendingNote(command: string, schema: ReadableSchema): string {
  if (!schema.pending?.length) return '';
  return `metaaccess-sync ${command}: note: ${schema.pending.length} migration(s) pending (${schema.pending.join(', ')}): run \`migrate\`; reading what this version can\n`;
}

export function describeDatabase(config: Config): string {
  return config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.pgliteDir}`;
}
