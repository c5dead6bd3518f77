import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  inet,
  integer,
  jsonb,
  macaddr,
  pgSchema,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

/** Everything the worker owns lives in one schema, so it can share a database with BI tools. */
export const metaaccess = pgSchema('metaaccess');

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const syncRuns = metaaccess.table(
  'sync_runs',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    startedAt: tstz('started_at').notNull(),
    finishedAt: tstz('finished_at'),
    status: text('status').notNull(),
    trigger: text('trigger').notNull(),
    pages: integer('pages').notNull().default(0),
    requests: integer('requests').notNull().default(0),
    retries: integer('retries').notNull().default(0),
    rateLimited: integer('rate_limited').notNull().default(0),
    rateLimitWaitMs: integer('rate_limit_wait_ms').notNull().default(0),
    devicesSeen: integer('devices_seen').notNull().default(0),
    devicesAdded: integer('devices_added').notNull().default(0),
    devicesChanged: integer('devices_changed').notNull().default(0),
    devicesRemoved: integer('devices_removed').notNull().default(0),
    recordsRejected: integer('records_rejected').notNull().default(0),
    errorCode: text('error_code'),
    error: text('error'),
    notes: text('notes'),
    recentRequests: jsonb('recent_requests').$type<number[]>(),
    endPage: integer('end_page'),
    nextPage: integer('next_page'),
    attemptOf: integer('attempt_of'),
    resumedFrom: integer('resumed_from'),
    resumePage: integer('resume_page'),
  },
  (t) => [
    check('sync_runs_status_check', sql`${t.status} in ('running', 'succeeded', 'incomplete', 'failed', 'cancelled', 'abandoned')`),
    index('sync_runs_status_idx').on(t.status, t.id),
  ],
);

export const devices = metaaccess.table(
  'devices',
  {
    hwid: text('hwid').primaryKey(),
    id: integer('id').notNull().unique().generatedAlwaysAsIdentity(),
    hostname: text('hostname'),
    nickname: text('nickname'),
    agentType: text('agent_type'),
    agentVersion: text('agent_version'),
    machineType: text('machine_type'),
    country: text('country'),
    active: boolean('active'),
    status: smallint('status'),
    criticalStatus: smallint('critical_status'),
    exempt: boolean('exempt'),
    totalIssue: integer('total_issue'),
    totalCriticalIssue: integer('total_critical_issue'),
    lastSeen: tstz('last_seen'),
    remediationLink: text('remediation_link'),
    userGroup: text('user_group'),
    loggedInUsername: text('logged_in_username'),
    loggedInDomain: text('logged_in_domain'),
    raw: jsonb('raw').notNull(),
    contentHash: text('content_hash').notNull(),
    firstSeenAt: tstz('first_seen_at').notNull(),
    lastSyncedAt: tstz('last_synced_at').notNull(),
    removedAt: tstz('removed_at'),
    firstRunId: integer('first_run_id').notNull(),
    lastRunId: integer('last_run_id').notNull(),
    missedRuns: smallint('missed_runs').notNull().default(0),
    lookupFoundAt: tstz('lookup_found_at'),
  },
  (t) => [index('devices_last_run_id_idx').on(t.lastRunId)],
);

export const deviceOs = metaaccess.table('device_os', {
  hwid: text('hwid')
    .primaryKey()
    .references(() => devices.hwid, { onDelete: 'cascade' }),
  family: text('family'),
  name: text('name'),
  vendor: text('vendor'),
  version: text('version'),
  servicePackVersion: text('service_pack_version'),
  architecture: text('architecture'),
  osLanguage: text('os_language'),
  userPasswordSet: boolean('user_password_set'),
});

export const networkAdapters = metaaccess.table(
  'network_adapters',
  {
    hwid: text('hwid')
      .notNull()
      .references(() => devices.hwid, { onDelete: 'cascade' }),
    position: smallint('position').notNull(),
    macAddr: macaddr('mac_addr'),
    ipv4Addr: inet('ipv4_addr'),
    ipv6Addr: inet('ipv6_addr'),
  },
  (t) => [primaryKey({ columns: [t.hwid, t.position] })],
);

/**
 * Distinct compliance states: a snapshot row points at one instead of repeating its fields, so
 * this table grows with the states a fleet passes through, not with devices × runs (see
 * BENCHMARKS.md, "History at scale"). See snapshotsStore.ts for how `fingerprint` is computed.
 */
export const snapshotProfiles = metaaccess.table('snapshot_profiles', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  fingerprint: uuid('fingerprint').notNull().unique(),
  status: smallint('status'),
  criticalStatus: smallint('critical_status'),
  exempt: boolean('exempt'),
  active: boolean('active'),
  totalIssue: integer('total_issue'),
  totalCriticalIssue: integer('total_critical_issue'),
  agentVersion: text('agent_version'),
  osName: text('os_name'),
  osVersion: text('os_version'),
});

/**
 * One row per device per succeeded run: 48-byte tuples (columns ordered for alignment), no
 * primary key and no foreign keys — the single writer guarantees (run_id, device_id) is unique.
 * Partitioned by month on `day` (hand-edited in migrations/0003: drizzle-kit cannot declare it);
 * partitions are made by partitions.ts and dropped whole by retention.
 */
export const snapshots = metaaccess.table(
  'snapshots',
  {
    lastSeen: tstz('last_seen'),
    day: date('day', { mode: 'string' }).notNull(),
    runId: integer('run_id').notNull(),
    deviceId: integer('device_id').notNull(),
    profileId: integer('profile_id').notNull(),
  },
  (t) => [index('snapshots_device_id_idx').on(t.deviceId), index('snapshots_day_idx').using('brin', t.day)],
);

