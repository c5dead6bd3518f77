import { readMigrationState, runMigrations } from '../db/migrate.ts';
import { openDatabase } from '../db/openDatabase.ts';
import type { Command } from './command.ts';
import { loadCommandConfig } from './context.ts';
import { parseFlags } from './flags.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations, then exit',
  help: `Usage: metaaccess-sync migrate

Applies the pending SQL migrations in migrations/ to the database (DATABASE_URL, or the
embedded PGlite database in ./data/pglite when unset), then exits; the log line says which were
applied, or that the database was already up to date. Safe to run from several processes at
once. \`sync\` and \`schedule\` also migrate when they start.

Exit codes: 0 ok, 1 failed, 2 bad configuration.
`,
  async run(args, ctx) {
    parseFlags(args, {});
    const { config, logger } = loadCommandConfig(ctx, false);
    const database = await openDatabase({ url: config.databaseUrl, pgliteDir: config.pgliteDir });
    try {
      // Read first, so the log says what this run changed rather than what it was asked to do.
      const { pending, latest } = await readMigrationState(database);
      await runMigrations(database, { timezone: config.sync.timezone });
      if (pending.length)
        logger.info(`applied ${pending.length} migration(s), now at ${latest}`, { database: database.location, applied: pending });
      else logger.info(`already up to date (${latest})`, { database: database.location });
    } finally {
      await database.close();
    }
    return 0;
  },
};
