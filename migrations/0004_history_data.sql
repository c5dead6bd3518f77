-- Hand-written: moves the per-row history of 0000 into snapshot_profiles + monthly partitions of
-- snapshots, replaces the old table by a view of the same name and columns, and documents it all.
COMMENT ON TABLE "metaaccess"."snapshot_profiles" IS 'Distinct compliance states seen in snapshots, one row each; a snapshot points at its profile instead of repeating the fields. Kept by retention';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."id" IS 'Profile number (snapshots.profile_id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."fingerprint" IS 'md5 of row(status, critical_status, exempt, active, total_issue, total_critical_issue, agent_version, os_name, os_version)::text as a uuid: finds the profile of a state';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."status" IS 'Compliance status (0 compliant, 1 not compliant, 3 still reporting)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."critical_status" IS 'Critical status (0/1)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."exempt" IS 'Exempted from the compliance policy';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."active" IS 'Connected to the cloud';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."total_issue" IS 'Issues';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."total_critical_issue" IS 'Critical issues';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."agent_version" IS 'Agent version';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."os_name" IS 'OS name (device_os.name)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshot_profiles"."os_version" IS 'OS version (device_os.version)';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."snapshots" IS 'Storage of device_snapshots (read that view): one row per device per succeeded run, partitioned by month on day (snapshots_YYYY_MM), retention drops whole months. No key and no foreign keys, to keep rows at 48 bytes: (run_id, device_id) is unique because the only writer inserts a run''s rows once, in the transaction that marks the run succeeded';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshots"."last_seen" IS 'Agent last report time as of the run';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshots"."day" IS 'UTC day the run finished (sync_runs.finished_at): the partition key';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshots"."run_id" IS 'The succeeded run (sync_runs.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshots"."device_id" IS 'The device (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."snapshots"."profile_id" IS 'Its compliance fields then (snapshot_profiles.id)';
--> statement-breakpoint
CREATE FUNCTION "metaaccess"."create_snapshot_partition"(in_day date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  first_day date := date_trunc('month', in_day)::date;
  part text := 'snapshots_' || to_char(first_day, 'YYYY_MM');
  col record;
BEGIN
  -- Checked first: CREATE TABLE ... PARTITION OF locks the parent even when the name exists.
  IF to_regclass(format('metaaccess.%I', part)) IS NOT NULL THEN
    RETURN part;
  END IF;
  EXECUTE format('CREATE TABLE IF NOT EXISTS metaaccess.%I PARTITION OF metaaccess.snapshots FOR VALUES FROM (%L) TO (%L)',
    part, to_char(first_day, 'YYYY-MM-DD'), to_char(first_day + interval '1 month', 'YYYY-MM-DD'));
  EXECUTE format('COMMENT ON TABLE metaaccess.%I IS %L', part,
    'Snapshots of the days of ' || to_char(first_day, 'YYYY-MM') || ': a monthly partition of snapshots, dropped whole by retention');
  FOR col IN
    SELECT a.attname, col_description(a.attrelid, a.attnum) AS note FROM pg_attribute a
    WHERE a.attrelid = 'metaaccess.snapshots'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  LOOP
    EXECUTE format('COMMENT ON COLUMN metaaccess.%I.%I IS %L', part, col.attname, col.note);
  END LOOP;
  RETURN part;
END
$$;
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."create_snapshot_partition"(date) IS 'Creates (if missing) the snapshots partition of the month holding the given day, with its comments; returns its name. The worker calls it for the month of a run and the next one';
--> statement-breakpoint
SELECT "metaaccess"."create_snapshot_partition"(m.day)
FROM (SELECT DISTINCT date_trunc('month', captured_at AT TIME ZONE 'UTC')::date AS day FROM "metaaccess"."device_snapshots") m;
--> statement-breakpoint
-- The fingerprint is spelled exactly as in src/db/snapshotsStore.ts (same expression, same types).
INSERT INTO "metaaccess"."snapshot_profiles" ("fingerprint", "status", "critical_status", "exempt", "active", "total_issue", "total_critical_issue", "agent_version", "os_name", "os_version")
SELECT DISTINCT md5(row(s.status, s.critical_status, s.exempt, s.active, s.total_issue, s.total_critical_issue, s.agent_version, s.os_name, s.os_version)::text)::uuid,
  s.status, s.critical_status, s.exempt, s.active, s.total_issue, s.total_critical_issue, s.agent_version, s.os_name, s.os_version
FROM "metaaccess"."device_snapshots" s;
--> statement-breakpoint
INSERT INTO "metaaccess"."snapshots" ("last_seen", "day", "run_id", "device_id", "profile_id")
SELECT s.last_seen, (s.captured_at AT TIME ZONE 'UTC')::date, s.run_id, s.device_id, p.id
FROM "metaaccess"."device_snapshots" s
JOIN "metaaccess"."snapshot_profiles" p
  ON p.fingerprint = md5(row(s.status, s.critical_status, s.exempt, s.active, s.total_issue, s.total_critical_issue, s.agent_version, s.os_name, s.os_version)::text)::uuid
ORDER BY s.captured_at, s.device_id;
--> statement-breakpoint
DROP TABLE "metaaccess"."device_snapshots";
--> statement-breakpoint
CREATE VIEW "metaaccess"."device_snapshots" AS
SELECT s.run_id, s.device_id, d.hwid, r.finished_at AS captured_at,
       p.status, p.critical_status, p.exempt, p.active, p.total_issue, p.total_critical_issue,
       p.agent_version, p.os_name, p.os_version, s.last_seen, s.day
FROM "metaaccess"."snapshots" s
JOIN "metaaccess"."snapshot_profiles" p ON p.id = s.profile_id
JOIN "metaaccess"."devices" d ON d.id = s.device_id
JOIN "metaaccess"."sync_runs" r ON r.id = s.run_id;
--> statement-breakpoint
COMMENT ON VIEW "metaaccess"."device_snapshots" IS 'Compliance fields of every device seen by each succeeded run: the history for trends. Filter on day (or device_id/hwid) to read only the months (or the device) needed';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."run_id" IS 'The succeeded run (sync_runs.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."device_id" IS 'The device (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."hwid" IS 'The device (devices.hwid)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."captured_at" IS 'When the run finished (sync_runs.finished_at)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."status" IS 'Compliance status then (0 compliant, 1 not compliant, 3 still reporting)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."critical_status" IS 'Critical status then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."exempt" IS 'Exempt then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."active" IS 'Connected to the cloud then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."total_issue" IS 'Issues then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."total_critical_issue" IS 'Critical issues then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."agent_version" IS 'Agent version then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."os_name" IS 'OS name then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."os_version" IS 'OS version then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."last_seen" IS 'Agent last report time as of the run';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."day" IS 'UTC day the run finished; a filter on it reads only the monthly partitions needed';
