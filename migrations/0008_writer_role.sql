-- Hand-written: a worker that does not own the schema (the writer role, docs/writer-role.sql).
-- The schema stays with the role that runs `migrate`. What the nightly path does that needs
-- ownership (a new month's partition, dropping and compacting old months, ANALYZE, which a
-- non-owner only skips with a warning) goes through SECURITY DEFINER functions owned by that
-- role, with a fixed search_path and their arguments checked; only the writer may call them.
-- The writer group role. Creating it needs CREATEROLE: without it the migration goes on and an
-- administrator creates it (docs/writer-role.sql), then runs: select metaaccess.grant_writer()
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metaaccess_writer') THEN
    BEGIN
      CREATE ROLE "metaaccess_writer" NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE WARNING 'metaaccess-sync: cannot create role metaaccess_writer (needs CREATEROLE); an administrator can run docs/writer-role.sql';
    END;
  END IF;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metaaccess"."create_snapshot_partition"(in_day date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, metaaccess, pg_temp AS $$
DECLARE
  first_day date := date_trunc('month', in_day)::date;
  part text := 'snapshots_' || to_char(first_day, 'YYYY_MM');
  col record;
BEGIN
  -- The writer may call this: a day outside any plausible run (BC, year 10000, infinity) would
  -- make a month that prune's name check cannot match, kept for ever.
  IF in_day IS NULL OR in_day < DATE '2000-01-01' OR in_day >= DATE '2200-01-01' THEN
    RAISE EXCEPTION 'metaaccess-sync: % is not a day a run can have (2000-01-01 to 2199-12-31)', in_day USING ERRCODE = 'invalid_parameter_value';
  END IF;
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
  -- Prune deletes a month's old days from the partition itself (not through the parent).
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metaaccess_writer') THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON metaaccess.%I TO metaaccess_writer', part);
  END IF;
  RETURN part;
END
$$;
--> statement-breakpoint
-- Only a month made by create_snapshot_partition: the definer functions below act on nothing else.
CREATE OR REPLACE FUNCTION "metaaccess"."snapshot_partition"(part text) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, metaaccess, pg_temp AS $$
DECLARE
  rel regclass;
BEGIN
  SELECT c.oid INTO rel FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'metaaccess.snapshots'::regclass AND c.relname = part AND part ~ '^snapshots_[0-9]{4}_[0-9]{2}$';
  IF rel IS NULL THEN
    RAISE EXCEPTION 'metaaccess-sync: % is not a monthly partition of metaaccess.snapshots', part USING ERRCODE = 'undefined_table';
  END IF;
  RETURN rel;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metaaccess"."drop_snapshot_partition"(part text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, metaaccess, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM metaaccess.snapshot_partition(part);
  EXECUTE format('SELECT count(*) FROM metaaccess.%I', part) INTO n;
  EXECUTE format('DROP TABLE metaaccess.%I', part);
  RETURN n;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metaaccess"."compact_snapshot_partition"(part text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, metaaccess, pg_temp AS $$
DECLARE
  rel regclass := metaaccess.snapshot_partition(part);
  idx text;
BEGIN
  SELECT ix.relname INTO idx FROM pg_index pi JOIN pg_class ix ON ix.oid = pi.indexrelid JOIN pg_inherits xi ON xi.inhrelid = pi.indexrelid
  WHERE pi.indrelid = rel AND xi.inhparent = 'metaaccess.snapshots_device_id_idx'::regclass;
  IF idx IS NULL THEN
    RAISE EXCEPTION 'metaaccess-sync: partition % has no device_id index', part USING ERRCODE = 'undefined_object';
  END IF;
  EXECUTE format('LOCK TABLE metaaccess.%I IN ACCESS EXCLUSIVE MODE', part);
  EXECUTE format('ALTER INDEX metaaccess.%I SET (fillfactor = 100)', idx);
  EXECUTE format('CLUSTER metaaccess.%I USING %I', part, idx);
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metaaccess"."analyze_devices"() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, metaaccess, pg_temp AS $$
BEGIN
  ANALYZE metaaccess.devices;