/** The history as SQL and BI users read it (created in migrations/0004; drizzle-kit leaves it alone). */
export const deviceSnapshots = metaaccess
  .view('device_snapshots', {
    runId: integer('run_id').notNull(),
    deviceId: integer('device_id').notNull(),
    hwid: text('hwid').notNull(),
    capturedAt: tstz('captured_at').notNull(),
    status: smallint('status'),
    criticalStatus: smallint('critical_status'),
    exempt: boolean('exempt'),
    active: boolean('active'),
    totalIssue: integer('total_issue'),
    totalCriticalIssue: integer('total_critical_issue'),
    agentVersion: text('agent_version'),
    osName: text('os_name'),
    osVersion: text('os_version'),
    lastSeen: tstz('last_seen'),
    day: date('day', { mode: 'string' }).notNull(),
  })
  .existing();

export const rejectedRecords = metaaccess.table(
  'rejected_records',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: integer('run_id')
      .notNull()
      .references(() => syncRuns.id, { onDelete: 'cascade' }),
    page: integer('page').notNull(),
    reason: text('reason').notNull(),
    raw: jsonb('raw'),
  },
  (t) => [index('rejected_records_run_id_idx').on(t.runId)],
);

export const complianceDaily = metaaccess.table('compliance_daily', {
  day: date('day', { mode: 'string' }).primaryKey(),
  runId: integer('run_id')
    .notNull()
    .references(() => syncRuns.id),
  capturedAt: tstz('captured_at').notNull(),
  devices: integer('devices').notNull(),
  compliant: integer('compliant').notNull(),
  nonCompliant: integer('non_compliant').notNull(),
  inProgress: integer('in_progress').notNull(),
  critical: integer('critical').notNull(),
  exempt: integer('exempt').notNull(),
  active: integer('active').notNull(),
});

/** Labels of the codes, for BI tools to join instead of re-typing the mapping (rows in migrations/0007). */
export const statusLabels = metaaccess.table('status_labels', {
  status: smallint('status').primaryKey(),
  label: text('label').notNull(),
  description: text('description').notNull(),
});

export const criticalStatusLabels = metaaccess.table('critical_status_labels', {
  criticalStatus: smallint('critical_status').primaryKey(),
  label: text('label').notNull(),
});

export const exemptLabels = metaaccess.table('exempt_labels', {
  exempt: boolean('exempt').primaryKey(),
  label: text('label').notNull(),
});

export const activeLabels = metaaccess.table('active_labels', {
  active: boolean('active').primaryKey(),
  label: text('label').notNull(),
});

export const changeKinds = metaaccess.table('change_kinds', {
  change: text('change').primaryKey(),
  description: text('description').notNull(),
});

/**
 * Each device's state as of the last succeeded run that saw it: what the change log diffs a new
 * run against. Storage (not for BI): only rows that changed are written, so a calm night costs a
 * scan, not an update per device. A run that does not succeed leaves it alone, so what a
 * cancelled run changed is logged by the next run that succeeds.
 */
export const deviceState = metaaccess.table('device_state', {
  deviceId: integer('device_id')
    .primaryKey()
    .references(() => devices.id),
  present: boolean('present').notNull(),
  runId: integer('run_id')
    .notNull()
    .references(() => syncRuns.id),
  status: smallint('status'),
  criticalStatus: smallint('critical_status'),
  exempt: boolean('exempt'),
  hostname: text('hostname'),
  osFamily: text('os_family'),
  osName: text('os_name'),
  osVersion: text('os_version'),
  machineType: text('machine_type'),
  agentVersion: text('agent_version'),
  macs: text('macs').array().notNull(),
  ips: text('ips').array().notNull(),
});

/** The change log: one row per thing that changed about a device in a succeeded run. */
export const deviceChanges = metaaccess.table(
  'device_changes',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: integer('run_id')
      .notNull()
      .references(() => syncRuns.id),
    day: date('day', { mode: 'string' }).notNull(),
    changedAt: tstz('changed_at').notNull(),
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id),
    change: text('change')
      .notNull()
      .references(() => changeKinds.change),
    oldValue: text('old_value'),
    newValue: text('new_value'),
  },
  (t) => [
    index('device_changes_day_idx').on(t.day, t.change),
    index('device_changes_device_idx').on(t.deviceId, t.changedAt),
    index('device_changes_run_idx').on(t.runId),
    // "How often": status changes per device over a period, read from the index alone.
    index('device_changes_status_day_idx')
      .on(t.day, t.deviceId)
      .where(sql`${t.change} = 'status'`),
  ],
);

/** Status intervals (SCD type 2): how long each device held each compliance state. */
export const deviceStatusIntervals = metaaccess.table(
  'device_status_intervals',
  {
    deviceId: integer('device_id')
      .notNull()
      .references(() => devices.id),
    validFrom: tstz('valid_from').notNull(),
    validTo: tstz('valid_to'),
    status: smallint('status'),
    criticalStatus: smallint('critical_status'),
    exempt: boolean('exempt'),
    firstRunId: integer('first_run_id')
      .notNull()
      .references(() => syncRuns.id),
    lastRunId: integer('last_run_id').references(() => syncRuns.id),
    /** Start of the unbroken run of this `status` this interval belongs to ("non-compliant since"). */
    statusSince: tstz('status_since').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.deviceId, t.validFrom] }),
    index('device_status_intervals_current_idx')
      .on(t.status, t.statusSince)
      .where(sql`${t.validTo} is null`),
    index('device_status_intervals_from_idx').on(t.validFrom),
  ],
);
