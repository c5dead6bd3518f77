import { selectRecentRuns } from '../db/runs.ts';
import type { Command } from './command.ts';
import { loadCommandConfig, pendingNote, withExistingDatabase } from './context.ts';
import { intFlag, parseFlags } from './flags.ts';
import { rowJson, runsTable } from './format.ts';

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list recent sync runs',
  help: `Usage: metaaccess-sync runs [--limit N] [--json]

Shows the most recent runs from metaaccess.sync_runs, newest first: status, trigger, duration,
pages, requests, 429s received, devices seen/added/changed/removed, rejected records, error.
Reads only: it never creates a database or a schema and never migrates (a login granted only
metaaccess_reader may run it). The last line (stderr with --json) names the database read.

Options:
  --limit N   how many runs (default 20, at most 1000)
  --json      print a JSON array to stdout instead of a table

Exit codes: 0 ok, 1 failed (no database there, no metaaccess schema in it, or it cannot be read),
2 bad flags or configuration, 3 the embedded database is in use by another process.
`,
  async run(args, ctx) {
    const flags = parseFlags(args, { limit: { type: 'string' }, json: { type: 'boolean' } });
    const limit = intFlag(flags.limit, 'limit', 20, 1, 1000);
    const { config } = loadCommandConfig(ctx, false);
    const { runs, location } = await withExistingDatabase(config, async (database, schema) => {
      ctx.stderr.write(pendingNote('runs', schema));
      return { runs: await selectRecentRuns(database.db, limit), location: database.location };
    });
    if (flags.json) {
      ctx.stdout.write(JSON.stringify(runs.map(rowJson), null, 2) + '\n');
      ctx.stderr.write(`metaaccess-sync runs: read ${location}\n`);
    } else {
      ctx.stdout.write(`${runs.length ? runsTable(runs) : 'no runs yet\n'}(read ${location})\n`);
    }
    return 0;
  },
};
