import type { Command } from './command.ts';
import { describeDatabase, loadCommandConfig, withDatabase } from './context.ts';
import { parseFlags } from './flags.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations, then exit',
  help: `Usage: metaaccess-sync migrate

Applies the pending SQL migrations in migrations/ to the database (DATABASE_URL, or the
embedded PGlite database in ./data/pglite when unset), then exits. Safe to run from several
processes at once. \`sync\` and \`schedule\` also migrate when they start.

Exit codes: 0 ok, 1 failed, 2 bad configuration.
`,
  async run(args, ctx) {
    parseFlags(args, {});
    const { config, logger } = loadCommandConfig(ctx, false);
    await withDatabase(config, async () => undefined);
    logger.info('migrations applied', { database: describeDatabase(config) });
    return 0;
  },
};
