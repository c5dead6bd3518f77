import type { Database, Db } from '../db/openDatabase.ts';
import {
  compactSnapshotPartition,
  deletePartitionRowsBefore,
  dropSnapshotPartition,
  listSnapshotPartitions,
  partitionPageCount,
  type SnapshotPartition,
} from '../db/partitions.ts';
import { dayIn } from '../lib/calendar.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';

export interface PruneDeps {
  database: Database;
  clock: Clock;
  logger: Logger;
  /** 0 keeps everything. */
  retentionDays: number;
  /** SYNC_TIMEZONE: snapshot days are days there (default UTC). */
  timezone?: string;
  /** Most rows one delete statement removes (default 10,000). */
  batchSize?: number;
  /** Most heap pages one delete statement reads (default 1,024, of 8 kB each). */
  pagesPerStatement?: number;
}

export interface PruneResult {
  /** Snapshots removed: the rows of dropped partitions plus those deleted one batch at a time. */
  deleted: number;
  /** Snapshots captured before this instant (a UTC midnight) are gone; null when retention is off. */
  cutoff: Date | null;
  /** Monthly partitions dropped whole. */
  droppedPartitions: string[];
  /** Months that ended and were rewritten in device order (once each). */
  compactedPartitions: string[];
}

/**
 * History housekeeping after each succeeded run (and the `prune` command).
 *
 * Retention, by day (in SYNC_TIMEZONE, the history's calendar): a snapshot is kept while its day is on or after the day `retentionDays`
 * ago. Months entirely before that day are dropped whole (no row-by-row delete, no bloat); in the
 * month holding it, the older days are deleted in bounded batches, so no statement runs long.
 * `sync_runs`, `snapshot_profiles` and `compliance_daily` are kept, so the long-term trend survives.
 *
 * Compaction: a month that has ended takes no more rows, so it is rewritten once in device order
 * (see compactSnapshotPartition): a device's history then reads a page or two per month.
 */
export async function pruneSnapshots(deps: PruneDeps): Promise<PruneResult> {
  const now = new Date(deps.clock.now());
  // Days of the history's one calendar (SYNC_TIMEZONE): a month is closed once it has ended there.
  const timezone = deps.timezone ?? 'UTC';
  const today = dayIn(now, timezone);
  const cutoffDay = deps.retentionDays === 0 ? null : dayIn(new Date(now.getTime() - deps.retentionDays * 86_400_000), timezone);
  const batchSize = deps.batchSize ?? 10_000;
  const { db } = deps.database;
  const result: PruneResult = {
    deleted: 0,
    cutoff: cutoffDay === null ? null : new Date(`${cutoffDay}T00:00:00Z`),
    droppedPartitions: [],
    compactedPartitions: [],
  };
  for (const partition of await listSnapshotPartitions(db)) {
    if (cutoffDay !== null && partition.to <= cutoffDay) {
      result.deleted += await dropSnapshotPartition(db, partition);
      result.droppedPartitions.push(partition.name);
      continue;
    }
    if (cutoffDay !== null && partition.from < cutoffDay) {
      result.deleted += await deleteOlderDays(db, partition, cutoffDay, { rows: batchSize, pages: deps.pagesPerStatement ?? 1024 });
    }
    if (partition.to <= today && !partition.compacted) {
      await compactSnapshotPartition(db, partition);
      result.compactedPartitions.push(partition.name);
    }
  }
  const { deleted, droppedPartitions, compactedPartitions } = result;
  if (deleted > 0 || droppedPartitions.length > 0) {
    deps.logger.info('pruned snapshots', {
      deleted,
      droppedPartitions,
      cutoff: result.cutoff?.toISOString(),
      retentionDays: deps.retentionDays,
    });
  }
  if (compactedPartitions.length > 0) deps.logger.info('compacted snapshot months', { compactedPartitions });
  return result;
}

/** The days before the cutoff in the month holding it: one pass over its pages, in short statements. */
async function deleteOlderDays(
  db: Db,
  partition: SnapshotPartition,
  cutoffDay: string,
  batch: { rows: number; pages: number },
): Promise<number> {
  const pageCount = await partitionPageCount(db, partition);
  let deleted = 0;
  for (let from = 0; from < pageCount; from += batch.pages) {
    const pages = { from, to: from + batch.pages };
    for (;;) {
      const n = await deletePartitionRowsBefore(db, partition, cutoffDay, pages, batch.rows);
      deleted += n;
      if (n < batch.rows) break;
    }
  }
  return deleted;
}
