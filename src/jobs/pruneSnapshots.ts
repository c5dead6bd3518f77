import type { Database } from '../db/openDatabase.ts';
import { deleteSnapshotsBefore } from '../db/snapshotsStore.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';

export interface PruneDeps {
  database: Database;
  clock: Clock;
  logger: Logger;
  /** 0 keeps everything. */
  retentionDays: number;
  batchSize?: number;
}

export interface PruneResult {
  deleted: number;
  cutoff: Date | null;
}

/**
 * Snapshot retention: deletes snapshots older than the retention in bounded batches.
 * `sync_runs` and `compliance_daily` are kept, so the long-term trend survives.
 */
export async function pruneSnapshots(deps: PruneDeps): Promise<PruneResult> {
  if (deps.retentionDays === 0) return { deleted: 0, cutoff: null };
  const cutoff = new Date(deps.clock.now() - deps.retentionDays * 86_400_000);
  const batchSize = deps.batchSize ?? 10_000;
  let deleted = 0;
  for (;;) {
    const n = await deleteSnapshotsBefore(deps.database.db, cutoff, batchSize);
    deleted += n;
    if (n < batchSize) break;
  }
  if (deleted > 0) deps.logger.info('pruned snapshots', { deleted, cutoff: cutoff.toISOString(), retentionDays: deps.retentionDays });
  return { deleted, cutoff };
}
