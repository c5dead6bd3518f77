import { sql } from 'drizzle-orm';
import { queryRows, type Executor } from '../../src/db/openDatabase.ts';

/**
 * The status intervals and the change log recomputed the plain way — from every snapshot, in
 * TypeScript, one device at a time — as the reference the maintained tables must equal.
 * `removals` are the removals the test knows happened (device, run that removed it): a device
 * missing from some snapshots without one was only missed by those runs, and stays present.
 */
export interface IntervalRow {
  deviceId: number;
  status: number | null;
  criticalStatus: number | null;
  exempt: boolean | null;
  fromRun: number;
  toRun: number | null;
  firstRunId: number;
  lastRunId: number | null;
  /** The run whose finish is status_since. */
  sinceRun: number | null;
}

export interface ChangeRow {
  runId: number;
  deviceId: number;
  change: string;
  oldValue: string | null;
  newValue: string | null;
}

export interface Removal {
  deviceId: number;
  runId: number;
}

/** The change kinds a snapshot can show (the others — hostname, adapters… — snapshots do not keep). */
export const SNAPSHOT_CHANGES = [
  'added',
  'removed',
  'returned',
  'status',
  'critical_status',
  'exempt',
  'agent_version',
  'os_name',
  'os_version',
];

interface Snap {
  run_id: number;
  device_id: number;
  status: number | null;
  critical_status: number | null;
  exempt: boolean | null;
  agent_version: string | null;
  os_name: string | null;
  os_version: string | null;
}

type Scalar = string | number | boolean | null | undefined;
const text = (v: Scalar) => (v === null || v === undefined ? null : String(v));
const FIELDS = ['status', 'critical_status', 'exempt', 'agent_version', 'os_name', 'os_version'] as const;

export async function recomputeFromSnapshots(
  db: Executor,
  removals: Removal[] = [],
): Promise<{ intervals: IntervalRow[]; changes: ChangeRow[] }> {
  const runs = (
    await queryRows<{ id: number }>(
      db,
      sql`
    select id from metaaccess.sync_runs r where exists (select 1 from metaaccess.snapshots s where s.run_id = r.id) order by finished_at, id`,
    )
  ).map((r) => r.id);
  const seqOf = new Map(runs.map((id, i) => [id, i]));
  const snaps = await queryRows<Snap>(
    db,
    sql`
    select run_id, device_id, status, critical_status, exempt, agent_version, os_name, os_version from metaaccess.device_snapshots`,
  );
  const byDevice = new Map<number, Snap[]>();
  for (const s of snaps) byDevice.set(s.device_id, [...(byDevice.get(s.device_id) ?? []), s]);
  const intervals: IntervalRow[] = [];
  const changes: ChangeRow[] = [];
  for (const [deviceId, list] of byDevice) {
    list.sort((a, b) => seqOf.get(a.run_id)! - seqOf.get(b.run_id)!);
    const removedBetween = (after: number, upTo: number) =>
      removals.find((r) => r.deviceId === deviceId && seqOf.get(r.runId)! > after && seqOf.get(r.runId)! <= upTo);
    let open: IntervalRow | undefined;
    let prev: Snap | undefined;
    const close = (toRun: number, last: Snap) => {
      if (open) intervals.push({ ...open, toRun, lastRunId: last.run_id });
      const closed = open;
      open = undefined;
      return closed;
    };
    for (const s of list) {
      const seq = seqOf.get(s.run_id)!;
      const change = (kind: string, oldValue: Scalar = null, newValue: Scalar = null) =>
        changes.push({ runId: s.run_id, deviceId, change: kind, oldValue: text(oldValue), newValue: text(newValue) });
      let carried: IntervalRow | undefined;
      if (!prev) change('added');
      else {
        const removal = removedBetween(seqOf.get(prev.run_id)!, seq - 1);
        if (removal) {
          changes.push({ runId: removal.runId, deviceId, change: 'removed', oldValue: null, newValue: null });
          close(removal.runId, prev);
          change('returned');
        }
        for (const field of FIELDS) if (text(prev[field]) !== text(s[field])) change(field, prev[field], s[field]);
        if (!removal && (prev.status !== s.status || prev.critical_status !== s.critical_status || prev.exempt !== s.exempt)) {
          carried = close(s.run_id, prev);
        }
      }
      open ??= {
        deviceId,
        status: s.status,
        criticalStatus: s.critical_status,
        exempt: s.exempt,
        fromRun: s.run_id,
        toRun: null,
        firstRunId: s.run_id,
        lastRunId: null,
        sinceRun: carried && carried.status === s.status ? carried.sinceRun : s.run_id,
      };
      prev = s;
    }
    const removal = removedBetween(seqOf.get(prev!.run_id)!, runs.length - 1);
    if (removal) {
      changes.push({ runId: removal.runId, deviceId, change: 'removed', oldValue: null, newValue: null });
      close(removal.runId, prev!);
    }
    if (open) intervals.push(open);
  }
  return { intervals: sortIntervals(intervals), changes: sortChanges(changes) };
}

/** The maintained tables, in the same shape (interval ends as run ids). */
export async function storedHistory(db: Executor, kinds = SNAPSHOT_CHANGES): Promise<{ intervals: IntervalRow[]; changes: ChangeRow[] }> {
  const intervals = await queryRows<IntervalRow>(
    db,
    sql`
    select device_id as "deviceId", status, critical_status as "criticalStatus", exempt,
      (select id from metaaccess.sync_runs r where r.finished_at = i.valid_from) as "fromRun",
      (select id from metaaccess.sync_runs r where r.finished_at = i.valid_to) as "toRun",
      first_run_id as "firstRunId", last_run_id as "lastRunId",
      (select id from metaaccess.sync_runs r where r.finished_at = i.status_since) as "sinceRun"
    from metaaccess.device_status_intervals i`,
  );
  const changes = await queryRows<ChangeRow>(
    db,
    sql`
    select run_id as "runId", device_id as "deviceId", change, old_value as "oldValue", new_value as "newValue"
    from metaaccess.device_changes where change = any(${sql.param(kinds)}::text[])`,
  );
  return { intervals: sortIntervals(intervals), changes: sortChanges(changes) };
}

const sortIntervals = (rows: IntervalRow[]) => [...rows].sort((a, b) => a.deviceId - b.deviceId || a.fromRun - b.fromRun);
const sortChanges = (rows: ChangeRow[]) =>
  [...rows].sort(
    (a, b) =>
      a.runId - b.runId
      || a.deviceId - b.deviceId
      || (a.change < b.change ? -1 : a.change > b.change ? 1 : 0)
      || String(a.oldValue ?? a.newValue).localeCompare(String(b.oldValue ?? b.newValue)),
  );
