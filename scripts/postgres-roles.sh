#!/bin/sh
# First start of the compose `postgres` service (docker-entrypoint-initdb.d):
# create the runtime role. POSTGRES_USER (`relapp`) owns the tables and runs
# migrations; after each migrate it grants relapp_app INSERT and SELECT on the
# change log and the usual privileges on everything else (audit.roles).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$RELAPP_APP_PASSWORD" <<'SQL'
CREATE ROLE relapp_app LOGIN PASSWORD :'password';
SQL