END
$$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION "metaaccess"."create_snapshot_partition"(date), "metaaccess"."drop_snapshot_partition"(text),
  "metaaccess"."compact_snapshot_partition"(text), "metaaccess"."analyze_devices"() FROM PUBLIC;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "metaaccess"."writer_functions"() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['create_snapshot_partition(date)', 'drop_snapshot_partition(text)', 'compact_snapshot_partition(text)', 'analyze_devices()']
$$;
--> statement-breakpoint
-- DML on every table (partitions included; the migration journal read-only), reads of the views,
-- the sequences, and the definer functions: nothing that creates, alters or drops.
CREATE OR REPLACE FUNCTION "metaaccess"."grant_writer"() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  rel record;
  fn text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metaaccess_writer') THEN
    RETURN;
  END IF;
  -- Only what is missing, as in grant_reader: a GRANT rewrites the catalog row even when nothing changes.
  IF NOT has_schema_privilege('metaaccess_writer', 'metaaccess', 'USAGE') THEN
    EXECUTE 'GRANT USAGE ON SCHEMA metaaccess TO metaaccess_writer';
  END IF;
  FOR rel IN
    SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'metaaccess' AND c.relkind IN ('r', 'p', 'v', 'S')
  LOOP
    IF rel.relkind = 'S' THEN
      IF NOT has_sequence_privilege('metaaccess_writer', rel.oid, 'USAGE') THEN
        EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE metaaccess.%I TO metaaccess_writer', rel.relname);
      END IF;
    ELSIF rel.relkind = 'v' OR rel.relname = '__drizzle_migrations' THEN
      IF NOT has_table_privilege('metaaccess_writer', rel.oid, 'SELECT') THEN
        EXECUTE format('GRANT SELECT ON metaaccess.%I TO metaaccess_writer', rel.relname);
      END IF;
    ELSIF NOT has_table_privilege('metaaccess_writer', rel.oid, 'SELECT, INSERT, UPDATE, DELETE') THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON metaaccess.%I TO metaaccess_writer', rel.relname);
    END IF;
  END LOOP;
  FOREACH fn IN ARRAY metaaccess.writer_functions() LOOP
    IF NOT has_function_privilege('metaaccess_writer', 'metaaccess.' || fn, 'EXECUTE') THEN
      EXECUTE format('GRANT EXECUTE ON FUNCTION metaaccess.%s TO metaaccess_writer', fn);
    END IF;
  END LOOP;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'metaaccess-sync: cannot grant metaaccess_writer (%); the schema owner can run: select metaaccess.grant_writer()', SQLERRM;
END
$$;
--> statement-breakpoint
SELECT "metaaccess"."grant_writer"();
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."create_snapshot_partition"(date) IS 'Creates (if missing) the snapshots partition of the month holding the given day, with its comments; returns its name. The worker calls it for the month of a run and the next one. Runs as the schema owner (SECURITY DEFINER): executable by metaaccess_writer';
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."drop_snapshot_partition"(text) IS 'Drops a monthly partition of snapshots (retention), returning how many rows it held. Runs as the schema owner: executable by metaaccess_writer';
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."compact_snapshot_partition"(text) IS 'Rewrites a closed monthly partition of snapshots in device order (CLUSTER on its device_id index). Runs as the schema owner: executable by metaaccess_writer';
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."analyze_devices"() IS 'Refreshes the planner statistics of devices before a run''s closing statements (ANALYZE needs the owner). Runs as the schema owner: executable by metaaccess_writer';
--> statement-breakpoint
COMMENT ON FUNCTION "metaaccess"."grant_writer"() IS 'Grants metaaccess_writer what the worker needs (DML on the tables, the sequences, the functions above); only what is missing. Run by the schema owner after migrate';
