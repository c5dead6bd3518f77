import { sql } from 'drizzle-orm';
import { AppError } from '../lib/errors.ts';
import { queryRows, type Db, type Executor } from './openDatabase.ts';

/** A monthly partition of `snapshots`: it holds the days `from` <= day < `to` ('YYYY-MM-DD'). */
export interface SnapshotPartition {
  name: string;
  from: string;
  to: string;
}

const PARTITION_NAME = /^snapshots_(\d{4})_(\d{2})$/;

/** The UTC calendar day of an instant, as 'YYYY-MM-DD' (the `day` of a snapshot). */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The first day of the month `offset` months after the month of `day`. */
export function monthStart(day: string, offset = 0): string {
  const [y, m] = day.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + offset, 1)).toISOString().slice(0, 10);
}

/** Parses a partition name made by create_snapshot_partition; other names give undefined. */
export function partitionOf(name: string): SnapshotPartition | undefined {
  const match = PARTITION_NAME.exec(name);
  if (!match) return undefined;
  const from = `${match[1]}-${match[2]}-01`;
  return { name, from, to: monthStart(from, 1) };
}

/**
 * Makes the partitions for the month of `day` (a run's day) and the next one, unless they exist (no DEFAULT
 * partition: a row for a missing month fails loudly). Called before a run's snapshot is inserted,
 * outside its transaction: creating a partition locks the parent, which should last an instant.
 * Creating the next month ahead means the run at a month's start normally creates nothing.
 * The function runs as the schema owner, so a worker logged in as the writer role can call it.
 */
export async function ensureSnapshotPartitions(db: Executor, day: string): Promise<string[]> {
  const names: string[] = [];
  for (const month of [monthStart(day), monthStart(day, 1)]) {
    const rows = await queryRows<{ name: string }>(db, sql`select metaaccess.create_snapshot_partition(${month}::date) as name`);
    names.push(rows[0]!.name);
  }
  return names;
}

/** A partition as stored: with its device_id index, and whether compaction has ordered it by device. */
export interface StoredPartition extends SnapshotPartition {
  deviceIndex: string | null;
  compacted: boolean;
}

/** The partitions of `snapshots` named by create_snapshot_partition, oldest first. */
export async function listSnapshotPartitions(db: Executor): Promise<StoredPartition[]> {
  const rows = await queryRows<{ name: string; deviceIndex: string | null; compacted: boolean | null }>(
    db,
    sql`
    select c.relname as name, x.index as "deviceIndex", x.clustered as compacted
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    left join lateral (
      select ix.relname as index, pi.indisclustered as clustered
      from pg_index pi join pg_class ix on ix.oid = pi.indexrelid join pg_inherits xi on xi.inhrelid = pi.indexrelid
      where pi.indrelid = c.oid and xi.inhparent = 'metaaccess.snapshots_device_id_idx'::regclass) x on true
    where i.inhparent = 'metaaccess.snapshots'::regclass`,
  );
  return rows
    .flatMap((r) => {
      const partition = partitionOf(r.name);
      return partition ? [{ ...partition, deviceIndex: r.deviceIndex, compacted: r.compacted === true }] : [];
    })
    .sort((a, b) => (a.from < b.from ? -1 : 1));
}

const table = (p: SnapshotPartition) => sql`metaaccess.${sql.identifier(p.name)}`;

/**
 * Drops a whole partition, returning how many snapshots it held. Through a function that runs as
 * the schema owner (a worker logged in as the writer role may not drop tables). Dropping a
 * partition locks the parent: a bounded wait, so a long BI query makes the prune fail (and retry
 * after the next run) instead of queueing every reader behind it.
 */
export async function dropSnapshotPartition(db: Db, p: SnapshotPartition): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local lock_timeout = '10s'`);
    const rows = await queryRows<{ n: string }>(tx, sql`select metaaccess.drop_snapshot_partition(${p.name}) as n`);
    return Number(rows[0]?.n ?? 0);
  });
}

/** Heap pages of a partition: the range its batched deletes walk through. */
export async function partitionPageCount(db: Executor, p: SnapshotPartition): Promise<number> {
  const rows = await queryRows<{ pages: string }>(
    db,
    sql`
    select pg_relation_size(${`metaaccess.${p.name}`}::regclass) / current_setting('block_size')::int as pages`,
  );
  return Number(rows[0]?.pages ?? 0);
}

/**
 * Deletes up to `limit` rows with `day` before `cutoffDay` from heap pages [pages.from, pages.to)
 * of one partition, in one short statement. Rows are found by ctid (the table has no key) with a
 * TID range scan, so a caller walking the pages in steps reads the partition once in all —
 * whether the old days sit together (a month in insert order) or are spread over every page
 * (a compacted month).
 */
export async function deletePartitionRowsBefore(
  db: Executor,
  p: SnapshotPartition,
  cutoffDay: string,
  pages: { from: number; to: number },
  limit: number,
): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`
    with deleted as (
      delete from ${table(p)}
      where ctid = any(array(
          select ctid from ${table(p)}
          where ctid >= ${`(${pages.from},0)`}::tid and ctid < ${`(${pages.to},0)`}::tid and day < ${cutoffDay}::date
          limit ${limit}))
        and day < ${cutoffDay}::date
      returning 1)
    select count(*)::int as n from deleted`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Rewrites a closed month ordered by device (CLUSTER on its device_id index, packed full: the
 * month takes no more rows). One device's month then sits on one or two heap pages instead of
 * one page per day, and the index shrinks by a third. Locks that one partition for the rewrite
 * (seconds for 100,000 devices); the wait for the lock is bounded like a drop's.
 */
export async function compactSnapshotPartition(db: Db, p: StoredPartition): Promise<void> {
  if (!p.deviceIndex) throw new AppError('SNAPSHOT_PARTITION_INVALID', `partition ${p.name} has no device_id index`);
  await db.transaction(async (tx) => {
    await tx.execute(sql`set local lock_timeout = '10s'`);
    // Locks, sets the fillfactor and clusters as the schema owner (CLUSTER and ALTER INDEX need it).
    await tx.execute(sql`select metaaccess.compact_snapshot_partition(${p.name})`);
  });
}
