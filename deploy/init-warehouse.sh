#!/bin/sh
# Creates libcrm's roles in a new warehouse. The postgres image runs every
# /docker-entrypoint-initdb.d/*.sh once, when its data volume is empty, with the server up
# and POSTGRES_USER / POSTGRES_DB set; docker-compose.yml mounts the SQL next to this script.
set -e
: "${LIBCRM_WAREHOUSE_PASSWORD:?set WAREHOUSE_PASSWORD in deploy/libcrm.env}"
psql --no-psqlrc --set ON_ERROR_STOP=1 \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set dbname="$POSTGRES_DB" \
    --set pipeline_password="$LIBCRM_WAREHOUSE_PASSWORD" \
    --file /libcrm/init-warehouse.sql
