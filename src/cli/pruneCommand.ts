import { pruneSnapshots } from '../jobs/pruneSnapshots.ts';
import { systemClock } from '../lib/clock.ts';
import type { Command } from './command.ts';
import { loadCommandConfig, withDatabase } from './context.ts';
import { parseFlags } from './flags.ts';

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'delete snapshots older than SNAPSHOT_RETENTION_DAYS',
  help: `Usage: metaaccess-sync prune [--json]

Deletes device snapshots captured more than SNAPSHOT_RETENTION_DAYS days ago (default 400;
0 keeps everything), in bounded batches so the table is never locked for long. sync_runs and
the compliance_daily figures are kept, so the long-term trend survives. Every succeeded run
also prunes on its own.

Options:
  --json   print {"deleted": N, "cutoff": "..."} to stdout
`,
  async run(args, ctx) {
    const flags = parseFlags(args, { json: { type: 'boolean' } });
    const { config, logger } = loadCommandConfig(ctx, false);
    const result = await withDatabase(config, (database) =>
      pruneSnapshots({ database, clock: systemClock, logger, retentionDays: config.sync.snapshotRetentionDays }));
    ctx.stdout.write(flags.json
      ? JSON.stringify({ deleted: result.deleted, cutoff: result.cutoff?.toISOString() ?? null }) + '\n'
      : result.cutoff ? `deleted ${result.deleted} snapshots captured before ${result.cutoff.toISOString()}\n` : 'SNAPSHOT_RETENTION_DAYS=0: all snapshots kept\n');
    return 0;
  },
};
