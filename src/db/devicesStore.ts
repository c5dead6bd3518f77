import { and, count, desc, getTableColumns, isNull, notInArray, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { DeviceOsRow, DeviceRow, NetworkAdapterRow } from '../normalize/rows.ts';
import { queryRows, type Executor } from './openDatabase.ts';
import { renderOnce } from './renderOnce.ts';
import { deviceOs, devices, networkAdapters, rejectedRecords } from './schema.ts';

/**
 * The columns a row type fills, by its field names (rows.ts names them after the schema). Listing
 * every field is checked at compile time, and columns the rows do not carry keep their defaults.
 */
function rowColumns<Row>() {
  return <const K extends readonly (keyof Row & string)[]>(
    table: PgTable,
    keys: K & (Exclude<keyof Row, K[number]> extends never ? unknown : { missingFields: Exclude<keyof Row, K[number]> }),
  ): [string, PgColumn][] => {
    const columns = getTableColumns(table) as Record<string, PgColumn>;
    return keys.map((key): [string, PgColumn] => {
      const column = columns[key];
      if (!column) throw new Error(`row field ${key} has no column`);
      return [key, column];
    });
  };
}

/**
 * `json_to_recordset(<param>::json) as r("key" type, ...)`: a JSON array of rows, keyed by the
 * rows' TypeScript names, as a relation typed like the table. One parameter carries a whole page,
 * whatever its size (bind parameters are limited to 65,535), and serializing it is one native
 * JSON.stringify instead of a placeholder per value.
 */
function recordset(json: SQL, columns: [string, PgColumn][]): SQL {
  return sql`json_to_recordset(${json}::json) as r(${definitions(columns)})`;
}

/** `"key" type, ...`: a recordset's column definition list. */
const definitions = (columns: [string, PgColumn][]) =>
  sql.raw(columns.map(([key, column]) => `${JSON.stringify(key)} ${column.getSQLType()}`).join(', '));
/** The table's column names, in the rows' order. */
const names = (columns: [string, PgColumn][]) =>
  sql.join(
    columns.map(([, column]) => sql.identifier(column.name)),
    sql`, `,
  );
/** The recordset's fields (named after the rows' keys), in the same order. */
const fields = (columns: [string, PgColumn][]) =>
  sql.join(
    columns.map(([key]) => sql.identifier(key)),
    sql`, `,
  );

const DEVICE_FIELDS = rowColumns<DeviceRow>()(devices, [
  'hwid',
  'hostname',
  'nickname',
  'agentType',
  'agentVersion',
  'machineType',
  'country',
  'active',
  'status',
  'criticalStatus',
  'exempt',
  'totalIssue',
  'totalCriticalIssue',
  'lastSeen',
  'remediationLink',
  'userGroup',
  'loggedInUsername',
  'loggedInDomain',
  'raw',
  'contentHash',
]);
/** The device columns sent as a recordset; `raw` travels beside them as one jsonb array. */
const DEVICE_SCALARS = DEVICE_FIELDS.filter(([key]) => key !== 'raw');
const DEVICE_SCALAR_KEYS = DEVICE_SCALARS.map(([key]) => key);

/**
 * The page's devices as a relation: the typed columns from a recordset zipped, row by row, with
 * the raw records from a jsonb array. Embedding each raw record in the recordset's JSON would cost
 * PostgreSQL a second parse of it as text (see BENCHMARKS.md, "Not rerun this session", Ingest).
 */
function deviceRecordset(scalars: SQL, raws: SQL): SQL {
  const columns = sql.raw([...DEVICE_SCALAR_KEYS, 'raw'].map((key) => JSON.stringify(key)).join(', '));
  return sql`rows from (json_to_recordset(${scalars}::json) as (${definitions(DEVICE_SCALARS)}), jsonb_array_elements(${raws}::jsonb)) as r(${columns})`;
}

const OS_FIELDS = rowColumns<DeviceOsRow>()(deviceOs, [
  'hwid',
  'family',
  'name',
  'vendor',
  'version',
  'servicePackVersion',
  'architecture',
  'osLanguage',
  'userPasswordSet',
]);
const ADAPTER_FIELDS = rowColumns<NetworkAdapterRow>()(networkAdapters, ['hwid', 'position', 'macAddr', 'ipv4Addr', 'ipv6Addr']);

/**
 * The `set` list of an upsert: `column = excluded.column` for exactly the columns named. A column
 * added to a table keeps its value on conflict until it is named here. Each list must name every
 * field its row type carries besides the conflict key (checked at compile time): a field left out
 * would be stored at a device's first sighting and never updated.
 */
function setFromExcluded(columns: [string, PgColumn][]): SQL {
  return sql.join(
    columns.map(([, column]) => sql`${sql.identifier(column.name)} = excluded.${sql.identifier(column.name)}`),
    sql`, `,
  );
}

const DEVICE_UPDATE = setFromExcluded(
  rowColumns<Omit<DeviceRow, 'hwid'>>()(devices, [
    'hostname',
    'nickname',
    'agentType',
    'agentVersion',
    'machineType',
    'country',
    'active',
    'status',
    'criticalStatus',
    'exempt',
    'totalIssue',
    'totalCriticalIssue',
    'lastSeen',
    'remediationLink',
    'userGroup',
    'loggedInUsername',
    'loggedInDomain',
    'raw',
    'contentHash',
  ]),
);
const OS_UPDATE = setFromExcluded(
  rowColumns<Omit<DeviceOsRow, 'hwid'>>()(deviceOs, [
    'family',
    'name',
    'vendor',
    'version',
    'servicePackVersion',
    'architecture',
    'osLanguage',
    'userPasswordSet',
  ]),
);
const ADAPTER_UPDATE = setFromExcluded(
  rowColumns<Omit<NetworkAdapterRow, 'hwid' | 'position'>>()(networkAdapters, ['macAddr', 'ipv4Addr', 'ipv6Addr']),
);

/** The normalized rows of one page. */
export interface DevicePageRows {
  devices: DeviceRow[];
  os: DeviceOsRow[];
  adapters: NetworkAdapterRow[];
}

export interface PageChanges {
  /** New devices, and devices returning after they were marked removed. */
  added: number;
  /** Present devices whose content hash differs from the stored one. */
  changed: number;
}

/**
 * Stores a page in one statement (one round trip instead of six): devices upserted (seeing a
 * device clears its removal and misses), OS rows upserted or deleted for devices that stopped
 * reporting os_info, adapters replaced as a set (upserted by position, the rest deleted), and
 * added/changed counted against the state before the statement — every part of a statement sees
 * the same snapshot, and the foreign keys are checked when the whole statement has run. The parts
 * touch disjoint rows, so their order does not matter. hwids must be unique within the page (the
 * pager guarantees it). Run it inside the page's transaction.
 */
export async function storeDevicePage(db: Executor, page: DevicePageRows, runId: number, now: Date): Promise<PageChanges> {
  if (page.devices.length === 0) return { added: 0, changed: 0 };
  // Until the tables are analyzed, the planner prices this statement as if each hwid had
  // thousands of adapters; on a large table that crosses jit_above_cost, and compiling it costs
  // more than running it. For the page's transaction only.
  await db.execute(sql`set local jit = off`);
  const withOs = new Set(page.os.map((o) => o.hwid));
  const rows = await queryRows<PageChanges>(
    db,
    STORE_PAGE({
      devices: JSON.stringify(page.devices, DEVICE_SCALAR_KEYS),
      raws: JSON.stringify(page.devices.map((d) => d.raw)),
      os: JSON.stringify(page.os),
      adapters: JSON.stringify(page.adapters),
      hwids: page.devices.map((d) => d.hwid),
      withoutOs: page.devices.filter((d) => !withOs.has(d.hwid)).map((d) => d.hwid),
      now: now.toISOString(),
      runId,
    }),
  );
  const counts = rows[0];
  return { added: Number(counts?.added ?? 0), changed: Number(counts?.changed ?? 0) };
}

const STORE_PAGE = renderOnce(
  (p: (name: 'devices' | 'raws' | 'os' | 'adapters' | 'hwids' | 'withoutOs' | 'now' | 'runId') => SQL) => sql`
  with page as (select * from ${deviceRecordset(p('devices'), p('raws'))}),
  before as (
    select ${devices.hwid}, ${devices.contentHash}, ${devices.removedAt} from ${devices} where ${devices.hwid} = any(${p('hwids')}::text[])),
  upserted as (
    insert into ${devices} (${names(DEVICE_FIELDS)}, first_seen_at, last_synced_at, removed_at, first_run_id, last_run_id, missed_runs)
    select ${fields(DEVICE_FIELDS)}, ${p('now')}::timestamptz, ${p('now')}::timestamptz, null, ${p('runId')}::int, ${p('runId')}::int, 0 from page
    -- Seen again: its removal, its misses and what lookups found while it was missed are over.
    -- Its first sighting (first_seen_at, first_run_id) stays.
    on conflict (hwid) do update set ${DEVICE_UPDATE}, last_synced_at = excluded.last_synced_at, last_run_id = excluded.last_run_id,
      removed_at = null, missed_runs = 0, lookup_found_at = null),
  os_upserted as (
    insert into ${deviceOs} (${names(OS_FIELDS)}) select ${fields(OS_FIELDS)} from ${recordset(p('os'), OS_FIELDS)}
    on conflict (hwid) do update set ${OS_UPDATE}),
  os_deleted as (delete from ${deviceOs} where ${deviceOs.hwid} = any(${p('withoutOs')}::text[])),
  adapters as (select * from ${recordset(p('adapters'), ADAPTER_FIELDS)}),
  adapters_upserted as (
    insert into ${networkAdapters} (${names(ADAPTER_FIELDS)}) select ${fields(ADAPTER_FIELDS)} from adapters
    on conflict (hwid, position) do update set ${ADAPTER_UPDATE}),
  -- Driven by the page's hwids through the key, whatever the planner thinks of the table's size:
  -- a fresh table has no statistics, and a sequential scan per page makes a first sync quadratic.
  adapters_deleted as (
    delete from ${networkAdapters} where ctid = any(array(
      select stale.ctid from unnest(${p('hwids')}::text[]) as h(hwid)
      cross join lateral (select ctid, position from ${networkAdapters} a where a.hwid = h.hwid offset 0) as stale
      where not exists (select 1 from adapters n where n."hwid" = h.hwid and n."position" = stale.position))))
  select count(*) filter (where b.hwid is null or b.removed_at is not null)::int as added,
    count(*) filter (where b.removed_at is null and b.content_hash <> p."contentHash")::int as changed
  from page p left join before b on b.hwid = p."hwid"`,
);

export interface Rejection {
  reason: string;
  raw: unknown;
}

export async function insertRejectedRecords(db: Executor, runId: number, page: number, rejections: Rejection[]): Promise<void> {
  if (rejections.length === 0) return;
  await db.insert(rejectedRecords).values(rejections.map((r) => ({ runId, page, reason: r.reason, raw: r.raw ?? null })));
}

/** Refreshes the planner's statistics of `devices` (a sampled read, cheap whatever the fleet's size). */
export async function analyzeDevices(db: Executor): Promise<void> {
  // Through the owner's function: ANALYZE by a non-owner (the writer login) is skipped with a mere warning.
  await db.execute(sql`select metaaccess.analyze_devices()`);
}

export async function countPresentDevices(db: Executor): Promise<number> {
  const [row] = await db.select({ n: count() }).from(devices).where(isNull(devices.removedAt));
  return row?.n ?? 0;
}

/** A present device this run has not seen (yet), with what earlier runs found about it. */
export interface MissingDevice {
  hwid: string;
  /** Complete runs in a row whose list did not show it, before this one. */
  missedRuns: number;
  /** Device Details found it during that streak (the list hides it, the account still has it). */
  lookupFound: boolean;
}

/**
 * Present devices the sync (its runs: more than one when resumed) has not seen, in the order they
 * deserve a lookup: those no lookup has found yet first (missed longest first), then those found
 * longest ago — so when a run cannot afford to look every one up, the next run looks up others.
 */
export async function selectMissingDevices(db: Executor, runIds: number[]): Promise<MissingDevice[]> {
  const rows = await db
    .select({ hwid: devices.hwid, missedRuns: devices.missedRuns, lookupFoundAt: devices.lookupFoundAt })
    .from(devices)
    .where(and(isNull(devices.removedAt), notInArray(devices.lastRunId, runIds)))
    .orderBy(sql`${devices.lookupFoundAt} asc nulls first`, desc(devices.missedRuns), devices.hwid);
  return rows.map((r) => ({ hwid: r.hwid, missedRuns: r.missedRuns, lookupFound: r.lookupFoundAt !== null }));
}

/** How the devices a complete run missed are judged. */
export interface RemovalRule {
  /** Device Details answered 404: removed now. */
  gone: string[];
  /** Device Details still found them: kept, unless the list has not shown them for `archiveAtMisses` runs. */
  found: string[];
  /** Misses at which a device that no lookup found in its streak is removed (1: now; 2: next run too; null: never). */
  removeAtMisses: number | null;
  archiveAtMisses: number;
}

/**
 * Counts one more miss for every present device the run did not see and marks removed those the
 * rule condemns. Returns how many were removed, and which of them Device Details still found
 * (archived: the list has stopped showing them).
 */
export async function markMissingDevices(
  db: Executor,
  runIds: number[],
  now: Date,
  rule: RemovalRule,
): Promise<{ removed: number; archived: string[] }> {
  const at = now.toISOString();
  // sql.param: drizzle would spread a bare array into a list of parameters.
  const gone = sql`${devices.hwid} = any(${sql.param(rule.gone)}::text[])`;
  const found = sql`${devices.hwid} = any(${sql.param(rule.found)}::text[])`;
  const rows = await queryRows<{ removed: number; archived: string[] }>(
    db,
    sql`
    with missed as (
      update ${devices}
      set missed_runs = ${devices.missedRuns} + 1,
          lookup_found_at = case when ${found} then ${at}::timestamptz else ${devices.lookupFoundAt} end,
          removed_at = case
            when ${gone} then ${at}::timestamptz
            when ${found} then case when ${devices.missedRuns} + 1 >= ${rule.archiveAtMisses} then ${at}::timestamptz end
            when ${devices.lookupFoundAt} is null and ${devices.missedRuns} + 1 >= ${rule.removeAtMisses ?? 32767} then ${at}::timestamptz
          end
      where ${devices.removedAt} is null and ${devices.lastRunId} <> all(${sql.param(runIds)}::int[])
      returning ${devices.hwid} as hwid, removed_at, ${found} as found
    )
    select count(*) filter (where removed_at is not null)::int as removed,
      coalesce(array_agg(hwid order by hwid) filter (where removed_at is not null and found), '{}') as archived
    from missed`,
  );
  return { removed: Number(rows[0]?.removed ?? 0), archived: rows[0]?.archived ?? [] };
}
