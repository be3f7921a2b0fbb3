#!/bin/sh
# Create (or update) the application's login: owns nothing, NOINHERIT, a member of the three
# sessionbook roles that `sessionbook migrate` created. Safe to run again at every start.
set -eu
: "${APP_DB_PASSWORD:?set APP_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 -v app_password="$APP_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE sessionbook_app LOGIN NOINHERIT PASSWORD %L', :'app_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sessionbook_app')\gexec
SELECT format('ALTER ROLE sessionbook_app LOGIN NOINHERIT PASSWORD %L', :'app_password')\gexec
GRANT sessionbook_customer, sessionbook_service, sessionbook_admin TO sessionbook_app;
SQL
