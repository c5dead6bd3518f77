import { selectRecentRuns } from '../db/runs.ts';
import type { Command } from './command.ts';
import { loadCommandConfig, withDatabase } from './context.ts';
import { intFlag, parseFlags } from './flags.ts';
import { rowJson, runsTable } from './format.ts';

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list recent sync runs',
  help: `Usage: metaaccess-sync runs [--limit N] [--json]

Shows the most recent runs from metaaccess.sync_runs, newest first: status, trigger, duration,
pages, requests, 429s received, devices seen/added/changed/removed, rejected records, error.

Options:
  --limit N   how many runs (default 20, at most 1000)
  --json      print a JSON array to stdout instead of a table
`,
  async run(args, ctx) {
    const flags = parseFlags(args, { limit: { type: 'string' }, json: { type: 'boolean' } });
    const limit = intFlag(flags.limit, 'limit', 20, 1, 1000);
    const { config } = loadCommandConfig(ctx, false);
    const runs = await withDatabase(config, (database) => selectRecentRuns(database.db, limit));
    if (flags.json) ctx.stdout.write(JSON.stringify(runs.map(rowJson), null, 2) + '\n');
    else ctx.stdout.write(runs.length ? runsTable(runs) : 'no runs yet\n');
    return 0;
  },
};
