#!/bin/sh
# The `roles` one-shot of docker-compose.yml: as the administrator, make the worker's
# least-privilege login with docs/writer-role.sql and set its password from a secret file.
# Idempotent, so it runs at every `up` (a volume created before this existed gets the login too).
# The password reaches the server in an ALTER ROLE: keep log_statement at its default (none).
set -eu
: "${WRITER_LOGIN:=metaaccess_sync}"
: "${WRITER_ROLE_SQL:=/metaaccess/writer-role.sql}"
: "${WRITER_PASSWORD_FILE:=/run/secrets/writer_password}"
PGPASSWORD="$(cat "${ADMIN_PASSWORD_FILE:-/run/secrets/postgres_password}")"
export PGPASSWORD WRITER_LOGIN WRITER_ROLE_SQL WRITER_PASSWORD_FILE
# psql reads the names from the environment (\getenv) and the password with `cat` (never in argv).
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet <<'SQL'
\getenv login WRITER_LOGIN
\getenv sql_file WRITER_ROLE_SQL
\getenv password_file WRITER_PASSWORD_FILE
set metaaccess.writer_login = :'login';
\i :sql_file
\set password `cat :password_file`
alter role :"login" password :'password';
\echo metaaccess-sync: login :login is ready (member of metaaccess_writer)
SQL
