CREATE TABLE "metaaccess"."active_labels" (
	"active" boolean PRIMARY KEY NOT NULL,
	"label" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."change_kinds" (
	"change" text PRIMARY KEY NOT NULL,
	"description" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."critical_status_labels" (
	"critical_status" smallint PRIMARY KEY NOT NULL,
	"label" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."device_changes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "metaaccess"."device_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"run_id" integer NOT NULL,
	"day" date NOT NULL,
	"changed_at" timestamp with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"change" text NOT NULL,
	"old_value" text,
	"new_value" text
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."device_state" (
	"device_id" integer PRIMARY KEY NOT NULL,
	"present" boolean NOT NULL,
	"run_id" integer NOT NULL,
	"status" smallint,
	"critical_status" smallint,
	"exempt" boolean,
	"hostname" text,
	"os_family" text,
	"os_name" text,
	"os_version" text,
	"machine_type" text,
	"agent_version" text,
	"macs" text[] NOT NULL,
	"ips" text[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."device_status_intervals" (
	"device_id" integer NOT NULL,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_to" timestamp with time zone,
	"status" smallint,
	"critical_status" smallint,
	"exempt" boolean,
	"first_run_id" integer NOT NULL,
	"last_run_id" integer,
	"status_since" timestamp with time zone NOT NULL,
	CONSTRAINT "device_status_intervals_device_id_valid_from_pk" PRIMARY KEY("device_id","valid_from")
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."exempt_labels" (
	"exempt" boolean PRIMARY KEY NOT NULL,
	"label" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."status_labels" (
	"status" smallint PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"description" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "metaaccess"."device_changes" ADD CONSTRAINT "device_changes_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "metaaccess"."sync_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_changes" ADD CONSTRAINT "device_changes_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "metaaccess"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_changes" ADD CONSTRAINT "device_changes_change_change_kinds_change_fk" FOREIGN KEY ("change") REFERENCES "metaaccess"."change_kinds"("change") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_state" ADD CONSTRAINT "device_state_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "metaaccess"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_state" ADD CONSTRAINT "device_state_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "metaaccess"."sync_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_status_intervals" ADD CONSTRAINT "device_status_intervals_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "metaaccess"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_status_intervals" ADD CONSTRAINT "device_status_intervals_first_run_id_sync_runs_id_fk" FOREIGN KEY ("first_run_id") REFERENCES "metaaccess"."sync_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_status_intervals" ADD CONSTRAINT "device_status_intervals_last_run_id_sync_runs_id_fk" FOREIGN KEY ("last_run_id") REFERENCES "metaaccess"."sync_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "device_changes_day_idx" ON "metaaccess"."device_changes" USING btree ("day","change");--> statement-breakpoint
CREATE INDEX "device_changes_device_idx" ON "metaaccess"."device_changes" USING btree ("device_id","changed_at");--> statement-breakpoint
CREATE INDEX "device_changes_run_idx" ON "metaaccess"."device_changes" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "device_changes_status_day_idx" ON "metaaccess"."device_changes" USING btree ("day","device_id") WHERE "metaaccess"."device_changes"."change" = 'status';--> statement-breakpoint
CREATE INDEX "device_status_intervals_current_idx" ON "metaaccess"."device_status_intervals" USING btree ("status","status_since") WHERE "metaaccess"."device_status_intervals"."valid_to" is null;--> statement-breakpoint
CREATE INDEX "device_status_intervals_from_idx" ON "metaaccess"."device_status_intervals" USING btree ("valid_from");--> statement-breakpoint
ALTER TABLE "metaaccess"."compliance_daily" ADD CONSTRAINT "compliance_daily_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "metaaccess"."sync_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Hand-written below: labels, one calendar, the history backfill, BI views, the reader role.
-- The calendar's time zone is SYNC_TIMEZONE, set for this session by runMigrations (UTC if unset).
CREATE TEMP TABLE "migration_calendar" AS SELECT coalesce(nullif(current_setting('metaaccess.timezone', true), ''), 'UTC') AS tz;
--> statement-breakpoint
INSERT INTO "metaaccess"."status_labels" ("status", "label", "description") VALUES
  (0, 'compliant', 'The device meets every compliance policy'),
  (1, 'not compliant', 'The device fails at least one compliance policy'),
  (3, 'still reporting', 'The agent has not finished reporting; compliance not yet known');
--> statement-breakpoint
INSERT INTO "metaaccess"."critical_status_labels" ("critical_status", "label") VALUES (0, 'no critical issues'), (1, 'critical issues');
--> statement-breakpoint
INSERT INTO "metaaccess"."exempt_labels" ("exempt", "label") VALUES (false, 'not exempt'), (true, 'exempt');
--> statement-breakpoint
INSERT INTO "metaaccess"."active_labels" ("active", "label") VALUES (false, 'disconnected'), (true, 'connected');
--> statement-breakpoint
INSERT INTO "metaaccess"."change_kinds" ("change", "description") VALUES
  ('added', 'First seen by a succeeded run'),
  ('removed', 'Removed from the account (no longer listed, and confirmed)'),
  ('returned', 'Listed again after it had been removed'),
  ('status', 'Compliance status changed (old_value/new_value: status codes, see status_labels)'),
  ('critical_status', 'Critical status changed (see critical_status_labels)'),
  ('exempt', 'Exemption changed (true/false)'),
  ('hostname', 'Hostname changed'),
  ('os_family', 'OS family changed'),
  ('os_name', 'OS name changed'),
  ('os_version', 'OS version changed'),
  ('machine_type', 'Machine type changed'),
  ('agent_version', 'MetaAccess agent version changed'),
  ('mac_added', 'A network adapter MAC address appeared (new_value)'),
  ('mac_removed', 'A network adapter MAC address disappeared (old_value)'),
  ('ip_added', 'An IPv4/IPv6 address appeared (new_value)'),
  ('ip_removed', 'An IPv4/IPv6 address disappeared (old_value)');
--> statement-breakpoint
-- One calendar: a snapshot's day was the UTC day its run finished; it becomes the day in the time zone.
SELECT "metaaccess"."create_snapshot_partition"(d.day)
FROM (SELECT DISTINCT (r.finished_at AT TIME ZONE c.tz)::date AS day FROM "metaaccess"."sync_runs" r, "migration_calendar" c
      WHERE r.status = 'succeeded' AND r.finished_at IS NOT NULL) d;
--> statement-breakpoint
UPDATE "metaaccess"."snapshots" s SET "day" = (r.finished_at AT TIME ZONE c.tz)::date
FROM "metaaccess"."sync_runs" r, "migration_calendar" c
WHERE r.id = s.run_id AND s.day <> (r.finished_at AT TIME ZONE c.tz)::date;
--> statement-breakpoint
-- Rows that moved day landed unordered in months compaction had ordered: mark them not
-- compacted, so the next prune orders them again.
DO $$
DECLARE
  part record;
BEGIN
  IF (SELECT tz FROM "migration_calendar") <> 'UTC' THEN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'metaaccess.snapshots'::regclass LOOP
      EXECUTE format('ALTER TABLE metaaccess.%I SET WITHOUT CLUSTER', part.relname);
    END LOOP;
  END IF;
END
$$;
--> statement-breakpoint
-- compliance_daily was keyed by the day a run started; captured_at is when it finished, so the
-- rows re-key exactly (the later run of a day wins, as when they were written).
CREATE TEMP TABLE "migration_daily" AS
SELECT DISTINCT ON (new_day) (cd.captured_at AT TIME ZONE c.tz)::date AS new_day, cd.*
FROM "metaaccess"."compliance_daily" cd, "migration_calendar" c
ORDER BY new_day, cd.captured_at DESC;
--> statement-breakpoint
DELETE FROM "metaaccess"."compliance_daily";
--> statement-breakpoint
INSERT INTO "metaaccess"."compliance_daily" ("day", "run_id", "captured_at", "devices", "compliant", "non_compliant", "in_progress", "critical", "exempt", "active")
SELECT new_day, run_id, captured_at, devices, compliant, non_compliant, in_progress, critical, exempt, active FROM "migration_daily";
--> statement-breakpoint
DROP TABLE "migration_daily";
--> statement-breakpoint
-- The history so far, from the snapshots: the succeeded runs that have any, in order.
CREATE TEMP TABLE "migration_runs" AS
SELECT r.id, r.finished_at, (r.finished_at AT TIME ZONE c.tz)::date AS day, row_number() OVER (ORDER BY r.finished_at, r.id)::int AS seq,
  -- The succeeded run before it, snapshots or not (retention may have dropped the older ones).
  (SELECT max(p.finished_at) FROM "metaaccess"."sync_runs" p WHERE p.status = 'succeeded' AND p.finished_at < r.finished_at) AS prev_finished
FROM "metaaccess"."sync_runs" r, "migration_calendar" c
WHERE r.status = 'succeeded' AND r.finished_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM "metaaccess"."snapshots" s WHERE s.day = (r.finished_at AT TIME ZONE c.tz)::date AND s.run_id = r.id);
--> statement-breakpoint
CREATE TEMP TABLE "migration_history" AS
SELECT s.device_id, ru.seq, ru.id AS run_id, ru.finished_at, ru.day,
  p.status, p.critical_status, p.exempt, p.agent_version, p.os_name, p.os_version,
  lag(ru.seq) OVER w AS prev_seq, lead(ru.seq) OVER w AS next_seq,
  lag(p.status) OVER w AS prev_status, lag(p.critical_status) OVER w AS prev_critical_status, lag(p.exempt) OVER w AS prev_exempt,
  lag(p.agent_version) OVER w AS prev_agent_version, lag(p.os_name) OVER w AS prev_os_name, lag(p.os_version) OVER w AS prev_os_version
FROM "metaaccess"."snapshots" s
JOIN "migration_runs" ru ON ru.id = s.run_id
JOIN "metaaccess"."snapshot_profiles" p ON p.id = s.profile_id
WINDOW w AS (PARTITION BY s.device_id ORDER BY ru.seq);
--> statement-breakpoint
-- The run that removed a device: the succeeded run that finished at its removed_at.
CREATE TEMP TABLE "migration_removals" AS
SELECT d.id AS device_id, d.removed_at, r.id AS run_id, (r.finished_at AT TIME ZONE c.tz)::date AS day
FROM "metaaccess"."devices" d
JOIN "metaaccess"."sync_runs" r ON r.finished_at = d.removed_at AND r.status = 'succeeded', "migration_calendar" c
WHERE d.removed_at IS NOT NULL;
--> statement-breakpoint
INSERT INTO "metaaccess"."device_changes" ("run_id", "day", "changed_at", "device_id", "change", "old_value", "new_value")
SELECT x.run_id, x.day, x.changed_at, x.device_id, x.change, x.old_value, x.new_value FROM (
  SELECT h.run_id, h.day, h.finished_at AS changed_at, h.device_id, 'added' AS change, NULL::text AS old_value, NULL::text AS new_value
  FROM "migration_history" h JOIN "metaaccess"."devices" d ON d.id = h.device_id
  JOIN "migration_runs" ru ON ru.seq = h.seq
  WHERE h.prev_seq IS NULL AND (ru.prev_finished IS NULL OR d.first_seen_at > ru.prev_finished)
  UNION ALL
  SELECT m.run_id, m.day, m.removed_at, h.device_id, 'removed', NULL, NULL
  FROM "migration_history" h JOIN "migration_removals" m ON m.device_id = h.device_id
  WHERE h.next_seq IS NULL AND m.removed_at > h.finished_at
  UNION ALL
  SELECT h.run_id, h.day, h.finished_at, h.device_id, v.change, v.old_value, v.new_value
  FROM "migration_history" h
  CROSS JOIN LATERAL (VALUES
    ('status', h.prev_status::text, h.status::text),
    ('critical_status', h.prev_critical_status::text, h.critical_status::text),
    ('exempt', h.prev_exempt::text, h.exempt::text),
    ('agent_version', h.prev_agent_version, h.agent_version),
    ('os_name', h.prev_os_name, h.os_name),
    ('os_version', h.prev_os_version, h.os_version)) AS v(change, old_value, new_value)
  WHERE h.prev_seq IS NOT NULL AND v.old_value IS DISTINCT FROM v.new_value
) x
ORDER BY x.changed_at, x.device_id, x.change;
--> statement-breakpoint
-- Status intervals: islands of equal (status, critical_status, exempt) in a device's snapshots.
-- Old releases recorded no removal that was followed by a return, and a run could miss a device
-- without removing it: a device absent from some snapshots and back later is taken as present
-- throughout (never a removal nobody recorded). status_since: the start of the island of equal status.
CREATE TEMP TABLE "migration_islands" AS
SELECT device_id, island, status, critical_status, exempt,
  min(finished_at) AS valid_from, min(status_since) AS status_since,
  (array_agg(run_id ORDER BY seq))[1] AS first_run_id, (array_agg(run_id ORDER BY seq DESC))[1] AS last_run_id,
  (array_agg(next_seq ORDER BY seq DESC))[1] AS after_seq
FROM (
  SELECT u.*, min(u.finished_at) OVER (PARTITION BY u.device_id, u.status_island) AS status_since
  FROM (
    SELECT h.*,
      sum(CASE WHEN h.prev_seq IS NULL
        OR (h.status, h.critical_status, h.exempt) IS DISTINCT FROM (h.prev_status, h.prev_critical_status, h.prev_exempt) THEN 1 ELSE 0 END)
        OVER (PARTITION BY h.device_id ORDER BY h.seq) AS island,
      sum(CASE WHEN h.prev_seq IS NULL OR h.status IS DISTINCT FROM h.prev_status THEN 1 ELSE 0 END)
        OVER (PARTITION BY h.device_id ORDER BY h.seq) AS status_island
    FROM "migration_history" h) u) t
GROUP BY device_id, island, status, critical_status, exempt;
--> statement-breakpoint
-- An island ends where the next one starts (the first run that saw another state), or when the
-- device was removed after its last snapshot.
INSERT INTO "metaaccess"."device_status_intervals" ("device_id", "valid_from", "valid_to", "status", "critical_status", "exempt",
  "first_run_id", "last_run_id", "status_since")
SELECT i.device_id, i.valid_from,
  CASE WHEN i.after_seq IS NOT NULL THEN nr.finished_at WHEN m.removed_at > i.valid_from THEN m.removed_at END,
  i.status, i.critical_status, i.exempt, i.first_run_id,
  CASE WHEN i.after_seq IS NOT NULL OR m.removed_at > i.valid_from THEN i.last_run_id END,
  i.status_since
FROM "migration_islands" i
LEFT JOIN "migration_runs" nr ON nr.seq = i.after_seq
LEFT JOIN "metaaccess"."devices" m ON m.id = i.device_id
ORDER BY i.device_id, i.valid_from;
--> statement-breakpoint
-- Each device's state as of its last snapshot (fields snapshots do not keep: as stored now).
INSERT INTO "metaaccess"."device_state" ("device_id", "present", "run_id", "status", "critical_status", "exempt", "hostname",
  "os_family", "os_name", "os_version", "machine_type", "agent_version", "macs", "ips")
SELECT d.id, d.removed_at IS NULL, coalesce(l.run_id, d.last_run_id),
  CASE WHEN l.device_id IS NULL THEN d.status ELSE l.status END,
  CASE WHEN l.device_id IS NULL THEN d.critical_status ELSE l.critical_status END,
  CASE WHEN l.device_id IS NULL THEN d.exempt ELSE l.exempt END,
  d.hostname, o.family,
  CASE WHEN l.device_id IS NULL THEN o.name ELSE l.os_name END,
  CASE WHEN l.device_id IS NULL THEN o.version ELSE l.os_version END,
  d.machine_type,
  CASE WHEN l.device_id IS NULL THEN d.agent_version ELSE l.agent_version END,
  coalesce((SELECT array_agg(DISTINCT a.mac_addr::text ORDER BY a.mac_addr::text) FROM "metaaccess"."network_adapters" a
    WHERE a.hwid = d.hwid AND a.mac_addr IS NOT NULL), '{}'),
  coalesce((SELECT array_agg(DISTINCT ip ORDER BY ip) FROM "metaaccess"."network_adapters" a
    CROSS JOIN LATERAL unnest(ARRAY[host(a.ipv4_addr), host(a.ipv6_addr)]) AS ip WHERE a.hwid = d.hwid AND ip IS NOT NULL), '{}')
FROM "metaaccess"."devices" d
LEFT JOIN "metaaccess"."device_os" o ON o.hwid = d.hwid
LEFT JOIN (SELECT DISTINCT ON (device_id) * FROM "migration_history" ORDER BY device_id, seq DESC) l ON l.device_id = d.id
WHERE l.device_id IS NOT NULL OR d.first_run_id <= (SELECT max(id) FROM "metaaccess"."sync_runs" WHERE status = 'succeeded');
--> statement-breakpoint
-- Present devices no snapshot shows (history pruned): their current state, open since first seen.
INSERT INTO "metaaccess"."device_status_intervals" ("device_id", "valid_from", "status", "critical_status", "exempt", "first_run_id", "status_since")
SELECT d.id, d.first_seen_at, s.status, s.critical_status, s.exempt, d.first_run_id, d.first_seen_at
FROM "metaaccess"."device_state" s JOIN "metaaccess"."devices" d ON d.id = s.device_id
WHERE s.present AND NOT EXISTS (SELECT 1 FROM "metaaccess"."device_status_intervals" i WHERE i.device_id = s.device_id);
--> statement-breakpoint
DROP TABLE "migration_islands";
--> statement-breakpoint
DROP TABLE "migration_removals";
--> statement-breakpoint
DROP TABLE "migration_history";
--> statement-breakpoint
DROP TABLE "migration_runs";
--> statement-breakpoint
DROP TABLE "migration_calendar";
--> statement-breakpoint
CREATE OR REPLACE VIEW "metaaccess"."devices_current" AS
SELECT d.id, d.hwid, d.hostname, d.nickname, d.agent_type, d.agent_version, d.machine_type, d.country,
       d.active, d.status, d.critical_status, d.exempt, d.total_issue, d.total_critical_issue, d.last_seen,
       d.remediation_link, d.user_group, d.logged_in_username, d.logged_in_domain,
       d.first_seen_at, d.last_synced_at,
       o.family AS os_family, o.name AS os_name, o.vendor AS os_vendor, o.version AS os_version,
       o.service_pack_version AS os_service_pack_version, o.architecture AS os_architecture,
       o.os_language, o.user_password_set,
       coalesce(sl.label, 'unknown (' || d.status || ')') AS status_label,
       coalesce(cl.label, 'unknown (' || d.critical_status || ')') AS critical_status_label,
       el.label AS exempt_label, al.label AS active_label
FROM "metaaccess"."devices" d
LEFT JOIN "metaaccess"."device_os" o ON o.hwid = d.hwid
LEFT JOIN "metaaccess"."status_labels" sl ON sl.status = d.status
LEFT JOIN "metaaccess"."critical_status_labels" cl ON cl.critical_status = d.critical_status
LEFT JOIN "metaaccess"."exempt_labels" el ON el.exempt = d.exempt
LEFT JOIN "metaaccess"."active_labels" al ON al.active = d.active
WHERE d.removed_at IS NULL;
--> statement-breakpoint
CREATE OR REPLACE VIEW "metaaccess"."device_snapshots" AS
SELECT s.run_id, s.device_id, d.hwid, r.finished_at AS captured_at,
       p.status, p.critical_status, p.exempt, p.active, p.total_issue, p.total_critical_issue,
       p.agent_version, p.os_name, p.os_version, s.last_seen, s.day,
       coalesce(sl.label, 'unknown (' || p.status || ')') AS status_label,
       coalesce(cl.label, 'unknown (' || p.critical_status || ')') AS critical_status_label
FROM "metaaccess"."snapshots" s
JOIN "metaaccess"."snapshot_profiles" p ON p.id = s.profile_id
JOIN "metaaccess"."devices" d ON d.id = s.device_id
JOIN "metaaccess"."sync_runs" r ON r.id = s.run_id
LEFT JOIN "metaaccess"."status_labels" sl ON sl.status = p.status
LEFT JOIN "metaaccess"."critical_status_labels" cl ON cl.critical_status = p.critical_status;
--> statement-breakpoint
CREATE VIEW "metaaccess"."adapters_current" AS
SELECT d.id AS device_id, d.hwid, d.hostname, a.position, a.mac_addr, a.ipv4_addr, a.ipv6_addr
FROM "metaaccess"."network_adapters" a
JOIN "metaaccess"."devices" d ON d.hwid = a.hwid
WHERE d.removed_at IS NULL;
--> statement-breakpoint
-- The reader role. Creating it needs CREATEROLE: without it the migration goes on and an
-- administrator creates the role (docs/bi-access.md); every `migrate` grants it again.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metaaccess_reader') THEN
    BEGIN
      CREATE ROLE "metaaccess_reader" NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE WARNING 'metaaccess-sync: cannot create role metaaccess_reader (needs CREATEROLE); an administrator can create it, then run migrate';
    END;
  END IF;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "metaaccess"."reporting_relations"() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['devices_current', 'adapters_current', 'device_snapshots', 'compliance_daily', 'device_status_intervals',
    'device_changes', 'devices', 'device_os', 'network_adapters', 'sync_runs', 'status_labels', 'critical_status_labels',
    'exempt_labels', 'active_labels', 'change_kinds']
$$;
--> statement-breakpoint
CREATE FUNCTION "metaaccess"."grant_reader"() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  rel text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metaaccess_reader') THEN
    RETURN;
  END IF;
  -- Only what is missing: a GRANT rewrites the catalog row even when nothing changes, and this
  -- runs at the start of every sync.
  IF NOT has_schema_privilege('metaaccess_reader', 'metaaccess', 'USAGE') THEN
    EXECUTE 'GRANT USAGE ON SCHEMA metaaccess TO metaaccess_reader';
  END IF;
  FOREACH rel IN ARRAY metaaccess.reporting_relations() LOOP
    IF to_regclass(format('metaaccess.%I', rel)) IS NOT NULL
       AND NOT has_table_privilege('metaaccess_reader', format('metaaccess.%I', rel), 'SELECT') THEN
      EXECUTE format('GRANT SELECT ON metaaccess.%I TO metaaccess_reader', rel);
    END IF;
  END LOOP;
EXCEPTION WHEN insufficient_privilege THEN
  -- A worker that does not own the schema cannot grant: its sync must not fail for that.
  RAISE WARNING 'metaaccess-sync: cannot grant metaaccess_reader (%); the schema owner can run: select metaaccess.grant_reader()', SQLERRM;
END
$$;
--> statement-breakpoint
SELECT "metaaccess"."grant_reader"();

--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."status_labels" IS 'Labels of the compliance status codes (devices.status, snapshots, intervals): join on status';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."status_labels"."status" IS 'Status code as the API sends it';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."status_labels"."label" IS 'Short label for charts';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."status_labels"."description" IS 'What the code means';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."critical_status_labels" IS 'Labels of the critical status codes: join on critical_status';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."critical_status_labels"."critical_status" IS 'Critical status code';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."critical_status_labels"."label" IS 'Short label for charts';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."exempt_labels" IS 'Labels of the exempt flag: join on exempt';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."exempt_labels"."exempt" IS 'Exempt flag';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."exempt_labels"."label" IS 'Short label for charts';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."active_labels" IS 'Labels of the active (connected) flag: join on active';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."active_labels"."active" IS 'Connected flag';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."active_labels"."label" IS 'Short label for charts';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."change_kinds" IS 'What each device_changes.change means';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."change_kinds"."change" IS 'The change (device_changes.change)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."change_kinds"."description" IS 'What it means and what old_value/new_value hold';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."device_state" IS 'Storage (read device_changes and device_status_intervals instead): each device''s tracked fields as of the last succeeded run that saw it, which the next succeeded run diffs against. Only changed rows are written';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."device_id" IS 'The device (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."present" IS 'false once a succeeded run removed it';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."run_id" IS 'The succeeded run that last changed this row';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."macs" IS 'Sorted distinct MAC addresses of its adapters';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."ips" IS 'Sorted distinct IPv4/IPv6 addresses of its adapters';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."device_changes" IS 'The change log: one row per thing that changed about a device, written in the transaction that marks a run succeeded (a run that does not succeed logs nothing; the next one that does logs what changed since the last logged state). Indexed by day, by device and by run';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."id" IS 'Row number';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."run_id" IS 'The succeeded run that saw the change (sync_runs.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."day" IS 'The run''s day: the day in SYNC_TIMEZONE on which it finished (the same day as compliance_daily)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."changed_at" IS 'When that run finished';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."device_id" IS 'The device (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."change" IS 'What changed (change_kinds): added, removed, returned, status, critical_status, exempt, hostname, os_family, os_name, os_version, machine_type, agent_version, mac_added, mac_removed, ip_added, ip_removed';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."old_value" IS 'The value before, as text (NULL for added/returned and *_added)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_changes"."new_value" IS 'The value after, as text (NULL for removed and *_removed)';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."device_status_intervals" IS 'How long each device held each compliance state (status, critical_status, exempt): one row per state per device, valid_from <= t < valid_to; valid_to NULL = still current. Maintained as runs succeed; a removal closes the interval, a return opens a new one';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."device_id" IS 'The device (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."valid_from" IS 'When the first run that saw this state finished';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."valid_to" IS 'When the run that saw a different state (or removed the device) finished; NULL while current';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."status" IS 'Compliance status (status_labels)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."critical_status" IS 'Critical status (critical_status_labels)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."exempt" IS 'Exempt';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."first_run_id" IS 'The first run that saw this state';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."last_run_id" IS 'The last run that saw this state; NULL while current';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_status_intervals"."status_since" IS 'Start of the unbroken run of this status the interval belongs to: "non-compliant since" (a change of critical_status or exempt alone does not restart it; a removal does)';
--> statement-breakpoint
COMMENT ON VIEW "metaaccess"."adapters_current" IS 'Network adapters of the devices present now (not removed), with the device''s hwid and hostname; inet/macaddr columns support subnet operators (<<, >>=)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."adapters_current"."device_id" IS 'The device (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."adapters_current"."hwid" IS 'The device (devices.hwid)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."adapters_current"."hostname" IS 'Hostname reported by the agent';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."adapters_current"."position" IS 'Index in the API network_info array';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."adapters_current"."mac_addr" IS 'MAC address (NULL when empty/invalid)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."adapters_current"."ipv4_addr" IS 'IPv4 address';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."adapters_current"."ipv6_addr" IS 'IPv6 address';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."status_label" IS 'Label of status (status_labels)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."critical_status_label" IS 'Label of critical_status';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."exempt_label" IS 'Label of exempt';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."active_label" IS 'Label of active';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."status_label" IS 'Label of status then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."critical_status_label" IS 'Label of critical_status then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."day" IS 'The run''s day: the day in SYNC_TIMEZONE on which it finished; a filter on it reads only the monthly partitions needed';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshots"."day" IS 'The run''s day: the day in SYNC_TIMEZONE on which it finished (sync_runs.finished_at); the partition key';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."day" IS 'The day in SYNC_TIMEZONE on which the run finished (one calendar for every table and view)';
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."reporting_relations"() IS 'The relations meant for reporting: what metaaccess_reader may read';
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."grant_reader"() IS 'Grants metaaccess_reader USAGE on the schema and SELECT on reporting_relations() (if the role exists); run by every migrate';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."status" IS 'Compliance status as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."critical_status" IS 'Critical status as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."exempt" IS 'Exempt as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."hostname" IS 'Hostname as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."os_family" IS 'OS family as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."os_name" IS 'OS name as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."os_version" IS 'OS version as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."machine_type" IS 'Machine type as last logged';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_state"."agent_version" IS 'Agent version as last logged';
