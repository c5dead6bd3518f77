import { pruneSnapshots } from '../jobs/pruneSnapshots.ts';
import { systemClock } from '../lib/clock.ts';
import type { Command } from './command.ts';
import { loadCommandConfig, withDatabase } from './context.ts';
import { parseFlags } from './flags.ts';

const months = (names: string[], what: string) => (names.length ? `; ${what}: ${names.join(', ')}` : '');

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'delete snapshots older than SNAPSHOT_RETENTION_DAYS',
  help: `Usage: metaaccess-sync prune [--json]

Deletes device snapshots of the UTC days before the day SNAPSHOT_RETENTION_DAYS days ago
(default 400; 0 keeps everything). Snapshots are stored in monthly partitions: a month entirely
past retention is dropped whole; in the month holding the cutoff, older days are deleted in
bounded batches so the table is never locked for long. sync_runs, snapshot_profiles and the
compliance_daily figures are kept, so the long-term trend survives. A month that has ended is
also rewritten once in device order (compaction), so one device's history reads few pages.
Every succeeded run also prunes on its own.

Options:
  --json   print {"deleted": N, "cutoff": "...", "droppedPartitions": [...], "compactedPartitions": [...]}
`,
  async run(args, ctx) {
    const flags = parseFlags(args, { json: { type: 'boolean' } });
    const { config, logger } = loadCommandConfig(ctx, false);
    const result = await withDatabase(config, (database) =>
      pruneSnapshots({
        database,
        clock: systemClock,
        logger,
        retentionDays: config.sync.snapshotRetentionDays,
        timezone: config.sync.timezone,
      }),
    );
    ctx.stdout.write(
      flags.json
        ? JSON.stringify({
            deleted: result.deleted,
            cutoff: result.cutoff?.toISOString() ?? null,
            droppedPartitions: result.droppedPartitions,
            compactedPartitions: result.compactedPartitions,
          }) + '\n'
        : (result.cutoff
            ? `deleted ${result.deleted} snapshots captured before ${result.cutoff.toISOString()}`
            : 'SNAPSHOT_RETENTION_DAYS=0: all snapshots kept')
            + months(result.droppedPartitions, 'months dropped whole')
            + months(result.compactedPartitions, 'months compacted')
            + '\n',
    );
    return 0;
  },
};
