-- A least-privilege login for the worker (`sync`, `schedule`, `prune`, `runs`): it reads and
-- writes the rows of schema metaaccess and nothing more. It is not superuser, cannot create
-- databases or roles, and owns nothing: the schema stays with the role that runs `migrate`
-- (the schema owner), and migrations stay with that role. See docs/writer-role.md.
--
-- Run as an administrator (a role with CREATEROLE, or the superuser) in the worker's database.
-- Idempotent: run it again at any time. The login's name is metaaccess_sync unless the session
-- sets another beforehand:
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -c "set metaaccess.writer_login = 'nightly_sync'" -f docs/writer-role.sql
-- Then give the login a password without it reaching the server log: psql's \password metaaccess_sync
--
-- What it does:
-- 1. the group role metaaccess_writer (NOLOGIN), which migration 0008 grants what the worker
--    needs: USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on its tables, its sequences,
--    SELECT on its views and on the migration journal, EXECUTE on the functions that make, drop
--    and compact the monthly snapshot partitions and refresh statistics (they run as the owner);
-- 2. the login, a member of metaaccess_writer; an existing login is only added to the group, and
--    refused if it could do more than the worker needs (superuser, CREATEDB, CREATEROLE, owner);
-- 3. if the schema is already migrated, the grants (metaaccess.grant_writer()); otherwise the
--    first `migrate` by the schema owner makes them.
DO $$
DECLARE
  login text := coalesce(nullif(current_setting('metaaccess.writer_login', true), ''), 'metaaccess_sync');
  existing pg_roles%ROWTYPE;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metaaccess_writer') THEN
    CREATE ROLE metaaccess_writer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;

  SELECT * INTO existing FROM pg_roles WHERE rolname = login;
  IF NOT FOUND THEN
    EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT', login);
  ELSIF existing.rolsuper OR existing.rolcreatedb OR existing.rolcreaterole OR existing.rolreplication OR existing.rolbypassrls
        OR login = current_user THEN
    RAISE EXCEPTION 'metaaccess-sync: role % can do more than the worker needs (superuser, CREATEDB, CREATEROLE, replication or this session''s own role); choose another metaaccess.writer_login', login;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'metaaccess' AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = login)) THEN
    RAISE EXCEPTION 'metaaccess-sync: role % owns schema metaaccess; the worker must log in as another role (the owner runs migrate)', login;
  END IF;

  IF NOT pg_has_role(login, 'metaaccess_writer', 'MEMBER') THEN
    EXECUTE format('GRANT metaaccess_writer TO %I', login);
  END IF;
  -- PUBLIC has CONNECT by default; a database that revoked it still lets the worker in.
  BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), login);
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'metaaccess-sync: cannot grant CONNECT on this database to % (%)', login, SQLERRM;
  END;

  IF to_regprocedure('metaaccess.grant_writer()') IS NOT NULL THEN
    PERFORM metaaccess.grant_writer();
  ELSE
    RAISE NOTICE 'metaaccess-sync: schema metaaccess is not migrated yet; the schema owner''s `migrate` grants metaaccess_writer';
  END IF;
END
$$;
