#!/bin/sh
# Runs once, when the PostgreSQL volume is new: one role and one database per service, each database reachable by
# its own role alone (CONNECT revoked from PUBLIC), so safe-reporting's reports are out of every other role's reach.
# Passwords come from the files the dev-secrets step wrote (/run/verbinding-secrets/<database>).
set -eu

create_database() {
    database="$1"
    password="$(cat "/run/verbinding-secrets/$database")"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        --set=database="$database" --set=password="$password" <<'SQL'
CREATE ROLE :"database" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"database";
REVOKE CONNECT, TEMPORARY ON DATABASE :"database" FROM PUBLIC;
SQL
}

create_database gateway
create_database intake
create_database case_plan
create_database employment
create_database shelter_placement
create_database safe_reporting
create_database capacity_hub
